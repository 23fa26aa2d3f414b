// Span layout: where each token sits in the original text. Tokens carry
// offsets [start, end) into the text in UTF-16 code units, the units
// ``text.slice`` counts (-1 when unknown, e.g. a prepended BOS; wire.py
// converts Python's code points). The layout covers the text exactly once, in
// order: token pieces, plus "gap" pieces for text no token covers. Byte-level
// BPE splits one character (an emoji, a CJK or Arabic letter) over several
// tokens whose offsets overlap: they become ONE token piece listing all of them
// (``members``), so the character is highlighted whole, once, for each of its
// tokens, never as an empty span. Tokens with no offsets become "chip" pieces
// showing the token's own text. With no text at all (attention given as token
// strings) every token shows its own text.

export type Piece =
  | { kind: "token"; index: number; members: number[]; text: string }
  | { kind: "chip"; index: number; text: string }
  | { kind: "gap"; text: string }
  | { kind: "elided"; text: string };

/** Characters of uncovered text a zoomed view shows whole; a longer gap becomes one "…" piece. */
export const ELIDE_AFTER = 24;

/**
 * As above; with ``elide``, a gap longer than ``elide`` characters (the text
 * between the sentences of a zoomed cluster) becomes an "elided" piece holding
 * the gap's text, which the view shows as "…".
 */
export function layoutSpans(text: string, tokens: string[], offsets: ArrayLike<number>, elide = Infinity): Piece[] {
  const pieces = layoutAll(text, tokens, offsets);
  return pieces.map((p) => (p.kind === "gap" && p.text.length > elide ? { kind: "elided", text: p.text } : p));
}

function layoutAll(text: string, tokens: string[], offsets: ArrayLike<number>): Piece[] {
  const pieces: Piece[] = [];
  if (!text) {
    tokens.forEach((t, index) => pieces.push({ kind: "token", index, members: [index], text: t }));
    return pieces;
  }
  let cursor = 0;
  let last: Extract<Piece, { kind: "token" }> | null = null; // the token piece that ends at cursor
  for (let i = 0; i < tokens.length; i++) {
    const start = offsets[2 * i];
    const end = offsets[2 * i + 1];
    if (start < 0 || end < 0 || start > text.length) {
      pieces.push({ kind: "chip", index: i, text: tokens[i] });
      last = null;
      continue;
    }
    if (last && start < cursor) {
      // shares characters with the piece before (pieces of one character): one piece for both
      const to = Math.min(Math.max(end, cursor), text.length);
      last.members.push(i);
      last.text += text.slice(cursor, to);
      cursor = to;
      continue;
    }
    if (start > cursor) pieces.push({ kind: "gap", text: text.slice(cursor, start) });
    const from = Math.max(start, cursor);
    const to = Math.min(Math.max(end, from), text.length);
    last = { kind: "token", index: i, members: [i], text: text.slice(from, to) };
    pieces.push(last);
    cursor = Math.max(cursor, to);
  }
  if (cursor < text.length) pieces.push({ kind: "gap", text: text.slice(cursor) });
  return pieces;
}
