// The small plot beside the slider: modularity (line) and number of clusters
// (steps) against the threshold grid, with the automatic choice (dashed) and
// the current value (solid) marked. The two series are named in a header row
// above the frame (never over the curves); axis values sit in the side margins.

import { svg } from "../common/dom";
import { formatThreshold } from "./slider";

const W = 280;
const H = 104;
/** Plot margins; the top one holds the header row with the series names. */
export const PAD = { l: 30, r: 30, t: 18, b: 18 };
export const PLOT_SIZE = { width: W, height: H };

/** An axis value with two decimals; a value that rounds to zero reads "0.00", never "-0.00". */
export function axisNumber(value: number): string {
  const text = value.toFixed(2);
  return Number(text) === 0 ? (0).toFixed(2) : text;
}

export function drawPlot(
  host: Element,
  grid: ArrayLike<number>,
  modularity: ArrayLike<number>,
  counts: ArrayLike<number>,
  best: number,
  current: number,
  mode: string,
): void {
  host.replaceChildren();
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", class: "aw-plot-svg" });
  const title = svg("title", {}, "Modularity (line) and number of clusters (steps) for each threshold");
  root.append(title);
  const n = grid.length;
  const x = (i: number) => PAD.l + (n <= 1 ? 0 : (i / (n - 1)) * (W - PAD.l - PAD.r));
  const qMax = Math.max(1e-9, ...Array.from(modularity));
  const qMin = Math.min(0, ...Array.from(modularity));
  const cMax = Math.max(1, ...Array.from(counts));
  const yq = (q: number) => PAD.t + (1 - (q - qMin) / (qMax - qMin || 1)) * (H - PAD.t - PAD.b);
  const yc = (c: number) => PAD.t + (1 - c / cMax) * (H - PAD.t - PAD.b);
  root.append(svg("rect", { x: PAD.l, y: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b, class: "aw-plot-frame" }));
  let steps = "";
  let line = "";
  for (let i = 0; i < n; i++) {
    steps += `${i ? "L" : "M"}${x(i) - (i ? (x(i) - x(i - 1)) / 2 : 0)},${yc(counts[i])}H${x(i) + (i < n - 1 ? (x(i + 1) - x(i)) / 2 : 0)}`;
    line += `${i ? "L" : "M"}${x(i)},${yq(modularity[i])}`;
  }
  root.append(svg("path", { d: steps, class: "aw-plot-count", "data-testid": "plot-count" }));
  root.append(svg("path", { d: line, class: "aw-plot-q", "data-testid": "plot-modularity" }));
  if (best >= 0) root.append(svg("line", { x1: x(best), x2: x(best), y1: PAD.t, y2: H - PAD.b, class: "aw-plot-auto", "data-testid": "plot-auto" }));
  if (current >= 0) root.append(svg("line", { x1: x(current), x2: x(current), y1: PAD.t, y2: H - PAD.b, class: "aw-plot-current", "data-testid": "plot-current" }));
  // header row: "— modularity" on the left, "clusters —" on the right, above the frame
  const header = PAD.t - 6;
  root.append(svg("line", { x1: PAD.l, x2: PAD.l + 12, y1: header - 3, y2: header - 3, class: "aw-plot-q" }));
  root.append(svg("text", { x: PAD.l + 15, y: header, class: "aw-plot-label aw-plot-q-label", "data-testid": "plot-legend-modularity" }, "modularity"));
  root.append(svg("line", { x1: W - PAD.r - 12, x2: W - PAD.r, y1: header - 3, y2: header - 3, class: "aw-plot-count" }));
  root.append(svg("text", { x: W - PAD.r - 15, y: header, class: "aw-plot-label aw-plot-c-label", "text-anchor": "end", "data-testid": "plot-legend-clusters" }, "clusters"));
  root.append(svg("text", { x: 2, y: PAD.t + 8, class: "aw-plot-label aw-plot-q-label" }, axisNumber(qMax)));
  root.append(svg("text", { x: 2, y: H - PAD.b, class: "aw-plot-label aw-plot-q-label" }, axisNumber(qMin)));
  root.append(svg("text", { x: W - PAD.r + 3, y: PAD.t + 8, class: "aw-plot-label aw-plot-c-label" }, String(cMax)));
  root.append(svg("text", { x: W - PAD.r + 3, y: H - PAD.b, class: "aw-plot-label aw-plot-c-label" }, "0"));
  if (n) {
    root.append(svg("text", { x: PAD.l, y: H - 4, class: "aw-plot-label" }, formatThreshold(grid[0], mode)));
    root.append(svg("text", { x: W - PAD.r, y: H - 4, class: "aw-plot-label", "text-anchor": "end" }, formatThreshold(grid[n - 1], mode)));
  }
  host.append(root);
}
