// The partition's contiguity and the cut test, as the view says them.
import { describe, expect, it } from "vitest";
import type { CutTestResult } from "../../src/wire/messages";
import { amount } from "../../src/common/dom";
import { contiguityText, cutTestMeasure, cutTestText } from "../../src/controls/partview";
import { contiguity } from "../../src/wire/state";

const result = (ratio: number): CutTestResult => ({
  divergence: 0.1,
  contiguous: 0.1 / ratio,
  random: 0.3,
  ratio_contiguous: ratio,
  ratio_random: 0.33,
  contiguity: 0.5,
  output: "next-token distributions (JS divergence)",
  n_random: 5,
});

describe("contiguity", () => {
  it("counts neighbouring pairs in one cluster, skipping left-out tokens", () => {
    expect(contiguity(new Int32Array([-1, 0, 0, 1, 1]))).toBe(2 / 3);
    expect(contiguity(new Int32Array([0, -1, 0, 1]))).toBe(1 / 2); // 0 and 2 are neighbours once 1 is out
    expect(contiguity(new Int32Array([0, 1, 0, 1]))).toBe(0);
    expect(contiguity(new Int32Array([-1, 3]))).toBe(1);
  });

  it("warns when the clusters are mostly runs of neighbouring words", () => {
    expect(contiguityText(0.85)).toBe("85% of neighbouring tokens share a cluster: the clusters are mostly runs of neighbouring words");
    expect(contiguityText(0.4)).toBe("40% of neighbouring tokens share a cluster");
  });
});

describe("the cut test in words", () => {
  it("says when the groups beat runs of neighbouring words and when they do not, without jargon", () => {
    expect(cutTestText(result(0.8))).toBe(
      "Cutting the links between these groups changes the model's predictions 0.80 times as much as cutting " +
        "between runs of neighbouring words of the same sizes, and 0.33 times as much as cutting between random " +
        "groups: the model relies on these groups more than on runs of neighbouring words.",
    );
    expect(cutTestText(result(0.95))).toContain("relies on these groups barely more than on runs of neighbouring words");
    expect(cutTestText(result(1.2))).toContain("relies on these groups no more than on runs of neighbouring words");
    for (const r of [0.8, 0.95, 1.2]) {
      expect(cutTestText(result(r))).not.toMatch(/divergence|JS|×/);
    }
    expect(cutTestText({ ...result(0.8), output: "sentence embedding (1 - cosine)" })).toContain(
      "changes the model's summary of the sentence 0.80 times as much as",
    );
  });

  it("gives the exact measure on demand, with the three figures the ratios come from", () => {
    const text = cutTestMeasure(result(0.8));
    expect(text).toContain("Jensen-Shannon divergence of the next-token distributions");
    expect(text).toContain(": 0.100 when cutting between these groups, 0.125 between runs of neighbouring words");
    expect(text).toContain("0.300 between random groups (mean of 5)");
    expect(cutTestMeasure({ ...result(1), output: "sentence embedding (1 - cosine)" })).toContain("1 − cosine");
  });

  it("says there is nothing to compare with when runs of words move nothing", () => {
    const r = { ...result(1), ratio_contiguous: null, ratio_random: null };
    expect(cutTestText(r)).toContain("so there is nothing to compare with");
    expect(cutTestText({ ...r, divergence: 0 })).toContain("does not change the model's predictions");
  });
});

describe("a divergence in words", () => {
  it("keeps two significant digits when three decimals would say 0.000", () => {
    expect(amount(0.1234)).toBe("0.123");
    expect(amount(0.001)).toBe("0.001");
    expect(amount(0.000123)).toBe("0.00012");
    expect(amount(0)).toBe("0.000");
    const tiny = { ...result(1.0), divergence: 0.0000042, contiguous: 0.0000042 };
    expect(cutTestMeasure(tiny)).toContain(": 0.0000042 when cutting between these groups, 0.0000042 between runs");
  });
});
