// @vitest-environment happy-dom
// An encoder–decoder pair on screen: the source row above the target row, and the cross-attention arcs.
import { describe, expect, it } from "vitest";
import { arcsToDraw, arcWords, gapPath } from "../../src/text/arcs";
import { buildText } from "../../src/text/text";
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
  confidence: null, baseline: null, source_text: "chat", target_text: "cat", ...over,
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

  it("say which word reads which, how much, and when the arc is unsure", () => {
    expect(arcWords(arc({}))).toBe("target word “chat” reads source word “cat” most: 60% of its attention to the source; attention, heads: all");
    expect(arcWords(arc({ confident: false }))).toContain("(unsure");
  });
});
