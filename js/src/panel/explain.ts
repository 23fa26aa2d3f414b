// Explanations on demand (attn_widget/view/service.py): the panel asks the
// kernel to explain the selected cluster, and on a click to measure its
// faithfulness. Request/reply protocol (wire/messages.ts):
//   → ExplainRequest {type: "explain" | "scores", id, cluster, tokens, grid}
//   ← ExplainReply {type: "explain_reply" | "scores_reply", id, error, cluster, tokens, basis, info, scores_unavailable}
//   ← ScoresProgress {type: "scores_progress", id, cluster, tokens, done, total, message}
// Answers are kept per (basis, token set, partition): ``grid`` names the sweep
// partition a group is shown in ahead of the kernel (null: the state's own), since
// the explanation says how that partition is laid out; a reply for a partition the
// view has left (other tokens, other aggregation) is never shown for the current one.

import { el } from "../common/dom";
import type { ClusterInfo, ExplainReply, ExplainRequest, ScoresProgress } from "../wire/messages";

export interface Measuring {
  done: number;
  total: number;
  message: string;
}

export interface Entry {
  status: "loading" | "done" | "error";
  info: ClusterInfo | null;
  error: string;
  scoresUnavailable: string | null;
  measuring: Measuring | null;
  scoresError: string;
}

/** The knobs explanations depend on, as the widget's traits hold them (``[aggregation, layers, heads]``). */
export function basisKey(aggregation: string, layers: number[] | null | undefined, heads: [number, number][] | null | undefined): string {
  return JSON.stringify([aggregation, layers ?? null, heads ?? null]);
}

export function entryKey(basis: string, tokens: readonly number[], grid: number | null = null): string {
  return `${basis}|${tokens.join(",")}|${grid ?? ""}`;
}

const MAX_ENTRIES = 300;
export const REQUEST_DELAY_MS = 120;

/**
 * Explanations by (basis, token set), with the requests in flight. An
 * explanation is asked for only once the panel has shown the same group for
 * ``delayMs`` (dragging the slider past twenty partitions sends one request).
 */
export class Explanations {
  readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<number, { kind: ExplainRequest["type"]; key: string; grid: number | null }>();
  private nextId = 1;
  private wanted: { key: string; cluster: number; tokens: number[]; grid: number | null } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: (content: ExplainRequest) => void,
    private readonly delayMs = REQUEST_DELAY_MS,
  ) {}

  get(basis: string, tokens: readonly number[], grid: number | null = null): Entry | undefined {
    return this.entries.get(entryKey(basis, tokens, grid));
  }

  /** The entry for this group (of sweep partition ``grid``), asking the kernel when nothing is known yet. */
  need(basis: string, cluster: number, tokens: readonly number[], grid: number | null = null): Entry {
    const key = entryKey(basis, tokens, grid);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { status: "loading", info: null, error: "", scoresUnavailable: null, measuring: null, scoresError: "" };
      this.put(key, entry);
      this.queue(key, cluster, tokens, grid);
    }
    return entry;
  }

  /** Send the explanation request the panel is waiting for now (instead of after the delay). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const w = this.wanted;
    this.wanted = null;
    if (w && this.entries.get(w.key)?.status === "loading") this.request("explain", w.key, w.cluster, w.tokens, w.grid);
  }

  private queue(key: string, cluster: number, tokens: readonly number[], grid: number | null): void {
    const passed = this.wanted?.key;
    if (passed !== undefined && passed !== key) this.entries.delete(passed); // never asked: asked again when shown
    this.wanted = { key, cluster, tokens: [...tokens], grid };
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.delayMs);
  }

  /** Ask the kernel to measure the group's faithfulness (progress and result arrive through ``receive``). */
  measure(basis: string, cluster: number, tokens: readonly number[], grid: number | null = null): void {
    const entry = this.need(basis, cluster, tokens, grid);
    if (entry.measuring) return;
    const key = entryKey(basis, tokens, grid);
    if (this.wanted?.key === key) this.flush();
    entry.measuring = { done: 0, total: 0, message: "Starting…" };
    entry.scoresError = "";
    this.request("scores", key, cluster, tokens, grid);
  }

  /**
   * Take a kernel message; returns the key of the entry it changed, or null
   * when it is not an explanation message or answers nothing still asked.
   */
  receive(msg: ExplainReply | ScoresProgress): string | null {
    const id = msg.id;
    const asked = id === null ? undefined : this.inFlight.get(id);
    if (id === null || !asked) return null;
    const entry = this.entries.get(asked.key);
    if (msg.type === "scores_progress") {
      if (!entry) return null;
      entry.measuring = { done: msg.done, total: msg.total, message: msg.message };
      return asked.key;
    }
    if (msg.type !== `${asked.kind}_reply`) return null;
    this.inFlight.delete(id);
    if (!entry) return null;
    if (asked.kind === "scores") entry.measuring = null;
    if (msg.error) {
      if (asked.kind === "scores") entry.scoresError = msg.error;
      else Object.assign(entry, { status: "error", error: msg.error });
      entry.scoresUnavailable = msg.scores_unavailable;
      return asked.key;
    }
    const key = msg.tokens && msg.basis !== null ? entryKey(JSON.stringify(msg.basis), msg.tokens, asked.grid) : null;
    if (key !== asked.key) {
      // the kernel answered for another partition or aggregation: forget, ask again when shown
      if (entry.status === "loading") this.entries.delete(asked.key);
      return asked.key;
    }
    Object.assign(entry, { status: "done", info: msg.info, error: "", scoresUnavailable: msg.scores_unavailable });
    return key;
  }

  /**
   * Forget the finished explanations (not one being measured), so each is asked for again when
   * shown: the kernel now knows more about the partition (its cut test) and says so.
   */
  forgetDone(): void {
    for (const [key, entry] of this.entries) if (entry.status !== "loading" && !entry.measuring) this.entries.delete(key);
  }

  /** Forget what is in flight or queued (the view is going away). */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.wanted = null;
    this.inFlight.clear();
  }

  private request(kind: ExplainRequest["type"], key: string, cluster: number, tokens: readonly number[], grid: number | null): void {
    const id = this.nextId++;
    this.inFlight.set(id, { kind, key, grid });
    this.send({ type: kind, id, cluster, tokens: [...tokens], grid });
  }

  private put(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    for (const old of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      if (old !== key && !this.entries.get(old)?.measuring) this.entries.delete(old);
    }
  }
}

