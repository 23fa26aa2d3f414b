// The legend: one button per cluster of 2+ tokens (swatch, id, first words,
// size; its headline on hover), capped at LEGEND_MAX with a "+N more" toggle,
// plus the sink marker. The words are the text the cluster's first tokens
// cover (pieces of one character once, words whole; common/words.ts), in a
// <bdi> so right-to-left words keep their order, cut short with "…".

import type { Swatch } from "../common/colors";
import { el } from "../common/dom";
import { bdi, clip, pieceGroups, Source, wordsOf } from "../common/words";

export const LEGEND_MAX = 14;

export interface LegendInput {
  labels: ArrayLike<number>;
  colours: Map<number, Swatch>;
  tokens: string[];
  /** The text and offsets the tokens come from (pieces of one character are shown once). */
  source?: Source;
  hasExcluded: boolean;
  open: boolean;
  /** Each cluster's headline, when known: shown on hover, for skimming. */
  headlines?: Map<number, string>;
  onSelect: (id: number) => void;
  onToggle: () => void;
  /** Removes the legend's listeners when it aborts (the view went away). */
  signal?: AbortSignal;
}

/** Token indices per cluster id (excluded tokens skipped). */
export function membersOf(labels: ArrayLike<number>): Map<number, number[]> {
  const members = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l < 0) continue;
    const list = members.get(l);
    if (list) list.push(i);
    else members.set(l, [i]);
  }
  return members;
}

/** Each coloured cluster's number as a person reads it: 1…k in reading order (by its first word). */
export function clusterNumbers(labels: ArrayLike<number>, colours: ReadonlyMap<number, unknown>): Map<number, number> {
  const first = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) if (colours.has(labels[i]) && !first.has(labels[i])) first.set(labels[i], i);
  const order = [...first.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  return new Map(order.map((id, k) => [id, k + 1]));
}

/** The first four words (pieces of one character count once) and whether more follow. */
export function legendWords(members: number[], tokens: string[], source?: Source): { words: string; more: boolean } {
  const groups = pieceGroups(members, source);
  return { words: clip(wordsOf(groups.slice(0, 4), tokens, source)), more: groups.length > 4 };
}

/** "id: first four words … (size)" for one legend entry. */
export function legendLabel(id: number, members: number[], tokens: string[], source?: Source): string {
  const { words, more } = legendWords(members, tokens, source);
  return `${id}: ${words}${more ? " …" : ""} (${members.length})`;
}

export function drawLegend(host: HTMLElement, p: LegendInput): void {
  host.replaceChildren();
  const members = membersOf(p.labels);
  const numbers = clusterNumbers(p.labels, p.colours);
  let shown = 0;
  for (const [id, number] of numbers) {
    const sw = p.colours.get(id);
    if (!sw) continue;
    if (!p.open && shown++ >= LEGEND_MAX) break;
    const headline = p.headlines?.get(id);
    const title = headline ? `Cluster ${number}: ${headline}` : `Cluster ${number}: click to see what it is and why`;
    const item = el("button", { class: "aw-legend-item", testid: "legend-item", title }, [
      el("span", { class: `aw-swatch ${sw.className}` }),
      legendText(number, members.get(id) ?? [], p.tokens, p.source),
    ]);
    item.dataset.cluster = String(id);
    item.addEventListener("click", () => p.onSelect(id), { signal: p.signal });
    host.append(item);
  }
  if (p.colours.size > LEGEND_MAX) {
    const text = p.open ? "show fewer" : `+${p.colours.size - LEGEND_MAX} more`;
    const more = el("button", { class: "aw-legend-more", testid: "legend-more", text });
    more.addEventListener("click", p.onToggle, { signal: p.signal });
    host.append(more);
  }
  if (p.hasExcluded) host.append(el("span", { class: "aw-legend-note aw-excluded", text: "excluded (attention sink)" }));
  if (p.colours.size === 0) host.append(el("span", { class: "aw-muted", text: "No groups of two or more tokens at this threshold." }));
}

/** The legend entry's label: its words isolated in a <bdi> between the id and the size. */
function legendText(id: number, members: number[], tokens: string[], source?: Source): HTMLElement {
  const { words, more } = legendWords(members, tokens, source);
  return el("span", { class: "aw-legend-label" }, [`${id}: `, bdi(words), `${more ? " …" : ""} (${members.length})`]);
}
