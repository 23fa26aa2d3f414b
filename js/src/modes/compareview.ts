// A second text under the first, for a comparison or a "remove and rerun":
// both texts labelled, the second's tokens coloured so that matched clusters
// wear the same colour on both sides, the differences marked on both texts
// (tokens whose text differs: `aw-diff`; aligned tokens whose cluster mates
// changed: `aw-moved`) with a key that names only the marks that occur, and the
// kernel's summary (split / merged / appeared / vanished, why the clusters
// match when they do, modularity, the links that changed most). The second text
// is alive like the first: hovering a token shows its links, clicking it
// selects its group and says which group of the first text it is. Drawing
// only: the matching is the kernel's.

import { el, readable } from "../common/dom";
import { clip } from "../common/words";
import type { Compared } from "../wire/modes";
import { clusterNumbers } from "../text/legend";
import { colourText } from "../text/text";
import { TextView } from "../text/textview";

const MARKS = ["aw-diff", "aw-moved"];

/** Which marks one side's spans got. */
export interface Marked {
  text: number;
  moved: number;
}

/** Mark the differences on one side's token spans; count the spans of each kind. */
export function markDifferences(spans: HTMLSpanElement[], units: Int32Array, moved: ReadonlySet<number>): Marked {
  const count: Marked = { text: 0, moved: 0 };
  spans.forEach((span, i) => {
    if (!span || (i > 0 && spans[i - 1] === span)) return; // a span several tokens share: marked once
    span.classList.remove(...MARKS);
    delete span.dataset.diff;
    const u = units[i];
    if (u === undefined) return;
    if (u < 0 && !span.classList.contains("aw-special")) {
      span.classList.add("aw-diff");
      span.dataset.diff = "text";
      count.text++;
    } else if (moved.has(u)) {
      span.classList.add("aw-moved");
      span.dataset.diff = "moved";
      count.moved++;
    }
  });
  return count;
}

/** The key's entries: only the marks that occur on either text. */
export function keyEntries(a: Marked, b: Marked): { cls: string; text: string }[] {
  const out = [];
  if (a.text + b.text > 0) out.push({ cls: "aw-diff", text: "text differs" });
  if (a.moved + b.moved > 0) out.push({ cls: "aw-moved", text: "grouped differently" });
  return out;
}

/** A side's title as a person reads it ("a" is "text a"; "before", model names stay). */
export const sideName = (title: string): string => (title.length <= 1 ? `text ${title}` : title);

/** The cluster of the first text that ``cluster`` of the second is matched to (same colour slot), or null. */
export function matchedCluster(c: Compared, cluster: number): number | null {
  const slot = c.bSlots.get(cluster);
  if (slot === undefined) return null;
  for (const [id, s] of c.aSlots) if (s === slot) return id;
  return null;
}

/** The numbers the first text's legend shows, read off its coloured spans (1…k in reading order). */
export function numbersOnScreen(spans: HTMLSpanElement[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of spans) {
    const id = Number(s?.dataset.cluster);
    if (s?.classList.contains("aw-clustered") && !out.has(id)) out.set(id, out.size + 1);
  }
  return out;
}

export class SecondText {
  readonly el: HTMLDivElement;
  private readonly title: HTMLDivElement;
  private readonly text: HTMLDivElement;
  private readonly links: HTMLDivElement;
  private readonly panel: HTMLDivElement;
  private readonly summary: HTMLUListElement;
  /** The label put above the first text while this view shows. */
  private readonly labelA: HTMLDivElement;
  private readonly view: TextView;
  private current: Compared | null = null;
  private mainSpans: HTMLSpanElement[] = [];
  private selected: number | null = null;
  spans: HTMLSpanElement[] = [];
  /** The first text's spans this view marked (cleared when it hides). */
  private marked: HTMLSpanElement[] | null = null;

