// Arcs over the running text: the geometry (pure, unit-tested) of the links the
// kernel chose (Analysis.arcs: a pronoun to the word it looks back to, and the
// links that skip words). An arc goes from the source word (it looks back) to
// its target, with the arrow at the target. Two words on one line: an arch in
// the room the text's line height leaves above the line, higher the farther
// apart they are. Words on different lines: a small hook above the source word
// (``stub``); the whole curve is drawn only on hover (``crossPath``), so arcs
// never cover the text. At most ``DRAW_MAX`` arcs are drawn without hover; the
// rest show when one of their words is hovered.

import type { ArcInfo } from "../wire/state";

/** A word's box relative to the text box's content (scroll included), in px. */
export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Arcs drawn without hover; the others appear when one of their ends is hovered. */
export const DRAW_MAX = 12;

/** Slots kept for long-range links among the arcs drawn without hover (references take the rest). */
export const LONG_RANGE_SLOTS = 4;

/**
 * The arcs drawn without hover, at most ``max``: up to ``LONG_RANGE_SLOTS`` long-range
 * links, the rest references; within each kind confident before unsure, then the heavier.
 * Slots one kind leaves empty go to the other. Cross-attention arcs (a pair's target word to the source
 * word it reads most) get ``max`` slots of their own, confident and heavier first. Returns their indices.
 */
export function arcsToDraw(arcs: readonly ArcInfo[], max = DRAW_MAX): Set<number> {
  // cross-attention arcs (an encoder–decoder pair: one per target word) have a budget of their own
  const rank = (kind: (a: ArcInfo) => boolean) =>
    arcs.map((a, i) => ({ a, i })).filter(({ a }) => kind(a)).sort((x, y) => Number(y.a.confident) - Number(x.a.confident) || y.a.weight - x.a.weight || x.i - y.i).map((o) => o.i);
  const refs = rank((a) => a.kind === "reference");
  const far = rank((a) => a.kind === "long-range");
  const n = Math.max(0, max);
  const farTake = Math.min(far.length, Math.max(Math.min(LONG_RANGE_SLOTS, n), n - refs.length));
  const cross = rank((a) => a.kind === "cross").slice(0, n);
  return new Set([...far.slice(0, farTake), ...refs.slice(0, n - farTake), ...cross]);
}

/** Whether two word boxes sit on one line (their vertical centres within half the smaller height). */
export function sameLine(a: Box, b: Box): boolean {
  const h = Math.min(a.bottom - a.top, b.bottom - b.top);
  return Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2) < Math.max(h / 2, 1);
}

const mid = (b: Box): number => (b.left + b.right) / 2;

/** How high an arch between two words ``dx`` px apart rises, within ``room`` px above the line. */
export function archHeight(dx: number, room: number): number {
  return Math.max(Math.min(6 + Math.abs(dx) * 0.08, room), Math.min(4, room));
}

/** An arch from ``src`` to ``dst`` on one line, rising at most ``room`` px above the words' tops. */
export function archPath(src: Box, dst: Box, room: number): { d: string; apex: { x: number; y: number } } {
  const x1 = mid(src);
  const x2 = mid(dst);
  const y = Math.min(src.top, dst.top) - 1;
  const h = archHeight(x2 - x1, room);
  const c = y - (4 / 3) * h; // a cubic with both handles at c peaks at y - h
  const r = (v: number) => Math.round(v * 10) / 10;
  return { d: `M ${r(x1)} ${r(y)} C ${r(x1)} ${r(c)}, ${r(x2)} ${r(c)}, ${r(x2)} ${r(y)}`, apex: { x: r((x1 + x2) / 2), y: r(y - h) } };
}

/**
 * Where the target sits for the source: on its line ("same"), on the line just above or
 * below ("adjacent": the curve fits in the gap between the two lines), or farther ("far").
 */
export function lineRelation(src: Box, dst: Box, gap: number): "same" | "adjacent" | "far" {
  if (sameLine(src, dst)) return "same";
  const apart = dst.bottom <= src.top ? src.top - dst.bottom : dst.top - src.bottom;
  return apart >= -1 && apart <= gap + 3 ? "adjacent" : "far";
}

