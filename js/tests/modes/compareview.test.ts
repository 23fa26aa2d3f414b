// @vitest-environment happy-dom
// The compare view's pure parts: marks counted per kind, a key with only the marks
// that occur, sides named as a person reads them, a second-text group matched to
// the first text's by colour slot.
import { describe, expect, it } from "vitest";
import { keyEntries, markDifferences, matchedCluster, numbersOnScreen, sideName } from "../../src/modes/compareview";
import type { Compared } from "../../src/wire/modes";

const spans = (n: number) => Array.from({ length: n }, () => document.createElement("span"));

describe("the compare view's marks and key", () => {
  it("counts the tokens whose text differs and those grouped differently", () => {
    const s = spans(5);
    const marked = markDifferences(s, new Int32Array([0, -1, 2, 3, 4]), new Set([3]));
    expect(marked).toEqual({ text: 1, moved: 1 });
    expect(s[1].dataset.diff).toBe("text");
    expect(s[3].dataset.diff).toBe("moved");
    expect(markDifferences(s, new Int32Array([0, 1, 2, 3, 4]), new Set())).toEqual({ text: 0, moved: 0 });
    expect(s[1].classList.contains("aw-diff")).toBe(false); // marks from before are cleared
  });

  it("offers only the marks that occur", () => {
    const none = { text: 0, moved: 0 };
    expect(keyEntries(none, none)).toEqual([]);
    expect(keyEntries({ text: 1, moved: 0 }, none).map((k) => k.text)).toEqual(["text differs"]);
    expect(keyEntries(none, { text: 0, moved: 2 }).map((k) => k.text)).toEqual(["grouped differently"]);
  });

  it("names the sides and finds the first text's group of the same colour", () => {
    expect(sideName("a")).toBe("text a");
    expect(sideName("before")).toBe("before");
    const c = { aSlots: new Map([[0, 0], [2, 1]]), bSlots: new Map([[1, 1], [3, 5]]) } as unknown as Compared;
    expect(matchedCluster(c, 1)).toBe(2);
    expect(matchedCluster(c, 3)).toBeNull();
    expect(matchedCluster(c, 9)).toBeNull();
  });

  it("reads the first text's legend numbers off its coloured spans, in reading order", () => {
    const s = spans(5);
    [4, 4, 1, -1, 2].forEach((c, i) => {
      s[i].dataset.cluster = String(c);
      if (c !== 2 && c >= 0) s[i].classList.add("aw-clustered"); // cluster 2 is a single token: no colour
    });
    expect([...numbersOnScreen(s)]).toEqual([[4, 1], [1, 2]]);
  });
});