  /**
   * ``prefix`` names the test hooks: ``{prefix}-text``, ``{prefix}-title``, ``{prefix}-summary``,
   * ``{prefix}-links`` (the hovered token's links), ``{prefix}-panel`` (the clicked token's group),
   * ``{prefix}-label-a`` (the first text's label) and ``{prefix}-key`` (the marks that occur).
   */
  constructor(prefix: string) {
    this.title = el("div", { class: "aw-compare-title", testid: `${prefix}-title` });
    this.text = el("div", { class: "aw-text aw-second-text", testid: `${prefix}-text` });
    this.links = el("div", { class: "aw-links", testid: `${prefix}-links` });
    this.panel = el("div", { class: "aw-compare-panel", testid: `${prefix}-panel` });
    this.summary = el("ul", { class: "aw-compare-summary", testid: `${prefix}-summary` });
    this.labelA = el("div", { class: "aw-compare-title", testid: `${prefix}-label-a` });
    this.el = el("div", { class: "aw-compare", testid: prefix }, [this.title, this.text, this.links, this.panel, this.summary]);
    this.el.hidden = true;
    this.panel.hidden = true;
    this.view = new TextView(this.text, this.links);
    this.view.listen(
      {
        view: () => this.current?.b ?? null,
        labels: () => this.current?.b.labels ?? new Int32Array(0),
        selected: () => this.selected,
        select: (id) => this.select(id),
      },
      new AbortController().signal, // the listeners live as long as the elements
    );
  }

  /** Draw ``c``'s second text (null: hide); mark the differences on it and on the first text's ``mainSpans``. */
  show(c: Compared | null, mainSpans: HTMLSpanElement[], heading?: string): void {
    this.el.hidden = !c;
    if (!c) {
      if (this.marked === mainSpans) for (const s of mainSpans) s?.classList.remove(...MARKS);
      this.marked = null;
      this.current = null;
      this.labelA.remove();
      return;
    }
    if (this.current?.b.raw.text !== c.b.raw.text) this.selected = null;
    this.current = c;
    this.mainSpans = mainSpans;
    const [ta, tb] = c.raw.titles.map(sideName);
    const [qa, qb] = c.raw.modularity;
    this.view.build(c.b);
    this.spans = this.view.spans;
    this.view.colours = colourText(this.spans, c.b.labels, new Array(this.spans.length).fill(""), c.bSlots);
    const onB = markDifferences(this.spans, c.bUnits, c.moved);
    const onA = markDifferences(mainSpans, c.aUnits, c.moved);
    this.marked = mainSpans;
    const key = keyEntries(onA, onB).flatMap((k) => [el("span", { text: " " }), el("span", { class: `${k.cls} aw-legend-note`, text: k.text })]);
    this.title.replaceChildren(
      el("strong", { text: heading ?? tb }),
      el("span", { class: "aw-muted", text: ` · compared with ${ta} above, by ${c.raw.unit}; modularity ${qa.toFixed(3)} → ${qb.toFixed(3)}` }),
      el("span", { testid: "compare-key" }, key.length ? [el("span", { class: "aw-muted", text: " ·" }), ...key] : []),
    );
    // the first text's name goes in the title line (a fixed slot): above the text it would move it
    const title = mainSpans.find(Boolean)?.closest(".aw-root")?.querySelector(".aw-titlebar .aw-title");
    if (title) {
      this.labelA.replaceChildren(el("strong", { text: ta }), el("span", { class: "aw-muted", text: ` · the first text; ${heading ?? tb} is below` }));
      title.after(this.labelA);
    }
    const lines = c.raw.summary.slice(2); // the first two (texts that differ, modularity) are in the title
    this.summary.replaceChildren(...lines.map((line) => el("li", { text: line })));
    this.select(this.selected);
  }

  /** Select group ``id`` of the second text (null: none): outline it and say which group of the first it is. */
  private select(id: number | null): void {
    const c = this.current;
    this.selected = id;
    if (!c) return;
    this.view.mark(c.b.labels, id);
    this.panel.hidden = id === null;
    if (id === null) return this.panel.replaceChildren();
    const [ta, tb] = c.raw.titles.map(sideName);
    const members = Array.from(c.b.labels).flatMap((l, i) => (l === id ? [i] : []));
    const words = members.slice(0, 12).map((i) => clip(readable(c.b.raw.tokens[i]))).join(" ");
    const match = matchedCluster(c, id);
    const mine = clusterNumbers(c.b.labels, this.view.colours).get(id) ?? id;
    const theirs = match === null ? null : numbersOnScreen(this.mainSpans).get(match) ?? match;
    this.panel.replaceChildren(
      el("strong", { text: `Cluster ${mine} of ${tb}` }),
      el("span", { text: ` (${members.length} ${c.b.raw.unit}${members.length === 1 ? "" : "s"}): ${words}${members.length > 12 ? " …" : ""}` }),
      el("div", {
        class: "aw-muted",
        testid: "compare-panel-match",
        text: theirs === null
          ? `No group of ${ta} matches it.`
          : `The same group as cluster ${theirs} of ${ta} (same colour); click it above for its explanation.`,
      }),
    );
  }
}
