// The analysis state the kernel sends as one trait (attn_widget/view/wire.py
// `to_state`, STATE_VERSION), checked field by field and decoded into typed
// arrays. js/tests/fixtures/state.json is a real state written by Python
// (tests/view/test_golden_state.py); js/tests/wire/golden.test.ts decodes it here.

import { DType, decodeArray, NdArray, row, TypedOf, WireArray } from "./codec";
import { arrayOf, boolean, field, Guard, integer, nullable, number, optional, record, string, WireError } from "./guard";
import { ClusterInfo, clusterInfo } from "./messages";

export const STATE_VERSION = 7;

export const FLAG_SPECIAL = 1;
export const FLAG_EXCLUDED = 2;

/** The state as wire.py writes it (T tokens, G sweep grid values, K links per token). */
export interface WireState {
  version: number;
  text: string;
  tokens: string[];
  /** [T, 2], -1 unknown. UTF-16 code units into ``text`` (what ``text.slice`` counts), converted
   * from Python's code points by wire.py ``utf16_offsets``; pieces of one character overlap. */
  offsets: WireArray<"int32">;
  flags: WireArray<"int32">; // [T], FLAG_SPECIAL | FLAG_EXCLUDED
  labels: WireArray<"int32">; // [T], -1 excluded
  threshold: number;
  threshold_mode: string;
  auto: boolean;
  modularity: number;
  method: string;
  aggregation: string;
  measure: string;
  lens: string; // a lens name, or "N heads" for a list of heads
  lens_heads: number | null; // heads the lens keeps (null: all)
  links_lens: string; // the lens of the hover links ("": the clusters')
  model: string | null;
  notices: string[];
  range: [number, number];
  n_layers: number | null;
  n_heads: number | null;
  unit: string; // "token", "word" or "sentence": what each of the T nodes is
  zoomed: boolean; // the nodes are the inside of one cluster of a coarser view
  /** An encoder–decoder pair: nodes [0, source_length) are the source (shown above), the rest the
   * decoder's start token and the target; null for one text (absent in older states: null). */
  source_length?: number | null;
  clusters: ClusterInfo[];
  sweep: {
    mode: string;
    best: number;
    thresholds: WireArray<"float64">; // [G]
    modularity: WireArray<"float32">; // [G]
    n_clusters: WireArray<"int32">; // [G]
    contiguity: WireArray<"float32">; // [G], share of neighbouring tokens in one cluster
    labels: WireArray<"int32">; // [G, T]
    facts: WireArray<"float32">; // [N, 4]: grid index, cluster id, modularity, inside share
  };
  links: {
    k: number;
    out_index: WireArray<"int32">; // [T, K], -1 none
    out_weight: WireArray<"float16">; // [T, K]
    in_index: WireArray<"int32">;
    in_weight: WireArray<"float16">;
  };
  /** Names the graph a token map belongs to (a map reply with another key is stale). */
  map_key: string;
  /** A token map already made of this graph (null: ask the kernel). */
  map: { method: string; seed: number; coords: WireArray<"float32"> } | null; // coords [T, 2], NaN left out
  /** The hand edits so far, the pinned groups, and the undo/redo steps the kernel holds. */
  partition: PartitionInfo;
  /** The links drawn over the text (Analysis.arcs); null: still being computed. */
  arcs: ArcInfo[] | null;
  /** 3–5 plain sentences about what stands out; null: still being computed. */
  findings: FindingInfo[] | null;
}

/** One arc: ``source`` looks back to ``target`` (node indices; view/firstscreen.py ``arc_info``). */
export interface ArcInfo {
  source: number;
  target: number;
  weight: number;
  kind: string; // "reference" | "long-range" | "cross" (a target word to the source word it reads most)
  confident: boolean;
  lens: string;
  measure: string;
  confidence: number | null; // a reference's: the calibrated chance it is the right word
  baseline: number | null; // a long-range link's: mean weight at that distance
  source_text: string;
  target_text: string;
  /** The heads that carry it most: [layer, head, share], largest first (absent in older states: none). */
  heads: [number, number, number][];
}

/** One finding: a verified sentence and the nodes it names. */
export interface FindingInfo {
  kind: string;
  text: string;
  tokens: number[];
}

export interface EditInfo {
  op: string;
  text: string;
  before: number;
  after: number;
}

export interface PartitionInfo {
  edits: EditInfo[];
  pins: number[][];
  undo: number;
  redo: number;
}

export interface View {
  raw: WireState;
  n: number;
  offsets: Int32Array;
  flags: Int32Array;
  labels: Int32Array;
  clusters: Map<number, ClusterInfo>;
  grid: Float64Array;
  gridModularity: Float32Array;
  gridCounts: Int32Array;
  gridContiguity: Float32Array;
  gridLabels: NdArray<Int32Array>;
  gridFacts: Map<string, { modularity: number; internal: number }>;
  links: { outIndex: NdArray<Int32Array>; outWeight: NdArray<Float32Array>; inIndex: NdArray<Int32Array>; inWeight: NdArray<Float32Array> };
  /** The map the state carries, decoded (null: none yet). */
  map: { method: string; seed: number; key: string; coords: Float32Array } | null;
}

