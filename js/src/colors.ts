// Cluster colours: Okabe–Ito, a palette safe for the common colour-vision
// deficiencies. Fills are translucent so the theme's own text colour stays
// readable on light and dark JupyterLab themes; past 7 clusters the colours
// repeat with a different underline pattern so clusters stay distinguishable.
// attn_widget/export.py keeps a copy of PALETTE (a Python test compares them).

export const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];
export const PATTERNS = ["solid", "dashed", "dotted", "double"] as const;
export const FILL_ALPHA = 0.38;

export interface Swatch {
  color: string;
  fill: string;
  pattern: (typeof PATTERNS)[number];
  /** CSS classes that paint this swatch (see ``swatchCss``) */
  className: string;
}

/** "#RRGGBB" → "rgba(r, g, b, alpha)". */
export function translucent(hex: string, alpha = FILL_ALPHA): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/**
 * Colour per cluster id for the clusters with at least two tokens, in id
 * order (ids are numbered by first token, so colours follow reading order).
 * Singletons and excluded tokens (label -1) get no colour.
 */
export function assignColors(labels: ArrayLike<number>): Map<number, Swatch> {
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l >= 0) counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const ids = [...counts.entries()].filter(([, n]) => n > 1).map(([id]) => id).sort((a, b) => a - b);
  const out = new Map<number, Swatch>();
  ids.forEach((id, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pattern = PATTERNS[Math.floor(k / PALETTE.length) % PATTERNS.length];
    const c = k % PALETTE.length;
    const p = Math.floor(k / PALETTE.length) % PATTERNS.length;
    out.set(id, { color, fill: translucent(color), pattern, className: `aw-k${c} aw-p${p}` });
  });
  return out;
}

/** Cluster sizes by id (excluded tokens skipped). */
export function clusterSizes(labels: ArrayLike<number>): Map<number, number> {
  const sizes = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) sizes.set(labels[i], (sizes.get(labels[i]) ?? 0) + 1);
  return sizes;
}

/** Style rules for the swatch classes: ``.aw-k{i}`` sets colour i, ``.aw-p{j}`` underline pattern j. */
export function swatchCss(scope = ".aw-root"): string {
  const colours = PALETTE.map((c, i) => `${scope} .aw-k${i}{--aw-fill:${translucent(c)};--aw-line:${c}}`);
  const patterns = PATTERNS.map((p, j) => `${scope} .aw-p${j}{--aw-pattern:${p}}`);
  return [...colours, ...patterns].join("\n");
}
