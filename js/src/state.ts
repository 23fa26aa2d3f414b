// The analysis state the kernel sends as one trait (attn_widget/state.py,
// STATE_VERSION), decoded into typed arrays, and the Model type mirroring the
// Python traits of attn_widget/widget.py.

import { decodeArray, NdArray, row, WireArray } from "./codec";

export const STATE_VERSION = 1;

/** Traits of AttentionExplainer (attn_widget/widget.py). */
export interface Traits {
  state: WireState | null;
  threshold: number | null;
  threshold_mode: string;
  method: string;
  aggregation: string;
  layers: number[] | null;
  heads: [number, number][] | null;
  selected_cluster: number | null;
  status: string;
  progress: string;
  error: string;
  notices: string[];
  methods: string[];
  aggregations: string[];
}

export interface Model {
  get<K extends keyof Traits>(key: K): Traits[K];
  set<K extends keyof Traits>(key: K, value: Traits[K]): void;
  save_changes(): void;
  on(event: string, cb: (...args: any[]) => void): void;
  off(event?: string | null, cb?: ((...args: any[]) => void) | null): void;
  send(content: any, callbacks?: any, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

export interface ClusterInfo {
  id: number;
  size: number;
  modularity: number;
  internal: number;
  evidence?: Record<string, unknown> | null;
  claims?: Record<string, unknown>[] | null;
  rationale?: string | null;
  scores?: Record<string, unknown> | null;
}

export interface WireState {
  version: number;
  text: string;
  tokens: string[];
  offsets: WireArray;
  flags: WireArray;
  labels: WireArray;
  threshold: number;
  threshold_mode: string;
  auto: boolean;
  modularity: number;
  method: string;
  aggregation: string;
  model: string | null;
  notices: string[];
  range: [number, number];
  n_layers: number | null;
  n_heads: number | null;
  clusters: ClusterInfo[];
  sweep: {
    mode: string;
    best: number;
    thresholds: WireArray;
    modularity: WireArray;
    n_clusters: WireArray;
    labels: WireArray;
    facts: WireArray;
  };
  links: { k: number; out_index: WireArray; out_weight: WireArray; in_index: WireArray; in_weight: WireArray };
}

export const FLAG_SPECIAL = 1;
export const FLAG_EXCLUDED = 2;

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
  gridLabels: NdArray<Int32Array>;
  gridFacts: Map<string, { modularity: number; internal: number }>;
  links: { outIndex: NdArray<Int32Array>; outWeight: NdArray; inIndex: NdArray<Int32Array>; inWeight: NdArray };
}

export function decodeState(raw: WireState): View {
  if (raw.version !== STATE_VERSION) {
    throw new Error(
      `analysis state version ${raw.version} does not match this front-end (${STATE_VERSION}); ` +
        "reinstall attn_widget so the Python package and its bundle match",
    );
  }
  const facts = decodeArray(raw.sweep.facts);
  const gridFacts = new Map<string, { modularity: number; internal: number }>();
  for (let r = 0; r < facts.shape[0]; r++) {
    const f = row(facts, r);
    gridFacts.set(`${f[0]}:${f[1]}`, { modularity: f[2], internal: f[3] });
  }
  return {
    raw,
    n: raw.tokens.length,
    offsets: decodeArray(raw.offsets).data as Int32Array,
    flags: decodeArray(raw.flags).data as Int32Array,
    labels: decodeArray(raw.labels).data as Int32Array,
    clusters: new Map(raw.clusters.map((c) => [c.id, c])),
    grid: decodeArray(raw.sweep.thresholds).data as Float64Array,
    gridModularity: decodeArray(raw.sweep.modularity).data as Float32Array,
    gridCounts: decodeArray(raw.sweep.n_clusters).data as Int32Array,
    gridLabels: decodeArray(raw.sweep.labels) as NdArray<Int32Array>,
    gridFacts,
    links: {
      outIndex: decodeArray(raw.links.out_index) as NdArray<Int32Array>,
      outWeight: decodeArray(raw.links.out_weight),
      inIndex: decodeArray(raw.links.in_index) as NdArray<Int32Array>,
      inWeight: decodeArray(raw.links.in_weight),
    },
  };
}

/** Strongest links of token ``i``: [{token, weight}] out (what it attends to) and in. */
export function linksOf(view: View, i: number) {
  const pick = (idx: NdArray<Int32Array>, w: NdArray) => {
    const out: { token: number; weight: number }[] = [];
    const a = row(idx, i);
    const b = row(w, i);
    for (let k = 0; k < a.length; k++) if (a[k] >= 0) out.push({ token: a[k], weight: b[k] });
    return out;
  };
  return { out: pick(view.links.outIndex, view.links.outWeight), in: pick(view.links.inIndex, view.links.inWeight) };
}
