// Drill-down: ask the kernel for BertViz's head/model view of chosen layers and
// the selected cluster's tokens (attn_widget/drilldown.py renders it), and show
// the returned offline HTML in a sandboxed iframe. Request/reply protocol:
//   → {type: "drilldown", id, view: "head"|"model", layers: number[]|null, tokens: number[]|null}
//   ← {type: "drilldown_reply", id, error: string|null, capped, note}, buffers: [html utf-8]

import type { Model } from "./state";

export interface Reply {
  type: string;
  id: number;
  error: string | null;
  capped?: boolean;
  note?: string;
}

export type Pending = Map<number, (reply: Reply, buffers: DataView[]) => void>;

let nextId = 1;

export function request(
  model: Model,
  pending: Pending,
  payload: { view: string; layers: number[] | null; tokens: number[] | null },
  timeoutMs = 180_000,
): Promise<{ reply: Reply; html: string }> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error("the kernel did not answer the drill-down request (is it busy or stopped?)"));
    }, timeoutMs);
    pending.set(id, (reply, buffers) => {
      clearTimeout(timer);
      pending.delete(id);
      if (reply.error) {
        reject(new Error(reply.error));
        return;
      }
      const html = buffers.length ? new TextDecoder().decode(buffers[0]) : "";
      resolve({ reply, html });
    });
    model.send({ type: "drilldown", id, ...payload });
  });
}

/** Route a custom message to its waiting request; false when it is not a reply. */
export function dispatch(pending: Pending, msg: Reply, buffers: DataView[] = []): boolean {
  if (!msg || msg.type !== "drilldown_reply") return false;
  const cb = pending.get(msg.id);
  if (cb) cb(msg, buffers);
  return !!cb;
}
