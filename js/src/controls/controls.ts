// The controls: what the kernel says (status, progress, error, notices, the
// clustering knobs) shown in them, and what the user does with them (slider,
// reset, mode, aggregation, method, layers, heads, dismiss) sent to the model
// through ThresholdSync. Listeners live until ``signal`` aborts.

import { el, option } from "../common/dom";
import type { Model } from "../wire/model";
import type { Parts } from "../common/skeleton";
import { formatThreshold, parseHeadList, parseIndexList } from "./slider";
import type { View } from "../wire/state";
import type { ThresholdSync } from "../wire/sync";

export function showStatus(p: Parts, model: Model): void {
  const status = model.get("status");
  p.root.dataset.status = status;
  p.progress.hidden = !(status === "loading" || status === "running");
  p.progressText.textContent = model.get("progress") || "Working…";
}

export function showError(p: Parts, message: string): void {
  p.errorBox.hidden = !message;
  p.errorText.textContent = message;
}

const CODE = /[=`[\]{}]|\w\(|\bpass\b|\bexclude\b/;

/**
 * A notice as a person reads it: its first plain sentence (no Python in it), and the
 * whole notice as the detail on demand (null when the sentence is all of it).
 */
export function plainNotice(notice: string): { plain: string; detail: string | null } {
  const sentences = notice.split(/(?<=[.;!?])\s+/).map((s) => s.trim()).filter(Boolean);
  const strip = (s: string) => s.replace(/\s*\([^()]*[=`'"][^()]*\)/g, "").replace(/[;:,]\s*$/, ".").trim();
  const plain = sentences.map(strip).find((s) => s && !CODE.test(s)) ?? strip(sentences[0] ?? notice);
  const full = notice.trim();
  return { plain: /[.!?]$/.test(plain) ? plain : `${plain}.`, detail: plain === full ? null : full };
}

export function showNotices(p: Parts, model: Model): void {
  const list = [...(model.get("notices") ?? [])];
  p.notices.replaceChildren(...list.map((n) => {
    const { plain, detail } = plainNotice(n);
    if (detail === null) return el("li", { text: plain });
    return el("li", {}, [el("details", { class: "aw-notice" }, [el("summary", { text: plain }), el("code", { class: "aw-notice-detail", text: detail })])]);
  }));
  p.notices.hidden = list.length === 0;
}

/** A lens as a select shows it: its name, or "N heads" for a list of heads set from Python. */
export function lensName(lens: string | [number, number][] | undefined): string {
  if (lens === undefined) return "all";
  return typeof lens === "string" ? lens : `${lens.length} heads`;
}

function fillSelect(select: HTMLSelectElement, choices: string[], current: string): void {
  const all = choices.includes(current) ? choices : [...choices, current];
  select.replaceChildren(...all.map((c) => option(c)));
  select.value = current;
}

/** The knobs as the traits hold them (a box the user is typing in is left alone). */
export function showKnobs(p: Parts, model: Model): void {
  fillSelect(p.aggregation, model.get("aggregations") ?? [], model.get("aggregation"));
  fillSelect(p.method, model.get("methods") ?? [], model.get("method"));
  fillSelect(p.measure, model.get("measures") ?? [], model.get("measure") ?? "attention");
  fillSelect(p.lens, model.get("lenses") ?? [], lensName(model.get("lens")));
  const lenses = model.get("lenses") ?? [];
  p.linksLens.replaceChildren(option("", "the clusters' lens"), ...lenses.map((l) => option(l)));
  p.linksLens.value = lenses.includes(model.get("links_lens")) ? model.get("links_lens") : "";
  p.mode.value = model.get("threshold_mode");
  const layers = model.get("layers");
  if (document.activeElement !== p.layers) p.layers.value = layers ? layers.join(", ") : "";
  const heads = model.get("heads");
  if (document.activeElement !== p.heads) p.heads.value = heads ? heads.map(([a, b]) => `${a}.${b}`).join(" ") : "";
  p.heads.hidden = model.get("aggregation") !== "heads";
  p.unit.value = model.get("unit") ?? "token";
}

/** What a zoomed view's nodes are, by the unit zoomed from (widget.py INNER_UNIT). */
export const INNER_UNIT: Record<string, string> = { sentence: "word", word: "token", token: "token" };

