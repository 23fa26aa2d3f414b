// Is the kernel behind this view still there? A widget outlives its kernel: after
// a restart or a shutdown, or when a notebook is opened with saved widget state,
// the view is on screen while nothing in Python answers it. `watchKernel` calls
// back once when that happens; `disconnectedModel` is the model the view is then
// drawn with: the traits as they were, kept in the page (as an exported page
// does, wire/page.ts), so the slider still recolours from the sweep it has and
// hover still works, and every control that needs the kernel is disabled.
//
// Where it is read from (both are what ipywidgets itself uses; anywidget hands
// the view its element and a model whose `on` reaches the widget model):
//   - ipywidgets marks the view element of a model without a live comm with the
//     class `jupyter-widgets-disconnected` (a model restored from saved state has
//     none; on a kernel restart the widget manager marks every model not live);
//   - the widget manager's kernel: its status "dead" / "restarting", or the
//     session getting another kernel (a shutdown leaves none), which the
//     comm flag does not follow (JupyterLab and Notebook 7 keep the session
//     context on `widget_manager.context.sessionContext`).

import { localModel } from "./page";
import type { Model, Traits } from "./model";

/** The line the view shows once its kernel is gone. */
export const DISCONNECTED =
  "Not connected to a kernel: the slider recolours what was computed; re-run the cell to analyse again.";

/** What the drill-down answers once the kernel is gone. */
export const DISCONNECTED_DRILLDOWN =
  "The BertViz drill-down needs a running Python kernel, and this widget is no longer connected to one: re-run the cell.";

/** The class ipywidgets puts on the element of a view whose model has no live comm. */
export const DISCONNECTED_CLASS = "jupyter-widgets-disconnected";

/** Kernel statuses after which the widget's Python object is gone. */
const GONE = new Set(["dead", "restarting", "autorestarting", "terminating"]);

type Slot = (sender: unknown, value: unknown) => void;
interface SignalLike {
  connect(slot: Slot): unknown;
  disconnect(slot: Slot): unknown;
}

function isSignal(value: unknown): value is SignalLike {
  const s = value as SignalLike | null | undefined;
  return !!s && typeof s.connect === "function" && typeof s.disconnect === "function";
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
}

/** The kernel signals the model's widget manager exposes: `[status, kernel replaced]` (either may be missing). */
export function kernelSignals(model: unknown): { status: SignalLike | null; replaced: SignalLike | null } {
  const manager = field(model, "widget_manager");
  const session = field(field(manager, "context"), "sessionContext");
  const status = field(session, "statusChanged") ?? field(field(manager, "kernel"), "statusChanged");
  const replaced = field(session, "kernelChanged");
  return { status: isSignal(status) ? status : null, replaced: isSignal(replaced) ? replaced : null };
}

/** Call ``onGone`` once, as soon as the kernel behind ``model`` (drawn in ``host``) is gone; stops when ``signal`` aborts. */
export function watchKernel(model: Model, host: HTMLElement, onGone: () => void, signal: AbortSignal): void {
  const { status, replaced } = kernelSignals(model);
  let observer: MutationObserver | null = null;
  const stop = () => {
    observer?.disconnect();
    status?.disconnect(onStatus);
    replaced?.disconnect(onReplaced);
  };
  let done = false;
  const gone = () => {
    if (done || signal.aborted) return;
    done = true;
    stop();
    onGone();
  };
  function onStatus(_: unknown, value: unknown): void {
    if (typeof value === "string" && GONE.has(value)) gone();
  }
  function onReplaced(): void {
    gone();
  }
  if (host.classList.contains(DISCONNECTED_CLASS)) {
    queueMicrotask(gone); // after render has drawn the live view once
    return;
  }
  observer = new MutationObserver(() => {
    if (host.classList.contains(DISCONNECTED_CLASS)) gone();
  });
  observer.observe(host, { attributes: true, attributeFilter: ["class"] });
  status?.connect(onStatus);
  replaced?.connect(onReplaced);
  signal.addEventListener("abort", stop, { once: true });
}

/** Every trait of the view (kept in step with `Traits` by the compiler). */
const TRAIT_NAMES = [
  "state", "threshold", "threshold_mode", "method", "aggregation", "layers", "heads", "selected_cluster",
  "status", "progress", "error", "notices", "methods", "aggregations", "measure", "lens", "links_lens",
  "measures", "lenses", "unit", "zoom", "step", "generation", "comparison", "ablation", "what_if",
] as const satisfies readonly (keyof Traits)[];
type Missing = Exclude<keyof Traits, (typeof TRAIT_NAMES)[number]>;
const allNamed: [Missing] extends [never] ? true : Missing = true;
void allNamed;

/**
 * The model a view is drawn with once its kernel is gone: the traits as they
 * are now, kept in the page; nothing is saved or sent, a drill-down is
 * answered with ``DISCONNECTED_DRILLDOWN``, and ``disconnected`` carries the
 * line to show. A view that was still waiting for the kernel stops waiting.
 */
export function disconnectedModel(model: Model): Model {
  const traits = Object.fromEntries(TRAIT_NAMES.map((name) => [name, model.get(name)])) as unknown as Traits;
  if (traits.status === "loading" || traits.status === "running") {
    traits.status = traits.state ? "ready" : "error";
    traits.progress = "";
  }
  return { ...localModel(traits, DISCONNECTED_DRILLDOWN), disconnected: DISCONNECTED };
}
