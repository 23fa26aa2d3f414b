// @vitest-environment happy-dom
// The token map and the edit bar, in the whole view on the real golden state:
// picks made by shift-click in the text or on the map, edit messages as the
// kernel reads them, map replies drawn (stale ones dropped), hover linked both ways.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chooseLabels, convexHull, LABEL_ALL, labelPriority, outlinePath, scaleCoords } from "../../src/extras/map";
import type { MapRequest, RefineRequest } from "../../src/wire/messages";
import { clusterIds, formatDelta, refineRequest } from "../../src/extras/refine";
import widget from "../../src/widget";
import { golden } from "../helpers/golden";
import { FakeModel, fakeModel, traitsOf } from "../helpers/model";

let host: HTMLElement;
let model: FakeModel;
let cleanup: () => void;
const q = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
const all = (id: string) => [...host.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const shiftClick = (node: Element) => node.dispatchEvent(new MouseEvent("click", { bubbles: true, shiftKey: true }));
const sent = <T>(type: string) => model.sent.filter((m) => (m as { type: string }).type === type) as T[];

function stateWithoutMap(): Record<string, unknown> {
  return { ...golden().state, map: null };
}

beforeEach(() => {
  host = document.createElement("div");
  document.body.append(host);
  model = fakeModel(traitsOf({ state: stateWithoutMap() as never, threshold: 0.1 }));
  cleanup = widget.render({ model, el: host });
});

afterEach(() => {
  cleanup();
  host.remove();
});

describe("pure helpers", () => {
  it("labels the strongest dots first and skips a label that would overlap one placed", () => {
    const x = [50, 52, 100, 200];
    const y = [10, 12, 50, 50];
    const at = (places: { index: number; anchor: string }[]) => places.map((p) => [p.index, p.anchor]);
    // 0 would overlap 1 (stronger) on the right, so it goes left; a third dot there finds no free place
    expect(at(chooseLabels(x, y, [1, 5, 2, 0], [30, 30, 30, 30], 10))).toEqual([[0, "end"], [1, "start"], [2, "start"], [3, "start"]]);
    expect(at(chooseLabels([50, 52, 51, 50], [10, 12, 11, 30], [3, 5, 4, 0], [30, 30, 30, 30], 10))).toEqual([[1, "start"], [2, "end"], [3, "start"]]);
    expect(at(chooseLabels(x, y, [1, 5, 2, 0], [30, 30, 30, 30], 2))).toEqual([[1, "start"], [2, "start"]]);
    expect(at(chooseLabels([NaN, 5], [NaN, 5], [9, 1], [10, 10], 5))).toEqual([[1, "middle"]]); // below: the other places leave the box
    expect(at(chooseLabels([415], [100], [1], [30], 5, { width: 420, height: 300 }))).toEqual([[0, "end"]]); // kept inside the box
  });

  it("names each cluster's strongest word first, never a word twice or punctuation", () => {
    const p = labelPriority([5, 4, 3, 2, 1, 9], [0, 0, 1, 1, 2, 0], ["the", "cat", "The", "dog", ",", "sat"]);
    const ranked = Array.from(p.keys()).filter((i) => p[i] > -Infinity).sort((a, b) => p[b] - p[a]);
    // 'sat' names cluster 0, 'dog' cluster 1 ('The' repeats 'the'), then by strength; ',' and 'The' never
    expect(ranked).toEqual([5, 3, 0, 1]);
  });

  it("outlines points by their convex hull pushed outwards", () => {
    expect(convexHull([[0, 0], [2, 0], [1, 1], [2, 2], [0, 2]])).toEqual([[0, 0], [2, 0], [2, 2], [0, 2]]);
    const d = outlinePath([[0, 0], [2, 0], [1, 1], [2, 2], [0, 2]], 1);
    const corners = d.slice(1, -1).split("L").map((p) => p.split(",").map(Number));
    expect(Math.min(...corners.map((c) => c[0]))).toBe(-1); // a pad all around the points
    expect(Math.max(...corners.map((c) => c[1]))).toBe(3);
    expect(outlinePath([[5, 5]], 8).startsWith("M")).toBe(true);
    expect(outlinePath([], 8)).toBe("");
  });

  it("scales map coordinates into the box, up is up, NaN stays NaN", () => {
    const { x, y } = scaleCoords(new Float32Array([NaN, NaN, 0, 0, 10, 5]), 3, 100, 60, 10);
    expect(Number.isNaN(x[0]) && Number.isNaN(y[0])).toBe(true);
    expect([x[1], y[1], x[2], y[2]]).toEqual([10, 50, 90, 10]);
    const one = scaleCoords(new Float32Array([3, 3]), 1, 100, 60, 10);
    expect([one.x[0], one.y[0]]).toEqual([50, 30]);
    const wide = scaleCoords(new Float32Array([0, 0, 10, 1]), 2, 100, 60, 10); // one scale: a flat map stays flat
    expect([wide.x[0], wide.y[0], wide.x[1], wide.y[1]]).toEqual([10, 34, 90, 26]);
  });

  it("says a modularity change with its sign and lists cluster ids", () => {
    expect([formatDelta(0.0123), formatDelta(-0.18), formatDelta(0)]).toEqual(["+0.012", "−0.180", "±0.000"]);
    expect(clusterIds([-1, 2, 0, 2, 5])).toEqual([0, 2, 5]);
    expect(refineRequest(3, "pin", { tokens: [1, 4] })).toEqual({ type: "refine", id: 3, op: "pin", clusters: null, cluster: null, tokens: [1, 4], to: null });
  });
});

describe("the edit bar", () => {
  it("shows the modularity, the last edit's change and the undo the kernel holds", () => {
    expect(q("refine-modularity").textContent).toMatch(/^modularity \d\.\d{3}$/);
    expect(q("refine-last").textContent).toBe("(last edit ±0.000)"); // pinning two tokens already together
    expect(q("refine-history").textContent).toContain("pinned");
    expect((q("refine-undo") as HTMLButtonElement).disabled).toBe(false);
    expect((q("refine-redo") as HTMLButtonElement).disabled).toBe(true);
  });

  it("picks tokens with shift-click and sends a move with them, then clears the picks", () => {
    expect((q("refine-move") as HTMLButtonElement).disabled).toBe(true);
    shiftClick(all("token")[4]);
    shiftClick(all("token")[0]); // the excluded sink cannot be picked
    expect(all("token").filter((t) => t.classList.contains("aw-picked")).map((t) => t.dataset.index)).toEqual(["4"]);
    expect(q("refine-picked").textContent).toBe("on");
    (q("refine-move-target") as HTMLSelectElement).value = "new";
    q("refine-move").click();
    expect(sent<RefineRequest>("refine")).toEqual([{ type: "refine", id: 1, op: "move", clusters: null, cluster: null, tokens: [4], to: null }]);
    expect(q("refine-picked").textContent).toBe("none");
    model.emit("msg:custom", { type: "refine_reply", id: 1, error: null, text: "moved 'the' to a cluster of its own", delta: -0.05 }, []);
    expect(q("refine-status").textContent).toBe("moved 'the' to a cluster of its own: modularity −0.050");
  });

  it("merges the selected cluster with the chosen one and shows a refusal in words", () => {
    model.set("selected_cluster", 0);
    (q("refine") as HTMLDetailsElement).open = true; // the bar is folded until a person opens it
    q("refine").dispatchEvent(new Event("toggle"));
    (q("refine-merge-target") as HTMLSelectElement).value = "2";
    q("refine-merge").click();
    q("refine-split").click();
    expect(sent<RefineRequest>("refine").map((m) => [m.op, m.clusters, m.cluster])).toEqual([["merge", [0, 2], null], ["split", null, 0]]);
    model.emit("msg:custom", { type: "refine_reply", id: 2, error: "cluster 0 cannot be split: it has one token", text: "", delta: null }, []);
    expect(q("refine-status").textContent).toBe("cluster 0 cannot be split: it has one token");
    expect(q("refine-status").classList.contains("aw-refine-error")).toBe(true);
  });
});

/** Open the map section and answer its first request with ``coords`` (all zeros by default) made by ``method``. */
function openMap(method: string, seconds: number, coords?: Float32Array): void {
  const section = q("map-section") as HTMLDetailsElement;
  section.open = true;
  section.dispatchEvent(new Event("toggle"));
  const values = coords ?? new Float32Array(all("token").length * 2);
  const key = (golden().state as { map_key: string }).map_key;
  model.emit("msg:custom", { type: "map_reply", id: 1, error: null, method, seed: 0, key, seconds }, [new DataView(values.buffer)]);
}

describe("the token map", () => {
  it("asks the kernel when opened, draws the reply's dots and drops a reply for another graph", () => {
    const n = all("token").length;
    const coords = new Float32Array(n * 2).map((_, k) => k);
    coords[0] = coords[1] = NaN;
    openMap("umap", 1.5, coords);
    const [req] = sent<MapRequest>("map");
    const shown = all("token").map((t) => Number(t.dataset.cluster ?? -1));
    expect(req).toEqual({ type: "map", id: 1, method: "clusters", seed: 0, labels: shown }); // the partition on screen
    expect(n).toBeLessThanOrEqual(LABEL_ALL);
    expect(all("map-label").map((l) => l.dataset.index)).toEqual(all("map-point").map((d) => d.dataset.index)); // a short text: every dot has its word
    expect(all("map-label")[0].textContent).toBe(all("token")[1].textContent!.trim());
    const dots = all("map-point");
    expect(dots.map((d) => d.dataset.index)).toEqual(Array.from({ length: n - 1 }, (_, i) => String(i + 1)));
    expect(dots.map((d) => d.dataset.cluster)).toEqual(all("token").slice(1).map((t) => t.dataset.cluster));
    expect(q("map-status").textContent).toBe("UMAP map in 1.5 s");
    q("map-draw").click();
    model.emit("msg:custom", { type: "map_reply", id: 2, error: null, method: "umap", seed: 0, key: "another graph", seconds: 1 }, [new DataView(coords.buffer)]);
    expect(sent<MapRequest>("map")).toHaveLength(3); // the stale reply was asked again
  });

  it("links hover and picks both ways with the text", () => {
    openMap("tsne", 0.2);
    all("token")[3].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(all("map-point").find((d) => d.classList.contains("aw-hover"))?.dataset.index).toBe("3");
    q("text").dispatchEvent(new MouseEvent("mouseleave"));
    const dot = all("map-point").find((d) => d.dataset.index === "5")!;
    dot.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(all("token")[5].classList.contains("aw-hover")).toBe(true);
    expect(all("map-point").filter((d) => d.classList.contains("aw-hover")).map((d) => d.dataset.index)).toEqual(["5"]); // the dot itself
    expect(q("map-hover-label").textContent).toBe(all("token")[5].textContent!.trim());
    expect(q("links").textContent).not.toContain("attends to"); // the links box (a fixed slot) is left alone: the map hovers only the span
    shiftClick(dot);
    expect(all("token")[5].classList.contains("aw-picked")).toBe(true);
    expect(all("map-point").find((d) => d.dataset.index === "5")!.classList.contains("aw-picked")).toBe(true);
    dot.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    const cluster = all("token")[5].dataset.cluster;
    expect(model.get("selected_cluster")).toBe(Number(cluster));
    expect(q("map-outline").dataset.cluster).toBe(cluster); // the selected cluster outlined
    expect(q("map-outline").getAttribute("d")).toMatch(/^M/);
    q("map").dispatchEvent(new MouseEvent("mouseleave"));
    expect(all("map-point").some((d) => d.classList.contains("aw-hover"))).toBe(false);
    expect(host.querySelector("[data-testid=map-hover-label]")).toBeNull();
  });

  it("draws the map the state carries and names its method in the menu", () => {
    cleanup();
    model = fakeModel(traitsOf({ state: golden().state as never, threshold: 0.1 }));
    cleanup = widget.render({ model, el: host });
    expect(all("map-point").length).toBeGreaterThan(0);
    expect((q("map-method") as HTMLSelectElement).value).toBe("umap");
    expect(sent<MapRequest>("map")).toHaveLength(0); // nothing asked: the map is the state's
  });

  it("asks for a clusters map again when the partition on screen changes, once per burst", async () => {
    openMap("clusters", 0.01);
    expect(q("map-status").textContent).toBe("Clusters map in 0.01 s");
    const slider = q("slider") as HTMLInputElement;
    const before = all("token").map((t) => t.dataset.cluster).join();
    for (let v = 0; v <= Number(slider.max); v++) { // moved along until the partition differs
      slider.value = String(v);
      slider.dispatchEvent(new Event("input", { bubbles: true }));
      if (all("token").map((t) => t.dataset.cluster).join() !== before) break;
    }
    expect(all("token").map((t) => t.dataset.cluster).join()).not.toBe(before);
    await new Promise((r) => setTimeout(r, 200));
    const asked = sent<MapRequest>("map");
    expect(asked).toHaveLength(2);
    expect(asked[1].labels).toEqual(all("token").map((t) => Number(t.dataset.cluster ?? -1)));
  });
});
