// The SVG layer over the text that draws the arcs (geometry in arcs.ts). It
// lives inside the text box (which scrolls), above the spans, and lets the
// pointer through except on the arcs themselves. Laid out again when the text
// box changes size; a slider move changes colours only, never positions, so
// it never redraws. Arc texts reach the DOM through textContent only.

import { el } from "../common/dom";
import type { ArcInfo } from "../wire/state";
import { arcsToDraw, archPath, arcWords, Box, crossPath, gapPath, lineRelation, stubPath, throughRow } from "./arcs";

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export interface ArcHooks {
  /** An arc is hovered (null: none): say its evidence (``said``: in words), mark its two words. */
  hover(arc: ArcInfo | null, said?: string): void;
  /** An arc is clicked: the panel for its source word. */
  click(arc: ArcInfo): void;
}

export class ArcLayer {
  readonly svg: SVGSVGElement;
  private arcs: ArcInfo[] = [];
  private spans: HTMLSpanElement[] = [];
  private groups: SVGGElement[] = [];
  /** Per arc: its source word scrolled out of the pair's source row ("above"/"below"), else null. */
  private off: ("above" | "below" | null)[] = [];
  private observer: ResizeObserver | null = null;
  private frame: number | null = null;
  /** The pair's source row box, which scrolls on its own (text.ts Rows): its arcs follow its scroll. */
  private scroller: HTMLElement | null = null;
  private scrolling: AbortController | null = null;

  constructor(private readonly host: HTMLElement, private readonly hooks: ArcHooks, signal: AbortSignal) {
    this.svg = svg("svg", { class: "aw-arcs", "data-testid": "arcs", "aria-hidden": "true" });
    const defs = svg("defs");
    const id = `aw-arrow-${Math.random().toString(36).slice(2)}`;
    this.svg.dataset.marker = id;
    for (const kind of ["reference", "long-range", "cross"]) {
      const marker = svg("marker", { id: `${id}-${kind}`, viewBox: "0 0 6 6", refX: "5", refY: "3", markerWidth: "5", markerHeight: "5", orient: "auto-start-reverse" });
      marker.append(svg("path", { d: "M 0 0 L 6 3 L 0 6 z", class: `aw-arc-head aw-arc-head-${kind}` }));
      defs.append(marker);
    }
    this.svg.append(defs);
    if (typeof ResizeObserver !== "undefined") {
      let width = -1;
      this.observer = new ResizeObserver(() => {
        if (host.clientWidth !== width) {
          width = host.clientWidth;
          this.layout();
        }
      });
      this.observer.observe(host);
    }
    signal.addEventListener("abort", () => {
      this.observer?.disconnect();
      this.scrolling?.abort();
      if (this.frame !== null) cancelAnimationFrame(this.frame);
      this.frame = null;
    }, { once: true });
  }

  /** New arcs for new spans (a new state); null: still being computed (nothing drawn). */
  set(arcs: ArcInfo[] | null, spans: HTMLSpanElement[]): void {
    this.arcs = (arcs ?? []).filter((a) => spans[a.source] && spans[a.target] && a.source !== a.target);
    this.spans = spans;
    this.host.append(this.svg); // the text was rebuilt: put the layer back on top
    this.followScroller();
    this.later();
  }