/** A link to the line just above (or below), drawn in the gap between the two lines: source's top to target's bottom. */
export function gapPath(src: Box, dst: Box): string {
  const up = dst.bottom <= src.top + 1;
  const x1 = Math.round(mid(src));
  const y1 = Math.round(up ? src.top - 1 : src.bottom + 1);
  const x2 = Math.round(mid(dst));
  const y2 = Math.round(up ? dst.bottom + 1 : dst.top - 1);
  const ym = Math.round((y1 + y2) / 2);
  return `M ${x1} ${y1} C ${x1} ${ym}, ${x2} ${ym}, ${x2} ${y2}`;
}

/**
 * A pair's source word seen through the source row's scroll box, whose visible band is ``row`` (top and
 * bottom, in the same px as the boxes): the word's own box when its bottom, where a cross arc ends, is in
 * the band; else (``off``: "above" or "below", scrolled out of view) a box at the band's bottom edge under
 * the word, so the arc ends at the edge below it and never crosses the rows' text.
 */
export function throughRow(word: Box, row: { top: number; bottom: number }): { box: Box; off: "above" | "below" | null } {
  const off = word.bottom > row.bottom + 1 ? "below" : word.bottom < row.top + 2 ? "above" : null;
  if (off === null) return { box: word, off };
  const h = word.bottom - word.top;
  return { box: { left: word.left, right: word.right, top: row.bottom - h, bottom: row.bottom }, off };
}

/** The mark drawn above a source word whose target is lines away: a short arrow up (the whole curve on hover). */
export function stubPath(src: Box, dst: Box, room: number): string {
  const x = Math.round(mid(src));
  const y = Math.round(src.top - 1);
  const dir = mid(dst) < mid(src) ? -1 : 1;
  const h = Math.round(Math.min(room, 9));
  return `M ${x} ${y} L ${x + dir * 3} ${y - h}`;
}

/** The whole curve between words on different lines (shown on hover): over the source, to the target's top. */
export function crossPath(src: Box, dst: Box, room: number): string {
  const x1 = Math.round(mid(src));
  const y1 = Math.round(src.top - 1);
  const x2 = Math.round(mid(dst));
  const y2 = Math.round(dst.top - 1);
  const lift = Math.round(Math.max(room, 8));
  return `M ${x1} ${y1} C ${x1} ${y1 - lift}, ${x2} ${y2 - lift}, ${x2} ${y2}`;
}

/** The arc's evidence in plain words (its tooltip and the hover box): kind, weight, confidence or baseline, lens. */
export function arcWords(a: ArcInfo, off: "above" | "below" | null = null): string {
  const share = `${(a.weight * 100).toFixed(0)}% of its attention`;
  const carried = a.heads.length ? `; carried most by ${a.heads.map(([l, h, w]) => `head ${l}.${h} (${(w * 100).toFixed(0)}%)`).join(", ")}` : "";
  const under = `${a.measure}, heads: ${a.lens}${carried}`;
  if (a.kind === "cross") {
    const sure = a.confident ? "" : " (unsure: another source word gets more than half as much)";
    const seen = off ? `; “${a.target_text}” is scrolled out of view ${off} in the source row: click the arc to show it` : "";
    return `target word “${a.source_text}” reads source word “${a.target_text}” most${sure}: ${share} to the source; ${under}${seen}`;
  }
  if (a.kind === "reference") {
    const sure = a.confident ? "sure" : "unsure";
    const conf = a.confidence === null ? "" : `, confidence ${a.confidence.toFixed(2)} (the chance it is the right word, calibrated on this model's probe sentences)`;
    return `“${a.source_text}” looks back to “${a.target_text}” (${sure}): pronoun → the word the model links it to; ${share}${conf}; ${under}`;
  }
  const base = a.baseline === null ? "" : `, ${(a.weight / Math.max(a.baseline, 1e-9)).toFixed(1)}× what links at that distance usually get`;
  const sure = a.confident ? "" : " (unsure)";
  return `“${a.source_text}” reaches back to “${a.target_text}”${sure}: a link that skips words; ${share}${base}; ${under}`;
}
