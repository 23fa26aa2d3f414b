// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { readable, spoken } from "../../src/common/dom";
import { carryPicks, clip, LABEL_MAX, pieceGroups, wordsOf } from "../../src/common/words";
import { drawLegend, legendLabel } from "../../src/text/legend";
import { assignColors } from "../../src/common/colors";
import { renderPanel } from "../../src/panel/panel";

// "I 🍕 cat مرحبا": GPT-2's pieces; offsets in UTF-16 units as wire.py sends them
const text = "I 🍕 cat مرحبا";
const tokens = ["I", " 🍕", "🍕", " cat", " م", "ر", "ح", "ح", "با"];
const offsets = [0, 1, 1, 4, 2, 4, 4, 8, 8, 10, 10, 11, 11, 12, 11, 12, 12, 14];
const source = { text, offsets };

describe("labels as a person reads them", () => {
  it("groups the pieces of one character, and only those", () => {
    expect(pieceGroups([0, 1, 2, 3, 4, 5, 6, 7, 8], source)).toEqual([[0], [1, 2], [3], [4], [5], [6, 7], [8]]);
    expect(pieceGroups([2, 3], source)).toEqual([[2], [3]]);
    expect(pieceGroups([1, 2])).toEqual([[1], [2]]); // no offsets: nothing to share
  });

  it("shows a split emoji once and an Arabic word whole, never byte escapes", () => {
    const groups = pieceGroups([1, 2, 4, 5, 6, 7, 8], source);
    expect(wordsOf(groups, tokens, source)).toBe("🍕 مرحبا");
    expect(legendLabel(0, [1, 2, 4, 5, 6, 7, 8], tokens, source)).toBe("0: 🍕 مرح … (7)");
    expect(legendLabel(0, [1, 2, 4, 5, 6, 7, 8], tokens, source)).not.toMatch(/\\x|\uFFFD/);
  });

  it("makes invisible pieces and lone combining marks visible", () => {
    expect(readable("\u200d")).toBe("U+200D");
    expect(readable("\u0301")).toBe("◌\u0301");
    expect(readable("e\u0301")).toBe("e\u0301");
  });

  it("cuts long labels with an ellipsis, never inside an emoji sequence", () => {
    const long = "x".repeat(20000);
    expect(clip(long)).toHaveLength(LABEL_MAX);
    expect(clip(long).endsWith("…")).toBe(true);
    const family = "👩‍👩‍👧".repeat(50);
    const cut = clip(family);
    expect(cut.endsWith("👩‍👩‍👧…")).toBe(true);
    expect(clip("short")).toBe("short");
  });

  it("isolates legend words (<bdi>) and cuts a 20,000-character token in the legend and the panel", () => {
    const host = document.createElement("div");
    const long = "y".repeat(20000);
    const labels = [0, 0, 1, 1];
    drawLegend(host, { labels, colours: assignColors(labels), tokens: ["مرحبا", " world", long, "!"], hasExcluded: false, open: false, onSelect: () => {}, onToggle: () => {} });
    const bdis = host.querySelectorAll("bdi");
    expect(bdis).toHaveLength(2);
    expect(bdis[0].textContent).toBe("مرحبا world");
    expect(bdis[1].textContent!.length).toBeLessThanOrEqual(LABEL_MAX);
    const panel = document.createElement("div");
    renderPanel(panel, { id: 1, tokens: [2, 3], tokenText: ["a", "b", long, "!"], unit: "token", swatch: undefined, facts: null } as never);
    const chips = [...panel.querySelectorAll<HTMLElement>(".aw-chip")];
    expect(chips.map((c) => c.textContent!.length)).toEqual([LABEL_MAX, 1]);
    expect(chips.every((c) => c.dir === "auto")).toBe(true);
  });
});

describe("picks carried to another unit", () => {
  // "suitcase was big": the model's tokens " suit" "case" " was" " big"; the words
  const text = "suitcase was big";
  const pieces = { unit: "token", n: 4, text, offsets: [0, 4, 4, 8, 8, 12, 12, 16] };
  const words = { unit: "word", n: 3, text, offsets: [0, 8, 8, 12, 12, 16] };

  it("makes a picked word all its pieces, and a picked piece its word", () => {
    expect([...carryPicks([0], words, pieces)]).toEqual([0, 1]);
    expect([...carryPicks([1, 2], pieces, words)].sort()).toEqual([0, 1]);
    expect([...carryPicks([2], words, pieces)]).toEqual([3]);
  });

  it("keeps the indices within one unit and drops those past the end", () => {
    expect([...carryPicks([0, 3], pieces, { ...pieces, n: 2 })]).toEqual([0]);
    expect([...carryPicks([2], null, words)]).toEqual([2]);
  });

  it("drops picks across units of another text, and picks whose place is unknown", () => {
    expect(carryPicks([0], words, { ...pieces, text: "another text" }).size).toBe(0);
    expect(carryPicks([0], { ...words, offsets: [-1, -1, 8, 12, 12, 16] }, pieces).size).toBe(0);
  });
});

describe("a predicted token said in words", () => {
  it("says whitespace in words and leaves words as they read", () => {
    expect(spoken(" ")).toBe("a space");
    expect(spoken("  ")).toBe("spaces");
    expect(spoken("\n")).toBe("a new line");
    expect(spoken("\n\n")).toBe("2 new lines");
    expect(spoken("\r\n")).toBe("a new line");
    expect(spoken("\n  ")).toBe("a new line and spaces");
    expect(spoken("\t")).toBe("a tab");
    expect(spoken(" Paris")).toBe("Paris");
    expect(spoken("")).toBe("∅");
    expect(spoken("\u200d")).toBe("U+200D");
  });
});
