// @vitest-environment happy-dom
// The whole view, rendered into a DOM with a fake model (as anywidget would):
// hostile token text stays text, the slider recolours from the precomputed
// grid and writes the threshold (debounced), clicks select clusters, and the
// drill-down request/reply ends in a sandboxed iframe.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../src/widget";
import type { WireArray } from "../src/wire/codec";
import type { DrilldownRequest } from "../src/wire/messages";
import { STATE_VERSION, type WireState } from "../src/wire/state";
import { FakeModel, fakeModel, traitsOf } from "./helpers/model";

const HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'];
const TOKENS = ["<|endoftext|>", "Hi", ` ${HOSTILE[0]}`, ` ${HOSTILE[1]}`, " end"];
const TEXT = TOKENS.slice(1).join("");

function wire<D extends WireArray["dtype"]>(arr: Int32Array | Float32Array | Float64Array | Uint16Array, dtype: D, shape: number[]): WireArray<D> {
  return { dtype, shape, data: new DataView(arr.buffer) };
}

function offsets(): Int32Array {
  const out = [-1, -1];
  let at = 0;
  for (const t of TOKENS.slice(1)) {
    out.push(at, at + t.length);
    at += t.length;
  }
  return new Int32Array(out);
}

const GRID_LABELS = [
  [-1, 0, 0, 0, 0],
  [-1, 0, 0, 1, 1],
  [-1, 0, 1, 2, 3],
];

function state(threshold = 0.2, g = 1): WireState {
  const half = new Uint16Array(10).fill(0x3800); // 0.5 in float16
  return {
    version: STATE_VERSION,
    text: TEXT,
    tokens: TOKENS,
    offsets: wire(offsets(), "int32", [5, 2]),
    flags: wire(new Int32Array([3, 0, 0, 0, 0]), "int32", [5]),
    labels: wire(new Int32Array(GRID_LABELS[g]), "int32", [5]),
    threshold,
    threshold_mode: "absolute",
    auto: g === 1,
    modularity: 0.3,
    method: "louvain",
    aggregation: "mean",
    measure: "attention",
    lens: "all",
    lens_heads: null,
    links_lens: "",
    model: null,
    notices: [],
    range: [0, 0.5],
    n_layers: 2,
    n_heads: 2,
    unit: "token",
    zoomed: false,
    clusters: [
      { id: 0, size: 2, modularity: 0.12, internal: 0.8, rationale: "They attend to each other.", headline: "'a b' keep 80% of their attention inside the group.", claims: [{ text: "80% stays inside", sentence: 0, field: "attention.internal", headline: true }], evidence: null, scores: null },
      { id: 1, size: 2, modularity: 0.1, internal: 0.7, rationale: null, headline: null, claims: null, evidence: null, scores: null },
    ],
    sweep: {
      mode: "absolute",
      best: 1,
      thresholds: wire(new Float64Array([0.1, 0.2, 0.3]), "float64", [3]),
      modularity: wire(new Float32Array([0.1, 0.3, 0.0]), "float32", [3]),
      n_clusters: wire(new Int32Array([1, 2, 0]), "int32", [3]),
      contiguity: wire(new Float32Array([1, 0.75, 0]), "float32", [3]),
      labels: wire(new Int32Array(GRID_LABELS.flat()), "int32", [3, 5]),
      facts: wire(new Float32Array([0, 0, 0.05, 0.9, 1, 0, 0.12, 0.8, 1, 1, 0.1, 0.7]), "float32", [3, 4]),
    },
    links: {
      k: 2,
      out_index: wire(new Int32Array([-1, -1, 2, 3, 1, 3, 4, 2, 3, 1]), "int32", [5, 2]),
      out_weight: wire(half, "float16", [5, 2]),
      in_index: wire(new Int32Array([-1, -1, 2, 3, 1, 3, 4, 2, 3, 1]), "int32", [5, 2]),
      in_weight: wire(half.slice(), "float16", [5, 2]),
    },
    map_key: "graph-1",
    map: null,
    partition: { edits: [], pins: [], undo: 0, redo: 0 },
    arcs: [{ source: 3, target: 1, weight: 0.4, kind: "reference", confident: true, lens: "coreference", measure: "attention", confidence: 0.8, baseline: null, source_text: "it", target_text: "cat", heads: [[16, 4, 0.41]] }],
    findings: [{ kind: "reference", text: "'it' looks back to 'cat'.", tokens: [1, 3] }],
  };
}

