// The custom messages between the view and the kernel, declared exactly as
// attn_widget/view/messages.py declares them (TypedDicts tagged by `type`).
// Keep the two in step: tests/view/test_messages.py reads this file and fails
// when an interface's fields, their types or its tags differ from Python's.
//
//   view → kernel  DrilldownRequest                  kernel → view  DrilldownReply (+ buffers [html utf-8])
//   view → kernel  ExplainRequest ("explain"|"scores")  kernel → view  ExplainReply, ScoresProgress
//   view → kernel  MapRequest                        kernel → view  MapReply (+ buffers [float32 T×2])
//   view → kernel  RefineRequest                     kernel → view  RefineReply (the new partition: a new state)
//   view → kernel  AblateRequest                     kernel → view  AblateReply (the result: the `ablation` trait)
//
// What the kernel sends is `unknown` until `kernelMessage` has checked it.

import { arrayOf, boolean, field, Guard, integer, isRecord, nullable, number, optional, record, string, unknownArray } from "./guard";

/** One cluster as the view reads it (wire.py `cluster_info`; the items of the state's `clusters`). */
export interface ClusterInfo {
  id: number;
  size: number;
  modularity: number;
  internal: number;
  evidence: Record<string, unknown> | null;
  claims: Record<string, unknown>[] | null;
  rationale: string | null;
  headline: string | null;
  scores: Record<string, unknown> | null;
}

export interface DrilldownRequest {
  type: "drilldown";
  id: number;
  view: "head" | "model";
  layers: number[] | null;
  tokens: number[] | null;
  display_mode: "light" | "dark";
}

export interface DrilldownReply {
  type: "drilldown_reply";
  id: number | null;
  error: string | null;
  capped?: boolean;
  note?: string;
}

export interface ExplainRequest {
  type: "explain" | "scores";
  id: number;
  cluster: number;
  tokens: number[] | null;
  /** Sweep grid index of the partition the group is shown in (null: the state's own partition). */
  grid: number | null;
}

export interface ExplainReply {
  type: "explain_reply" | "scores_reply";
  id: number | null;
  error: string | null;
  cluster: number | null;
  tokens: number[] | null;
  basis: unknown[] | null;
  info: ClusterInfo | null;
  scores_unavailable: string | null;
}

export interface ScoresProgress {
  type: "scores_progress";
  id: number | null;
  cluster: number | null;
  tokens: number[] | null;
  done: number;
  total: number;
  message: string;
}

export interface CutTestRequest {
  type: "cuttest";
  id: number;
  labels: number[];
}

export interface CutTestResult {
  divergence: number;
  contiguous: number;
  random: number;
  ratio_contiguous: number | null;
  ratio_random: number | null;
  contiguity: number;
  output: string;
  n_random: number;
}

export interface CutTestReply {
  type: "cuttest_reply";
  id: number | null;
  error: string | null;
  labels: number[] | null;
  result: CutTestResult | null;
}

export interface CutTestProgress {
  type: "cuttest_progress";
  id: number | null;
  done: number;
  total: number;
  message: string;
}

export interface MapRequest {
  type: "map";
  id: number;
  method: string;
  seed: number;
  /** The partition on screen, one cluster id per token (method "clusters" only). */
  labels?: number[];
}

export interface MapReply {
  type: "map_reply";
  id: number | null;
  error: string | null;
  method: string | null;
  seed: number | null;
  key: string | null;
  seconds: number | null;
}

export type EditOp = "merge" | "split" | "move" | "pin" | "unpin" | "undo" | "redo";

export interface RefineRequest {
  type: "refine";
  id: number;
  op: "merge" | "split" | "move" | "pin" | "unpin" | "undo" | "redo";
  clusters: number[] | null;
  cluster: number | null;
  tokens: number[] | null;
  to: number | null;
}

export interface RefineReply {
  type: "refine_reply";
  id: number | null;
  error: string | null;
  text: string;
  delta: number | null;
}

export interface AblateRequest {
  type: "ablate";
  id: number;
  tokens: number[];
  heads: number[][];
  position: number | null;
}

export interface AblateReply {
  type: "ablate_reply";
  id: number | null;
  error: string | null;
}

/** What the view sends. */
export type ViewMessage = DrilldownRequest | ExplainRequest | CutTestRequest | MapRequest | RefineRequest | AblateRequest;
/** What the kernel sends. */
export type KernelMessage =
  | DrilldownReply | ExplainReply | ScoresProgress | CutTestReply | CutTestProgress | MapReply | RefineReply | AblateReply;

const indices = nullable(arrayOf(integer));
const json = nullable(record);

