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

export function buildText(host: HTMLElement, view: View): HTMLSpanElement[] {
  host.replaceChildren();
  const spans: HTMLSpanElement[] = new Array(view.n);
  const frag = document.createDocumentFragment();
  const elide = view.raw.zoomed ? ELIDE_AFTER : Infinity; // a zoomed view: only its cluster's text
  for (const piece of layoutSpans(view.raw.text, view.raw.tokens, view.offsets, elide)) {
    if (piece.kind === "gap") {
      frag.append(document.createTextNode(piece.text));
      continue;
    }
    if (piece.kind === "elided") {
      const hidden = `${piece.text.length} characters outside this cluster`;
      frag.append(el("span", { class: "aw-elided", testid: "elided", text: " … ", title: hidden }));
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
    frag.append(span);
  }
  host.append(frag);
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
