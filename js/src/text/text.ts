// The prose view: one span per token laid over the original text, coloured by
// cluster. Spans are built once per state; recolouring (slider moves) only
// touches classes and styles, which keeps 1,024 tokens fast.

import { assignColors, Swatch } from "../common/colors";
import { el, showToken } from "../common/dom";
import { ELIDE_AFTER, layoutSpans } from "./layout";
import { FLAG_EXCLUDED, FLAG_SPECIAL, View } from "../wire/state";

export interface TextView {
  spans: HTMLSpanElement[];
  colours: Map<number, Swatch>;
}

/**
 * Where each piece goes: the fragment itself for one text; for an encoder–decoder pair
 * (``source_length`` set) a source row above a target row, blocks labelled by CSS only (the text
 * box's textContent stays the text), with room between them for the cross-attention arcs. The
 * source's words sit in a box of capped height (``source-scroll``, five lines) that scrolls on its
 * own, so a long source leaves the target row on the first screen (arclayer.ts follows its scroll).
 */
class Rows {
  readonly frag = document.createDocumentFragment();
  private readonly source: HTMLElement | null = null;
  private readonly target: HTMLElement | null = null;
  private onTarget = false;
  private targetWords = 0;

  constructor(private readonly split: number | null) {
    if (split === null) return;
    const row = el("div", { class: "aw-pair-row aw-pair-source", testid: "source-row" });
    this.source = el("div", { class: "aw-pair-scroll", testid: "source-scroll" });
    row.append(this.source);
    this.target = el("div", { class: "aw-pair-row aw-pair-target", testid: "target-row" });
    row.dataset.label = "Source";
    this.target.dataset.label = "Target";
    this.frag.append(row, this.target);
  }

  /** Where node ``i``'s span goes (a node at or after the split moves the layout to the target row). */
  token(i: number, chip: boolean): ParentNode {
    if (!this.source || !this.target || this.split === null) return this.frag;
    if (i >= this.split) this.onTarget = true;
    if (this.onTarget && !chip) this.targetWords++;
    return this.onTarget ? this.target : this.source;
  }

  /** Where text between tokens goes; null: nowhere (the separator between the two texts). */
  gap(text: string): ParentNode | null {
    if (!this.source || !this.target) return this.frag;
    if (this.onTarget && this.targetWords === 0 && !text.trim()) return null;
    return this.onTarget ? this.target : this.source;
  }
}

/**
 * The title's count: "9 words", or for an encoder–decoder pair (``split``: its source nodes) the two
 * texts apart, "6 source words → 8 target words". Special tokens (BOS, the decoder's start) are no words.
 */
export function countLine(flags: ArrayLike<number>, unit: string, split: number | null = null): string {
  const count = (from: number, to: number) => {
    let n = 0;
    for (let i = from; i < to; i++) if (!(flags[i] & FLAG_SPECIAL)) n++;
    return n;
  };
  const say = (n: number, what = "") => `${n} ${what}${unit}${n === 1 ? "" : "s"}`;
  if (split === null) return say(count(0, flags.length));
  return `${say(count(0, split), "source ")} → ${say(count(split, flags.length), "target ")}`;
}

export function buildText(host: HTMLElement, view: View): HTMLSpanElement[] {
  host.replaceChildren();
  host.classList.toggle("aw-pair", (view.raw.source_length ?? null) !== null);
  const spans: HTMLSpanElement[] = new Array(view.n);
  const rows = new Rows(view.raw.source_length ?? null);
  const elide = view.raw.zoomed ? ELIDE_AFTER : Infinity; // a zoomed view: only its cluster's text
  for (const piece of layoutSpans(view.raw.text, view.raw.tokens, view.offsets, elide)) {
    if (piece.kind === "gap") {
      rows.gap(piece.text)?.append(document.createTextNode(piece.text));
      continue;
    }
    if (piece.kind === "elided") {
      const hidden = `${piece.text.length} characters outside this cluster`;
      rows.gap(piece.text)?.append(el("span", { class: "aw-elided", testid: "elided", text: " … ", title: hidden }));
      continue;
    }
    const i = piece.index;
    const members = piece.kind === "token" ? piece.members : [i];
    const cls = piece.kind === "chip" ? "aw-tok aw-chip-tok" : piece.text === "" ? "aw-tok aw-tok-empty" : "aw-tok";
    const span = el("span", { class: cls, testid: "token", text: piece.kind === "chip" ? showToken(piece.text) : piece.text });
    span.dataset.index = String(i);
    // pieces of one character (byte-level BPE) share one span: the character, highlighted once for all
    if (members.length > 1) span.dataset.tokens = members.join(" ");
    if (view.flags[i] & FLAG_SPECIAL) span.classList.add("aw-special");
    if (view.flags[i] & FLAG_EXCLUDED) {
      span.classList.add("aw-excluded");
      span.dataset.excluded = "true";
    }
    for (const m of members) spans[m] = span;
    rows.token(i, piece.kind === "chip").append(span);
  }
  host.append(rows.frag);
  return spans;
}

/**
 * Colour spans by ``labels``; returns the colour per cluster (singletons get
 * none). ``painted`` remembers each span's swatch classes so only spans whose
 * colour changes are touched (this is what keeps the slider fast at 1,024 tokens).
 * ``slots`` fix some clusters' colours (see ``assignColors``).
 */
export function colourText(spans: HTMLSpanElement[], labels: ArrayLike<number>, painted: string[], slots?: ReadonlyMap<number, number>): Map<number, Swatch> {
  const colours = assignColors(labels, slots);
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    if (!span || (i > 0 && spans[i - 1] === span)) continue; // a shared span takes its first token's colour
    const label = String(labels[i]);
    if (span.dataset.cluster !== label) span.dataset.cluster = label;
    const key = colours.get(labels[i])?.className ?? "";
    if (painted[i] === key) continue;
    if (painted[i]) span.classList.remove("aw-clustered", ...painted[i].split(" "));
    if (key) span.classList.add("aw-clustered", ...key.split(" "));
    painted[i] = key;
  }
  return colours;
}

/** Tooltip for token ``i`` (set on hover, not on every repaint); ``shared``: the tokens whose one character the span shows. */
export function tokenTitle(token: string, i: number, label: number, coloured: boolean, shared?: readonly number[]): string {
  const what = label < 0 ? "excluded from the graph (attention sink)" : coloured ? `cluster ${label}` : "on its own";
  const which = shared && shared.length > 1 ? `tokens ${shared.join(", ")} (pieces of one character)` : `token ${i}`;
  return `${showToken(token)} · ${which} · ${what}`;
}

/**
 * Mark the tokens of cluster ``selected`` (``aw-selected``) and, when one is
 * selected, the text ``host`` (``aw-has-selection``), which dims the other
 * tokens (widget.css). Returns how many tokens are selected.
 */
export function markSelected(spans: HTMLSpanElement[], labels: ArrayLike<number>, selected: number | null, host?: HTMLElement): number {
  let count = 0;
  for (let i = 0; i < spans.length; i++) {
    const on = selected !== null && labels[i] === selected;
    const shared = i > 0 && spans[i - 1] === spans[i]; // a span several tokens share: selected if any is
    if (!shared || on) spans[i]?.classList.toggle("aw-selected", on);
    if (on) count++;
  }
  host?.classList.toggle("aw-has-selection", count > 0);
  return count;
}