export const clusterInfo: Guard<ClusterInfo> = (value, where) => {
  const c = record(value, where);
  return {
    id: field(c, "id", integer, where),
    size: field(c, "size", integer, where),
    modularity: field(c, "modularity", number, where),
    internal: field(c, "internal", number, where),
    evidence: field(c, "evidence", json, where),
    claims: field(c, "claims", nullable(arrayOf(record)), where),
    rationale: field(c, "rationale", nullable(string), where),
    headline: field(c, "headline", nullable(string), where),
    scores: field(c, "scores", json, where),
  };
};

const cutTestResult: Guard<CutTestResult> = (value, where) => {
  const c = record(value, where);
  return {
    divergence: field(c, "divergence", number, where),
    contiguous: field(c, "contiguous", number, where),
    random: field(c, "random", number, where),
    ratio_contiguous: field(c, "ratio_contiguous", nullable(number), where),
    ratio_random: field(c, "ratio_random", nullable(number), where),
    contiguity: field(c, "contiguity", number, where),
    output: field(c, "output", string, where),
    n_random: field(c, "n_random", integer, where),
  };
};

const KERNEL: { [K in KernelMessage["type"]]: Guard<KernelMessage & { type: K }> } = {
  drilldown_reply: (m, where) => {
    const r = record(m, where);
    return {
      type: "drilldown_reply",
      id: field(r, "id", nullable(integer), where),
      error: field(r, "error", nullable(string), where),
      capped: field(r, "capped", optional(boolean), where),
      note: field(r, "note", optional(string), where),
    };
  },
  cuttest_reply: (m, where) => {
    const r = record(m, where);
    return {
      type: "cuttest_reply",
      id: field(r, "id", nullable(integer), where),
      error: field(r, "error", nullable(string), where),
      labels: field(r, "labels", indices, where),
      result: field(r, "result", nullable(cutTestResult), where),
    };
  },
  cuttest_progress: (m, where) => {
    const r = record(m, where);
    return {
      type: "cuttest_progress",
      id: field(r, "id", nullable(integer), where),
      done: field(r, "done", integer, where),
      total: field(r, "total", integer, where),
      message: field(r, "message", string, where),
    };
  },
  map_reply: (m, where) => {
    const r = record(m, where);
    return {
      type: "map_reply",
      id: field(r, "id", nullable(integer), where),
      error: field(r, "error", nullable(string), where),
      method: field(r, "method", nullable(string), where),
      seed: field(r, "seed", nullable(integer), where),
      key: field(r, "key", nullable(string), where),
      seconds: field(r, "seconds", nullable(number), where),
    };
  },
  refine_reply: (m, where) => {
    const r = record(m, where);
    return {
      type: "refine_reply",
      id: field(r, "id", nullable(integer), where),
      error: field(r, "error", nullable(string), where),
      text: field(r, "text", string, where),
      delta: field(r, "delta", nullable(number), where),
    };
  },
  explain_reply: (m, where) => explainReply(m, "explain_reply", where),
  scores_reply: (m, where) => explainReply(m, "scores_reply", where),
  ablate_reply: (m, where) => {
    const r = record(m, where);
    return { type: "ablate_reply", id: field(r, "id", nullable(integer), where), error: field(r, "error", nullable(string), where) };
  },
  scores_progress: (m, where) => {
    const r = record(m, where);
    return {
      type: "scores_progress",
      id: field(r, "id", nullable(integer), where),
      cluster: field(r, "cluster", nullable(integer), where),
      tokens: field(r, "tokens", indices, where),
      done: field(r, "done", integer, where),
      total: field(r, "total", integer, where),
      message: field(r, "message", string, where),
    };
  },
};

function explainReply<T extends ExplainReply["type"]>(m: unknown, type: T, where: string): ExplainReply & { type: T } {
  const r = record(m, where);
  return {
    type,
    id: field(r, "id", nullable(integer), where),
    error: field(r, "error", nullable(string), where),
    cluster: field(r, "cluster", nullable(integer), where),
    tokens: field(r, "tokens", indices, where),
    basis: field(r, "basis", nullable(unknownArray), where),
    info: field(r, "info", nullable(clusterInfo), where),
    scores_unavailable: field(r, "scores_unavailable", nullable(string), where),
  };
}

function isKernelType(type: string): type is KernelMessage["type"] {
  return Object.hasOwn(KERNEL, type);
}

/**
 * A message from the kernel, checked against its declared shape; null when it
 * is not one of ours (another widget's message). Throws a WireError when it
 * carries one of our tags but the wrong fields.
 */
export function kernelMessage(msg: unknown): KernelMessage | null {
  if (!isRecord(msg) || typeof msg.type !== "string" || !isKernelType(msg.type)) return null;
  return KERNEL[msg.type](msg, `${msg.type} message`);
}
