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
    expect(pieces[1]).toEqual({ kind: "token", index: 1, text: "Hi" });
  });

  it("gives a character split over two byte-level tokens to the first and keeps the second hoverable", () => {
    const pieces = layoutSpans("é!", ["\\xc3", "\\xa9", "!"], [0, 1, 0, 1, 1, 2]);
    expect(pieces.map((p) => p.text)).toEqual(["é", "", "!"]);
    expect(pieces.map((p) => p.kind)).toEqual(["token", "token", "token"]);
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