  /** Lay out at the next frame, with the text's own layout (no forced layout inside a redraw or a scroll). */
  private later(): void {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    if (typeof requestAnimationFrame !== "function") return this.layout();
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.layout();
    });
  }

  /** The source row of a pair scrolls on its own: its cross arcs are laid out again as it scrolls. */
  private followScroller(): void {
    this.scrolling?.abort();
    this.scroller = this.host.querySelector<HTMLElement>(".aw-pair-scroll");
    this.scrolling = this.scroller ? new AbortController() : null;
    if (this.scroller && this.scrolling) {
      this.scroller.addEventListener("scroll", () => this.later(), { passive: true, signal: this.scrolling.signal });
    }
  }

  /** The source row's visible band, in the layer's px (null: one text, or a row that does not scroll). */
  private band(origin: DOMRect): { top: number; bottom: number } | null {
    const s = this.scroller;
    // more source below the box's edge: its last line fades out (widget.css), a cue that it scrolls
    s?.classList.toggle("aw-pair-more", !!s && s.scrollTop + s.clientHeight < s.scrollHeight - 2);
    if (!s || !s.isConnected || s.scrollHeight <= s.clientHeight) return null;
    const top = s.getBoundingClientRect().top + s.clientTop - origin.top + this.host.scrollTop;
    return { top, bottom: top + s.clientHeight };
  }

  /** Scroll the source row (only it, not the page) so source word ``i`` sits in its middle. */
  private reveal(i: number): void {
    const s = this.scroller;
    const span = this.spans[i];
    if (!s || !span || !s.contains(span)) return;
    const r = span.getClientRects()[0] ?? span.getBoundingClientRect();
    const box = s.getBoundingClientRect();
    s.scrollTop += r.top - box.top - s.clientTop - (s.clientHeight - (r.bottom - r.top)) / 2;
  }

  clear(): void {
    this.arcs = [];
    this.groups = [];
    for (const g of [...this.svg.querySelectorAll("g.aw-arc")]) g.remove();
  }

  private box(i: number, origin: DOMRect): Box {
    const rects = this.spans[i].getClientRects();
    const r = rects.length ? rects[0] : this.spans[i].getBoundingClientRect();
    const dx = this.host.scrollLeft - origin.left;
    const dy = this.host.scrollTop - origin.top;
    return { left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy };
  }

  /** Draw every arc for the current layout (the text box's size). */
  layout(): void {
    for (const g of [...this.svg.querySelectorAll("g.aw-arc")]) g.remove();
    this.groups = [];
    this.off = [];
    if (!this.arcs.length || !this.host.isConnected) return;
    const origin = this.host.getBoundingClientRect();
    const band = this.band(origin);
    this.svg.setAttribute("width", String(this.host.scrollWidth));
    this.svg.setAttribute("height", String(this.host.scrollHeight));
    const drawn = arcsToDraw(this.arcs);
    const line = parseFloat(getComputedStyle(this.host).lineHeight);
    this.arcs.forEach((a, k) => {
      const src = this.box(a.source, origin);
      const seen = a.kind === "cross" && band ? throughRow(this.box(a.target, origin), band) : null;
      const dst = seen ? seen.box : this.box(a.target, origin);
      this.off[k] = seen?.off ?? null;
      const glyph = src.bottom - src.top;
      const room = Math.max(4, (Number.isFinite(line) ? line - glyph : 10) - 3);
      const cross = a.kind === "cross"; // a target word (lower row) to a source word (upper row)
      const where = cross ? "pair" : lineRelation(src, dst, room + 3);
      const g = svg("g", { class: `aw-arc aw-arc-${a.kind}${a.confident ? "" : " aw-arc-unsure"}`, "data-testid": "arc" });
      g.dataset.source = String(a.source);
      g.dataset.target = String(a.target);
      g.dataset.kind = a.kind;
      g.dataset.confident = String(a.confident);
      g.dataset.line = where === "far" ? "cross" : where;
      g.dataset.drawn = drawn.has(k) ? "always" : "hover";
      if (this.off[k]) {
        g.dataset.offscreen = String(this.off[k]); // its source word is scrolled out of the source row
        g.classList.add("aw-arc-offscreen");
      }
      g.setAttribute("aria-label", arcWords(a, this.off[k])); // its evidence; shown in the hover box (no <title>: the text's own textContent stays the text)
      const head = `url(#${this.svg.dataset.marker}-${a.kind === "reference" || cross ? a.kind : "long-range"})`;
      const d = where === "same" ? archPath(src, dst, room).d : where === "adjacent" || where === "pair" ? gapPath(src, dst) : crossPath(src, dst, room);
      if (where === "far") g.append(svg("path", { d: stubPath(src, dst, room), class: "aw-arc-stub", "marker-end": head }));
      g.append(svg("path", { d, class: "aw-arc-line", "marker-end": head }));
      g.append(svg("path", { d: where === "far" ? stubPath(src, dst, room) : d, class: "aw-arc-hit" }));
      g.addEventListener("mouseenter", () => this.focus(k, true));
      g.addEventListener("mouseleave", () => this.focus(k, false));
      g.addEventListener("click", () => {
        if (this.off[k]) this.reveal(a.target); // bring the source word it reads into view
        this.hooks.click(a);
      });
      this.groups.push(g);
      this.svg.append(g);
    });
  }

  private focus(k: number, on: boolean): void {
    this.groups[k]?.classList.toggle("aw-arc-on", on);
    this.mark(on ? [this.arcs[k].source, this.arcs[k].target] : []);
    this.hooks.hover(on ? this.arcs[k] : null, on ? arcWords(this.arcs[k], this.off[k] ?? null) : undefined);
  }

  private mark(tokens: number[]): void {
    for (const s of this.host.querySelectorAll(".aw-arc-end")) s.classList.remove("aw-arc-end");
    for (const i of tokens) this.spans[i]?.classList.add("aw-arc-end");
  }

  /** Show the arcs that touch word ``i`` (those drawn only on hover, and whole cross-line curves); null: none. */
  hoverWord(i: number | null): void {
    this.arcs.forEach((a, k) => this.groups[k]?.classList.toggle("aw-arc-on", i !== null && (a.source === i || a.target === i)));
  }

  /** Highlight what a finding names: the arc between two of ``tokens`` if there is one, and the words. */
  highlight(tokens: number[] | null): void {
    const set = new Set(tokens ?? []);
    this.arcs.forEach((a, k) => this.groups[k]?.classList.toggle("aw-arc-on", set.has(a.source) && set.has(a.target)));
    this.mark([...set]);
  }

  /** The arcs as text, for the hover box: one line per arc touching word ``i``. */
  wordsAt(i: number): string[] {
    return this.arcs.flatMap((a, k) => (a.source === i || a.target === i ? [arcWords(a, this.off[k] ?? null)] : []));
  }
}

/** The findings line: 3–5 plain sentences; hover one to highlight what it names. A fixed-height slot. */
export function drawFindings(host: HTMLElement, findings: { kind: string; text: string; tokens: number[] }[] | null, pending: boolean, onHover: (tokens: number[] | null) => void, signal: AbortSignal): void {
  host.replaceChildren();
  if (findings === null) {
    if (pending) host.append(el("span", { class: "aw-muted", text: "Finding what stands out…" }));
    return;
  }
  if (!findings.length) host.append(el("span", { class: "aw-muted", text: "Nothing stands out that could be checked." }));
  for (const f of findings) {
    const item = el("span", { class: `aw-finding aw-finding-${f.kind}`, testid: "finding", text: f.text });
    item.dataset.kind = f.kind;
    item.dataset.tokens = f.tokens.join(" ");
    item.addEventListener("mouseenter", () => onHover(f.tokens), { signal });
    item.addEventListener("mouseleave", () => onHover(null), { signal });
    host.append(item);
  }
}
