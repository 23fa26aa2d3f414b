/**
 * attn_widget front-end (anywidget). Wires the pure modules to the DOM and the
 * model; the logic lives in codec/colors/layout/slider/state/plot/panel/text.
 * Python side: attn_widget/widget.py (traits) and attn_widget/state.py (state).
 *
 * Stable test hooks (data-testid), for tests/ui/:
 *   attn-widget          root element; data-status mirrors the `status` trait
 *   progress             progress indicator (visible while status is loading/running)
 *   error                error box (plain-words message; `error-dismiss` clears it)
 *   notices              notices (fallback model, truncation…)
 *   text                 the prose; each token is a `token` span with
 *                        data-index, data-cluster (label, -1 = excluded) and
 *                        data-excluded="true" for sink/excluded tokens
 *   legend               legend; items `legend-item` with data-cluster
 *   cluster-count        "N clusters" text (clusters of 2+ tokens)
 *   slider               <input type=range> over the sweep grid
 *   threshold-value      current threshold as text
 *   mode                 threshold mode switch (<select>: absolute / mass)
 *   reset                "reset to automatic" button
 *   aggregation, method, layers, heads   controls for the clustering
 *   plot                 modularity / cluster-count plot (`plot-auto`, `plot-current` markers;
 *                        series names `plot-legend-modularity`, `plot-legend-clusters` in a header row)
 *   panel                cluster side panel (`panel-facts`, `panel-tokens`,
 *                        `panel-rationale`, `panel-claims`, `panel-heads`, `panel-scores`,
 *                        `panel-faithfulness`, `panel-close`; explanations fetched on
 *                        click: `panel-explaining`, `panel-explain-error`,
 *                        `panel-measure` button, `panel-measure-status`)
 *   legend-more          "+N more" when there are more than 14 clusters
 *   links                hovered token's strongest in/out links
 *   drilldown-toggle (<summary> that opens the section), drilldown-button,
 *   drilldown-view, drilldown-layers, drilldown-status,
 *   drilldown-note, drilldown-frame (sandboxed iframe with BertViz; data-display-mode
 *   "light"/"dark" follows the notebook's theme at the time it was drawn)
 */

import "./widget.css";
import { Swatch, swatchCss } from "./colors";
import { row } from "./codec";
import { el, option, readable } from "./dom";
import { dispatch, Pending, Reply, request, themeMode } from "./drilldown";
import { basisKey, entryKey, ExplainReply, Explanations, explainSection } from "./explain";
import { renderPanel } from "./panel";
import { drawPlot } from "./plot";
import { debounce, formatThreshold, nearestIndex, onGrid, parseHeadList, parseIndexList } from "./slider";
import { drawLegend } from "./legend";
import { decodeState, FLAG_EXCLUDED, linksOf, Model, View } from "./state";
import { buildText, colourText, markSelected, tokenTitle } from "./text";

const SLIDER_DEBOUNCE_MS = 150;
const MODES = ["absolute", "mass"];

function initialize(): void {}

