// The drill-down section: the button asks the kernel for BertViz's view of the
// selected cluster (drilldown.ts speaks the protocol), the reply lands in a
// sandboxed iframe, and a drill-down drawn for one theme is redrawn when
// JupyterLab switches theme. Listeners, the theme watch and requests in flight
// end when ``signal`` aborts. The page posts its content's height
// (view/bertviz_page.py HEIGHT_MESSAGE) and the iframe takes it, so no empty
// space is left under the drawing. Returns the handler for drill-down replies.

import { el } from "../common/dom";
import { ABORTED, dispatch, Pending, request, themeMode } from "./drilldown";
import type { DrilldownReply } from "../wire/messages";
import type { Model } from "../wire/model";
import type { Parts } from "../common/skeleton";
import { parseIndexList } from "../controls/slider";

/** ``postMessage`` type of the page's height report (attn_widget/view/bertviz_page.py HEIGHT_MESSAGE). */
export const HEIGHT_MESSAGE = "attn-widget-height";
/** The iframe's height range, pixels: a report outside it is clamped. */
export const FRAME_HEIGHT = { min: 120, max: 2400 } as const;

/** The iframe height for a height report, or null when ``data`` is not one. */
export function reportedHeight(data: unknown): number | null {
  if (typeof data !== "object" || data === null) return null;
  const { type, height } = data as { type?: unknown; height?: unknown };
  if (type !== HEIGHT_MESSAGE || typeof height !== "number" || !Number.isFinite(height)) return null;
  return Math.round(Math.min(FRAME_HEIGHT.max, Math.max(FRAME_HEIGHT.min, height)));
}

export interface Selection {
  /** The selected cluster (null: all tokens). */
  cluster: number | null;
  /** Its tokens on screen (null: all tokens). */
  tokens: number[] | null;
}

export function wireDrilldown(
  p: Parts,
  model: Model,
  selection: () => Selection,
  offline: boolean,
  signal: AbortSignal,
): (reply: DrilldownReply, buffers: DataView[]) => void {
  const pending: Pending = new Map();
  const theme = () => themeMode(document.body.dataset, getComputedStyle(p.root).backgroundColor);

  async function open(): Promise<void> {
    let layers: number[] | null;
    try {
      layers = parseIndexList(p.ddLayers.value);
    } catch (e) {
      p.ddStatus.textContent = e instanceof Error ? e.message : String(e);
      return;
    }
    const { cluster, tokens } = selection();
    p.ddStatus.textContent = offline ? "" : "Rendering BertViz in the kernel…";
    p.ddButton.disabled = true;
    try {
      const display_mode = theme();
      const view = p.ddView.value === "model" ? "model" : "head";
      const { reply, html } = await request(model, pending, { view, layers, tokens: tokens && tokens.length ? tokens : null, display_mode }, undefined, signal);
      const frame = el("iframe", { class: `aw-frame aw-frame-${display_mode}`, testid: "drilldown-frame", title: "BertViz attention view", attrs: { sandbox: "allow-scripts" } });
      frame.dataset.displayMode = display_mode;
      frame.srcdoc = html;
      p.ddFrameHost.replaceChildren(frame);
      p.ddNote.hidden = !reply.note;
      p.ddNote.textContent = reply.note ?? "";
      p.ddNote.classList.toggle("aw-capped", !!reply.capped);
      p.ddStatus.textContent = cluster !== null ? `cluster ${cluster}` : "all tokens";
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (message === ABORTED) return;
      p.ddStatus.textContent = message;
      p.ddStatus.dataset.error = "true";
    } finally {
      if (!signal.aborted) p.ddButton.disabled = false;
    }
  }

  p.ddButton.addEventListener("click", () => void open(), { signal });
  window.addEventListener("message", (e: MessageEvent) => {
    const frame = p.ddFrameHost.querySelector<HTMLIFrameElement>("[data-testid=drilldown-frame]");
    const height = frame && e.source === frame.contentWindow ? reportedHeight(e.data) : null;
    if (frame && height !== null) frame.style.height = `${height}px`;
  }, { signal });
  const themeWatch = new MutationObserver(() => {
    const shown = p.ddFrameHost.querySelector<HTMLElement>("[data-testid=drilldown-frame]");
    if (shown && shown.dataset.displayMode !== theme() && !p.ddButton.disabled) p.ddButton.click();
  });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
  signal.addEventListener("abort", () => themeWatch.disconnect(), { once: true });
  return (reply, buffers) => {
    dispatch(pending, reply, buffers);
  };
}
