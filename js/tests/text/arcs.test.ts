import { describe, expect, it } from "vitest";
import { archHeight, archPath, arcsToDraw, arcWords, crossPath, gapPath, lineRelation, sameLine, stubPath } from "../../src/text/arcs";
import { plainNotice } from "../../src/controls/controls";
import type { ArcInfo } from "../../src/wire/state";

const arc = (over: Partial<ArcInfo>): ArcInfo => ({
  source: 5, target: 1, weight: 0.3, kind: "reference", confident: true, lens: "coreference", measure: "attention",
  confidence: 0.8, baseline: null, source_text: "it", target_text: "cat", heads: [], ...over,
});
const box = (left: number, top: number, width = 20, height = 18) => ({ left, top, right: left + width, bottom: top + height });

describe("arc geometry", () => {
  it("tells words on one line from words on different lines", () => {
    expect(sameLine(box(0, 40), box(200, 41))).toBe(true);
    expect(sameLine(box(0, 40), box(10, 80))).toBe(false);
  });

  it("draws a same-line arch from the source's middle to the target's middle, above both, within the room", () => {
    const { d, apex } = archPath(box(200, 40), box(20, 40), 16);
    expect(d.startsWith("M 210 39 ")).toBe(true); // the source: it looks back
    expect(d.endsWith("30 39")).toBe(true); // the arrow ends on the target
    expect(apex.y).toBeLessThan(39);
    expect(apex.y).toBeGreaterThanOrEqual(39 - 16); // never higher than the line's room: no text covered
    expect(apex.x).toBe(120);
  });

  it("raises farther arcs higher, but never beyond the room", () => {
    expect(archHeight(300, 30)).toBeGreaterThan(archHeight(40, 30));
    expect(archHeight(5000, 14)).toBe(14);
  });

  it("draws a cross-line link as a hook above the source, the whole curve kept for hover", () => {
    const stub = stubPath(box(100, 160), box(10, 40), 16);
    expect(stub).toBe("M 110 159 L 107 150"); // a short arrow up from the source, leaning to the target
    expect(lineRelation(box(100, 160), box(10, 40), 22)).toBe("far");
    expect(crossPath(box(100, 80), box(10, 40), 16)).toMatch(/^M 110 79 C .* 20 39$/);
  });

  it("draws a link to the line just above in the gap between the two lines, source top to target bottom", () => {
    const src = box(20, 80);
    const dst = box(300, 40); // its bottom, 58, is 22 px above the source's top
    expect(lineRelation(src, dst, 22)).toBe("adjacent");
    expect(gapPath(src, dst)).toBe("M 30 79 C 30 69, 310 69, 310 59");
  });

  it("draws at most the cap, keeps slots for long-range links, confident first; the rest wait for hover", () => {
    const arcs = [
      arc({ kind: "long-range", confident: true, weight: 0.9 }),
      arc({ confident: false, weight: 0.5 }),
      arc({ confident: true, weight: 0.2 }),
      arc({ kind: "long-range", confident: false, weight: 0.1 }),
    ];
    expect([...arcsToDraw(arcs, 3)].sort()).toEqual([0, 2, 3]); // both long-range links; the sure reference
    expect(arcsToDraw(arcs, 10).size).toBe(4);
    const many = Array.from({ length: 20 }, (_, i) => arc({ confident: true, weight: i / 100 }));
    const mixed = [...many, arc({ kind: "long-range", weight: 0.01 })];
    expect(arcsToDraw(mixed, 12).has(20)).toBe(true); // references never crowd out every long-range link
    expect(arcsToDraw(mixed, 12).size).toBe(12);
  });

  it("says the arc's evidence in words, and says unsure", () => {
    expect(arcWords(arc({}))).toContain("“it” looks back to “cat” (sure)");
    expect(arcWords(arc({ confident: false, confidence: 0.52 }))).toContain("(unsure)");
    expect(arcWords(arc({ kind: "long-range", confidence: null, baseline: 0.05, weight: 0.2 }))).toContain("4.0× what links at that distance usually get");
  });

  it("names the heads that carry the link most, and none when they are not known", () => {
    const said = arcWords(arc({ heads: [[16, 4, 0.412], [13, 2, 0.3]] }));
    expect(said).toContain("carried most by head 16.4 (41%), head 13.2 (30%)");
    expect(arcWords(arc({}))).not.toContain("carried");
  });
});

describe("notices", () => {
  it("shows one plain sentence and keeps the Python detail for on demand", () => {
    const n = plainNotice("Token 0 ('<|endoftext|>') is left out as an attention sink (exclude='auto'). Pass exclude=[] to keep it.");
    expect(n.plain).toBe("Token 0 is left out as an attention sink.");
    expect(n.detail).toContain("exclude=[]");
    expect(plainNotice("The text was cut to 1024 tokens.")).toEqual({ plain: "The text was cut to 1024 tokens.", detail: null });
  });
});