/**
 * The zoom buttons: "Back to the whole text" while zoomed; "Zoom in: its words"
 * for a selected cluster of 2+ nodes (disabled while the slider is ahead of the
 * kernel, whose clusters the zoom uses). Both need a kernel.
 */
export function showZoom(p: Parts, model: Model, view: View | null, selectedSize: number, ahead: boolean, offline: boolean): void {
  const zoomed = model.get("zoom") !== null && model.get("zoom") !== undefined;
  p.zoomOut.hidden = offline || !zoomed;
  const selected = model.get("selected_cluster");
  p.zoomIn.hidden = offline || !view || selected === null || selectedSize < 2;
  if (p.zoomIn.hidden || !view) return;
  p.zoomIn.textContent = `Zoom in: its ${INNER_UNIT[view.raw.unit] ?? "token"}s`;
  p.zoomIn.disabled = ahead;
  p.zoomIn.title = ahead ? "Waiting for the kernel to reach this threshold" : "Cluster what is inside the selected cluster on its own (no new forward pass)";
}

/** Slider position, threshold text ("(auto)" at the automatic choice) and cluster count. */
export function showThreshold(p: Parts, view: View, index: number, local: boolean, clusters: number): void {
  const exact = local ? view.grid[index] : view.raw.threshold;
  const auto = local ? index === view.raw.sweep.best : view.raw.auto;
  p.slider.value = String(Math.max(index, 0));
  p.value.textContent = formatThreshold(exact, view.raw.sweep.mode) + (auto ? " (auto)" : "");
  p.count.textContent = `${clusters} cluster${clusters === 1 ? "" : "s"}`;
}

/** A text box whose value is parsed on change; a bad value marks the box and says why in its title. */
function parsed(input: HTMLInputElement, apply: (text: string) => void, signal: AbortSignal): void {
  input.addEventListener(
    "change",
    () => {
      try {
        apply(input.value);
        input.classList.remove("aw-invalid");
        input.title = "";
      } catch (e) {
        input.classList.add("aw-invalid");
        input.title = e instanceof Error ? e.message : String(e);
      }
    },
    { signal },
  );
}

export interface ControlHooks {
  /** The state on screen (null while loading). */
  view(): View | null;
  /** Redraw after the slider position changed. */
  repaint(): void;
}

export function wireControls(p: Parts, model: Model, sync: ThresholdSync, hooks: ControlHooks, signal: AbortSignal): void {
  const on = <K extends keyof HTMLElementEventMap>(target: HTMLElement, event: K, cb: () => void) => target.addEventListener(event, cb, { signal });
  on(p.slider, "input", () => {
    const view = hooks.view();
    if (!view) return;
    sync.move(view, Number(p.slider.value));
    hooks.repaint();
  });
  on(p.slider, "change", () => sync.release());
  on(p.reset, "click", () => {
    const view = hooks.view();
    if (!view) return;
    sync.reset(view);
    hooks.repaint();
  });
  on(p.mode, "change", () => sync.knob("threshold_mode", p.mode.value));
  on(p.aggregation, "change", () => sync.knob("aggregation", p.aggregation.value));
  on(p.method, "change", () => sync.knob("method", p.method.value));
  on(p.unit, "change", () => sync.knob("unit", p.unit.value));
  on(p.zoomIn, "click", () => {
    model.set("zoom", model.get("selected_cluster"));
    model.save_changes();
  });
  on(p.zoomOut, "click", () => {
    model.set("zoom", null);
    model.save_changes();
  });
  on(p.measure, "change", () => sync.knob("measure", p.measure.value));
  on(p.lens, "change", () => {
    if (p.lens.value !== lensName(model.get("lens"))) sync.knob("lens", p.lens.value);
  });
  on(p.linksLens, "change", () => {
    model.set("links_lens", p.linksLens.value);
    model.save_changes();
  });
  parsed(p.layers, (text) => {
    model.set("layers", parseIndexList(text));
    model.save_changes();
  }, signal);
  parsed(p.heads, (text) => {
    model.set("heads", parseHeadList(text));
    model.save_changes();
  }, signal);
  on(p.dismiss, "click", () => {
    p.errorBox.hidden = true;
    if (model.get("error")) {
      model.set("error", "");
      model.save_changes();
    }
  });
}
