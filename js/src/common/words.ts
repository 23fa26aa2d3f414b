// Token text as a person reads it in labels (legend, panel, hover links):
// the pieces byte-level BPE cut out of one character shown as that character,
// once; runs of neighbouring tokens read as the text they cover (an Arabic word
// split letter by letter stays one word); labels isolated from the text around
// them (right-to-left words keep their order) and shortened where space is short.

import { el, readable } from "./dom";

/** The original text and the tokens' offsets into it (UTF-16 units, -1 unknown), as the state carries them. */
export interface Source {
  text: string;
  offsets: ArrayLike<number>;
}

function known(source: Source | undefined, i: number): source is Source {
  return !!source && !!source.text && source.offsets[2 * i] >= 0 && source.offsets[2 * i + 1] >= 0;
}

/**
 * ``indices`` (ascending) in groups: neighbouring tokens whose offsets overlap (the
 * pieces of one character) form one group; every other token is a group of its own.
 */
export function pieceGroups(indices: readonly number[], source?: Source): number[][] {
  const groups: number[][] = [];
  let end = -1;
  for (const i of indices) {
    const last = groups[groups.length - 1];
    const joins = last && last[last.length - 1] === i - 1 && known(source, i) && known(source, i - 1) && source.offsets[2 * i] < end;
    if (joins) last.push(i);
    else groups.push([i]);
    if (known(source, i)) end = joins ? Math.max(end, source.offsets[2 * i + 1]) : source.offsets[2 * i + 1];
  }
  return groups;
}

/** The text a run of tokens covers: the slice of the original text, else their own texts joined. */
export function runText(run: readonly number[], tokens: readonly string[], source?: Source): string {
  const first = run[0];
  const last = run[run.length - 1];
  if (run.every((i) => known(source, i))) {
    const from = Math.min(...run.map((i) => source!.offsets[2 * i]));
    const to = Math.max(...run.map((i) => source!.offsets[2 * i + 1]));
    if (to > from) return source!.text.slice(from, to);
  }
  return run.length === 1 ? tokens[first] : tokens.slice(first, last + 1).join("");
}

/**
 * The words of ``groups`` as one label: groups of consecutive tokens read as the text they
 * cover, runs apart are joined by a space (each part made ``readable``); a token of
 * whitespace alone keeps its mark ("⏎").
 */
export function wordsOf(groups: readonly number[][], tokens: readonly string[], source?: Source): string {
  const runs: number[][] = [];
  const blank = (g: readonly number[]) => g.length === 1 && !tokens[g[0]].trim(); // shown as its mark ("⏎")
  for (const g of groups) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === g[0] - 1 && !blank(g) && !blank(last)) last.push(...g);
    else runs.push([...g]);
  }
  return runs.map((r) => readable(runText(r, tokens, source)).replace(/\s+/g, " ")).join(" ");
}

/** Labels longer than this many characters are cut short with "…" (legend, panel chips, hover box). */
export const LABEL_MAX = 40;

const graphemes = typeof Intl !== "undefined" && "Segmenter" in Intl ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

/** ``text`` cut to ``max`` characters with "…", never inside a character or an emoji sequence. */
export function clip(text: string, max = LABEL_MAX): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max * 16); // enough for `max` characters of any length; a 20,000-character token is not segmented whole
  const parts = graphemes ? Array.from(graphemes.segment(head), (s) => s.segment) : Array.from(head);
  if (parts.length <= max && head.length === text.length) return text;
  return `${parts.slice(0, max - 1).join("")}…`;
}

/** A label isolated from the text around it (<bdi>): a right-to-left word keeps its place and order. */
export function bdi(text: string, title?: string): HTMLElement {
  const node = el("bdi", { text, title });
  return node;
}

/** Nodes of one text: its unit, the text and each node's offsets (as the state carries them). */
export interface Nodes extends Source {
  unit: string;
  n: number;
}

/**
 * ``picks`` (nodes of ``from``) as nodes of ``to``: the same indices, those ``to`` has, when both
 * are of one unit (a generation's next step keeps its prefix); across units (words ↔ the model's
 * tokens, sentences) every node of ``to`` whose characters overlap a picked node's (a word is all
 * its pieces, a piece the word it is in); nothing across units of another text.
 */
export function carryPicks(picks: Iterable<number>, from: Nodes | null, to: Nodes): Set<number> {
  const out = new Set<number>();
  if (!from || from.unit === to.unit) {
    for (const i of picks) if (i < to.n) out.add(i);
    return out;
  }
  if (from.text !== to.text) return out;
  for (const i of picks) {
    if (!known(from, i)) continue;
    const [s, e] = [from.offsets[2 * i], from.offsets[2 * i + 1]];
    for (let j = 0; j < to.n; j++) {
      if (known(to, j) && to.offsets[2 * j] < e && to.offsets[2 * j + 1] > s) out.add(j);
    }
  }
  return out;
}
