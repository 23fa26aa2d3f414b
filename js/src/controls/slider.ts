// Slider logic: the slider moves over the sweep grid (so the view can render
// the precomputed partition at once) and writes the threshold to the kernel
// after the user pauses (debounced); kernel writes apply at once.

/** Index of the grid value nearest to ``value`` (grid ascending). */
export function nearestIndex(grid: ArrayLike<number>, value: number): number {
  if (grid.length === 0) return -1;
  let best = 0;
  let bestDist = Infinity;
  for (let i = 0; i < grid.length; i++) {
    const d = Math.abs(grid[i] - value);
    if (d < bestDist) {
      best = i;
      bestDist = d;
    }
  }
  return best;
}

/** True when ``value`` is (to float tolerance) exactly grid value ``i``. */
export function onGrid(grid: ArrayLike<number>, value: number, i: number): boolean {
  return i >= 0 && i < grid.length && Math.abs(grid[i] - value) <= 1e-9 * Math.max(1, Math.abs(value));
}

export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  flush(): void;
  cancel(): void;
}

/** Call ``fn`` once calls have paused for ``wait`` ms, with the latest arguments. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, wait: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let last: A | null = null;
  const run = () => {
    timer = null;
    if (last) {
      const args = last;
      last = null;
      fn(...args);
    }
  };
  const d = ((...args: A) => {
    last = args;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(run, wait);
  }) as Debounced<A>;
  d.flush = () => {
    if (timer !== null) clearTimeout(timer);
    run();
  };
  d.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    last = null;
  };
  return d;
}

/** Threshold for display: shares as percentages in mass mode, 3 significant digits otherwise. */
export function formatThreshold(value: number, mode: string): string {
  if (mode === "mass") return `${(value * 100).toFixed(value < 0.1 ? 1 : 0)}%`;
  return value.toPrecision(3);
}

/** "0-2, 5" → [0, 1, 2, 5]; "" or "all" → null. Throws a readable error otherwise. */
export function parseIndexList(input: string): number[] | null {
  const s = input.trim().toLowerCase();
  if (s === "" || s === "all") return null;
  const out: number[] = [];
  for (const part of s.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a layer number or range like 2-5`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`range "${part}" runs backwards`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

/** "5.1 6.9" → [[5, 1], [6, 9]] (layer.head pairs). */
export function parseHeadList(input: string): [number, number][] | null {
  const s = input.trim();
  if (s === "") return null;
  return s.split(/[\s,]+/).filter(Boolean).map((part) => {
    const m = /^(\d+)\.(\d+)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a head like 5.1 (layer.head)`);
    return [Number(m[1]), Number(m[2])] as [number, number];
  });
}
