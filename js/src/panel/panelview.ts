// The side panel for the selected cluster: its facts from the state (or, at a
// slider position the kernel has not drawn yet, from the sweep's grid facts),
// and its explanation, asked of the kernel on demand (explain.ts keeps the
// answers per group). Drawing is panel.ts; this module decides what to show.

import type { Swatch } from "../common/colors";
import { membersOf } from "../text/legend";
import { basisKey, entryKey, Explanations, explainSection } from "./explain";
import type { ClusterInfo, ExplainReply, ScoresProgress } from "../wire/messages";
import type { Model } from "../wire/model";
import { renderPanel } from "./panel";
import { clusterNumbers } from "../text/legend";
import type { View } from "../wire/state";

/** The partition on screen, as the panel needs it. */
export interface Scene {
  view: View;
  labels: ArrayLike<number>;
  /** Grid index the slider shows ahead of the kernel (null: the state's own partition). */
  localIndex: number | null;
  colours: Map<number, Swatch>;
}

export interface PanelHooks {
  /** Draw the panel (and the selection in the text) again. */
  redraw(): void;
  select(id: number | null): void;
}

export class PanelView {
  private readonly explanations: Explanations;
  /** The (basis, tokens) whose explanation the panel shows. */
  private shownKey: string | null = null;
  /** The details (full rationale, evidence) stay open once a person opens them, for every cluster. */
  private detailsOpen = false;

  /** ``offline``: an exported page, where nothing can be explained on demand. */
  constructor(
    private readonly host: HTMLElement,
    private readonly model: Model,
    private readonly offline: boolean,
    private readonly hooks: PanelHooks,
    private readonly signal: AbortSignal,
  ) {
    this.explanations = new Explanations((content) => model.send(content));
  }

  /** Show the selected cluster of ``scene`` (hidden when none is); returns the cluster shown. */
  show(scene: Scene | null): number | null {
    const selected = this.model.get("selected_cluster");
    this.shownKey = null;
    const tokens = scene && selected !== null ? membersOf(scene.labels).get(selected) ?? [] : [];
    if (!scene || selected === null || !tokens.length) {
      this.host.hidden = true;
      return null;
    }
    const { view, localIndex } = scene;
    const fromState = localIndex === null;
    let info: ClusterInfo | null = fromState ? view.clusters.get(selected) ?? null : null;
    const facts = fromState ? (info ? { modularity: info.modularity, internal: info.internal } : null) : view.gridFacts.get(`${localIndex}:${selected}`) ?? null;
    let explain: HTMLElement | null = null;
    if (!this.offline) {
      // explained on demand (a Python-explained analysis already carries its rationale)
      const basis = basisKey(this.model.get("aggregation"), this.model.get("layers"), this.model.get("heads"));
      const entry = this.explanations.need(basis, selected, tokens, localIndex);
      const got = entry.info;
      if (got) info = info?.rationale ? { ...info, scores: { ...(got.scores ?? {}), ...(info.scores ?? {}) } } : got;
      this.shownKey = entryKey(basis, tokens, localIndex);
      const measure = () => {
        this.explanations.measure(basis, selected, tokens, localIndex);
        this.hooks.redraw();
      };
      explain = explainSection(entry, info?.scores?.faithfulness, measure, this.signal);
    }
    renderPanel(this.host, {
      id: selected,
      number: clusterNumbers(scene.labels, scene.colours).get(selected),
      tokens,
      tokenText: view.raw.tokens,
      source: { text: view.raw.text, offsets: view.offsets },
      unit: view.raw.unit,
      swatch: scene.colours.get(selected),
      facts,
      info,
      pending: !fromState && !this.offline,
      explain,
      details: { open: this.detailsOpen, onToggle: (open) => (this.detailsOpen = open) },
      onClose: () => this.hooks.select(null),
      signal: this.signal,
    });
    return selected;
  }

  /** An explanation message from the kernel; redraws when it is about the group on screen. */
  receive(msg: ExplainReply | ScoresProgress): void {
    const changed = this.explanations.receive(msg);
    if (changed !== null && changed === this.shownKey) this.hooks.redraw();
  }

  /** The cut test of the partition on screen came back: explain its groups again (their headlines say it). */
  partitionMeasured(): void {
    this.explanations.forgetDone();
    this.hooks.redraw();
  }

  /** The view is going away: forget requests queued or in flight. */
  dispose(): void {
    this.explanations.clear();
  }
}
