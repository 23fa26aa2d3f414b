// The widget's elements, built once per view and named, so the modules that
// fill them (controls, text view, panel, plot, drill-down) share one layout.
// The data-testid hooks are documented in widget.ts.

import { swatchCss } from "./colors";
import { el, option } from "./dom";

export const MODES = ["absolute", "mass"];
/** The values of the ``unit`` trait (attn_widget/core/units.py UNITS). */
export const UNITS = ["token", "word", "sentence"];
export const NEEDS_KERNEL = "Needs a running Python kernel";

export interface Parts {
  root: HTMLDivElement;
  progress: HTMLDivElement;
  progressText: HTMLSpanElement;
  errorBox: HTMLDivElement;
  errorText: HTMLSpanElement;
  dismiss: HTMLButtonElement;
  notices: HTMLUListElement;
  mode: HTMLSelectElement;
  slider: HTMLInputElement;
  value: HTMLSpanElement;
  reset: HTMLButtonElement;
  count: HTMLSpanElement;
  aggregation: HTMLSelectElement;
  method: HTMLSelectElement;
  measure: HTMLSelectElement;
  lens: HTMLSelectElement;
  linksLens: HTMLSelectElement;
  contiguity: HTMLSpanElement;
  cutButton: HTMLButtonElement;
  cutStatus: HTMLSpanElement;
  layers: HTMLInputElement;
  heads: HTMLInputElement;
  unit: HTMLSelectElement;
  zoomIn: HTMLButtonElement;
  zoomOut: HTMLButtonElement;
  plot: HTMLDivElement;
  text: HTMLDivElement;
  panel: HTMLElement;
  legend: HTMLDivElement;
  links: HTMLDivElement;
  ddView: HTMLSelectElement;
  ddLayers: HTMLInputElement;
  ddButton: HTMLButtonElement;
  ddStatus: HTMLSpanElement;
  ddNote: HTMLParagraphElement;
  ddFrameHost: HTMLDivElement;
  drill: HTMLDetailsElement;
  /** The title line: the model that ran, how many words; the progress sits in it (a fixed slot). */
  title: HTMLSpanElement;
  /** The findings line above the text (a fixed-height slot). */
  findings: HTMLDivElement;
  /** "What if…" in the knob bar: opens the what-if section with the selected words. */
  whatIf: HTMLButtonElement;
  /** The folded knobs: mode, measure, lens, aggregation, layers, heads, method, hover-link lens, plot. */
  settings: HTMLDetailsElement;
  /** Above and below the text: the generation's step bar; a second text, the "what if" section. */
  above: HTMLDivElement;
  below: HTMLDivElement;
}

