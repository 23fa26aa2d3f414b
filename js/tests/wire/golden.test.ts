// The golden state: fixtures/state.json is a real state written by Python
// (tests/view/test_golden_state.py, which fails when Python writes anything
// else), with every array as numpy reads it. The front-end's own decoder must
// read the same fields, dtypes, shapes and values, so the two sides of the
// wire cannot drift apart unnoticed.
import { describe, expect, it } from "vitest";
import { NdArray, Typed, TypedOf } from "../../src/wire/codec";
import { checkState, decodeState, FLAG_EXCLUDED, FLAG_SPECIAL, linksOf, STATE_VERSION, View } from "../../src/wire/state";
import { golden } from "../helpers/golden";

const { state, arrays } = golden();
const view = decodeState(state);

/** Each wire array of the state, as the decoder hands it to the view. */
const DECODED: Record<string, (v: View) => Typed | NdArray> = {
  offsets: (v) => v.offsets,
  flags: (v) => v.flags,
  labels: (v) => v.labels,
  "sweep.thresholds": (v) => v.grid,
  "sweep.modularity": (v) => v.gridModularity,
  "sweep.n_clusters": (v) => v.gridCounts,
  "sweep.contiguity": (v) => v.gridContiguity,
  "sweep.labels": (v) => v.gridLabels,
  "links.out_index": (v) => v.links.outIndex,
  "links.out_weight": (v) => v.links.outWeight,
  "links.in_index": (v) => v.links.inIndex,
  "links.in_weight": (v) => v.links.inWeight,
  "map.coords": (v) => v.map?.coords ?? new Float32Array(0),
};

const TYPED: Record<keyof TypedOf, new (n: number) => Typed> = {
  int32: Int32Array,
  float32: Float32Array,
  float16: Float32Array, // widened
  float64: Float64Array,
  uint8: Uint8Array,
};

describe("the golden state written by Python", () => {
  it("is the layout version this front-end reads", () => {
    expect(state.version).toBe(STATE_VERSION);
  });

  it("carries the hand edits, the pins, the undo steps and the map of its graph", () => {
    const p = view.raw.partition;
    expect(p.edits.map((e) => e.op)).toEqual(["pin"]);
    expect(p.pins).toEqual([[1, 2]]);
    expect([p.undo, p.redo]).toEqual([1, 0]);
    expect(view.labels[1]).toBe(view.labels[2]);
    expect(view.map?.method).toBe("umap");
    expect(view.map?.key).toBe(view.raw.map_key);
    expect(Number.isNaN(view.map?.coords[0] ?? 0)).toBe(true);
  });

  it("declares the arrays the decoder reads, with the dtype the decoder expects", () => {
    const raw = checkState(state);
    expect(Object.keys(arrays).sort()).toEqual([...Object.keys(DECODED), "sweep.facts"].sort());
    expect(raw.labels.dtype).toBe("int32");
    expect(raw.sweep.thresholds.dtype).toBe("float64");
    expect(raw.sweep.modularity.dtype).toBe("float32");
    expect(raw.links.out_weight.dtype).toBe("float16");
  });

  it.each(Object.keys(DECODED))("decodes %s to numpy's dtype, shape and values", (path) => {
    const want = arrays[path];
    const got = DECODED[path](view);
    const data = "data" in got ? got.data : got;
    expect(data).toBeInstanceOf(TYPED[want.dtype]);
    if ("shape" in got) expect(got.shape).toEqual(want.shape);
    else expect(data.length).toBe(want.shape.reduce((a, b) => a * b, 1));
    // exact: every dtype's values are doubles JSON keeps (NaN, for tokens left off the map, as null)
    expect(Array.from(data, (x) => (Number.isNaN(x) ? null : x))).toEqual(want.values);
  });

  it("reads the sweep's facts per grid index and cluster", () => {
    const facts = arrays["sweep.facts"];
    expect(facts.shape[1]).toBe(4);
    expect(view.gridFacts.size).toBe(facts.shape[0]);
    for (let r = 0; r < facts.shape[0]; r++) {
      const [g, id, modularity, internal] = facts.values.slice(4 * r, 4 * r + 4);
      expect(view.gridFacts.get(`${g}:${id}`)).toEqual({ modularity, internal });
    }
  });

  it("shows the planted groups, the excluded special token and the automatic threshold", () => {
    expect(view.n).toBe(9);
    expect(view.raw.tokens).toEqual(["<s>", "The", " cat", " sat", " on", " the", " mat🍕", " <b>x</b>", "."]);
    expect(Array.from(view.labels)).toEqual([-1, 0, 0, 0, 1, 1, 1, 2, 2]);
    expect(view.flags[0]).toBe(FLAG_SPECIAL | FLAG_EXCLUDED);
    expect(Array.from(view.offsets.slice(0, 4))).toEqual([-1, -1, 0, 3]);
    expect(view.raw.auto).toBe(true);
    expect(view.grid[view.raw.sweep.best]).toBeCloseTo(view.raw.threshold, 12);
    // after 🍕 (one code point in Python, two UTF-16 units here) the offsets still slice exactly
    expect(view.raw.text.slice(view.offsets[12], view.offsets[13])).toBe(" mat🍕");
    expect(view.raw.text.slice(view.offsets[14], view.offsets[15])).toBe(" <b>x</b>");
  });

  it("carries each cluster's explanation as the panel reads it", () => {
    expect([...view.clusters.keys()]).toEqual([0, 1, 2]);
    for (const c of view.clusters.values()) {
      expect(c.rationale).toMatch(/form a group/);
      expect(c.claims?.length).toBeGreaterThan(0);
      expect(c.evidence).toHaveProperty("attention");
      expect(c.scores).toHaveProperty("complexity");
    }
  });

  it("lists a token's strongest links with their float16 weights", () => {
    const k = arrays["links.out_index"].shape[1];
    const l = linksOf(view, 2);
    const want = arrays["links.out_index"].values.slice(2 * k, 3 * k).filter((t) => t >= 0);
    expect(l.out.map((x) => x.token)).toEqual(want);
    expect(l.out.map((x) => x.weight)).toEqual(arrays["links.out_weight"].values.slice(2 * k, 2 * k + want.length));
  });

  it("refuses a state whose arrays do not match the tokens, saying which", () => {
    const broken = { ...golden().state, tokens: ["only one"] };
    expect(() => decodeState(broken)).toThrow(/state\.offsets should have shape \[1, 2\], got \[9, 2\]/);
    const retyped = golden().state as { sweep: { thresholds: { dtype: string } } };
    retyped.sweep.thresholds.dtype = "float32";
    expect(() => decodeState(retyped)).toThrow(/state\.sweep\.thresholds should be float64, got dtype "float32"/);
    expect(() => decodeState({ ...state, version: STATE_VERSION + 1 })).toThrow(/reinstall attn_widget/);
  });
});