function render({ model, el: host }: { model: Model; el: HTMLElement }): () => void {
  const standalone = (model as unknown as { standalone?: boolean }).standalone === true;
  const needsKernel = "Needs a running Python kernel (this is an exported page)";

  // ---------------------------------------------------------------- skeleton
  const progress = el("div", { class: "aw-progress", testid: "progress", attrs: { role: "status" } }, [
    el("span", { class: "aw-spinner" }),
    el("span", { class: "aw-progress-text" }),
  ]);
  const errorText = el("span", { class: "aw-error-text" });
  const dismiss = el("button", { class: "aw-close", text: "×", title: "Dismiss", testid: "error-dismiss" });
  const errorBox = el("div", { class: "aw-error", testid: "error", attrs: { role: "alert" } }, [errorText, dismiss]);
  const notices = el("ul", { class: "aw-notices", testid: "notices" });

  const mode = el("select", { testid: "mode", title: "absolute: keep edges above a weight; mass: keep each token's strongest edges up to a share of its attention" });
  MODES.forEach((m) => mode.append(option(m, m === "mass" ? "mass (share)" : "absolute")));
  const slider = el("input", { class: "aw-slider", testid: "slider", attrs: { type: "range", min: "0", max: "0", step: "1", "aria-label": "threshold" } });
  const value = el("span", { class: "aw-value", testid: "threshold-value" });
  const reset = el("button", { text: "reset to automatic", testid: "reset", title: "Go back to the automatically chosen threshold" });
  const count = el("span", { class: "aw-count", testid: "cluster-count" });
  const aggregation = el("select", { testid: "aggregation", title: "How heads and layers are combined" });
  const method = el("select", { testid: "method", title: "Clustering method" });
  const layers = el("input", { class: "aw-small-input", testid: "layers", attrs: { type: "text", placeholder: "all layers", "aria-label": "layers", title: "Layers to use, e.g. 0-3, 5 (empty = all)" } });
  const heads = el("input", { class: "aw-small-input", testid: "heads", attrs: { type: "text", placeholder: "heads e.g. 5.1 6.9", "aria-label": "heads", title: "Heads for aggregation=heads, as layer.head" } });
  const plot = el("div", { class: "aw-plot", testid: "plot" });
  const text = el("div", { class: "aw-text", testid: "text" });
  const panel = el("aside", { class: "aw-panel", testid: "panel" });
  panel.hidden = true;
  const legend = el("div", { class: "aw-legend", testid: "legend" });
  const links = el("div", { class: "aw-links", testid: "links" });
  links.hidden = true;

  const ddView = el("select", { testid: "drilldown-view" });
  ddView.append(option("head", "head view"), option("model", "model view"));
  const ddLayers = el("input", { class: "aw-small-input", testid: "drilldown-layers", attrs: { type: "text", placeholder: "layers e.g. 0-2", "aria-label": "drill-down layers" } });
  const ddButton = el("button", { testid: "drilldown-button", text: "Open BertViz drill-down" });
  const ddStatus = el("span", { class: "aw-muted", testid: "drilldown-status" });
  const ddNote = el("p", { class: "aw-note", testid: "drilldown-note" });
  ddNote.hidden = true;
  const ddFrameHost = el("div", { class: "aw-frame-host" });

  const controls = el("div", { class: "aw-controls" }, [
    el("label", {}, ["threshold ", mode]),
    slider,
    value,
    reset,
    count,
  ]);
  const knobs = el("div", { class: "aw-controls aw-knobs" }, [
    el("label", {}, ["aggregation ", aggregation]),
    layers,
    heads,
    el("label", {}, ["method ", method]),
  ]);
  const drill = el("details", { class: "aw-drill" }, [
    el("summary", { text: "Raw heads (BertViz)", testid: "drilldown-toggle" }),
    el("div", { class: "aw-controls" }, [ddView, ddLayers, ddButton, ddStatus]),
    ddNote,
    ddFrameHost,
  ]);
  const root = el("div", { class: "aw-root", testid: "attn-widget" }, [
    el("style", { text: swatchCss() }),
    progress,
    errorBox,
    notices,
    el("div", { class: "aw-top" }, [el("div", { class: "aw-top-left" }, [controls, knobs, legend]), plot]),
    el("div", { class: "aw-main" }, [text, panel]),
    links,
    drill,
  ]);
  host.replaceChildren(root);
  // keys typed into our controls (arrows on the slider, digits in the layer
  // boxes) belong to them, not to JupyterLab's notebook shortcuts
  for (const c of [mode, slider, aggregation, method, layers, heads, ddView, ddLayers]) c.setAttribute("data-lm-suppress-shortcuts", "true");
  if (standalone) {
    for (const c of [mode, aggregation, method, layers, heads]) {
      c.disabled = true;
      c.title = needsKernel;
    }
  }

  // ------------------------------------------------------------------- state
  let view: View | null = null;
  let spans: HTMLSpanElement[] = [];
  let painted: string[] = [];
  let colours = new Map<number, Swatch>();
  let legendOpen = false;
  let localIndex: number | null = null; // slider position not yet confirmed by the kernel
  let awaiting: number | null = null; // threshold sent to the kernel, not yet reflected in state
  const pending: Pending = new Map();
  const explanations = new Explanations((content) => model.send(content));
  const basis = (): string => basisKey(model.get("aggregation"), model.get("layers"), model.get("heads"));
  let shownKey: string | null = null; // the (basis, tokens) the panel shows

  const labels = (): Int32Array => (view && localIndex !== null ? row(view.gridLabels, localIndex) : view!.labels);
  const currentIndex = (): number => {
    if (!view) return -1;
    if (localIndex !== null) return localIndex;
    return nearestIndex(view.grid, view.raw.threshold);
  };

  function showStatus(): void {
    const status = model.get("status");
    root.dataset.status = status;
    progress.hidden = !(status === "loading" || status === "running");
    (progress.lastChild as HTMLElement).textContent = model.get("progress") || "Working…";
  }

  function showError(): void {
    const msg = model.get("error");
    errorBox.hidden = !msg;
    errorText.textContent = msg;
  }

  function showNotices(): void {
    const list = [...(model.get("notices") ?? [])];
    notices.replaceChildren(...list.map((n) => el("li", { text: n })));
    notices.hidden = list.length === 0;
  }

  function fillSelect(select: HTMLSelectElement, choices: string[], current: string): void {
    const all = choices.includes(current) ? choices : [...choices, current];
    select.replaceChildren(...all.map((c) => option(c)));
    select.value = current;
  }

  function showKnobs(): void {
    fillSelect(aggregation, model.get("aggregations") ?? [], model.get("aggregation"));
    fillSelect(method, model.get("methods") ?? [], model.get("method"));
    mode.value = model.get("threshold_mode");
    const l = model.get("layers");
    if (document.activeElement !== layers) layers.value = l ? l.join(", ") : "";
    const h = model.get("heads");
    if (document.activeElement !== heads) heads.value = h ? h.map(([a, b]) => `${a}.${b}`).join(" ") : "";
    heads.hidden = model.get("aggregation") !== "heads";
  }

  function paint(): void {
    if (!view) return;
    const labs = labels();
    colours = colourText(spans, labs, painted);
    const idx = currentIndex();
    const exact = localIndex === null ? view.raw.threshold : view.grid[idx];
    const mode = view.raw.sweep.mode;
    slider.value = String(Math.max(idx, 0));
    value.textContent = formatThreshold(exact, mode) + (localIndex === null && view.raw.auto ? " (auto)" : idx === view.raw.sweep.best && localIndex !== null ? " (auto)" : "");
    count.textContent = `${colours.size} cluster${colours.size === 1 ? "" : "s"}`;
    drawPlot(plot, view.grid, view.gridModularity, view.gridCounts, view.raw.sweep.best, idx, mode);
    drawLegend(legend, {
      labels: labs,
      colours,
      tokens: view.raw.tokens,
      hasExcluded: view.flags.some((f) => f & FLAG_EXCLUDED),
      open: legendOpen,
      onSelect: (id) => select(id),
      onToggle: () => {
        legendOpen = !legendOpen;
        paint();
      },
    });
    showPanel();
  }

  function showPanel(): void {
    const selected = model.get("selected_cluster");
    shownKey = null;
    if (!view || selected === null || selected === undefined) {
      panel.hidden = true;
      markSelected(spans, view ? labels() : [], null, text);
      return;
    }
    const labs = labels();
    const tokens: number[] = [];
    for (let i = 0; i < labs.length; i++) if (labs[i] === selected) tokens.push(i);
    if (!tokens.length) {
      panel.hidden = true;
      markSelected(spans, labs, null, text);
      return;
    }
    markSelected(spans, labs, selected, text);
    const fromState = localIndex === null;
    let info = fromState ? view.clusters.get(selected) ?? null : null;
    const facts = fromState ? (info ? { modularity: info.modularity, internal: info.internal } : null) : view.gridFacts.get(`${localIndex}:${selected}`) ?? null;
    let explain: HTMLElement | null = null;
    if (!standalone) {
      // explained on demand (a Python-explained analysis already carries its rationale)
      const b = basis();
      const entry = explanations.need(b, selected, tokens);
      const got = entry.info;
      if (got) info = info?.rationale ? { ...info, scores: { ...(got.scores ?? {}), ...(info.scores ?? {}) } } : got;
      shownKey = entryKey(b, tokens);
      explain = explainSection(entry, info?.scores?.faithfulness, () => {
        explanations.measure(b, selected, tokens);
        showPanel();
      });
    }
    renderPanel(panel, { id: selected, tokens, tokenText: view.raw.tokens, swatch: colours.get(selected), facts, info, pending: !fromState && !standalone, explain, onClose: () => select(null) });
  }

  function select(id: number | null): void {
    model.set("selected_cluster", id);
    model.save_changes();
    showPanel();
  }

  function onState(): void {
    const raw = model.get("state");
    if (!raw) {
      view = null;
      text.replaceChildren();
      return;
    }
    try {
      view = decodeState(raw);
    } catch (e) {
      errorBox.hidden = false;
      errorText.textContent = String((e as Error).message ?? e);
      return;
    }
    if (awaiting === null || Math.abs(view.raw.threshold - awaiting) <= 1e-9 * Math.max(1, awaiting)) {
      localIndex = null;
      awaiting = null;
    }
    if (localIndex !== null && localIndex >= view.grid.length) localIndex = null;
    slider.max = String(Math.max(view.grid.length - 1, 0));
    spans = buildText(text, view);
    painted = new Array(spans.length).fill("");
    paint();
  }

  // ---------------------------------------------------------------- controls
  const sendThreshold = debounce((t: number) => {
    model.set("threshold", t);
    model.save_changes();
  }, SLIDER_DEBOUNCE_MS);

  slider.addEventListener("input", () => {
    if (!view) return;
    const i = Number(slider.value);
    const home = onGrid(view.grid, view.raw.threshold, i); // back at the state's own threshold
    localIndex = home ? null : i;
    awaiting = home ? null : view.grid[i];
    paint();
    if (!standalone) sendThreshold(view.grid[i]);
  });
  slider.addEventListener("change", () => sendThreshold.flush());
  reset.addEventListener("click", () => {
    if (!view) return;
    const best = view.raw.sweep.best;
    sendThreshold.cancel();
    localIndex = view.raw.auto ? null : best;
    awaiting = localIndex === null ? null : view.grid[best];
    paint();
    if (!standalone && localIndex !== null) {
      model.set("threshold", view.grid[best]);
      model.save_changes();
    }
  });
  const setKnob = <K extends "threshold_mode" | "aggregation" | "method">(key: K, v: string) => {
    sendThreshold.cancel();
    awaiting = null;
    model.set(key, v);
    model.save_changes();
  };
  mode.addEventListener("change", () => setKnob("threshold_mode", mode.value));
  aggregation.addEventListener("change", () => setKnob("aggregation", aggregation.value));
  method.addEventListener("change", () => setKnob("method", method.value));
  const parsed = (input: HTMLInputElement, parse: () => void) => {
    input.addEventListener("change", () => {
      try {
        parse();
        input.classList.remove("aw-invalid");
        input.title = "";
      } catch (e) {
        input.classList.add("aw-invalid");
        input.title = (e as Error).message;
      }
    });
  };
  parsed(layers, () => {
    model.set("layers", parseIndexList(layers.value));
    model.save_changes();
  });
  parsed(heads, () => {
    model.set("heads", parseHeadList(heads.value));
    model.save_changes();
  });
  dismiss.addEventListener("click", () => {
    errorBox.hidden = true;
    if (model.get("error")) {
      model.set("error", "");
      model.save_changes();
    }
  });

  // ------------------------------------------------------------- text events
  function clearLinks(): void {
    links.hidden = true;
    for (const s of text.querySelectorAll(".aw-link-in, .aw-link-out, .aw-hover")) s.classList.remove("aw-link-in", "aw-link-out", "aw-hover");
  }
  text.addEventListener("mouseover", (ev) => {
    const span = (ev.target as HTMLElement).closest<HTMLElement>(".aw-tok");
    if (!span || !view) return;
    clearLinks();
    const i = Number(span.dataset.index);
    const label = labels()[i];
    span.title = tokenTitle(view.raw.tokens[i], i, label, colours.has(label));
    const l = linksOf(view, i);
    span.classList.add("aw-hover");
    const line = (label: string, items: { token: number; weight: number }[], cls: string) => {
      const li = el("div", { class: "aw-links-row" }, [el("strong", { text: label })]);
      if (!items.length) li.append(el("span", { class: "aw-muted", text: " none" }));
      for (const { token, weight } of items) {
        spans[token]?.classList.add(cls);
        li.append(el("span", { class: `aw-link-chip ${cls}`, text: `${readable(view!.raw.tokens[token])} ${weight.toFixed(2)}` }));
      }
      return li;
    };
    links.replaceChildren(
      el("div", { class: "aw-links-title", text: `“${readable(view.raw.tokens[i])}” (token ${i})` }),
      line("attends to", l.out, "aw-link-out"),
      line("attended by", l.in, "aw-link-in"),
    );
    links.hidden = false;
  });
  text.addEventListener("mouseleave", clearLinks);
  text.addEventListener("click", (ev) => {
    const span = (ev.target as HTMLElement).closest<HTMLElement>(".aw-tok");
    if (!span || !view) return;
    const label = labels()[Number(span.dataset.index)];
    select(label >= 0 && label !== model.get("selected_cluster") ? label : null);
  });

  // --------------------------------------------------------------- drill-down
  ddButton.addEventListener("click", async () => {
    let layerList: number[] | null;
    try {
      layerList = parseIndexList(ddLayers.value);
    } catch (e) {
      ddStatus.textContent = (e as Error).message;
      return;
    }
    const selected = model.get("selected_cluster");
    const tokens = view && selected !== null ? Array.from(labels()).flatMap((l, i) => (l === selected ? [i] : [])) : null;
    ddStatus.textContent = standalone ? "" : "Rendering BertViz in the kernel…";
    ddButton.disabled = true;
    try {
      const display_mode = themeMode(document.body.dataset, getComputedStyle(root).backgroundColor);
      const { reply, html } = await request(model, pending, { view: ddView.value, layers: layerList, tokens: tokens && tokens.length ? tokens : null, display_mode });
      const frame = el("iframe", { class: `aw-frame aw-frame-${display_mode}`, testid: "drilldown-frame", title: "BertViz attention view", attrs: { sandbox: "allow-scripts" } });
      frame.dataset.displayMode = display_mode;
      frame.srcdoc = html;
      ddFrameHost.replaceChildren(frame);
      ddNote.hidden = !reply.note;
      ddNote.textContent = reply.note ?? "";
      ddNote.classList.toggle("aw-capped", !!reply.capped);
      ddStatus.textContent = selected !== null ? `cluster ${selected}` : "all tokens";
    } catch (e) {
      ddStatus.textContent = (e as Error).message;
      ddStatus.dataset.error = "true";
    } finally {
      ddButton.disabled = false;
    }
  });
  // a drill-down drawn for one theme is redrawn when JupyterLab switches theme
  const themeWatch = new MutationObserver(() => {
    const shown = ddFrameHost.querySelector<HTMLElement>("[data-testid=drilldown-frame]");
    const now = themeMode(document.body.dataset, getComputedStyle(root).backgroundColor);
    if (shown && shown.dataset.displayMode !== now && !ddButton.disabled) ddButton.click();
  });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
  const onMsg = (msg: Reply, buffers: DataView[]) => {
    if (dispatch(pending, msg, buffers)) return;
    const changed = explanations.receive(msg as unknown as ExplainReply);
    if (changed !== null && changed === shownKey) showPanel();
  };

  // ------------------------------------------------------------------ wiring
  const onThreshold = () => {
    const t = model.get("threshold");
    if (t !== null && awaiting !== null && Math.abs(t - awaiting) > 1e-9 * Math.max(1, Math.abs(t))) {
      awaiting = null; // the kernel moved it (Python code): follow the kernel
      localIndex = null;
    }
  };
  const handlers: [string, () => void][] = [
    ["change:state", onState],
    ["change:status", showStatus],
    ["change:progress", showStatus],
    ["change:error", () => {
      showError();
      if (model.get("error")) awaiting = null;
    }],
    ["change:notices", showNotices],
    ["change:selected_cluster", showPanel],
    ["change:threshold", onThreshold],
    ["change:threshold_mode", showKnobs],
    ["change:aggregation", showKnobs],
    ["change:method", showKnobs],
    ["change:layers", showKnobs],
    ["change:heads", showKnobs],
  ];
  for (const [event, cb] of handlers) model.on(event, cb);
  model.on("msg:custom", onMsg);
  showStatus();
  showError();
  showNotices();
  showKnobs();
  onState();

  return () => {
    sendThreshold.flush();
    for (const [event, cb] of handlers) model.off(event, cb);
    model.off("msg:custom", onMsg);
    themeWatch.disconnect();
    pending.clear();
    explanations.clear();
  };
}

export default { initialize, render };
