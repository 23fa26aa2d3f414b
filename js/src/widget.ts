/**
 * attn_widget front-end (anywidget): `render` only wires the modules together.
 * The folders follow what is on screen:
 *   wire/      the contract with the kernel: model.ts (Traits/Model, anywidget's AnyModel,
 *              mirroring attn_widget/view/widget.py), state.ts (the state trait, wire.py,
 *              checked and decoded by codec.ts and guard.ts), messages.ts (the custom messages,
 *              view/messages.py), modes.ts (the generation/comparison/ablation traits,
 *              view/modes_wire.py), sync.ts (slider ↔ kernel threshold: debounced writes,
 *              kernel writes apply at once), page.ts (an exported page in place of the kernel)
 *   common/    dom.ts (element helpers), colors.ts (cluster colours), skeleton.ts (the elements)
 *   controls/  controls.ts (the knobs), slider.ts, plot.ts (modularity / clusters beside the
 *              slider), partview.ts (the partition line: contiguity, the cut test)
 *   text/      textview.ts (the text, hover links, clicks), text.ts, layout.ts, legend.ts
 *   panel/     panelview.ts (the cluster panel and its explanations), panel.ts, explain.ts
 *   modes/     steps.ts (a generation's step bar), compareview.ts (a second text: comparison,
 *              rerun), ablation.ts ("what if": pick tokens or heads, remove and rerun)
 *   extras/    the sections below: refine.ts (the hand edits), map.ts (the token map, asked of
 *              the kernel when opened), drillview.ts + drilldown.ts (the BertViz drill-down)
 * standalone.ts boots an exported page; study/ is the separate user-study widget.
 *
 * Stable test hooks (data-testid), for tests/ui/:
 *   attn-widget          root element; data-status mirrors the `status` trait
 *   disconnected         "Not connected to a kernel: …", shown once the kernel is gone
 *                        (restart, shutdown, restored from saved state; wire/kernel.ts)
 *   progress             progress indicator (visible while status is loading/running)
 *   error                error box (plain-words message; `error-dismiss` clears it)
 *   notices              notices (fallback, truncation…): a plain sentence each, the detail folded under it
 *   title                the title line: the model that ran and how many words (a pair's source and target
 *                        apart: "6 source words → 8 target words"; the progress sits in it)
 *   findings             the findings line above the text (fixed height): `finding` items with
 *                        data-kind and data-tokens (the nodes it names; hover highlights them)
 *   arcs                 the SVG over the text; `arc` groups with data-source, data-target (the source
 *                        looks back to the target), data-kind, data-confident, data-line
 *                        ("same", "adjacent", "cross": the whole curve shows on hover),
 *                        data-drawn ("always", "hover": shown when one of its words is hovered);
 *                        hovering one puts its evidence in the links box (`arc-evidence`)
 *   bar, settings        the knob bar under the text (slider first; `what-if` opens "What if…"); the
 *                        folded knobs (<details>, `settings-toggle`)
 *   word-menu            a word's actions (right-click it, or Enter on the word holding the text's tab
 *                        stop; the arrow keys move it): `word-menu-title`, `word-menu-group`,
 *                        `word-menu-whatif` (disabled with `word-menu-why` when the `what_if` trait says why)
 *   whatif-card          the answer to a word's "What if…", at the top of the panel slot: `whatif-title`,
 *                        `whatif-change` (`whatif-prediction`: "Paris 74.9% → 1.3%"), `whatif-instead`,
 *                        `whatif-running`, `whatif-error`, `whatif-more`, `whatif-close`
 *   text                 the prose; each token is a `token` span with
 *                        data-index, data-cluster (label, -1 = excluded) and
 *                        data-excluded="true" for sink/excluded tokens; the
 *                        pieces of one character share one span, data-index
 *                        its first, data-tokens all of them ("3 4 5")
 *   legend               legend; items `legend-item` with data-cluster
 *   cluster-count        "N clusters" text (clusters of 2+ tokens)
 *   slider               <input type=range> over the sweep grid
 *   threshold-value      current threshold as text
 *   mode                 threshold mode switch (<select>: absolute / mass)
 *   reset                "reset to automatic" button
 *   aggregation, method, layers, heads, measure, lens   controls for the clustering
 *   unit                 what a node is (<select>: tokens / words / sentences)
 *   zoom-in, zoom-out    the hierarchical view: "Zoom into cluster N: its words" (the selected
 *                        cluster's inside clustered alone) and "Back to the whole text"
 *   elided               "…" for text outside the zoomed cluster (its length in the title)
 *   links-lens           the lens of the hover links ("" = the clusters' lens)
 *   partition-info       contiguity (`contiguity`), the cut test (`cuttest-button`, `cuttest-status`)
 *   plot                 modularity / cluster-count plot (`plot-auto`, `plot-current` markers;
 *                        series names `plot-legend-modularity`, `plot-legend-clusters` in a header row)
 *   panel                cluster side panel (`panel-headline` first, `panel-facts`, `panel-tokens`;
 *                        behind `panel-details` (its <summary> `panel-details-toggle`) when there
 *                        is a headline: `panel-rationale`, `panel-claims`, `panel-heads`; `panel-scores`,
 *                        `panel-faithfulness`, `panel-close`; explanations fetched on
 *                        click: `panel-explaining`, `panel-explain-error`,
 *                        `panel-measure` button, `panel-measure-status`)
 *   legend-more          "+N more" when there are more than 14 clusters
 *   links                hovered token's strongest in/out links
 *   drilldown-toggle (<summary> that opens the section), drilldown-button,
 *   drilldown-view, drilldown-layers, drilldown-status,
 *   drilldown-note, drilldown-frame (sandboxed iframe with BertViz; data-display-mode
 *   "light"/"dark" follows the notebook's theme at the time it was drawn)
 *   map-section (<details>), map-toggle, map-method, map-draw, map-status, map (the SVG),
 *                        map-point (one per kept token: data-index, data-cluster; class
 *                        aw-picked / aw-selected / aw-hover)
 *   refine               the edit bar (<details>; refine-toggle its summary, which shows
 *                        refine-modularity and refine-last (data-delta)), refine-status,
 *                        refine-undo, refine-redo, refine-merge-target, refine-merge, refine-split,
 *                        refine-picked, refine-split-off, refine-move-target, refine-move,
 *                        refine-pin, refine-unpin, refine-clear, refine-history; tokens picked
 *                        by shift-click carry the class aw-picked
 *   steps                a generation's step bar (data-step: the step on screen, from 0):
 *                        `step-play`, `step-slider`, `step-label`, `step-token` (`step-new-token`,
 *                        `step-alternative`), `step-links`, `step-events`; the new token's span
 *                        has data-new-token="true"; `panel-formed` says when a cluster formed
 *   compare              the second text of a comparison: `compare-title`, `compare-text`,
 *                        `compare-summary`; tokens whose text differs have data-diff="text",
 *                        aligned tokens grouped differently data-diff="moved" (both texts)
 *   ablate               "what if" section (`ablate-toggle`): `ablate-pick`, `ablate-cluster`,
 *                        `ablate-clear`, `ablate-picked` (picked tokens carry the class
 *                        aw-ablate-picked), `ablate-heads`, `ablate-run`,
 *                        `ablate-status`, `ablate-result` (`ablate-what`, `ablate-change`,
 *                        `ablate-prediction` with `ablate-before` / `ablate-after-top`), and the
 *                        rerun's text `ablate-after` (`ablate-after-text`, …); in the drill-down
 *                        `drilldown-ablate-heads`, `drilldown-ablate-run`
 */

