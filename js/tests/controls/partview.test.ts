// The partition's contiguity and the cut test, as the view says them.
import { describe, expect, it } from "vitest";
import type { CutTestResult } from "../../src/wire/messages";
import { amount } from "../../src/common/dom";
import { contiguityText, cutTestText } from "../../src/controls/partview";
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
  it("says when the groups beat runs of neighbouring words and when they do not", () => {
    expect(cutTestText(result(0.8))).toContain("×0.80 what cutting runs of neighbouring words");
    expect(cutTestText(result(0.8))).toContain("the model depends on these groups more than on runs of neighbouring words");
    expect(cutTestText(result(0.95))).toContain("barely more than runs of neighbouring words");
    expect(cutTestText(result(1.2))).toContain("no more than runs of neighbouring words");
    expect(cutTestText(result(1.2))).toContain("×0.33 what random groups do (mean of 5)");
    expect(cutTestText(result(1.2))).toContain("moves the next-token distributions (JS divergence) by 0.100: ");
  });

  it("says there is nothing to compare with when runs of words move nothing", () => {
    const r = { ...result(1), ratio_contiguous: null, ratio_random: null };
    expect(cutTestText(r)).toContain("so there is nothing to compare with");
  });
});

describe("a divergence in words", () => {
  it("keeps two significant digits when three decimals would say 0.000", () => {
    expect(amount(0.1234)).toBe("0.123");
    expect(amount(0.001)).toBe("0.001");
    expect(amount(0.000123)).toBe("0.00012");
    expect(amount(0)).toBe("0.000");
    const tiny = { ...result(1.0), divergence: 0.0000042, contiguous: 0.0000042 };
    expect(cutTestText(tiny)).toContain("by 0.0000042: ×1.00 what cutting runs");
  });
});
