import { describe, expect, it } from "vitest";
import { layoutSpans } from "../../src/text/layout";

describe("layoutSpans", () => {
  it("covers the original text exactly, with gaps between tokens", () => {
    const text = "The cat  sat.";
    const tokens = ["The", " cat", " sat", "."];
    const offsets = [0, 3, 3, 7, 8, 12, 12, 13];
    const pieces = layoutSpans(text, tokens, offsets);
    expect(pieces.map((p) => p.text).join("")).toBe(text);
    expect(pieces.filter((p) => p.kind === "gap").map((p) => p.text)).toEqual([" "]);
    expect(pieces.filter((p) => p.kind === "token").map((p) => (p as { index: number }).index)).toEqual([0, 1, 2, 3]);
  });

  it("shows tokens with no offsets (a BOS) as chips with their own text", () => {
    const pieces = layoutSpans("Hi", ["<|endoftext|>", "Hi"], [-1, -1, 0, 2]);
    expect(pieces[0]).toEqual({ kind: "chip", index: 0, text: "<|endoftext|>" });
    expect(pieces[1]).toEqual({ kind: "token", index: 1, members: [1], text: "Hi" });
  });

  it("highlights a character split over byte-level tokens once, for all of its pieces, never as an empty span", () => {
    const pieces = layoutSpans("é!", ["é", "é", "!"], [0, 1, 0, 1, 1, 2]);
    expect(pieces.map((p) => p.text)).toEqual(["é", "!"]);
    expect(pieces[0]).toEqual({ kind: "token", index: 0, members: [0, 1], text: "é" });
  });

  it("slices UTF-16 strings exactly after astral characters (offsets in UTF-16 units, as wire.py sends them)", () => {
    // GPT-2 pieces of "I 🍕 cat 𝔸": " 🍕" = [" \xf0\x9f", "\x8d\x95"] (the first touches the space too), 𝔸 in three
    const text = "I 🍕 cat 𝔸.";
    const offsets = [0, 1, 1, 4, 2, 4, 4, 8, 8, 9, 9, 11, 9, 11, 9, 11, 11, 12];
    const tokens = ["I", " 🍕", "🍕", " cat", " ", "𝔸", "𝔸", "𝔸", "."];
    const pieces = layoutSpans(text, tokens, offsets);
    expect(pieces.map((p) => p.text).join("")).toBe(text);
    const toks = pieces.filter((p) => p.kind === "token") as { members: number[]; text: string }[];
    expect(toks.map((p) => [p.members, p.text])).toEqual([
      [[0], "I"],
      [[1, 2], " 🍕"],
      [[3], " cat"],
      [[4], " "],
      [[5, 6, 7], "𝔸"],
      [[8], "."],
    ]);
    expect(toks.every((p) => p.text !== "")).toBe(true);
  });

  it("keeps an emoji ZWJ sequence, a flag, CJK and Arabic whole and in order", () => {
    const text = "👩‍👧 🇫🇷 東京 مرحبا";
    // code units: 👩 0-2, ZWJ 2-3, 👧 3-5, space 5, 🇫 6-8, 🇷 8-10, space 10, 東 11, 京 12, space 13, Arabic 14-19
    const offsets = [0, 2, 0, 2, 2, 3, 3, 5, 3, 5, 5, 8, 6, 8, 8, 10, 10, 12, 11, 12, 12, 13, 13, 15, 15, 19];
    const tokens = ["👩", "👩", "\u200d", "👧", "👧", " 🇫", "🇫", "🇷", " 東", "東", "京", " م", "رحبا"];
    const pieces = layoutSpans(text, tokens, offsets);
    expect(pieces.map((p) => p.text).join("")).toBe(text);
    const toks = pieces.filter((p) => p.kind === "token") as { members: number[]; text: string }[];
    expect(toks.map((p) => p.text)).toEqual(["👩", "\u200d", "👧", " 🇫", "🇷", " 東", "京", " م", "رحبا"]);
    expect(toks.map((p) => p.members)).toEqual([[0, 1], [2], [3, 4], [5, 6], [7], [8, 9], [10], [11], [12]]);
  });

  it("elides only gaps longer than asked (a zoomed cluster's text), keeping their text for the title", () => {
    const text = "One two. Far away and unrelated text here. Three.";
    const offsets = [0, 3, 3, 7, 7, 8, 42, 48, 48, 49];
    const tokens = ["One", " two", ".", " Three", "."];
    expect(layoutSpans(text, tokens, offsets).map((p) => p.text).join("")).toBe(text);
    const pieces = layoutSpans(text, tokens, offsets, 24);
    expect(pieces.map((p) => p.kind)).toEqual(["token", "token", "token", "elided", "token", "token"]);
    expect(pieces[3].text).toBe(" Far away and unrelated text here.");
    expect(layoutSpans("a b", ["a", "b"], [0, 1, 2, 3], 24).map((p) => p.kind)).toEqual(["token", "gap", "token"]);
  });

  it("uses token text when there is no original text", () => {
    const pieces = layoutSpans("", ["a", "b"], [-1, -1, -1, -1]);
    expect(pieces.map((p) => p.text)).toEqual(["a", "b"]);
  });

  it("keeps hostile token text as plain data", () => {
    const text = "<script>alert(1)</script>";
    const pieces = layoutSpans(text, [text], [0, text.length]);
    expect(pieces[0].text).toBe(text);
  });
});
