// The token map: each kept token a dot (attn_widget.token_map, made in the
// kernel when the section is opened, on its own thread, so the first view
// never waits), coloured by cluster as the text is. The default method,
// "clusters", draws the partition on screen (sent with the request, asked
// again when the slider or an edit changes it) as discs placed by the links
// between them; "spectral", "umap" and "tsne" place tokens by the graph or
// their attention profiles. The strongest few dots carry their word; hover and
// selection are linked both ways with the text view: a dot hovered marks
// itself, its word and its token, a token hovered marks its dot, a click
// selects the cluster (outlined on the map), a shift-click picks the token
// for an edit. Drawn with SVG; token text set only as text.

import { NEEDS_KERNEL } from "../common/skeleton";
import type { Swatch } from "../common/colors";
import { el, option, readable, svg } from "../common/dom";
import type { MapReply, MapRequest } from "../wire/messages";
import type { Model } from "../wire/model";
import type { View } from "../wire/state";

export const MAP_METHODS = ["clusters", "spectral", "umap", "tsne"];
const METHOD_NAMES: Record<string, string> = { clusters: "Clusters", spectral: "Spectral", umap: "UMAP", tsne: "t-SNE" };
const METHOD_TITLES =
  "Clusters: each cluster a disc, placed by the links between clusters beyond what their distance in the text explains. " +
  "Spectral: the graph itself (mostly reading order). UMAP / t-SNE: tokens that attend alike close together.";
export const MAP_SIZE = { width: 420, height: 300, pad: 18 };
/** Texts up to this many dots label every dot; longer ones the strongest LABELS_LONG. */
export const LABEL_ALL = 40;
export const LABELS_LONG = 24;
const CHAR_PX = 5.6; // width of one character of the 9.5px label font, for the overlap test
const methodName = (m: string | null | undefined): string => METHOD_NAMES[m ?? ""] ?? String(m);

export interface MapHooks {
  labels(): ArrayLike<number>;
  colours(): Map<number, Swatch>;
  selected(): number | null;
  picked(): ReadonlySet<number>;
  select(id: number | null): void;
  /** A dot is hovered (null: none): mark its token in the text. */
  hover(i: number | null): void;
  pick(i: number): void;
}

/** Map coordinates (``[T, 2]``, NaN left out) scaled into a box, one scale for both axes (distances on screen
 * keep their proportions), centred; NaN stays NaN. */
export function scaleCoords(coords: ArrayLike<number>, n: number, width: number, height: number, pad: number): { x: Float64Array; y: Float64Array } {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const [a, b] = [coords[2 * i], coords[2 * i + 1]];
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    [x0, x1, y0, y1] = [Math.min(x0, a), Math.max(x1, a), Math.min(y0, b), Math.max(y1, b)];
  }
  const sx = x1 > x0 ? (width - 2 * pad) / (x1 - x0) : Infinity;
  const sy = y1 > y0 ? (height - 2 * pad) / (y1 - y0) : Infinity;
  const scale = Math.min(sx, sy);
  const k = Number.isFinite(scale) ? scale : 0;
  const [mx, my] = [(x0 + x1) / 2, (y0 + y1) / 2];
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const [a, b] = [coords[2 * i], coords[2 * i + 1]];
    x[i] = Number.isNaN(a) ? NaN : width / 2 + (a - mx) * k;
    y[i] = Number.isNaN(b) ? NaN : height / 2 - (b - my) * k; // up is up
  }
  return { x, y };
}

/** A label's place beside its dot: text start, baseline and SVG text-anchor. */
export interface LabelPlace { index: number; x: number; y: number; anchor: "start" | "end" | "middle" }

/** Which dots carry a label, and where: the strongest first, each tried right, left, above and below its dot,
 * skipped when every place would overlap a label already placed or leave the box. */
