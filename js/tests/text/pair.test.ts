// @vitest-environment happy-dom
// An encoder–decoder pair on screen: the source row above the target row, and the cross-attention arcs.
import { describe, expect, it } from "vitest";
import { arcsToDraw, arcWords, gapPath, throughRow } from "../../src/text/arcs";
import { buildText, countLine } from "../../src/text/text";
import type { ArcInfo, View } from "../../src/wire/state";

const SOURCE = "The cat sat.";
const TARGET = "Le chat.";
const TEXT = `${SOURCE}\n\n${TARGET}`;
// The| cat| sat|. then the decoder's start token (no offsets), then Le| chat|.
const TOKENS = ["The", " cat", " sat", ".", "</s>", "Le", " chat", "."];
const OFFSETS = [0, 3, 3, 7, 7, 11, 11, 12, -1, -1, 14, 16, 16, 21, 21, 22];

function pairView(sourceLength: number | null): View {
  const n = TOKENS.length;
  const raw = { text: TEXT, tokens: TOKENS, zoomed: false, source_length: sourceLength, arcs: null, unit: "token" };
  return { raw, n, offsets: Int32Array.from(OFFSETS), flags: new Int32Array(n).fill(0).map((_, i) => (i === 4 ? 1 : 0)) } as unknown as View;
}

const arc = (over: Partial<ArcInfo>): ArcInfo => ({
  source: 6, target: 1, weight: 0.6, kind: "cross", confident: true, lens: "all", measure: "attention",
  confidence: null, baseline: null, source_text: "chat", target_text: "cat", heads: [], ...over,
});

describe("an encoder–decoder pair's text", () => {
  it("puts the source's tokens in the upper row and the start token and target's in the lower, without the separator", () => {
    const host = document.createElement("div");
    const spans = buildText(host, pairView(4));
    const [source, target] = [host.querySelector('[data-testid="source-row"]'), host.querySelector('[data-testid="target-row"]')];
    expect(source?.textContent).toBe(SOURCE);
    expect(target?.textContent).toBe("</s>" + TARGET); // the start token as a chip, then the target
    expect(spans.slice(0, 4).every((s) => source?.contains(s))).toBe(true);
    expect(spans.slice(4).every((s) => target?.contains(s))).toBe(true);
    expect(host.classList.contains("aw-pair")).toBe(true);
    expect((source as HTMLElement).dataset.label).toBe("Source"); // shown by CSS only: not in the text
  });

  it("keeps the source's words in a box of their own (it scrolls alone), the target's outside it", () => {
    const host = document.createElement("div");
    const spans = buildText(host, pairView(4));
    const box = host.querySelector('[data-testid="source-row"] > [data-testid="source-scroll"]');
    expect(box?.textContent).toBe(SOURCE);
    expect(spans.slice(0, 4).every((s) => box?.contains(s))).toBe(true);
    expect(spans.slice(4).some((s) => box?.contains(s))).toBe(false);
  });

  it("counts the source's and the target's words apart in the title, special tokens in neither", () => {
    const flags = pairView(4).flags; // token 4: the decoder's start token
    expect(countLine(flags, "token", 4)).toBe("4 source tokens → 3 target tokens");
    expect(countLine(flags, "word", null)).toBe("7 words");
    expect(countLine(Int32Array.from([0, 0, 1, 0]), "word", 1)).toBe("1 source word → 2 target words");
  });

  it("lays out one text as before when there is no split", () => {
    const host = document.createElement("div");
    buildText(host, pairView(null));
    expect(host.querySelector('[data-testid="source-row"]')).toBeNull();
    expect(host.textContent).toBe("The cat sat.</s>\n\nLe chat.");
    expect(host.classList.contains("aw-pair")).toBe(false);
  });
});

describe("cross-attention arcs", () => {
  it("have a budget of their own, the confident and heavier first, beside the long-range links", () => {
    const arcs = [...Array.from({ length: 14 }, (_, i) => arc({ source: 20 + i, weight: 0.1 + i / 100, confident: i !== 13 })), arc({ kind: "long-range", source: 3, target: 0 })];
    const drawn = arcsToDraw(arcs, 12);
    expect(drawn.has(14)).toBe(true); // the long-range link keeps its slot
    expect([...drawn].filter((i) => i < 14).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // 0: lightest; 13: unsure
  });

  it("run from the target word's top to the source word's bottom in the room between the rows", () => {
    const target = { left: 100, top: 80, right: 130, bottom: 98 };
    const source = { left: 20, top: 20, right: 50, bottom: 38 };
    expect(gapPath(target, source)).toMatch(/^M 115 79 C .* 35 39$/);
  });

  it("end on a source word in view, and at the source box's lower edge under a word scrolled out of it", () => {
    const band = { top: 10, bottom: 150 };
    const seen = { left: 20, top: 100, right: 50, bottom: 118 };
    expect(throughRow(seen, band)).toEqual({ box: seen, off: null });
    const below = throughRow({ left: 20, top: 300, right: 50, bottom: 318 }, band);
    expect(below).toEqual({ box: { left: 20, top: 132, right: 50, bottom: 150 }, off: "below" });
    const above = throughRow({ left: 70, top: -40, right: 90, bottom: -22 }, band);
    expect(above).toEqual({ box: { left: 70, top: 132, right: 90, bottom: 150 }, off: "above" });
    const target = { left: 100, top: 200, right: 130, bottom: 218 };
    expect(gapPath(target, below.box)).toMatch(/^M 115 199 C .* 35 151$/); // up to the edge, under its word
  });

  it("say which word reads which, how much, and when the arc is unsure", () => {
    expect(arcWords(arc({}))).toBe("target word “chat” reads source word “cat” most: 60% of its attention to the source; attention, heads: all");
    expect(arcWords(arc({ confident: false }))).toContain("(unsure");
    expect(arcWords(arc({}), "below")).toMatch(/; “cat” is scrolled out of view below in the source row: click the arc to show it$/);
  });
});