/** The elements of one view; ``standalone`` (an exported page, or a kernel that is gone) disables what needs a kernel. */
export function buildSkeleton(standalone: boolean): Parts {
  const progressText = el("span", { class: "aw-progress-text" });
  const errorText = el("span", { class: "aw-error-text" });
  const dismiss = el("button", { class: "aw-close", text: "×", title: "Dismiss", testid: "error-dismiss" });
  const mode = el("select", { testid: "mode", title: "absolute: keep edges above a weight; mass: keep each token's strongest edges up to a share of its attention" });
  MODES.forEach((m) => mode.append(option(m, m === "mass" ? "mass (share)" : "absolute")));
  const unit = el("select", { testid: "unit", title: "What a node is: each token, each word (its pieces pooled) or each sentence" });
  UNITS.forEach((u) => unit.append(option(u, u === "token" ? "model tokens" : `${u}s`)));
  const ddView = el("select", { testid: "drilldown-view" });
  ddView.append(option("head", "head view"), option("model", "model view"));
  const p: Omit<Parts, "root" | "drill" | "settings"> = {
    title: el("span", { class: "aw-title", testid: "title" }),
    findings: el("div", { class: "aw-findings", testid: "findings", attrs: { "aria-label": "What stands out" } }),
    whatIf: el("button", { testid: "what-if", text: "What if…", title: "Remove words (the selected group, or words you pick) and see what the model predicts instead" }),
    progress: el("div", { class: "aw-progress", testid: "progress", attrs: { role: "status" } }, [el("span", { class: "aw-spinner" }), progressText]),
    progressText,
    errorBox: el("div", { class: "aw-error", testid: "error", attrs: { role: "alert" } }, [errorText, dismiss]),
    errorText,
    dismiss,
    notices: el("ul", { class: "aw-notices", testid: "notices" }),
    mode,
    slider: el("input", { class: "aw-slider", testid: "slider", attrs: { type: "range", min: "0", max: "0", step: "1", "aria-label": "threshold" } }),
    value: el("span", { class: "aw-value", testid: "threshold-value" }),
    reset: el("button", { text: "reset to automatic", testid: "reset", title: "Go back to the automatically chosen threshold" }),
    count: el("span", { class: "aw-count", testid: "cluster-count" }),
    aggregation: el("select", { testid: "aggregation", title: "How heads and layers are combined" }),
    method: el("select", { testid: "method", title: "Clustering method" }),
    measure: el("select", {
      testid: "measure",
      title: "What an edge weighs: attention; norm (attention times the size of what the head moves); gradient (what the output depends on, one extra backward pass)",
    }),
    lens: el("select", { testid: "lens", title: "Which heads make the graph (content: without sink, previous-token, self and broad heads)" }),
    linksLens: el("select", { testid: "links-lens", title: "Which heads the hover links come from, apart from the clusters' lens (e.g. coreference)" }),
    contiguity: el("span", { class: "aw-muted", testid: "contiguity" }),
    cutButton: el("button", {
      testid: "cuttest-button",
      text: "More than word order?",
      title: "Cut the attention between clusters and see how far the model's output moves, against runs of neighbouring words and random groups of the same sizes (forward passes)",
    }),
    cutStatus: el("span", { class: "aw-muted", testid: "cuttest-status" }),
    layers: el("input", { class: "aw-small-input", testid: "layers", attrs: { type: "text", placeholder: "all layers", "aria-label": "layers", title: "Layers to use, e.g. 0-3, 5 (empty = all)" } }),
    heads: el("input", { class: "aw-small-input", testid: "heads", attrs: { type: "text", placeholder: "heads e.g. 5.1 6.9", "aria-label": "heads", title: "Heads for aggregation=heads, as layer.head" } }),
    unit,
    zoomIn: el("button", { testid: "zoom-in", title: "Cluster what is inside the selected cluster on its own (no new forward pass)" }),
    zoomOut: el("button", { testid: "zoom-out", text: "Back to the whole text" }),
    plot: el("div", { class: "aw-plot", testid: "plot" }),
    text: el("div", { class: "aw-text", testid: "text" }),
    panel: el("aside", { class: "aw-panel", testid: "panel" }),
    legend: el("div", { class: "aw-legend", testid: "legend" }),
    links: el("div", { class: "aw-links", testid: "links" }),
    ddView,
    ddLayers: el("input", { class: "aw-small-input", testid: "drilldown-layers", attrs: { type: "text", placeholder: "layers e.g. 0-2", "aria-label": "drill-down layers" } }),
    ddButton: el("button", { testid: "drilldown-button", text: "Open BertViz drill-down" }),
    ddStatus: el("span", { class: "aw-muted", testid: "drilldown-status" }),
    ddNote: el("p", { class: "aw-note", testid: "drilldown-note" }),
    ddFrameHost: el("div", { class: "aw-frame-host" }),
    above: el("div", { class: "aw-above" }),
    below: el("div", { class: "aw-below" }),
  };
  p.panel.hidden = true;
  p.links.hidden = true;
  p.ddNote.hidden = true;
  p.zoomIn.hidden = true;
  p.zoomOut.hidden = true;

  // one compact bar of knobs under the text, threshold slider first; the rest folded under "Settings"
  const bar = el("div", { class: "aw-controls aw-bar", testid: "bar" }, [
    el("span", { class: "aw-bar-label", text: "threshold" }), p.slider, p.value, p.reset, p.count,
    el("label", {}, ["show ", p.unit]), p.zoomIn, p.zoomOut, p.whatIf,
  ]);
  const partition = el("div", { class: "aw-controls aw-partition", testid: "partition-info" }, [p.contiguity, p.cutButton, p.cutStatus]);
  const settings = el("details", { class: "aw-drill aw-settings", testid: "settings" }, [
    el("summary", { text: "Settings", testid: "settings-toggle" }),
    el("div", { class: "aw-settings-body" }, [
      el("div", { class: "aw-settings-knobs" }, [
        el("div", { class: "aw-controls" }, [el("label", {}, ["threshold ", p.mode])]),
        el("div", { class: "aw-controls aw-knobs" }, [
          el("label", {}, ["measure ", p.measure]),
          el("label", {}, ["lens ", p.lens]),
          el("label", {}, ["aggregation ", p.aggregation]),
          p.layers,
          p.heads,
          el("label", {}, ["method ", p.method]),
        ]),
        el("div", { class: "aw-controls aw-links-lens" }, [el("label", {}, ["hover links through ", p.linksLens])]),
      ]),
      p.plot,
    ]),
  ]);
  const drill = el("details", { class: "aw-drill" }, [
    el("summary", { text: "Raw heads (BertViz)", testid: "drilldown-toggle" }),
    el("div", { class: "aw-controls" }, [p.ddView, p.ddLayers, p.ddButton, p.ddStatus]),
    p.ddNote,
    p.ddFrameHost,
  ]);
  const root = el("div", { class: "aw-root", testid: "attn-widget" }, [
    el("style", { text: swatchCss() }),
    el("div", { class: "aw-titlebar" }, [p.title, p.progress]), // fixed height: progress never moves the text
    p.findings,
    p.above,
    el("div", { class: "aw-main" }, [
      el("div", { class: "aw-reading" }, [
        p.text,
        el("div", { class: "aw-links-slot" }, [p.links]), // a fixed height: hovering never moves the page
      ]),
    ]),
    bar,
    p.errorBox,
    p.notices,
    p.legend,
    partition,
    p.panel, // full width under the knobs: opening it moves neither the text nor the slider
    settings,
    p.below,
    drill,
  ]);
  // keys typed into our controls (arrows on the slider, digits in the layer
  // boxes) belong to them, not to JupyterLab's notebook shortcuts
  for (const c of [p.mode, p.slider, p.unit, p.aggregation, p.method, p.measure, p.lens, p.linksLens, p.layers, p.heads, p.ddView, p.ddLayers]) {
    c.setAttribute("data-lm-suppress-shortcuts", "true");
  }
  if (standalone) {
    for (const c of [p.mode, p.unit, p.aggregation, p.method, p.measure, p.lens, p.linksLens, p.layers, p.heads, p.cutButton]) {
      c.disabled = true;
      c.title = NEEDS_KERNEL;
    }
  }
  return { root, drill, settings, ...p };
}