export function chooseLabels(
  x: ArrayLike<number>, y: ArrayLike<number>, strength: ArrayLike<number>, widths: ArrayLike<number>, max: number,
  box: { width: number; height: number } = { width: Infinity, height: Infinity }, height = 11,
): LabelPlace[] {
  const order = Array.from({ length: x.length }, (_, i) => i).filter((i) => !Number.isNaN(x[i]) && strength[i] > -Infinity);
  order.sort((a, b) => strength[b] - strength[a] || a - b);
  const boxes: [number, number, number, number][] = [];
  const out: LabelPlace[] = [];
  for (const i of order) {
    if (out.length >= max) break;
    const w = widths[i];
    const places: [LabelPlace, [number, number, number, number]][] = [
      [{ index: i, x: x[i] + 6, y: y[i] + 3.5, anchor: "start" }, [x[i] + 6, y[i] - height / 2, x[i] + 6 + w, y[i] + height / 2]],
      [{ index: i, x: x[i] - 6, y: y[i] + 3.5, anchor: "end" }, [x[i] - 6 - w, y[i] - height / 2, x[i] - 6, y[i] + height / 2]],
      [{ index: i, x: x[i], y: y[i] - 7, anchor: "middle" }, [x[i] - w / 2, y[i] - 6 - height, x[i] + w / 2, y[i] - 6]],
      [{ index: i, x: x[i], y: y[i] + 15, anchor: "middle" }, [x[i] - w / 2, y[i] + 6, x[i] + w / 2, y[i] + 6 + height]],
    ];
    const free = places.find(([, b]) => b[0] >= 0 && b[1] >= 0 && b[2] <= box.width && b[3] <= box.height &&
      !boxes.some((o) => b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3]));
    if (!free) continue;
    boxes.push(free[1]);
    out.push(free[0]);
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Label order for a long text: each cluster's strongest word first (so every patch is named), then the
 * rest by strength; a word already named elsewhere, or one without a letter or digit, last (-Infinity). */
export function labelPriority(strength: ArrayLike<number>, labels: ArrayLike<number>, words: string[]): Float64Array {
  const order = Array.from({ length: strength.length }, (_, i) => i).sort((a, b) => strength[b] - strength[a] || a - b);
  const out = new Float64Array(strength.length).fill(-Infinity);
  const seen = new Set<string>();
  const named = new Set<number>();
  const top = Math.max(0, ...Array.from(strength).filter(Number.isFinite)) + 1;
  for (const i of order) {
    const word = words[i].toLowerCase();
    if (!/[\p{L}\p{N}]/u.test(word) || seen.has(word)) continue;
    seen.add(word);
    out[i] = strength[i] + (named.has(labels[i]) ? 0 : top);
    named.add(labels[i]);
  }
  return out;
}

/** The convex hull of points (counter-clockwise, no repeats), by the monotone chain. */
export function convexHull(points: [number, number][]): [number, number][] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: [number, number][] = [];
  for (const q of p.reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** An SVG path around points: the hull of a ``pad``-px circle (as 12 points) around each point. */
export function outlinePath(points: [number, number][], pad: number): string {
  if (!points.length) return "";
  const ring: [number, number][] = [];
  for (const [px, py] of convexHull(points)) {
    for (let k = 0; k < 12; k++) ring.push([px + pad * Math.cos((k * Math.PI) / 6), py + pad * Math.sin((k * Math.PI) / 6)]);
  }
  return `M${convexHull(ring).map(([hx, hy]) => `${hx.toFixed(1)},${hy.toFixed(1)}`).join("L")}Z`;
}

export class MapView {
  readonly section: HTMLDetailsElement;
  private readonly method: HTMLSelectElement;
  private readonly button: HTMLButtonElement;
  private readonly status: HTMLSpanElement;
  private readonly plot: SVGElement;
  private view: View | null = null;
  private coords: { key: string; method: string; values: Float32Array; partition: string } | null = null;
  private dots: SVGElement[] = [];
  private words: SVGElement[] = []; // the labels drawn, by token index
  private outline: SVGElement | null = null;
  private hoverWord: SVGElement | null = null;
  private xy: { x: Float64Array; y: Float64Array } | null = null;
  private asked = ""; // the partition the newest request was made for
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextId = 1;
  private waiting: number | null = null;
  private hovered: number | null = null;

  constructor(
    private readonly model: Model,
    private readonly offline: boolean,
    private readonly hooks: MapHooks,
    signal: AbortSignal,
  ) {
    this.method = el("select", { testid: "map-method", title: METHOD_TITLES });
    MAP_METHODS.forEach((m) => this.method.append(option(m, methodName(m))));
    this.method.setAttribute("data-lm-suppress-shortcuts", "true");
    this.button = el("button", { testid: "map-draw", text: "Draw map" });
    this.status = el("span", { class: "aw-muted", testid: "map-status" });
    this.plot = svg("svg", { class: "aw-map", "data-testid": "map", viewBox: `0 0 ${MAP_SIZE.width} ${MAP_SIZE.height}`, role: "img", "aria-label": "token map" });
    this.section = el("details", { class: "aw-drill aw-map-section", testid: "map-section" }, [
      el("summary", { text: "Token map", testid: "map-toggle" }),
      el("div", { class: "aw-controls" }, [this.method, this.button, this.status]),
      this.plot as unknown as Node,
      el("p", { class: "aw-note", testid: "map-note", text: "Each dot is a token. Clusters: each cluster a patch; patches close together share more attention than their distance in the text explains. Click: select its cluster. Shift-click: pick it for an edit." }),
    ]);
    if (offline) {
      this.method.disabled = this.button.disabled = true;
      this.button.title = NEEDS_KERNEL;
    }
    this.section.addEventListener("toggle", () => this.section.open && !this.coords && this.waiting === null && this.request(), { signal });
    this.button.addEventListener("click", () => this.request(), { signal });
    this.method.addEventListener("change", () => this.request(), { signal });
    const dotOf = (ev: Event): number | null => {
      const t = ev.target instanceof Element ? ev.target.closest<SVGElement>(".aw-map-dot") : null;
      return t ? Number(t.dataset.index) : null;
    };
    this.plot.addEventListener("mouseover", (ev) => {
      const i = dotOf(ev);
      this.hoverToken(i);
      this.hooks.hover(i);
    }, { signal });
    this.plot.addEventListener("mouseleave", () => {
      this.hoverToken(null);
      this.hooks.hover(null);
    }, { signal });
    signal.addEventListener("abort", () => this.timer !== null && clearTimeout(this.timer), { once: true });
    this.plot.addEventListener("mousedown", (ev) => {
      if ((ev as MouseEvent).shiftKey) ev.stopPropagation(); // not JupyterLab's cell selection
    }, { signal });
    this.plot.addEventListener("click", (ev) => {
      const i = dotOf(ev);
      if (i === null) return;
      if ((ev as MouseEvent).shiftKey) return this.hooks.pick(i);
      const label = this.hooks.labels()[i];
      this.hooks.select(label >= 0 && label !== this.hooks.selected() ? label : null);
    }, { signal });
  }

  /** A new state: keep the map when its graph is the same, take the state's own map, else ask again. */
  setView(view: View): void {
    this.view = view;
    if (view.map && view.map.key === view.raw.map_key && (!this.coords || this.coords.key !== view.map.key)) {
      // the last map the kernel made of this graph (a page drawn again, an exported page): taken as made for the
      // partition on screen; a map already here is kept (the kernel's may be of an older partition)
      this.coords = { key: view.map.key, method: view.map.method, values: view.map.coords, partition: "" };
      this.coords.partition = this.partitionOf(view.map.method);
      if (MAP_METHODS.includes(view.map.method)) this.method.value = view.map.method; // the menu names the map shown
    }
    if (this.coords && this.coords.key !== view.raw.map_key) {
      this.coords = null;
      if (this.section.open) this.request();
    }
    this.draw();
  }

  request(): void {
    if (this.offline || !this.view) return;
    const msg: MapRequest = { type: "map", id: this.nextId++, method: this.method.value, seed: 0 };
    if (msg.method === "clusters") msg.labels = Array.from(this.hooks.labels());
    this.asked = this.partitionOf(msg.method);
    this.waiting = msg.id;
    const slow = msg.method === "umap" ? " (the first UMAP of a session takes longest)" : "";
    this.status.textContent = `Computing the ${methodName(msg.method)} map in the kernel…${slow}`;
    this.model.send(msg);
  }

  receive(reply: MapReply, buffers: DataView[]): void {
    if (reply.id !== this.waiting) return; // an older request
    this.waiting = null;
    if (reply.error) {
      this.status.textContent = reply.error;
      return;
    }
    if (!this.view || reply.key !== this.view.raw.map_key || !buffers.length) {
      this.status.textContent = "The graph changed while the map was made; asking again…";
      this.request();
      return;
    }
    const b = buffers[0];
    const values = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    this.coords = { key: reply.key, method: reply.method ?? this.method.value, values, partition: this.asked };
    const seconds = reply.seconds ?? 0;
    this.status.textContent = `${methodName(reply.method)} map in ${seconds < 0.01 ? "under 0.01" : seconds.toFixed(seconds < 0.1 ? 2 : 1)} s`;
    this.draw();
  }

  /** What a map of ``method`` depends on beyond the graph: the partition on screen for "clusters". */
  private partitionOf(method: string): string {
    return method === "clusters" ? Array.from(this.hooks.labels()).join(",") : "";
  }

  /** A "clusters" map of another partition than the one on screen: ask again (soon, once per burst of changes). */
  private followPartition(): void {
    if (this.offline || !this.coords || !this.section.open || this.partitionOf(this.coords.method) === this.coords.partition) return;
    if (this.waiting !== null && this.asked === this.partitionOf(this.coords.method)) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.coords && this.partitionOf(this.coords.method) !== this.coords.partition) this.request();
    }, 150);
  }

  /** Dots for the current map, the labels of the strongest few (colours and marks come from ``paint``). */
  draw(): void {
    this.plot.replaceChildren();
    this.dots = [];
    this.words = [];
    this.xy = null;
    this.hoverWord = null;
    const view = this.view;
    if (!view || !this.coords || this.coords.values.length !== view.n * 2) return;
    const { width, height, pad } = MAP_SIZE;
    const { x, y } = (this.xy = scaleCoords(this.coords.values, view.n, width, height, pad));
    this.outline = svg("path", { class: "aw-map-outline", "data-testid": "map-outline", d: "" });
    this.plot.append(this.outline);
    const names = view.raw.tokens.map((t) => readable(t));
    const r = view.n > 150 ? 3 : 4.5; // many dots: smaller, so a patch's members stay apart
    for (let i = 0; i < view.n; i++) {
      if (Number.isNaN(x[i])) continue;
      const dot = svg("circle", { class: "aw-map-dot", "data-testid": "map-point", "data-index": i, cx: x[i].toFixed(1), cy: y[i].toFixed(1), r });
      dot.append(svg("title", {}, `${names[i]} (token ${i})`));
      this.dots[i] = dot;
      this.plot.append(dot);
    }
    const short = names.map((t) => (t.length > 14 ? `${t.slice(0, 13)}…` : t));
    const strength = new Float64Array(view.n);
    const { outWeight, inWeight } = view.links;
    for (let i = 0; i < view.n; i++) {
      for (const w of [outWeight, inWeight]) for (let k = 0; k < w.shape[1]; k++) strength[i] += w.data[i * w.shape[1] + k] || 0;
    }
    const max = view.n <= LABEL_ALL ? view.n : LABELS_LONG;
    const priority = view.n <= LABEL_ALL ? strength : labelPriority(strength, this.hooks.labels(), short);
    for (const p of chooseLabels(x, y, priority, short.map((t) => t.length * CHAR_PX), max, MAP_SIZE)) {
      const word = svg("text", { class: "aw-map-label", "data-testid": "map-label", "data-index": p.index, x: p.x.toFixed(1), y: p.y.toFixed(1), "text-anchor": p.anchor }, short[p.index]);
      this.words[p.index] = word;
      this.plot.append(word);
    }
    this.paint();
    if (this.hovered !== null) this.hoverToken(this.hovered);
  }

  /** Colour the dots by the partition on screen; outline the selected cluster, mark picked and hovered tokens. */
  paint(): void {
    const labels = this.hooks.labels();
    const colours = this.hooks.colours();
    const selected = this.hooks.selected();
    const picked = this.hooks.picked();
    this.plot.classList.toggle("aw-has-selection", selected !== null);
    const members: [number, number][] = [];
    this.dots.forEach((dot, i) => {
      if (!dot) return;
      const label = labels[i];
      dot.dataset.cluster = String(label);
      dot.setAttribute("fill", colours.get(label)?.color ?? "#9e9e9e");
      const inside = selected !== null && label === selected;
      dot.classList.toggle("aw-selected", inside);
      dot.classList.toggle("aw-picked", picked.has(i));
      dot.classList.toggle("aw-hover", i === this.hovered);
      if (inside && this.xy) members.push([this.xy.x[i], this.xy.y[i]]);
    });
    this.words.forEach((word, i) => word?.classList.toggle("aw-selected", selected !== null && labels[i] === selected));
    if (this.outline) {
      this.outline.setAttribute("d", outlinePath(members, 9));
      if (selected !== null) this.outline.dataset.cluster = String(selected);
      else delete this.outline.dataset.cluster;
    }
    this.followPartition();
  }

  /** Mark token ``i``'s dot and show its word (a token or a dot hovered); null: none. */
  hoverToken(i: number | null): void {
    this.dots[this.hovered ?? -1]?.classList.remove("aw-hover");
    this.hoverWord?.remove();
    this.hoverWord = null;
    this.hovered = i;
    const dot = this.dots[i ?? -1];
    if (!dot || i === null || !this.xy || !this.view) return;
    dot.classList.add("aw-hover");
    // a ring and the word drawn on top (the dot itself is not moved: the pointer may be on it)
    const [cx, cy] = [this.xy.x[i], this.xy.y[i]];
    const right = cx < MAP_SIZE.width * 0.7;
    this.hoverWord = svg("g", { class: "aw-map-hover", "data-testid": "map-hover" });
    this.hoverWord.append(
      svg("circle", { class: "aw-map-ring", cx: cx.toFixed(1), cy: cy.toFixed(1), r: 8 }),
      svg("text", { class: "aw-map-label aw-map-hover-label", "data-testid": "map-hover-label", "data-index": i, x: (cx + (right ? 10 : -10)).toFixed(1), y: (cy - 8).toFixed(1), "text-anchor": right ? "start" : "end" }, readable(this.view.raw.tokens[i])),
    );
    this.plot.append(this.hoverWord);
  }
}
