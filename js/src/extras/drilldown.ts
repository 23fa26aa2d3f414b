// Drill-down: ask the kernel for BertViz's head/model view of chosen layers and
// the selected cluster's tokens (attn_widget/view/drilldown.py renders it), and
// show the returned offline HTML in a sandboxed iframe. Request/reply protocol
// (wire/messages.ts):
//   → DrilldownRequest {type: "drilldown", id, view: "head"|"model", layers: number[]|null,
//      tokens: number[]|null, display_mode: "light"|"dark"}  (the notebook's theme, see ``themeMode``)
//   ← DrilldownReply {type: "drilldown_reply", id, error: string|null, capped?, note?}, buffers: [html utf-8]

import type { DrilldownReply, DrilldownRequest } from "../wire/messages";
import type { Model } from "../wire/model";

export type Pending = Map<number, (reply: DrilldownReply, buffers: DataView[]) => void>;

/** Why a request was given up when its view went away (callers stay quiet about it). */
export const ABORTED = "the view was closed before the kernel answered";

let nextId = 1;

/**
 * Send a drill-down request and wait for its reply. Rejects with the kernel's
 * error, after ``timeoutMs`` without a reply, or when ``signal`` aborts.
 */
export function request(
  model: Model,
  pending: Pending,
  payload: Omit<DrilldownRequest, "type" | "id">,
  timeoutMs = 180_000,
  signal?: AbortSignal,
): Promise<{ reply: DrilldownReply; html: string }> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      pending.delete(id);
      signal?.removeEventListener("abort", abort);
    };
    const abort = () => {
      done();
      reject(new Error(ABORTED));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("the kernel did not answer the drill-down request (is it busy or stopped?)"));
    }, timeoutMs);
    if (signal?.aborted) return abort();
    signal?.addEventListener("abort", abort);
    pending.set(id, (reply, buffers) => {
      done();
      if (reply.error) {
        reject(new Error(reply.error));
        return;
      }
      const html = buffers.length ? new TextDecoder().decode(buffers[0]) : "";
      resolve({ reply, html });
    });
    const message: DrilldownRequest = { type: "drilldown", id, ...payload };
    model.send(message);
  });
}

/** Hand a reply to its waiting request; false when no request waits for it. */
export function dispatch(pending: Pending, msg: DrilldownReply, buffers: DataView[] = []): boolean {
  const cb = msg.id === null ? undefined : pending.get(msg.id);
  if (cb) cb(msg, buffers);
  return !!cb;
}

export type DisplayMode = "light" | "dark";

/** Relative luminance (0 black … 1 white) of a CSS "rgb(…)"/"rgba(…)"/"#rrggbb" colour; null if unreadable or transparent. */
export function luminance(colour: string): number | null {
  let rgb: number[];
  const hex = /^#([0-9a-f]{6})$/i.exec(colour.trim());
  if (hex) {
    const n = parseInt(hex[1], 16);
    rgb = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  } else {
    const m = colour.match(/[\d.]+/g);
    if (!m || m.length < 3 || (m.length > 3 && Number(m[3]) === 0)) return null;
    rgb = m.slice(0, 3).map(Number);
  }
  const lin = rgb.map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/**
 * The notebook's theme, for BertViz's ``display_mode``. JupyterLab says it on
 * ``<body data-jp-theme-light="true|false">``; elsewhere (VS Code, exported
 * pages) the widget's own background colour decides.
 */
export function themeMode(bodyData: { jpThemeLight?: string }, background: string): DisplayMode {
  if (bodyData.jpThemeLight === "false") return "dark";
  if (bodyData.jpThemeLight === "true") return "light";
  const lum = luminance(background);
  return lum !== null && lum < 0.2 ? "dark" : "light";
}