function model0(): FakeModel {
  return fakeModel(traitsOf({ state: state(), threshold: 0.2 }));
}

let host: HTMLElement;
let model: FakeModel;
let cleanup: () => void;
const q = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
const all = (id: string) => [...host.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

beforeEach(() => {
  vi.useFakeTimers();
  host = document.createElement("div");
  document.body.append(host);
  model = model0();
  cleanup = widget.render({ model, el: host });
});

afterEach(() => {
  cleanup();
  host.remove();
  vi.useRealTimers();
});

describe("the view", () => {
  it("shows hostile token text as text and creates no elements from it", () => {
    expect(host.querySelectorAll("script, img, iframe")).toHaveLength(0);
    const tokens = all("token");
    expect(tokens.map((t) => t.textContent)).toEqual(["<|endoftext|>", "Hi", ` ${HOSTILE[0]}`, ` ${HOSTILE[1]}`, " end"]);
    expect(q("text").textContent).toBe(`<|endoftext|>${TEXT}`);
    expect(q("legend").textContent).toContain(HOSTILE[0]);
  });

  it("draws the arcs over the text and the findings line above it, as text", () => {
    vi.advanceTimersByTime(50); // arcs are laid out with the next frame
    const arcs = all("arc");
    expect(arcs.map((a) => [a.dataset.source, a.dataset.target, a.dataset.kind, a.dataset.confident])).toEqual([["3", "1", "reference", "true"]]);
    expect(q("text").contains(q("arcs"))).toBe(true);
    expect(all("finding").map((f) => f.textContent)).toEqual(["'it' looks back to 'cat'."]);
    all("finding")[0].dispatchEvent(new MouseEvent("mouseenter"));
    expect(arcs[0].classList.contains("aw-arc-on")).toBe(true);
    expect(all("token")[3].classList.contains("aw-arc-end")).toBe(true);
    expect(q("title").textContent).toBe("4 tokens");
  });

  it("keeps JupyterLab's notebook shortcuts away from its controls", () => {
    for (const id of ["slider", "mode", "aggregation", "method", "layers", "drilldown-layers"]) {
      expect(q(id).getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    }
  });

  it("colours tokens by cluster, marks the excluded sink and lists clusters in the legend", () => {
    expect(all("token").map((t) => t.dataset.cluster)).toEqual(["-1", "0", "0", "1", "1"]);
    expect(all("token")[0].dataset.excluded).toBe("true");
    expect(all("legend-item").map((i) => i.dataset.cluster)).toEqual(["0", "1"]);
    expect(q("cluster-count").textContent).toBe("2 clusters");
    expect(q("threshold-value").textContent).toContain("(auto)");
  });

  it("recolours from the grid at once and writes the threshold after a pause", () => {
    const slider = q("slider") as HTMLInputElement;
    slider.value = "2";
    slider.dispatchEvent(new Event("input"));
    expect(q("cluster-count").textContent).toBe("0 clusters");
    expect(all("token").map((t) => t.dataset.cluster)).toEqual(["-1", "0", "1", "2", "3"]);
    expect(model.get("threshold")).toBe(0.2);
    vi.advanceTimersByTime(100); // still dragging: nothing sent yet
    slider.value = "0";
    slider.dispatchEvent(new Event("input"));
    slider.value = "2";
    slider.dispatchEvent(new Event("input"));
    expect(model.saves).toBe(0);
    vi.advanceTimersByTime(150);
    expect(model.get("threshold")).toBe(0.3);
    expect(model.saves).toBe(1);
    model.set("state", state(0.3, 2)); // the kernel's answer
    expect(q("cluster-count").textContent).toBe("0 clusters");
  });

  it("goes back to the automatic threshold on reset", () => {
    model.set("threshold", 0.3);
    model.set("state", state(0.3, 2));
    expect(q("cluster-count").textContent).toBe("0 clusters");
    q("reset").click();
    expect(q("cluster-count").textContent).toBe("2 clusters");
    expect(q("threshold-value").textContent).toContain("(auto)");
    expect(model.get("threshold")).toBe(0.2);
  });

  it("follows a threshold set from Python", () => {
    model.set("threshold", 0.1);
    model.set("state", state(0.1, 0));
    expect(q("cluster-count").textContent).toBe("1 cluster");
    expect((q("slider") as HTMLInputElement).value).toBe("0");
  });

  it("opens the cluster panel from the legend with the headline first and the rationale one click away", () => {
    expect(all("legend-item")[0].title).toBe("Cluster 1: 'a b' keep 80% of their attention inside the group.");
    all("legend-item")[0].click();
    expect(model.get("selected_cluster")).toBe(0);
    expect(q("panel").hidden).toBe(false);
    expect(q("panel-headline").textContent).toBe("'a b' keep 80% of their attention inside the group.");
    expect(q("panel-headline").title).toContain("✓ 80% stays inside");
    expect(q("panel-facts").textContent).toContain("80%");
    const details = q("panel-details") as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(details.contains(q("panel-rationale"))).toBe(true);
    expect(q("panel-rationale").textContent).toBe("They attend to each other.");
    details.open = true;
    details.dispatchEvent(new Event("toggle"));
    all("legend-item")[1].click();
    all("legend-item")[0].click();
    expect((q("panel-details") as HTMLDetailsElement).open).toBe(true); // stays open once opened
    expect(all("token").filter((t) => t.classList.contains("aw-selected"))).toHaveLength(2);
    q("panel-close").click();
    expect(model.get("selected_cluster")).toBeNull();
  });

  it("changes the unit from its select and shows the unit the kernel reports", () => {
    const unit = q("unit") as HTMLSelectElement;
    expect(unit.value).toBe("token");
    unit.value = "sentence";
    unit.dispatchEvent(new Event("change"));
    expect(model.get("unit")).toBe("sentence");
    model.set("unit", "word");
    expect(unit.value).toBe("word");
  });

  it("offers to zoom into a selected cluster of a sentence view, and back out", () => {
    model.set("unit", "sentence");
    model.set("state", { ...state(), unit: "sentence" });
    expect(q("zoom-in").hidden).toBe(true); // nothing selected
    all("legend-item")[0].click();
    expect(q("zoom-in").hidden).toBe(false);
    expect(q("zoom-in").textContent).toBe("Zoom in: its words");
    q("zoom-in").click();
    expect(model.get("zoom")).toBe(0);
    expect(q("zoom-out").hidden).toBe(false);
    q("zoom-out").click();
    expect(model.get("zoom")).toBeNull();
    expect(q("zoom-out").hidden).toBe(true);
  });

  it("does not zoom at a slider position the kernel has not reached yet", () => {
    all("legend-item")[0].click();
    const slider = q("slider") as HTMLInputElement;
    slider.value = "0";
    slider.dispatchEvent(new Event("input"));
    expect(q("zoom-in").hidden).toBe(false);
    expect((q("zoom-in") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows only the zoomed cluster's text, the rest elided with its length on hover", () => {
    const long = `${TEXT} ${"and a great deal of other text ".repeat(3)}`;
    model.set("state", { ...state(), text: long, zoomed: true });
    expect(all("elided")).toHaveLength(1);
    expect(all("elided")[0].textContent).toBe(" … ");
    expect(all("elided")[0].title).toMatch(/^\d+ characters outside this cluster$/);
    expect(all("token")).toHaveLength(5);
  });

  it("lists a hovered token's strongest links", () => {
    all("token")[1].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(q("links").hidden).toBe(false);
    expect(q("links").textContent).toContain("attends to");
    expect(q("links").textContent).toContain("0.50");
  });

  it("requests a drill-down for the selected cluster and shows the reply in a sandboxed iframe", async () => {
    all("legend-item")[1].click();
    q("drilldown-button").click();
    expect(model.sent).toHaveLength(1);
    const req = model.sent[0] as DrilldownRequest;
    expect(req).toMatchObject({ type: "drilldown", view: "head", tokens: [3, 4], layers: null });
    const html = "<!doctype html><p>heads</p>";
    model.emit("msg:custom", { type: "drilldown_reply", id: req.id, error: null, capped: true, note: "capped to 2 layers" }, [new DataView(new TextEncoder().encode(html).buffer)]);
    await vi.runAllTimersAsync();
    const frame = q("drilldown-frame") as HTMLIFrameElement;
    expect(frame.getAttribute("sandbox")).toBe("allow-scripts");
    expect(frame.srcdoc).toBe(html);
    expect(q("drilldown-note").textContent).toBe("capped to 2 layers");
  });

  it("shows a drill-down error next to the button", async () => {
    q("drilldown-button").click();
    model.emit("msg:custom", { type: "drilldown_reply", id: (model.sent[0] as DrilldownRequest).id, error: "layers [40] out of range" }, []);
    await vi.runAllTimersAsync();
    expect(q("drilldown-status").textContent).toBe("layers [40] out of range");
    expect(host.querySelector("iframe")).toBeNull();
  });

  it("shows kernel errors in plain words and clears them on dismiss", () => {
    model.set("error", "Could not apply aggregation='heads': needs heads=[...]");
    expect(q("error").hidden).toBe(false);
    expect(q("error").textContent).toContain("needs heads");
    q("error-dismiss").click();
    expect(model.get("error")).toBe("");
    expect(q("error").hidden).toBe(true);
  });

  it("shows progress while loading", () => {
    model.set("progress", "Loading gpt2…");
    model.set("status", "loading");
    expect(q("progress").hidden).toBe(false);
    expect(q("progress").textContent).toContain("Loading gpt2");
    model.set("status", "ready");
    expect(q("progress").hidden).toBe(true);
  });
});

describe("the kernel's messages", () => {
  it("says so when the kernel sends one of its messages in a shape this view cannot read", () => {
    model.emit("msg:custom", { type: "explain_reply", id: "seven", error: null }, []);
    expect(q("error").hidden).toBe(false);
    expect(q("error").textContent).toContain("explain_reply message.id should be an integer");
  });

  it("ignores messages meant for another widget", () => {
    model.emit("msg:custom", { type: "something_else", id: 1 }, []);
    model.emit("msg:custom", "hello", []);
    expect(q("error").hidden).toBe(true);
  });
});

describe("cleanup", () => {
  it("removes every listener it added: model events and clicks no longer touch the view or the model", () => {
    expect(model.listenerCount()).toBeGreaterThan(0);
    const before = host.innerHTML;
    cleanup();
    expect(model.listenerCount()).toBe(0);
    model.set("state", state(0.3, 2));
    model.set("error", "Could not apply method='nope'");
    model.set("status", "loading");
    model.set("progress", "Loading gpt2…");
    model.set("notices", ["a notice"]);
    model.set("aggregation", "max");
    model.set("selected_cluster", 0);
    model.emit("msg:custom", { type: "drilldown_reply", id: 1, error: "late" }, []);
    expect(host.innerHTML).toBe(before);

    const saves = model.saves;
    const slider = q("slider") as HTMLInputElement;
    slider.value = "2";
    slider.dispatchEvent(new Event("input"));
    slider.dispatchEvent(new Event("change"));
    all("legend-item")[0].click();
    all("token")[1].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    all("token")[1].click();
    q("reset").click();
    q("error-dismiss").click();
    q("drilldown-button").click();
    document.body.dataset.jpThemeLight = "false";
    vi.advanceTimersByTime(1000);
    expect(host.innerHTML).toBe(before);
    expect(model.saves).toBe(saves);
    expect(model.sent).toEqual([]);
    delete document.body.dataset.jpThemeLight;
  });

  it("ends a drill-down still in flight quietly, and sends the last slider position", async () => {
    q("drilldown-button").click();
    const slider = q("slider") as HTMLInputElement;
    slider.value = "2";
    slider.dispatchEvent(new Event("input"));
    cleanup();
    expect(model.get("threshold")).toBe(0.3); // not lost with the view
    const status = q("drilldown-status").textContent;
    model.emit("msg:custom", { type: "drilldown_reply", id: (model.sent[0] as DrilldownRequest).id, error: null }, []);
    await vi.runAllTimersAsync();
    expect(host.querySelector("iframe")).toBeNull();
    expect(q("drilldown-status").textContent).toBe(status);
  });
});
