// The legend: one button per cluster of 2+ tokens (swatch, id, first words,
// size; its headline on hover), capped at LEGEND_MAX with a "+N more" toggle,
// plus the sink marker.

import type { Swatch } from "../common/colors";
import { el, readable } from "../common/dom";

export const LEGEND_MAX = 14;

export interface LegendInput {
  labels: ArrayLike<number>;
  colours: Map<number, Swatch>;
  tokens: string[];
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

/** "id: first four words … (size)" for one legend entry. */
export function legendLabel(id: number, members: number[], tokens: string[]): string {
  const words = members.slice(0, 4).map((i) => readable(tokens[i])).join(" ");
  return `${id}: ${words}${members.length > 4 ? " …" : ""} (${members.length})`;
}

export function drawLegend(host: HTMLElement, p: LegendInput): void {
  host.replaceChildren();
  const members = membersOf(p.labels);
  let shown = 0;
  for (const [id, sw] of p.colours) {
    if (!p.open && shown++ >= LEGEND_MAX) break;
    const headline = p.headlines?.get(id);
    const title = headline ? `Cluster ${id}: ${headline}` : `Show cluster ${id}`;
    const item = el("button", { class: "aw-legend-item", testid: "legend-item", title }, [
      el("span", { class: `aw-swatch ${sw.className}` }),
      el("span", { text: legendLabel(id, members.get(id) ?? [], p.tokens) }),
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