import type { AnyWidget } from "@anywidget/types";
import "./widget.css";
import { AblationView } from "./modes/ablation";
import { SecondText } from "./modes/compareview";
import { showError, showKnobs, showNotices, showStatus, showThreshold, showZoom, wireControls } from "./controls/controls";
import { wireDrilldown } from "./extras/drillview";
import { el } from "./common/dom";
import { carryPicks, Nodes } from "./common/words";
import { comparisonWire, decodeComparison } from "./wire/modes";
import { drawLegend } from "./text/legend";
import { MapView } from "./extras/map";
import { KernelMessage, kernelMessage } from "./wire/messages";
import { disconnectedModel, watchKernel } from "./wire/kernel";
import { Model, subscribe, Traits, ViewProps } from "./wire/model";
import { PanelView } from "./panel/panelview";
import { PartitionView } from "./controls/partview";
import { drawPlot } from "./controls/plot";
import { RefineBar } from "./extras/refine";
import { buildSkeleton } from "./common/skeleton";
import { decodeState, FLAG_EXCLUDED, View } from "./wire/state";
import { StepBar } from "./modes/steps";
import { ThresholdSync } from "./wire/sync";
import { TextView } from "./text/textview";
import { countLine } from "./text/text";
import { ArcLayer, drawFindings } from "./text/arclayer";
import { wireWhatIf } from "./modes/whatif";

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Each explained cluster's headline (the state's own partition). */
function headlinesOf(view: View): Map<number, string> {
  const out = new Map<number, string>();
  for (const [id, c] of view.clusters) if (c.headline) out.set(id, c.headline);
  return out;
}