function isData(v: unknown): v is WireArray["data"] {
  return typeof v === "string" || v instanceof DataView || v instanceof ArrayBuffer || v instanceof Uint8Array;
}

/** A wire array of exactly ``dtype`` whose shape matches ``shape`` (null: any length on that axis). */
function wireArray<D extends DType>(dtype: D, shape: (number | null)[]): Guard<WireArray<D>> {
  return (v, where) => {
    const w = record(v, where);
    if (w.dtype !== dtype) throw new WireError(`${where} should be ${dtype}, got dtype ${JSON.stringify(w.dtype)}`);
    const got = field(w, "shape", arrayOf(integer), where);
    if (got.length !== shape.length || shape.some((s, i) => s !== null && s !== got[i])) {
      const want = shape.map((s) => (s === null ? "any" : String(s))).join(", ");
      throw new WireError(`${where} should have shape [${want}], got [${got.join(", ")}]`);
    }
    if (!isData(w.data)) throw new WireError(`${where}.data should be binary or base64, got ${typeof w.data}`);
    return { dtype, shape: got, data: w.data };
  };
}

const editInfo: Guard<EditInfo> = (v, where) => {
  const e = record(v, where);
  return { op: field(e, "op", string, where), text: field(e, "text", string, where), before: field(e, "before", number, where), after: field(e, "after", number, where) };
};

function partitionInfo(v: unknown, where: string): PartitionInfo {
  const p = record(v, where);
  return {
    edits: field(p, "edits", arrayOf(editInfo), where),
    pins: field(p, "pins", arrayOf(arrayOf(integer)), where),
    undo: field(p, "undo", integer, where),
    redo: field(p, "redo", integer, where),
  };
}

const arcInfo: Guard<ArcInfo> = (v, where) => {
  const a = record(v, where);
  return {
    source: field(a, "source", integer, where),
    target: field(a, "target", integer, where),
    weight: field(a, "weight", number, where),
    kind: field(a, "kind", string, where),
    confident: field(a, "confident", boolean, where),
    lens: field(a, "lens", string, where),
    measure: field(a, "measure", string, where),
    confidence: field(a, "confidence", nullable(number), where),
    baseline: field(a, "baseline", nullable(number), where),
    source_text: field(a, "source_text", string, where),
    target_text: field(a, "target_text", string, where),
    heads: field(a, "heads", optional(arrayOf(headShare)), where) ?? [],
  };
};

const headShare: Guard<[number, number, number]> = (v, where) => {
  const t = arrayOf(number)(v, where);
  if (t.length !== 3) throw new WireError(`${where} should be [layer, head, share], got ${t.length} numbers`);
  return [integer(t[0], where), integer(t[1], where), t[2]];
};

const findingInfo: Guard<FindingInfo> = (v, where) => {
  const f = record(v, where);
  return { kind: field(f, "kind", string, where), text: field(f, "text", string, where), tokens: field(f, "tokens", arrayOf(integer), where) };
};

function pair(v: unknown, where: string): [number, number] {
  const p = arrayOf(number)(v, where);
  if (p.length !== 2) throw new WireError(`${where} should be [low, high], got ${p.length} numbers`);
  return [p[0], p[1]];
}

