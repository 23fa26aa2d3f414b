// The generation, comparison and ablation traits (attn_widget/view/modes_wire.py,
// MODES_VERSION), declared and checked here. js/tests/fixtures/modes.json holds
// real payloads written by Python (tests/view/test_golden_modes.py), which
// js/tests/modes/modes.test.ts decodes with these guards.

import { decodeArray, WireArray } from "./codec";
import { arrayOf, boolean, field, Guard, integer, nullable, number, oneOf, record, string, unknownArray, WireError } from "./guard";
import { decodeState, View } from "./state";

export const MODES_VERSION = 1;

/** [text, probability] of one candidate next token. */
export type Candidate = [string, number];

export interface StepWire {
  token: string;
  probability: number;
  alternatives: Candidate[];
  /** [cluster id, colour slot]: clusters followed across steps keep their slot. */
  slots: [number, number][];
  /** [cluster id, step it formed at]. */
  formed: [number, number][];
  events: string[];
  /** The new token's strongest links into the prompt: [token index, text, weight]. */
  links: [number, string, number][];
}

export interface GenerationWire {
  version: number;
  prompt_length: number;
  hidden: number[];
  stop: "length" | "eos";
  sample: boolean;
  chat: boolean;
  steps: StepWire[];
}

export interface ComparisonWire {
  version: number;
  unit: "token" | "word";
  /** The second analysis, a state as wire.py writes it (checked by decodeState). */
  b: unknown;
  a_units: WireArray<"int32">;
  b_units: WireArray<"int32">;
  a_slots: [number, number][];
  b_slots: [number, number][];
  moved: number[];
  modularity: [number, number];
  summary: string[];
  changed: [string, number][];
  titles: [string, string];
}

export interface PredictionWire {
  position: number;
  token: string;
  before: Candidate[];
  after: Candidate[];
  probability_before: number;
  probability_after: number;
  divergence: number;
  changed: boolean;
}

export interface AblationWire {
  version: number;
  id: number | null;
  describe: string;
  tokens: number[];
  heads: [number, number][];
  notices: string[];
  prediction: PredictionWire | null;
  comparison: ComparisonWire;
}

function tuple<T extends unknown[]>(...guards: { [K in keyof T]: Guard<T[K]> }): Guard<T> {
  return (v, where) => {
    const items = unknownArray(v, where);
    if (items.length !== guards.length) throw new WireError(`${where} should hold ${guards.length} items, got ${items.length}`);
    return guards.map((g, i) => g(items[i], `${where}[${i}]`)) as T;
  };
}

const pair = tuple<[number, number]>(integer, integer);
const candidate = tuple<Candidate>(string, number);

function version(r: Record<string, unknown>, where: string): number {
  const v = r.version;
  if (v !== MODES_VERSION) {
    throw new WireError(`${where} version ${String(v)} does not match this front-end (${MODES_VERSION}); reinstall attn_widget so the package and its bundle match`);
  }
  return MODES_VERSION;
}

function int32(v: unknown, where: string): WireArray<"int32"> {
  const w = record(v, where);
  if (w.dtype !== "int32") throw new WireError(`${where} should be int32, got ${JSON.stringify(w.dtype)}`);
  return { dtype: "int32", shape: field(w, "shape", arrayOf(integer), where), data: w.data as WireArray["data"] };
}

const step: Guard<StepWire> = (v, where) => {
  const s = record(v, where);
  return {
    token: field(s, "token", string, where),
    probability: field(s, "probability", number, where),
    alternatives: field(s, "alternatives", arrayOf(candidate), where),
    slots: field(s, "slots", arrayOf(pair), where),
    formed: field(s, "formed", arrayOf(pair), where),
    events: field(s, "events", arrayOf(string), where),
    links: field(s, "links", arrayOf(tuple<[number, string, number]>(integer, string, number)), where),
  };
};

export const generationWire: Guard<GenerationWire> = (v, where) => {
  const g = record(v, where);
  return {
    version: version(g, where),
    prompt_length: field(g, "prompt_length", integer, where),
    hidden: field(g, "hidden", arrayOf(integer), where),
    stop: field(g, "stop", oneOf("length", "eos"), where),
    sample: field(g, "sample", boolean, where),
    chat: field(g, "chat", boolean, where),
    steps: field(g, "steps", arrayOf(step), where),
  };
};

export const comparisonWire: Guard<ComparisonWire> = (v, where) => {
  const c = record(v, where);
  return {
    version: version(c, where),
    unit: field(c, "unit", oneOf("token", "word"), where),
    b: field(c, "b", record, where),
    a_units: field(c, "a_units", int32, where),
    b_units: field(c, "b_units", int32, where),
    a_slots: field(c, "a_slots", arrayOf(pair), where),
    b_slots: field(c, "b_slots", arrayOf(pair), where),
    moved: field(c, "moved", arrayOf(integer), where),
    modularity: field(c, "modularity", tuple<[number, number]>(number, number), where),
    summary: field(c, "summary", arrayOf(string), where),
    changed: field(c, "changed", arrayOf(tuple<[string, number]>(string, number)), where),
    titles: field(c, "titles", tuple<[string, string]>(string, string), where),
  };
};

const prediction: Guard<PredictionWire> = (v, where) => {
  const p = record(v, where);
  return {
    position: field(p, "position", integer, where),
    token: field(p, "token", string, where),
    before: field(p, "before", arrayOf(candidate), where),
    after: field(p, "after", arrayOf(candidate), where),
    probability_before: field(p, "probability_before", number, where),
    probability_after: field(p, "probability_after", number, where),
    divergence: field(p, "divergence", number, where),
    changed: field(p, "changed", boolean, where),
  };
};

export const ablationWire: Guard<AblationWire> = (v, where) => {
  const a = record(v, where);
  return {
    version: version(a, where),
    id: field(a, "id", nullable(integer), where),
    describe: field(a, "describe", string, where),
    tokens: field(a, "tokens", arrayOf(integer), where),
    heads: field(a, "heads", arrayOf(pair), where),
    notices: field(a, "notices", arrayOf(string), where),
    prediction: field(a, "prediction", nullable(prediction), where),
    comparison: field(a, "comparison", comparisonWire, where),
  };
};

/** A comparison decoded for drawing: the second text's view, each token's unit, both sides' colour slots. */
export interface Compared {
  raw: ComparisonWire;
  b: View;
  aUnits: Int32Array;
  bUnits: Int32Array;
  aSlots: Map<number, number>;
  bSlots: Map<number, number>;
  moved: Set<number>;
}

export function decodeComparison(raw: ComparisonWire): Compared {
  return {
    raw,
    b: decodeState(raw.b),
    aUnits: decodeArray(raw.a_units).data,
    bUnits: decodeArray(raw.b_units).data,
    aSlots: new Map(raw.a_slots),
    bSlots: new Map(raw.b_slots),
    moved: new Set(raw.moved),
  };
}
