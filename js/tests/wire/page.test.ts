// @vitest-environment happy-dom
// The exported page (page.ts, standalone.ts): what it carries is read and
// checked, and the widget drawn with the local model works with no kernel —
// the slider over the precomputed sweep, the drill-down answered with the
// page's "needs a kernel" message, nothing saved anywhere.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Traits } from "../../src/wire/model";
import { localModel, PAGE_IDS, pageTraits, readPage, widgetOf } from "../../src/wire/page";
import widget from "../../src/widget";
import { golden } from "../helpers/golden";
import { traitsOf } from "../helpers/model";

const state = golden().state;
const NEEDS_KERNEL = "The BertViz drill-down needs a running Python kernel, and this is an exported page.";

/** The traits as attn_widget/view/standalone.py writes them (the state has its own element). */
const { state: _inOwnElement, ...traitsOnPage } = traitsOf({ threshold: state.threshold as number, methods: ["louvain"], aggregations: ["mean"] });
const pageTraitsJson = { ...traitsOnPage, needs_kernel: NEEDS_KERNEL };

function script(id: string, type: string, text: string): HTMLScriptElement {
  const s = document.createElement("script");
  s.id = id;
  s.type = type;
  s.textContent = text;
  return s;
}

function writePage(bundle = btoa("export default { render() {} };")): void {
  const root = document.createElement("div");
  root.id = PAGE_IDS.root;
  document.body.replaceChildren(
    root,
    script(PAGE_IDS.state, "application/json", JSON.stringify(state)),
    script(PAGE_IDS.traits, "application/json", JSON.stringify(pageTraitsJson)),
    script(PAGE_IDS.bundle, "text/plain", `\n${bundle}\n`),
  );
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  document.body.replaceChildren();
});

describe("reading the page", () => {
  it("reads the traits, the state, the kernel message and the widget's bundle", () => {
    writePage();
    const page = readPage(document);
    expect(page.traits.threshold).toBe(state.threshold);
    expect(page.traits.state).toEqual(JSON.parse(JSON.stringify(state))); // as the page carries it
    expect(page.needsKernel).toBe(NEEDS_KERNEL);
    expect(new TextDecoder().decode(page.bundle)).toBe("export default { render() {} };");
  });

  it("says which trait is wrong and which element is missing", () => {
    expect(() => pageTraits({ ...pageTraitsJson, heads: [[1, 2, 3]] }, null)).toThrow(/page traits\.heads\[0\] should be \[layer, head\]/);
    expect(() => pageTraits({ ...pageTraitsJson, status: "busy" }, null)).toThrow(/page traits\.status should be "loading" or "running" or "ready" or "error"/);
    document.body.replaceChildren();
    expect(() => readPage(document)).toThrow(/no #attn-widget-traits element; export it again/);
  });

  it("takes the widget from its bundle's default export, and refuses one without render", () => {
    const calls: string[] = [];
    const module = { default: { initialize: () => calls.push("initialize"), render: () => calls.push("render") } };
    const w = widgetOf(module);
    const model = localModel(pageTraits(pageTraitsJson, state), NEEDS_KERNEL);
    w.initialize?.({ model });
    w.render({ model, el: document.createElement("div") });
    expect(calls).toEqual(["initialize", "render"]);
    expect(widgetOf({ default: widget }).initialize).toBeUndefined();
    expect(() => widgetOf({ default: {} })).toThrow(/exports no render function/);
  });
});

describe("the widget on a page with no kernel", () => {
  let host: HTMLElement;
  let traits: Traits;
  let cleanup: () => void;
  const q = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;

  beforeEach(() => {
    writePage();
    const page = readPage(document);
    traits = page.traits;
    host = document.getElementById(PAGE_IDS.root)!;
    cleanup = widget.render({ model: localModel(traits, page.needsKernel), el: host });
  });
  afterEach(() => cleanup());

  it("moves the slider over the precomputed sweep and keeps the threshold on the page", () => {
    const slider = q("slider") as HTMLInputElement;
    const before = q("cluster-count").textContent;
    slider.value = slider.max;
    slider.dispatchEvent(new Event("input"));
    slider.dispatchEvent(new Event("change"));
    vi.advanceTimersByTime(1000);
    expect(q("cluster-count").textContent).not.toBe(before);
    expect(traits.threshold).toBe(state.threshold); // nothing written: there is no kernel to re-cluster
  });

  it("disables the controls that need a kernel and says so", () => {
    for (const id of ["mode", "aggregation", "method", "layers", "heads"]) {
      expect((q(id) as HTMLInputElement).disabled).toBe(true);
      expect(q(id).title).toMatch(/Needs a running Python kernel/);
    }
  });

  it("answers the drill-down with the page's message instead of a BertViz view", async () => {
    q("drilldown-button").click();
    await vi.runAllTimersAsync();
    expect(q("drilldown-status").textContent).toBe(NEEDS_KERNEL);
    expect(host.querySelector("iframe")).toBeNull();
  });

  it("opens the panel of a clicked cluster with its explanation, asking nothing of a kernel", () => {
    host.querySelector<HTMLElement>('[data-testid="legend-item"]')!.click();
    expect(traits.selected_cluster).toBe(0);
    expect(q("panel").hidden).toBe(false);
    expect(q("panel-rationale").textContent).toMatch(/form a group/);
    expect(host.querySelector('[data-testid="panel-explaining"]')).toBeNull();
  });
});