/** Check an unknown value against the layout of wire.py's `to_state`. */
export function checkState(value: unknown): WireState {
  const s = record(value, "analysis state");
  const version = s.version;
  if (version !== STATE_VERSION) {
    throw new WireError(
      `analysis state version ${String(version)} does not match this front-end (${STATE_VERSION}); ` +
        "reinstall attn_widget so the Python package and its bundle match",
    );
  }
  const at = "state";
  const tokens = field(s, "tokens", arrayOf(string), at);
  const t = tokens.length;
  const sw = field(s, "sweep", record, at);
  const thresholds = field(sw, "thresholds", wireArray("float64", [null]), "state.sweep");
  const g = thresholds.shape[0];
  const li = field(s, "links", record, at);
  const k = field(li, "k", integer, "state.links");
  const linkArray = <D extends DType>(dtype: D) => wireArray(dtype, [t, k]);
  return {
    version: STATE_VERSION,
    text: field(s, "text", string, at),
    tokens,
    offsets: field(s, "offsets", wireArray("int32", [t, 2]), at),
    flags: field(s, "flags", wireArray("int32", [t]), at),
    labels: field(s, "labels", wireArray("int32", [t]), at),
    threshold: field(s, "threshold", number, at),
    threshold_mode: field(s, "threshold_mode", string, at),
    auto: field(s, "auto", boolean, at),
    modularity: field(s, "modularity", number, at),
    method: field(s, "method", string, at),
    aggregation: field(s, "aggregation", string, at),
    measure: field(s, "measure", string, at),
    lens: field(s, "lens", string, at),
    lens_heads: field(s, "lens_heads", nullable(integer), at),
    links_lens: field(s, "links_lens", string, at),
    model: field(s, "model", nullable(string), at),
    notices: field(s, "notices", arrayOf(string), at),
    range: field(s, "range", pair, at),
    n_layers: field(s, "n_layers", nullable(integer), at),
    n_heads: field(s, "n_heads", nullable(integer), at),
    unit: field(s, "unit", string, at),
    zoomed: field(s, "zoomed", boolean, at),
    source_length: s.source_length === undefined ? null : field(s, "source_length", nullable(integer), at),
    clusters: field(s, "clusters", arrayOf(clusterInfo), at),
    sweep: {
      mode: field(sw, "mode", string, "state.sweep"),
      best: field(sw, "best", integer, "state.sweep"),
      thresholds,
      modularity: field(sw, "modularity", wireArray("float32", [g]), "state.sweep"),
      n_clusters: field(sw, "n_clusters", wireArray("int32", [g]), "state.sweep"),
      contiguity: field(sw, "contiguity", wireArray("float32", [g]), "state.sweep"),
      labels: field(sw, "labels", wireArray("int32", [g, t]), "state.sweep"),
      facts: field(sw, "facts", wireArray("float32", [null, 4]), "state.sweep"),
    },
    links: {
      k,
      out_index: field(li, "out_index", linkArray("int32"), "state.links"),
      out_weight: field(li, "out_weight", linkArray("float16"), "state.links"),
      in_index: field(li, "in_index", linkArray("int32"), "state.links"),
      in_weight: field(li, "in_weight", linkArray("float16"), "state.links"),
    },
    map_key: field(s, "map_key", string, at),
    map: field(s, "map", nullable((v, where) => {
      const m = record(v, where);
      return { method: field(m, "method", string, where), seed: field(m, "seed", integer, where), coords: field(m, "coords", wireArray("float32", [t, 2]), where) };
    }), at),
    partition: field(s, "partition", partitionInfo, at),
    arcs: field(s, "arcs", nullable(arrayOf(arcInfo)), at),
    findings: field(s, "findings", nullable(arrayOf(findingInfo)), at),
  };
}

const data = <D extends DType>(w: WireArray<D>): TypedOf[D] => decodeArray(w).data;

/** Check and decode the state trait; throws a WireError that says what does not match. */
export function decodeState(value: unknown): View {
  const raw = checkState(value);
  const facts = decodeArray(raw.sweep.facts);
  const gridFacts = new Map<string, { modularity: number; internal: number }>();
  for (let r = 0; r < facts.shape[0]; r++) {
    const f = row(facts, r);
    gridFacts.set(`${f[0]}:${f[1]}`, { modularity: f[2], internal: f[3] });
  }
  return {
    raw,
    n: raw.tokens.length,
    offsets: data(raw.offsets),
    flags: data(raw.flags),
    labels: data(raw.labels),
    clusters: new Map(raw.clusters.map((c) => [c.id, c])),
    grid: data(raw.sweep.thresholds),
    gridModularity: data(raw.sweep.modularity),
    gridCounts: data(raw.sweep.n_clusters),
    gridContiguity: data(raw.sweep.contiguity),
    gridLabels: decodeArray(raw.sweep.labels),
    gridFacts,
    links: {
      outIndex: decodeArray(raw.links.out_index),
      outWeight: decodeArray(raw.links.out_weight),
      inIndex: decodeArray(raw.links.in_index),
      inWeight: decodeArray(raw.links.in_weight),
    },
    map: raw.map && { method: raw.map.method, seed: raw.map.seed, key: raw.map_key, coords: data(raw.map.coords) },
  };
}

/** Strongest links of token ``i``: [{token, weight}] out (what it attends to) and in. */
export function linksOf(view: View, i: number) {
  const pick = (idx: NdArray<Int32Array>, w: NdArray<Float32Array>) => {
    const out: { token: number; weight: number }[] = [];
    const a = row(idx, i);
    const b = row(w, i);
    for (let k = 0; k < a.length; k++) if (a[k] >= 0) out.push({ token: a[k], weight: b[k] });
    return out;
  };
  return { out: pick(view.links.outIndex, view.links.outWeight), in: pick(view.links.inIndex, view.links.inWeight) };
}

/** Share of neighbouring tokens (both in the graph) that share a cluster (graph/metrics.py `contiguity`). */
export function contiguity(labels: Int32Array): number {
  let pairs = 0;
  let same = 0;
  let prev = -1;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    if (prev >= 0) {
      pairs++;
      if (labels[prev] === labels[i]) same++;
    }
    prev = i;
  }
  return pairs === 0 ? 1 : same / pairs;
}
