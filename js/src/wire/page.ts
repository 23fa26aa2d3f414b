// The exported page's side of the widget (attn_widget/view/standalone.py
// writes the page): the traits and state it carries, read and checked, and a
// local model in place of the kernel. The slider works from the sweep's
// precomputed partitions; a drill-down request is answered with the page's
// "needs a kernel" message. standalone.ts wires these together.

import { base64ToBytes } from "./codec";
import { arrayOf, field, Guard, integer, isRecord, nullable, number, oneOf, record, string } from "./guard";
import type { DrilldownReply } from "./messages";
import type { Handler, Model, Traits, ViewProps } from "./model";

/** The ids of the page's data elements (standalone.py writes them). */
export const PAGE_IDS = {
  state: "attn-widget-state",
  traits: "attn-widget-traits",
  bundle: "attn-widget-bundle",
  root: "attn-widget-root",
} as const;

export interface PageData {
  traits: Traits;
  /** What the drill-down says on a page without a kernel. */
  needsKernel: string;
  /** The widget's own bundle (attn_widget/static/widget.js). */
  bundle: Uint8Array<ArrayBuffer>;
}

const pairs: Guard<[number, number][]> = (v, where) =>
  arrayOf(arrayOf(integer))(v, where).map((p, i) => {
    if (p.length !== 2) throw new Error(`${where}[${i}] should be [layer, head]`);
    return [p[0], p[1]];
  });

const lensTrait: Guard<string | [number, number][]> = (v, where) => (typeof v === "string" ? v : pairs(v, where));

/** The traits standalone.py writes (with the state, read from its own element). */
export function pageTraits(value: unknown, state: unknown): Traits {
  const t = record(value, "page traits");
  const at = "page traits";
  return {
    state: state as Traits["state"], // checked by decodeState when the view draws it
    threshold: field(t, "threshold", nullable(number), at),
    threshold_mode: field(t, "threshold_mode", string, at),
    method: field(t, "method", string, at),
    aggregation: field(t, "aggregation", string, at),
    layers: field(t, "layers", nullable(arrayOf(integer)), at),
    heads: field(t, "heads", nullable(pairs), at),
    selected_cluster: field(t, "selected_cluster", nullable(integer), at),
    status: field(t, "status", oneOf("loading", "running", "ready", "error"), at),
    progress: field(t, "progress", string, at),
    error: field(t, "error", string, at),
    notices: field(t, "notices", arrayOf(string), at),
    methods: field(t, "methods", arrayOf(string), at),
    aggregations: field(t, "aggregations", arrayOf(string), at),
    measure: field(t, "measure", string, at),
    lens: field(t, "lens", lensTrait, at),
    links_lens: field(t, "links_lens", string, at),
    measures: field(t, "measures", arrayOf(string), at),
    lenses: field(t, "lenses", arrayOf(string), at),
    unit: field(t, "unit", string, at),
    zoom: field(t, "zoom", nullable(integer), at),
    // an exported page shows one analysis: no steps, second text or rerun
    step: null,
    generation: null,
    comparison: null,
    ablation: null,
    what_if: "", // a page reruns nothing: the word menu says it needs a kernel
  };
}

/** Read the page's state, traits and widget bundle from their script elements. */
export function readPage(doc: Document): PageData {
  const text = (id: string): string => {
    const node = doc.getElementById(id);
    if (!node) throw new Error(`this page has no #${id} element; export it again with save_html`);
    return node.textContent ?? "";
  };
  const traits = JSON.parse(text(PAGE_IDS.traits)) as unknown;
  return {
    traits: pageTraits(traits, JSON.parse(text(PAGE_IDS.state))),
    needsKernel: field(record(traits, "page traits"), "needs_kernel", string, "page traits"),
    bundle: base64ToBytes(text(PAGE_IDS.bundle).trim()),
  };
}

/**
 * A model with no kernel behind it: traits live in the page, changes are
 * announced to the view at once, saving does nothing, and a drill-down request
 * is answered (asynchronously, as a kernel would) with ``needsKernel``.
 */
export function localModel(traits: Traits, needsKernel: string): Model {
  const listeners = new Map<string, Set<Handler>>();
  const emit = (event: string, ...args: unknown[]) => listeners.get(event)?.forEach((cb) => cb(...args));
  return {
    standalone: true,
    get: (key) => traits[key],
    set: (key, value) => {
      traits[key] = value;
      emit(`change:${String(key)}`);
    },
    save_changes: () => {},
    on: (event: string, cb: Handler) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(cb);
    },
    off: (event?: string | null, cb?: Handler | null) => {
      if (!event) listeners.clear();
      else if (!cb) listeners.delete(event);
      else listeners.get(event)?.delete(cb);
    },
    send: (content: unknown) => {
      if (!isRecord(content) || content.type !== "drilldown") return;
      const reply: DrilldownReply = { type: "drilldown_reply", id: typeof content.id === "number" ? content.id : null, error: needsKernel };
      setTimeout(() => emit("msg:custom", reply, []), 0);
    },
  };
}

/** What the widget bundle exports (anywidget's `{ initialize?, render }`), as the page calls it. */
export interface WidgetModule {
  initialize?(props: Pick<ViewProps, "model">): unknown;
  render(props: ViewProps): unknown;
}

/** The widget from its module's exports (the bundle's default export). */
export function widgetOf(exports: unknown): WidgetModule {
  const widget = record(record(exports, "the widget bundle").default, "the widget bundle's default export");
  const { initialize, render } = widget;
  if (typeof render !== "function") throw new Error("the widget bundle exports no render function; rebuild it (npm run build)");
  return {
    initialize: typeof initialize === "function" ? (props) => initialize.call(widget, props) : undefined,
    render: (props) => render.call(widget, props),
  };
}