/**
 * Draw the widget into ``el``; returns the cleanup that removes every listener it added.
 * When the kernel behind it is gone (wire/kernel.ts) it is drawn again with the
 * traits it had, saying so, with what needs the kernel disabled.
 */
function render({ model, el: host }: ViewProps): () => void {
  const watching = new AbortController();
  let dispose = draw(model, host);
  watchKernel(model, host, () => {
    dispose();
    dispose = draw(disconnectedModel(model), host);
  }, watching.signal);
  return () => {
    watching.abort();
    dispose();
  };
}

/** Draw the view of ``model`` into ``host``; returns its cleanup. */
function draw(model: Model, host: HTMLElement): () => void {
  const offline = model.standalone === true;
  const lifetime = new AbortController();
  const signal = lifetime.signal;
  const ui = buildSkeleton(offline);
  host.replaceChildren(ui.root);
  if (model.disconnected) ui.root.prepend(el("div", { class: "aw-disconnected", testid: "disconnected", attrs: { role: "status" }, text: model.disconnected }));

  const sync = new ThresholdSync(model, offline);
  const text = new TextView(ui.text, ui.links);
  let view: View | null = null;
  text.layer = new ArcLayer(ui.text, {
    hover: (arc, said) => text.showArc(arc, said),
    click: (arc) => {
      const label = labels()[arc.source];
      if (label >= 0) select(label);
    },
  }, signal);
  let legendOpen = false;
  let textFloor = 0; // the text box's tallest height in a generation (px)
  const labels = (): Int32Array => (view ? sync.labels(view) : new Int32Array(0));
  const select = (id: number | null): void => {
    model.set("selected_cluster", id);
    model.save_changes();
    showPanel();
  };
  const panel = new PanelView(ui.panel, model, offline, { redraw: () => showPanel(), select }, signal);
  const partition = new PartitionView(ui, model, offline, signal);
  const picks = new Set<number>();
  const selected = () => model.get("selected_cluster");
  const showPicks = () => {
    text.markPicked(picks);
    map.paint();
    refine.show();
  };
  const togglePick = (i: number) => {
    if (!view || view.flags[i] & FLAG_EXCLUDED) return;
    if (!picks.delete(i)) picks.add(i);
    showPicks();
  };
  const clearPicks = () => {
    picks.clear();
    showPicks();
  };
  const map = new MapView(model, offline, {
    labels, colours: () => text.colours, selected, picked: () => picks, select, pick: togglePick,
    hover: (i) => text.hoverToken(i),
  }, signal);
  const refine = new RefineBar(model, offline, {
    view: () => view, labels, selected, picked: () => [...picks].sort((a, b) => a - b), clearPicks,
    blocked: () => (sync.localIndex !== null ? "The slider is ahead of the kernel: let go of it and wait a moment, then edit." : null),
  }, signal);
  const steps = new StepBar(model, signal, ui.unit);
  const second = new SecondText("compare");
  const members = (id: number | null) => (id === null ? [] : Array.from(labels()).flatMap((l, i) => (l === id ? [i] : [])));
  const ablation = new AblationView(model, ui.text, { spans: () => text.spans, selected: () => members(selected()) }, offline, signal);
  ui.above.append(steps.el);
  ui.below.append(second.el, ablation.el);
  ui.drill.insertBefore(ablation.drill, ui.ddNote);
  ui.below.after(refine.root, map.section); // below the text, links and panel, and a second text
  const whatIf = wireWhatIf(model, ui.text, ui.panel, ablation.el, offline, { view: () => view, labels, select }, signal);
  text.menu = whatIf.menu;
  ui.whatIf.addEventListener("click", () => {
    ablation.el.open = true;
    if (selected() !== null) ablation.el.querySelector<HTMLButtonElement>("[data-testid=ablate-cluster]")?.click();
    ablation.el.scrollIntoView({ block: "nearest" });
  }, { signal });

  function showPanel(): void {
    const scene = view && { view, labels: labels(), localIndex: sync.localIndex, colours: text.colours };
    const shown = panel.show(scene);
    text.mark(labels(), shown);
    const size = shown === null ? 0 : Array.from(labels()).filter((l) => l === shown).length;
    showZoom(ui, model, view, size, sync.localIndex !== null, offline);
    if (model.get("generation") || model.get("comparison")) ui.zoomIn.hidden = true; // the kernel zooms one analysis alone (view/zooming.py)
    const formed = view && shown !== null ? steps.formed(view, shown) : null;
    if (formed) ui.panel.append(el("p", { class: "aw-note", testid: "panel-formed", text: formed }));
    map.paint();
    refine.show();
  }

  function showExtras(): void {
    const raw = model.get("comparison");
    try {
      second.show(raw ? decodeComparison(comparisonWire(raw, "comparison")) : null, text.spans);
      ablation.update(text.spans);
      whatIf.card.update();
    } catch (e) {
      showError(ui, message(e));
    }
  }

  function paint(): void {
    if (!view) return;
    const labs = labels();
    const colours = text.paint(labs, steps.slots(view, labs));
    const index = sync.index(view);
    showThreshold(ui, view, index, sync.localIndex !== null, colours.size);
    drawPlot(ui.plot, view.grid, view.gridModularity, view.gridCounts, view.raw.sweep.best, index, view.raw.sweep.mode);
    partition.show(labs);
    drawLegend(ui.legend, {
      labels: labs,
      colours,
      tokens: view.raw.tokens,
      source: { text: view.raw.text, offsets: view.offsets },
      hasExcluded: view.flags.some((f) => f & FLAG_EXCLUDED),
      open: legendOpen,
      headlines: sync.localIndex === null ? headlinesOf(view) : undefined,
      onSelect: select,
      onToggle: () => {
        legendOpen = !legendOpen;
        paint();
      },
      signal,
    });
    showPanel();
  }

  /** A generation's text grows with the step: its box takes the whole generated text's height (nothing under it moves). */
  function keepTextHeight(v: View): void {
    const width = ui.text.getBoundingClientRect().width;
    const gen = model.get("generation") as { steps?: { token?: unknown }[] } | null;
    if (!width || !gen?.steps) return;
    const step = Number(model.get("step") ?? gen.steps.length - 1);
    const later = gen.steps.slice(step + 1).map((s) => (typeof s.token === "string" ? s.token : "")).join("");
    const sizer = ui.text.cloneNode(false) as HTMLElement;
    sizer.style.cssText = `position:absolute;visibility:hidden;min-height:0;max-height:none;width:${width}px`;
    sizer.textContent = v.raw.text + later;
    ui.text.parentElement?.append(sizer);
    textFloor = Math.max(textFloor, sizer.getBoundingClientRect().height, ui.text.getBoundingClientRect().height);
    sizer.remove();
    ui.text.style.minHeight = `${textFloor}px`;
  }

  /** The nodes of a view, for carrying picks to the next one. */
  function nodes(v: View): Nodes {
    return { unit: v.raw.unit, n: v.n, text: v.raw.text, offsets: v.offsets };
  }

  function showTitle(v: View | null): void {
    const what = v === null ? "" : countLine(v.flags, v.raw.unit, v.raw.source_length ?? null); // a BOS is not a word
    ui.title.textContent = v === null ? "" : v.raw.model ? `${v.raw.model} · ${what}` : what;
  }

  function onState(): void {
    const raw = model.get("state");
    if (!raw) {
      view = null;
      text.clear();
      showTitle(null);
      drawFindings(ui.findings, null, false, () => undefined, signal);
      return;
    }
    const before = view;
    try {
      view = decodeState(raw);
    } catch (e) {
      showError(ui, message(e));
      return;
    }
    sync.stateArrived(view);
    ui.slider.max = String(Math.max(view.grid.length - 1, 0));
    text.build(view);
    if (model.get("generation")) keepTextHeight(view);
    showTitle(view);
    drawFindings(ui.findings, view.raw.findings, !offline, (tokens) => text.layer?.highlight(tokens), signal);
    const carried = carryPicks(picks, before && nodes(before), nodes(view));
    picks.clear();
    for (const i of carried) if (!(view.flags[i] & FLAG_EXCLUDED)) picks.add(i);
    text.markPicked(picks);
    map.setView(view);
    steps.decorate(view, text.spans);
    steps.describe(view);
    ablation.reset(before && nodes(before), nodes(view));
    showExtras();
    paint();
  }

  function onGeneration(): void {
    try {
      steps.update();
    } catch (e) {
      showError(ui, message(e));
      return;
    }
    if (view) {
      steps.describe(view);
      paint();
    }
  }

  wireControls(ui, model, sync, { view: () => view, repaint: paint }, signal);
  text.listen({ view: () => view, labels, selected, select, pick: togglePick, hover: (i) => map.hoverToken(i) }, signal);
  const drilldownReply = wireDrilldown(ui, model, () => {
    const cluster = model.get("selected_cluster");
    return { cluster, tokens: view && cluster !== null ? Array.from(labels()).flatMap((l, i) => (l === cluster ? [i] : [])) : null };
  }, offline, signal);

  const onMessage = (msg: unknown, buffers: DataView[]): void => {
    let m: KernelMessage | null;
    try {
      m = kernelMessage(msg);
    } catch (e) {
      showError(ui, `The kernel sent a message this view cannot read: ${message(e)}`);
      return;
    }
    if (m?.type === "drilldown_reply") drilldownReply(m, buffers);
    else if (m?.type === "cuttest_reply" || m?.type === "cuttest_progress") {
      partition.receive(m);
      if (m.type === "cuttest_reply" && m.result && !m.error) panel.partitionMeasured();
    }
    else if (m?.type === "map_reply") map.receive(m, buffers);
    else if (m?.type === "refine_reply") refine.receive(m);
    else if (m?.type === "ablate_reply") {
      ablation.receive(m);
      whatIf.card.receive(m);
    }
    else if (m) panel.receive(m);
  };
  const knobs = () => showKnobs(ui, model);
  const status = () => showStatus(ui, model);
  subscribe(model, signal, [
    ["change:state", onState],
    ["change:status", status],
    ["change:progress", status],
    ["change:error", () => {
      showError(ui, model.get("error"));
      if (model.get("error")) sync.failed();
    }],
    ["change:notices", () => showNotices(ui, model)],
    ["change:selected_cluster", showPanel],
    ["change:threshold", () => sync.thresholdChanged()],
    ["change:threshold_mode", knobs],
    ["change:aggregation", knobs],
    ["change:method", knobs],
    ["change:layers", knobs],
    ["change:heads", knobs],
    ["change:measure", knobs],
    ["change:lens", knobs],
    ["change:links_lens", knobs],
    ["change:unit", knobs],
    ["change:zoom", showPanel],
    ["change:generation", onGeneration],
    ["change:step", () => steps.stepChanged()],
    ["change:comparison", showExtras],
    ["change:ablation", showExtras],
    ["msg:custom", onMessage],
  ]);
  signal.addEventListener("abort", () => {
    sync.dispose();
    panel.dispose();
  }, { once: true });

  status();
  showError(ui, model.get("error"));
  showNotices(ui, model);
  knobs();
  onGeneration();
  onState();
  return () => lifetime.abort();
}

// anywidget's own contract for a widget module, checked here at build time: only the default
// export (a named `render` export makes anywidget log a deprecation warning on every render)
export default { render } satisfies AnyWidget<Traits>;
