// A second text under the first, for a comparison or a "remove and rerun":
// its tokens coloured so that matched clusters wear the same colour on both
// sides, the differences marked on both texts (tokens whose text differs:
// `aw-diff`; aligned tokens whose cluster mates changed: `aw-moved`), and the
// kernel's summary (split / merged / appeared / vanished, modularity, the
// links that changed most). Drawing only: the matching is the kernel's.

import { el } from "../common/dom";
import type { Compared } from "../wire/modes";
import { buildText, colourText } from "../text/text";

const MARKS = ["aw-diff", "aw-moved"];

/** Mark the differences on one side's token spans. */
export function markDifferences(spans: HTMLSpanElement[], units: Int32Array, moved: ReadonlySet<number>): void {
  spans.forEach((span, i) => {
    if (!span) return;
    span.classList.remove(...MARKS);
    delete span.dataset.diff;
    const u = units[i];
    if (u === undefined) return;
    if (u < 0 && !span.classList.contains("aw-special")) {
      span.classList.add("aw-diff");
      span.dataset.diff = "text";
    } else if (moved.has(u)) {
      span.classList.add("aw-moved");
      span.dataset.diff = "moved";
    }
  });
}

export class SecondText {
  readonly el: HTMLDivElement;
  private readonly title: HTMLDivElement;
  private readonly text: HTMLDivElement;
  private readonly summary: HTMLUListElement;
  spans: HTMLSpanElement[] = [];
  /** The first text's spans this view marked (cleared when it hides). */
  private marked: HTMLSpanElement[] | null = null;

  /** ``prefix`` names the test hooks: ``{prefix}-text``, ``{prefix}-title``, ``{prefix}-summary``. */
  constructor(prefix: string) {
    this.title = el("div", { class: "aw-compare-title", testid: `${prefix}-title` });
    this.text = el("div", { class: "aw-text aw-second-text", testid: `${prefix}-text` });
    this.summary = el("ul", { class: "aw-compare-summary", testid: `${prefix}-summary` });
    this.el = el("div", { class: "aw-compare", testid: prefix }, [this.title, this.text, this.summary]);
    this.el.hidden = true;
  }

  /** Draw ``c``'s second text (null: hide); mark the differences on it and on the first text's ``mainSpans``. */
  show(c: Compared | null, mainSpans: HTMLSpanElement[], heading?: string): void {
    this.el.hidden = !c;
    if (!c) {
      if (this.marked === mainSpans) for (const s of mainSpans) s?.classList.remove(...MARKS);
      this.marked = null;
      return;
    }
    const [ta, tb] = c.raw.titles;
    const [qa, qb] = c.raw.modularity;
    this.title.replaceChildren(
      el("strong", { text: heading ?? `${tb}` }),
      el("span", { class: "aw-muted", text: ` · compared with ${ta} above, by ${c.raw.unit}; modularity ${qa.toFixed(3)} → ${qb.toFixed(3)} · ` }),
      el("span", { class: "aw-diff aw-legend-note", text: "text differs" }),
      el("span", { text: " " }),
      el("span", { class: "aw-moved aw-legend-note", text: "grouped differently" }),
    );
    this.spans = buildText(this.text, c.b);
    colourText(this.spans, c.b.labels, new Array(this.spans.length).fill(""), c.bSlots);
    markDifferences(this.spans, c.bUnits, c.moved);
    markDifferences(mainSpans, c.aUnits, c.moved);
    this.marked = mainSpans;
    const lines = c.raw.summary.slice(2); // the first two (texts that differ, modularity) are in the title
    this.summary.replaceChildren(...lines.map((line) => el("li", { text: line })));
  }
}
