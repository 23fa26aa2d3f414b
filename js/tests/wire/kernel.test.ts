// @vitest-environment happy-dom
// A widget whose kernel is gone (wire/kernel.ts): noticed from ipywidgets' own
// "disconnected" mark on the view element and from the widget manager's kernel
// status, and then drawn honestly: one line says so, the controls that need the
// kernel are disabled, the slider still recolours from the sweep, and nothing
// more is sent to or saved for the kernel.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../../src/widget";
import { DISCONNECTED, DISCONNECTED_CLASS, watchKernel } from "../../src/wire/kernel";
import type { WireState } from "../../src/wire/state";
import { SLIDER_DEBOUNCE_MS } from "../../src/wire/sync";
import { golden } from "../helpers/golden";
import { fakeModel, type FakeModel, traitsOf } from "../helpers/model";

/** A Lumino-like signal (what JupyterLab's session context exposes). */
function signal() {
  const slots = new Set<(sender: unknown, value: unknown) => void>();
  return {
    connect: (s: (sender: unknown, value: unknown) => void) => slots.add(s),
    disconnect: (s: (sender: unknown, value: unknown) => void) => slots.delete(s),
    emit: (value: unknown) => slots.forEach((s) => s(null, value)),
    size: () => slots.size,
  };
}

function withSession(model: FakeModel) {
  const statusChanged = signal();
  const kernelChanged = signal();
  Object.assign(model, { widget_manager: { context: { sessionContext: { statusChanged, kernelChanged } } } });
  return { statusChanged, kernelChanged };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("watchKernel", () => {
  it("calls back once when ipywidgets marks the view disconnected", async () => {
    const host = document.createElement("div");
    const gone = vi.fn();
    watchKernel(fakeModel(traitsOf()), host, gone, new AbortController().signal);
    host.classList.add("jp-OutputArea-output");
    await flush();
    expect(gone).not.toHaveBeenCalled();
    host.classList.add(DISCONNECTED_CLASS);
    await flush();
    host.classList.remove(DISCONNECTED_CLASS);
    host.classList.add(DISCONNECTED_CLASS);
    await flush();
    expect(gone).toHaveBeenCalledTimes(1);
  });

  it("calls back for a view drawn already disconnected (restored from saved widget state)", async () => {
    const host = document.createElement("div");
    host.classList.add(DISCONNECTED_CLASS);
    const gone = vi.fn();
    watchKernel(fakeModel(traitsOf()), host, gone, new AbortController().signal);
    await flush();
    expect(gone).toHaveBeenCalledTimes(1);
  });

  it("follows the kernel's status and its replacement, not a busy kernel", () => {
    for (const [event, value] of [["status", "dead"], ["status", "restarting"], ["kernel", null]] as const) {
      const model = fakeModel(traitsOf());
      const session = withSession(model);
      const gone = vi.fn();
      watchKernel(model, document.createElement("div"), gone, new AbortController().signal);
      session.statusChanged.emit("busy");
      session.statusChanged.emit("idle");
      expect(gone).not.toHaveBeenCalled();
      (event === "status" ? session.statusChanged : session.kernelChanged).emit(value);
      expect(gone).toHaveBeenCalledTimes(1);
      expect(session.statusChanged.size() + session.kernelChanged.size()).toBe(0); // let go of JupyterLab's signals
    }
  });

  it("stops listening when the view is removed", () => {
    const model = fakeModel(traitsOf());
    const session = withSession(model);
    const gone = vi.fn();
    const life = new AbortController();
    watchKernel(model, document.createElement("div"), gone, life.signal);
    life.abort();
    session.statusChanged.emit("dead");
    expect(gone).not.toHaveBeenCalled();
    expect(session.statusChanged.size()).toBe(0);
  });
});

describe("the widget once its kernel is gone", () => {
  let host: HTMLElement;
  let model: FakeModel;
  let cleanup: () => void;
  const q = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
  const clusters = () => Array.from(host.querySelectorAll<HTMLElement>('[data-testid="token"]'), (t) => t.dataset.cluster);

  beforeEach(async () => {
    const state = golden().state as unknown as WireState;
    model = fakeModel(traitsOf({ state, threshold: state.threshold as number, status: "running", progress: "Re-clustering…" }));
    host = document.createElement("div");
    document.body.append(host);
    cleanup = widget.render({ model, el: host }) as () => void;
    expect(q("disconnected")).toBeNull(); // live: no such line
    expect((q("method") as HTMLSelectElement).disabled).toBe(false);
    host.classList.add(DISCONNECTED_CLASS); // what ipywidgets does on a kernel restart
    await flush();
  });
  afterEach(() => {
    cleanup();
    host.remove();
  });

  it("says so in one line and stops showing work in progress", () => {
    expect(q("disconnected").textContent).toBe(DISCONNECTED);
    expect(host.querySelectorAll('[data-testid="disconnected"]')).toHaveLength(1);
    expect(q("attn-widget").dataset.status).toBe("ready");
    expect(q("progress").hidden).toBe(true);
  });

  it("disables what needs the kernel", () => {
    for (const id of ["measure", "lens", "aggregation", "method", "unit", "mode", "links-lens", "cuttest-button", "ablate-run", "map-draw", "refine-merge"]) {
      expect((q(id) as HTMLButtonElement).disabled, id).toBe(true);
      expect(q(id).title, id).toMatch(/Needs a running Python kernel/);
    }
  });

  it("still recolours from the sweep with the slider, and sends and saves nothing", async () => {
    const sent = model.sent.length;
    const saves = model.saves;
    const before = clusters();
    const slider = q("slider") as HTMLInputElement;
    slider.value = slider.max;
    slider.dispatchEvent(new Event("input"));
    slider.dispatchEvent(new Event("change"));
    expect(clusters()).not.toEqual(before);
    q("drilldown-button").click();
    await new Promise((resolve) => setTimeout(resolve, SLIDER_DEBOUNCE_MS * 3)); // a live view would have written by now
    expect(q("drilldown-status").textContent).toMatch(/no longer connected/);
    expect(model.sent.length).toBe(sent);
    expect(model.saves).toBe(saves);
  });
});
