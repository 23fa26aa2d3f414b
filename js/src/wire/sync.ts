// The threshold between the view and the kernel (lonboard's python-sync
// pattern): the slider moves over the sweep grid and the view shows that
// grid partition at once; the threshold goes to the kernel only after the
// user pauses (debounced), and whatever the kernel writes applies at once.
// Between the two, `localIndex` is the slider position the kernel has not
// confirmed yet and `awaiting` the threshold sent and not yet drawn.

import { row } from "./codec";
import type { Model } from "./model";
import { debounce, Debounced, nearestIndex, onGrid } from "../controls/slider";
import type { View } from "./state";

export const SLIDER_DEBOUNCE_MS = 150;

/** Two thresholds are the same value (to float tolerance). */
export function sameThreshold(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
}

type Knob = "threshold_mode" | "aggregation" | "method" | "measure" | "lens" | "unit";

export class ThresholdSync {
  /** Slider position not yet confirmed by the kernel (null: the state's own threshold). */
  localIndex: number | null = null;
  /** Threshold sent to the kernel, not yet reflected in the state. */
  private awaiting: number | null = null;
  private readonly write: Debounced<[number]>;

  /** ``offline``: an exported page, where nothing goes to a kernel. */
  constructor(
    private readonly model: Model,
    private readonly offline = false,
    wait = SLIDER_DEBOUNCE_MS,
  ) {
    this.write = debounce((t: number) => this.sendThreshold(t), wait);
  }

  /** The labels on screen: the grid partition at the slider, else the state's own. */
  labels(view: View): Int32Array {
    return this.localIndex !== null ? row(view.gridLabels, this.localIndex) : view.labels;
  }

  /** Grid index the slider shows (-1 with an empty grid). */
  index(view: View): number {
    return this.localIndex ?? nearestIndex(view.grid, view.raw.threshold);
  }

  /** The user moved the slider to grid index ``i``. */
  move(view: View, i: number): void {
    const home = onGrid(view.grid, view.raw.threshold, i); // back at the state's own threshold
    this.localIndex = home ? null : i;
    this.awaiting = home ? null : view.grid[i];
    if (!this.offline) this.write(view.grid[i]);
  }

  /** The user let go of the slider: send what is pending now. */
  release(): void {
    this.write.flush();
  }

  /** Back to the automatic threshold; sent at once (a click, not a drag). */
  reset(view: View): void {
    const best = view.raw.sweep.best;
    this.write.cancel();
    this.localIndex = view.raw.auto ? null : best;
    this.awaiting = this.localIndex === null ? null : view.grid[best];
    if (!this.offline && this.localIndex !== null) this.sendThreshold(view.grid[best]);
  }

  /** A knob that re-clusters in the kernel; a pending slider write would be stale. */
  knob(key: Knob, value: string): void {
    this.write.cancel();
    this.awaiting = null;
    this.model.set(key, value);
    this.model.save_changes();
  }

  /** A new state from the kernel: drop the local position once the kernel has drawn it. */
  stateArrived(view: View): void {
    if (this.awaiting === null || sameThreshold(view.raw.threshold, this.awaiting)) {
      this.localIndex = null;
      this.awaiting = null;
    }
    if (this.localIndex !== null && this.localIndex >= view.grid.length) this.localIndex = null;
  }

  /** The threshold trait changed; a value other than the one sent means Python code moved it. */
  thresholdChanged(): void {
    const t = this.model.get("threshold");
    if (t !== null && this.awaiting !== null && !sameThreshold(t, this.awaiting)) {
      this.awaiting = null; // follow the kernel
      this.localIndex = null;
    }
  }

  /** The kernel reported an error: it will not draw what was sent. */
  failed(): void {
    this.awaiting = null;
  }

  /** The view is going away: send the last slider position rather than lose it. */
  dispose(): void {
    this.write.flush();
  }

  private sendThreshold(t: number): void {
    this.model.set("threshold", t);
    this.model.save_changes();
  }
}
