import { describe, expect, it } from "vitest";
import { assignColors, EXTRA, PALETTE, translucent } from "../../src/common/colors";

describe("assignColors", () => {
  it("colours clusters of 2+ tokens in id order and leaves singletons and excluded tokens uncoloured", () => {
    const labels = [-1, 0, 0, 1, 2, 2, 2, 3];
    const c = assignColors(labels);
    expect([...c.keys()]).toEqual([0, 2]);
    expect(c.get(0)!.color).toBe(PALETTE[0]);
    expect(c.get(2)!.color).toBe(PALETTE[1]);
    expect(c.has(1)).toBe(false);
    expect(c.has(-1)).toBe(false);
  });

  it("keeps more clusters than colours distinguishable by pattern", () => {
    const labels = Array.from({ length: 20 }, (_, i) => Math.floor(i / 2)); // 10 pairs
    const c = assignColors(labels);
    const keys = new Set([...c.values()].map((s) => `${s.color}/${s.pattern}`));
    expect(keys.size).toBe(10);
    expect(c.get(7)!.color).toBe(EXTRA[0]);
    expect(c.get(7)!.pattern).not.toBe(c.get(0)!.pattern);
  });

  it("makes translucent fills from hex", () => {
    expect(translucent("#E69F00", 0.5)).toBe("rgba(230, 159, 0, 0.5)");
  });
});
