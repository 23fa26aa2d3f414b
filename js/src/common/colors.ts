// Cluster colours. The first seven are Okabe–Ito, a palette safe for the common
// colour-vision deficiencies; clusters 8–10 get three more hues (olive, magenta,
// brown, from Paul Tol's schemes, chosen to be far from the first seven and
// from both theme backgrounds) AND a dashed underline, so they differ from the
// first seven by hue and by pattern. Past ten the hues repeat with the
// next underline pattern. Fills are translucent so the theme's own text colour
// stays readable on light and dark JupyterLab themes; ``fillDistance`` measures
// how far apart two fills look over a given background (tests keep the first
// ten at least MIN_DISTANCE apart in both themes).
// attn_widget/export.py keeps a copy of PALETTE (a Python test compares them).

export const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];
/** Hues for clusters 8–10 (olive, magenta, brown); drawn with a dashed underline. Darker
 * candidates (Tol's indigo #332288, wine #882255) looked faint on the dark theme in screenshots. */
export const EXTRA = ["#999933", "#EE3377", "#AA7744"];
export const COLOURS = [...PALETTE, ...EXTRA];
export const PATTERNS = ["solid", "dashed", "dotted", "double"] as const;
export const FILL_ALPHA = 0.38;
/** Fill of the clusters that are not selected while one is (they step back). */
export const DIM_ALPHA = 0.16;

export interface Swatch {
  color: string;
  fill: string;
  pattern: (typeof PATTERNS)[number];
  /** CSS classes that paint this swatch (see ``swatchCss``) */
  className: string;
}

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** "#RRGGBB" → "rgba(r, g, b, alpha)". */
export function translucent(hex: string, alpha = FILL_ALPHA): string {
  const [r, g, b] = rgb(hex);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Colour index and underline pattern index of the k-th coloured cluster (k from 0). */
export function swatchIndex(k: number): { colour: number; pattern: number } {
  const colour = k % COLOURS.length;
  const round = Math.floor(k / COLOURS.length) + (colour >= PALETTE.length ? 1 : 0);
  return { colour, pattern: round % PATTERNS.length };
}

/** The swatch of colour slot ``k`` (slot k is the k-th colour, then the next underline pattern). */
export function swatchOf(k: number): Swatch {
  const { colour, pattern } = swatchIndex(k);
  const color = COLOURS[colour];
  return { color, fill: translucent(color), pattern: PATTERNS[pattern], className: `aw-k${colour} aw-p${pattern}` };
}

/**
 * Colour per cluster id for the clusters with at least two tokens, in id
 * order (ids are numbered by first token, so colours follow reading order).
 * Singletons and excluded tokens (label -1) get no colour. ``slots`` (cluster
 * id → colour slot, from the kernel: a cluster followed across generation
 * steps, or matched across a comparison) fix some clusters' colours; the
 * others take the lowest slots left.
 */
export function assignColors(labels: ArrayLike<number>, slots?: ReadonlyMap<number, number>): Map<number, Swatch> {
  const ids = [...clusterSizes(labels).entries()].filter(([, n]) => n > 1).map(([id]) => id).sort((a, b) => a - b);
  const fixed = new Map(ids.flatMap((id) => (slots?.has(id) ? [[id, slots.get(id) as number] as const] : [])));
  const used = new Set(fixed.values());
  let next = 0;
  const out = new Map<number, Swatch>();
  for (const id of ids) {
    let slot = fixed.get(id);
    if (slot === undefined) {
      while (used.has(next)) next++;
      slot = next++;
    }
    out.set(id, swatchOf(slot));
  }
  return out;
}

/**
 * Slots for a partition the kernel has not coloured (a slider position ahead of
 * it): each cluster takes the slot of the coloured cluster it shares most
 * tokens with (one to one, largest overlap first); the rest get none.
 */
export function inheritSlots(labels: ArrayLike<number>, base: ArrayLike<number>, slots: ReadonlyMap<number, number>): Map<number, number> {
  const overlap = new Map<string, number>();
  for (let i = 0; i < Math.min(labels.length, base.length); i++) {
    if (labels[i] < 0 || !slots.has(base[i])) continue;
    const key = `${labels[i]}:${base[i]}`;
    overlap.set(key, (overlap.get(key) ?? 0) + 1);
  }
  const ranked = [...overlap.entries()].map(([k, n]) => [...k.split(":").map(Number), n]).sort((x, y) => y[2] - x[2] || x[0] - y[0] || x[1] - y[1]);
  const out = new Map<number, number>();
  const taken = new Set<number>();
  for (const [id, from] of ranked) {
    if (out.has(id) || taken.has(from)) continue;
    out.set(id, slots.get(from) as number);
    taken.add(from);
  }
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
  const colours = COLOURS.map((c, i) => `${scope} .aw-k${i}{--aw-fill:${translucent(c)};--aw-fill-dim:${translucent(c, DIM_ALPHA)};--aw-line:${c}}`);
  const patterns = PATTERNS.map((p, j) => `${scope} .aw-p${j}{--aw-pattern:${p}}`);
  return [...colours, ...patterns].join("\n");
}

// ------------------------------------------------------------- distinctness

/** CIELAB of an sRGB triple (D65). */
function lab([r, g, b]: number[]): [number, number, number] {
  const lin = (v: number) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const xyz = [(0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047, 0.2126 * R + 0.7152 * G + 0.0722 * B, (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883];
  const f = xyz.map((t) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116));
  return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])];
}

/** The colour a translucent fill of ``hex`` shows over ``background`` ("#RRGGBB"). */
export function composite(hex: string, background: string, alpha = FILL_ALPHA): number[] {
  const top = rgb(hex);
  return rgb(background).map((b, i) => alpha * top[i] + (1 - alpha) * b);
}

/** How different two cluster fills look over ``background``: CIE76 ΔE (≈ 2.3 is just noticeable). */
export function fillDistance(a: string, b: string, background: string): number {
  const [p, q] = [lab(composite(a, background)), lab(composite(b, background))];
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}
