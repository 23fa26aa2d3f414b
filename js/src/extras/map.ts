// The token map: each kept token a dot, placed by its attention profile
// (attn_widget.token_map, made in the kernel when the section is opened, on
// its own thread, so the first view never waits), coloured by cluster as the
// text is. Hover and selection are linked both ways with the text view: a dot
// hovered marks its token, a token hovered marks its dot, a click selects the
// cluster, a shift-click picks the token for an edit. Drawn with SVG.

import { NEEDS_KERNEL } from "../common/skeleton";
import type { Swatch } from "../common/colors";
import { el, option, readable, svg } from "../common/dom";
import type { MapReply, MapRequest } from "../wire/messages";
import type { Model } from "../wire/model";
import type { View } from "../wire/state";

export const MAP_METHODS = ["umap", "tsne"];
export const MAP_SIZE = { width: 420, height: 300, pad: 14 };

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

/** Map coordinates (``[T, 2]``, NaN left out) scaled into a box; NaN stays NaN. */
export function scaleCoords(coords: ArrayLike<number>, n: number, width: number, height: number, pad: number): { x: Float64Array; y: Float64Array } {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const [a, b] = [coords[2 * i], coords[2 * i + 1]];
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    [x0, x1, y0, y1] = [Math.min(x0, a), Math.max(x1, a), Math.min(y0, b), Math.max(y1, b)];
  }
  const sx = x1 > x0 ? (width - 2 * pad) / (x1 - x0) : 0;
  const sy = y1 > y0 ? (height - 2 * pad) / (y1 - y0) : 0;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const [a, b] = [coords[2 * i], coords[2 * i + 1]];
    x[i] = Number.isNaN(a) ? NaN : sx ? pad + (a - x0) * sx : width / 2;
    y[i] = Number.isNaN(b) ? NaN : sy ? height - pad - (b - y0) * sy : height / 2; // up is up
  }
  return { x, y };
}

export class MapView {
  readonly section: HTMLDetailsElement;
  private readonly method: HTMLSelectElement;
  private readonly button: HTMLButtonElement;
  private readonly status: HTMLSpanElement;
  private readonly plot: SVGElement;
  private view: View | null = null;
  private coords: { key: string; method: string; values: Float32Array } | null = null;
  private dots: SVGElement[] = [];
  private nextId = 1;
  private waiting: number | null = null;
  private hovered: number | null = null;

  constructor(
    private readonly model: Model,
    private readonly offline: boolean,
    private readonly hooks: MapHooks,
    signal: AbortSignal,
  ) {
    this.method = el("select", { testid: "map-method", title: "UMAP keeps some global layout; t-SNE keeps neighbourhoods" });
    MAP_METHODS.forEach((m) => this.method.append(option(m, m === "umap" ? "UMAP" : "t-SNE")));
    this.method.setAttribute("data-lm-suppress-shortcuts", "true");
    this.button = el("button", { testid: "map-draw", text: "Draw map" });
    this.status = el("span", { class: "aw-muted", testid: "map-status" });
    this.plot = svg("svg", { class: "aw-map", "data-testid": "map", viewBox: `0 0 ${MAP_SIZE.width} ${MAP_SIZE.height}`, role: "img", "aria-label": "token map" });
    this.section = el("details", { class: "aw-drill aw-map-section", testid: "map-section" }, [
      el("summary", { text: "Token map", testid: "map-toggle" }),
      el("div", { class: "aw-controls" }, [this.method, this.button, this.status]),
      this.plot as unknown as Node,
      el("p", { class: "aw-note", text: "Each dot is a token placed by its attention profile; close dots attend alike. Click: select its cluster. Shift-click: pick it for an edit." }),
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
    this.plot.addEventListener("mouseover", (ev) => this.hooks.hover(dotOf(ev)), { signal });
    this.plot.addEventListener("mouseleave", () => this.hooks.hover(null), { signal });
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
    if (view.map && view.map.key === view.raw.map_key) this.coords = { key: view.map.key, method: view.map.method, values: view.map.coords };
    if (this.coords && this.coords.key !== view.raw.map_key) {
      this.coords = null;
      if (this.section.open) this.request();
    }
    this.draw();
  }

  request(): void {
    if (this.offline || !this.view) return;
    const msg: MapRequest = { type: "map", id: this.nextId++, method: this.method.value, seed: 0 };
    this.waiting = msg.id;
    this.status.textContent = `Computing the ${msg.method === "umap" ? "UMAP" : "t-SNE"} map in the kernel… (the first UMAP of a session takes longest)`;
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
    this.coords = { key: reply.key, method: reply.method ?? this.method.value, values };
    this.status.textContent = `${reply.method === "umap" ? "UMAP" : "t-SNE"} map in ${(reply.seconds ?? 0).toFixed(1)} s`;
    this.draw();
  }

  /** Dots for the current map (colours and marks come from ``paint``). */
  draw(): void {
    this.plot.replaceChildren();
    this.dots = [];
    const view = this.view;
    if (!view || !this.coords || this.coords.values.length !== view.n * 2) return;
    const { width, height, pad } = MAP_SIZE;
    const { x, y } = scaleCoords(this.coords.values, view.n, width, height, pad);
    for (let i = 0; i < view.n; i++) {
      if (Number.isNaN(x[i])) continue;
      const dot = svg("circle", { class: "aw-map-dot", "data-testid": "map-point", "data-index": i, cx: x[i].toFixed(1), cy: y[i].toFixed(1), r: 4.5 });
      dot.append(svg("title", {}, `${readable(view.raw.tokens[i])} (token ${i})`));
      this.dots[i] = dot;
      this.plot.append(dot);
    }
    this.paint();
  }

  /** Colour the dots by the partition on screen; mark the selected cluster, picked and hovered tokens. */
  paint(): void {
    const labels = this.hooks.labels();
    const colours = this.hooks.colours();
    const selected = this.hooks.selected();
    const picked = this.hooks.picked();
    this.plot.classList.toggle("aw-has-selection", selected !== null);
    this.dots.forEach((dot, i) => {
      if (!dot) return;
      const label = labels[i];
      dot.dataset.cluster = String(label);
      dot.setAttribute("fill", colours.get(label)?.color ?? "#9e9e9e");
      dot.classList.toggle("aw-selected", selected !== null && label === selected);
      dot.classList.toggle("aw-picked", picked.has(i));
      dot.classList.toggle("aw-hover", i === this.hovered);
    });
  }

  /** Mark token ``i``'s dot (a token hovered in the text); null: none. */
  hoverToken(i: number | null): void {
    this.dots[this.hovered ?? -1]?.classList.remove("aw-hover");
    this.hovered = i;
    const dot = this.dots[i ?? -1];
    if (dot) {
      dot.classList.add("aw-hover");
      dot.parentNode?.append(dot); // on top
    }
  }
}
