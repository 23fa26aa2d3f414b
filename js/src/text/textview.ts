// The text on screen: its token spans (built once per state, recoloured per
// partition by text.ts), the hovered token's strongest links, and clicks that
// select a token's cluster. Listeners live until ``signal`` aborts.

import type { Swatch } from "../common/colors";
import { el, readable } from "../common/dom";
import { bdi, clip } from "../common/words";
import { ArcInfo, linksOf, View } from "../wire/state";
import type { ArcLayer } from "./arclayer";
import type { WordMenu } from "./wordmenu";
import { arcWords } from "./arcs";
import { buildText, colourText, markSelected, tokenTitle } from "./text";

export interface TextHooks {
  view(): View | null;
  labels(): ArrayLike<number>;
  selected(): number | null;
  select(id: number | null): void;
  /** A token is hovered (null: the pointer left the text): the map marks its dot. */
  hover?(i: number | null): void;
  /** Shift-click: pick token ``i`` for an edit (or drop it from the picks). */
  pick?(i: number): void;
}

type Link = { token: number; weight: number };

/** What the links box says while nothing is hovered. */
const HINT = "Hover a word to see what it looks back to; hover an arc for its evidence; click a word for its group; right-click it for “What if…”.";

export class TextView {
  spans: HTMLSpanElement[] = [];
  /** Colour per cluster of the partition painted last (clusters of 2+ tokens). */
  colours = new Map<number, Swatch>();
  private painted: string[] = [];
  /** The arcs drawn over the text (set by the widget). */
  layer: ArcLayer | null = null;
  /** A word's menu (right-click, or Enter on the word holding the tab stop; set by the widget). */
  menu: WordMenu | null = null;

  constructor(
    private readonly host: HTMLElement,
    private readonly links: HTMLElement,
  ) {
    this.clearLinks();
  }

  /** Spans for a new state (uncoloured until ``paint``). */
  build(view: View): void {
    this.spans = buildText(this.host, view);
    this.painted = new Array(this.spans.length).fill("");
    this.layer?.set(view.raw.arcs, this.spans);
    this.menu?.set(this.spans);
  }

  clear(): void {
    this.layer?.clear();
    this.host.replaceChildren();
    this.spans = [];
    this.painted = [];
  }

  /** Colour the spans by ``labels`` (``slots``: colours fixed by the kernel); returns the colour per cluster. */
  paint(labels: ArrayLike<number>, slots?: ReadonlyMap<number, number>): Map<number, Swatch> {
    this.colours = colourText(this.spans, labels, this.painted, slots);
    return this.colours;
  }

  /** Mark cluster ``selected``'s tokens (null: none) and dim the rest. */
  mark(labels: ArrayLike<number>, selected: number | null): void {
    markSelected(this.spans, labels, selected, this.host);
  }

  listen(hooks: TextHooks, signal: AbortSignal): void {
    const tokenSpan = (ev: Event): HTMLElement | null => (ev.target instanceof Element ? ev.target.closest<HTMLElement>(".aw-tok") : null);
    this.host.addEventListener(
      "mouseover",
      (ev) => {
        const span = tokenSpan(ev);
        const view = hooks.view();
        if (!span || !view) return;
        this.showLinks(view, span, Number(span.dataset.index), hooks.labels());
        this.layer?.hoverWord(Number(span.dataset.index));
        hooks.hover?.(Number(span.dataset.index));
      },
      { signal },
    );
    // shift-click picks a token: keep the mousedown from JupyterLab, which would extend its cell
    // selection (and then run every selected cell on the next "run cell"), and from text selection
    this.host.addEventListener("mousedown", (ev) => {
      if (ev.shiftKey && tokenSpan(ev) && hooks.pick) {
        ev.stopPropagation();
        ev.preventDefault();
      }
    }, { signal });
    this.host.addEventListener("mouseleave", () => {
      this.clearLinks();
      this.layer?.hoverWord(null);
      hooks.hover?.(null);
    }, { signal });
    this.host.addEventListener(
      "click",
      (ev) => {
        const span = tokenSpan(ev);
        if (!span || !hooks.view()) return;
        if ((ev as MouseEvent).shiftKey && hooks.pick) return hooks.pick(Number(span.dataset.index));
        const label = hooks.labels()[Number(span.dataset.index)];
        hooks.select(label >= 0 && label !== hooks.selected() ? label : null);
      },
      { signal },
    );
  }

  /** Mark the picked tokens (``aw-picked``). */
  markPicked(picked: ReadonlySet<number>): void {
    this.spans.forEach((s, i) => {
      if (i === 0 || this.spans[i - 1] !== s || picked.has(i)) s?.classList.toggle("aw-picked", picked.has(i)); // shared: any
    });
  }

  /**
   * Mark token ``i`` as hovered (a dot hovered on the map); null: none. Only the span is
   * marked: the links box would push the map down under the pointer.
   */
  hoverToken(i: number | null): void {
    for (const s of this.host.querySelectorAll(".aw-hover")) s.classList.remove("aw-hover");
    if (i !== null) this.spans[i]?.classList.add("aw-hover");
  }

  /** An arc is hovered (null: none): its evidence in the links box. */
  showArc(arc: ArcInfo | null, said: string = arc ? arcWords(arc) : ""): void {
    if (!arc) return this.clearLinks();
    this.links.replaceChildren(
      el("div", { class: "aw-links-title", text: arc.kind === "reference" ? "Reference" : arc.kind === "cross" ? "Cross-attention" : "Long-range link" }),
      el("div", { class: "aw-links-row", testid: "arc-evidence", text: said }),
    );
    this.links.hidden = false;
  }

  private clearLinks(): void {
    this.links.replaceChildren(el("div", { class: "aw-links-hint", text: HINT }));
    this.links.hidden = false;
    for (const s of this.host.querySelectorAll(".aw-link-in, .aw-link-out, .aw-hover")) s.classList.remove("aw-link-in", "aw-link-out", "aw-hover");
  }

  /** Token ``i``'s strongest links, in the links box and on the spans they point to. */
  private showLinks(view: View, span: HTMLElement, i: number, labels: ArrayLike<number>): void {
    this.clearLinks();
    const label = labels[i];
    const shared = span.dataset.tokens?.split(" ").map(Number); // pieces of one character: the span stands for all
    span.title = tokenTitle(clip(view.raw.tokens[i], 200), i, label, this.colours.has(label), shared);
    span.classList.add("aw-hover");
    const tokens = view.raw.tokens;
    const line = (title: string, items: Link[], cls: string) => {
      const li = el("div", { class: "aw-links-row" }, [el("strong", { text: title })]);
      if (!items.length) li.append(el("span", { class: "aw-muted", text: " none" }));
      for (const { token, weight } of items) {
        this.spans[token]?.classList.add(cls);
        li.append(el("span", { class: `aw-link-chip ${cls}` }, [bdi(clip(readable(tokens[token]))), ` ${weight.toFixed(2)}`]));
      }
      return li;
    };
    const l = linksOf(view, i);
    this.links.replaceChildren(
      el("div", { class: "aw-links-title" }, ["“", bdi(clip(readable(tokens[i]))), `” (${view.raw.unit} ${i})`]),
      line("attends to", l.out, "aw-link-out"),
      line("attended by", l.in, "aw-link-in"),
      ...(this.layer?.wordsAt(i) ?? []).slice(0, 2).map((t) => el("div", { class: "aw-links-row aw-muted", text: t })),
    );
    this.links.hidden = false;
  }
}
