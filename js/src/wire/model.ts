// The model the view talks to, typed with anywidget's own types. `Traits`
// mirrors the synced traits of AttentionExplainer in
// attn_widget/view/widget.py (same names, same types, same defaults there);
// change both together.

import type { AnyModel, RenderProps } from "@anywidget/types";
import type { AblationWire, ComparisonWire, GenerationWire } from "./modes";
import type { WireState } from "./state";

/** What the kernel is doing (widget.py sets only these). */
export type Status = "loading" | "running" | "ready" | "error";

/** Synced traits of AttentionExplainer (attn_widget/view/widget.py). */
export interface Traits {
  /** The analysis (wire.py `to_state`); null while a text is loading. Checked by `decodeState`. */
  state: WireState | null;
  /** Edge threshold in `threshold_mode` units; null until a text analysis has finished. */
  threshold: number | null;
  /** "absolute" (edge weight) or "mass" (share of each token's attention). */
  threshold_mode: string;
  /** Clustering method, a name of graph/cluster.py's METHODS. */
  method: string;
  /** How heads and layers combine, a name of graph/aggregate.py's AGGREGATIONS. */
  aggregation: string;
  /** Layers to aggregate (null: all). */
  layers: number[] | null;
  /** [layer, head] pairs for aggregation "heads". */
  heads: [number, number][] | null;
  /** Cluster shown in the side panel. */
  selected_cluster: number | null;
  status: Status;
  /** What is running, in words. */
  progress: string;
  /** The last error in plain words ("" when none). */
  error: string;
  /** Things to know about the analysis (fallback model, truncation). */
  notices: string[];
  /** Clustering methods offered in the view. */
  methods: string[];
  /** Aggregations offered in the view. */
  aggregations: string[];
  /** Edge measure per head, a name of graph/measures.py's MEASURES ("gradient" runs a backward pass). */
  measure: string;
  /** The heads that make the graph: a lens name (explain/lenses.py LENSES) or [layer, head] pairs. */
  lens: string | [number, number][];
  /** The lens of the hover links ("": the clusters' own). */
  links_lens: string;
  /** Edge measures offered in the view. */
  measures: string[];
  /** Named lenses offered in the view. */
  lenses: string[];
  /** What a node is: "token", "word" or "sentence" (core/units.py UNITS); the text is highlighted by those spans. */
  unit: string;
  /** The cluster of the whole-text view shown from the inside (its words or tokens clustered alone); null: the whole text. */
  zoom: number | null;
  /** Generation step shown (from 0); null without a generation (view/modes.py). */
  step: number | null;
  /** The generation's steps (modes_wire.py); checked by `generationWire`. */
  generation: GenerationWire | null;
  /** A second text and how its clusters match; checked by `comparisonWire`. */
  comparison: ComparisonWire | null;
  /** The last "remove and rerun"; checked by `ablationWire`. */
  ablation: AblationWire | null;
  /** "" when a word's "What if this word were knocked out?" applies; else why not, in one sentence (view/modes.py). */
  what_if: string;
}

/**
 * The part of anywidget's model the view uses. The exported page's local model
 * (standalone.ts) provides just this, and sets `standalone` so the view says
 * which controls need a kernel; so does the stand-in for a kernel that is gone
 * (wire/kernel.ts), which also sets `disconnected`.
 */
export type Model = Pick<AnyModel<Traits>, "get" | "set" | "on" | "off" | "save_changes" | "send"> & {
  readonly standalone?: boolean;
  /** Set on the stand-in for a kernel that is gone (wire/kernel.ts): the line the view shows. */
  readonly disconnected?: string;
};

/** What `render` needs of anywidget's render props (the exported page passes just these). */
export type ViewProps = Pick<RenderProps<Traits>, "el"> & { model: Model };

/** A listener of model events (anywidget's own EventHandler). */
export type Handler = NonNullable<Parameters<Model["off"]>[1]>;

/** ``model.on(event, cb)`` for each handler until ``signal`` aborts. */
export function subscribe(model: Model, signal: AbortSignal, handlers: [string, Handler][]): void {
  for (const [event, cb] of handlers) model.on(event, cb);
  signal.addEventListener("abort", () => handlers.forEach(([event, cb]) => model.off(event, cb)), { once: true });
}