/** What the panel shows about an explanation: loading, an error, the faithfulness button and its progress. */
export function explainSection(entry: Entry, faithfulness: unknown, onMeasure: () => void, signal?: AbortSignal): HTMLElement {
  const box = el("div", { class: "aw-explain", testid: "panel-explain" });
  if (entry.status === "loading") box.append(el("p", { class: "aw-muted", testid: "panel-explaining", text: "Explaining this cluster…" }));
  if (entry.status === "error") box.append(el("p", { class: "aw-note aw-capped", testid: "panel-explain-error", text: entry.error, attrs: { role: "alert" } }));
  const skipped = faithfulness && typeof faithfulness === "object" ? (faithfulness as Record<string, unknown>).skipped : undefined;
  if (typeof skipped === "string") box.append(el("p", { class: "aw-muted", testid: "panel-measure-status", text: `Faithfulness not measured: ${skipped}.` }));
  const note = faithfulness && typeof faithfulness === "object" ? (faithfulness as Record<string, unknown>).note : undefined;
  if (typeof note === "string") box.append(el("p", { class: "aw-muted", testid: "panel-faithfulness-note", text: `No random baseline: ${note}.` }));
  if (faithfulness && !entry.measuring) return box;
  const button = el("button", { testid: "panel-measure", text: "Measure faithfulness", title: "Compare this group with random token sets of the same size: extra forward passes of the model (seconds to tens of seconds)" });
  const status = el("span", { class: "aw-muted", testid: "panel-measure-status" });
  if (entry.scoresUnavailable) {
    button.disabled = true;
    status.textContent = entry.scoresUnavailable;
  } else if (entry.measuring) {
    button.disabled = true;
    const m = entry.measuring;
    status.textContent = m.total ? `${m.message} (${m.done}/${m.total})` : m.message;
  } else if (entry.scoresError) {
    status.textContent = entry.scoresError;
    status.dataset.error = "true";
  }
  button.addEventListener("click", onMeasure, { signal });
  box.append(el("div", { class: "aw-controls aw-measure" }, [button, status]));
  return box;
}
