// The threshold between view and kernel (sync.ts), on the golden state Python
// wrote: the slider shows grid partitions at once, writes reach the kernel
// after a pause, and whatever the kernel writes wins.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { row } from "../../src/wire/codec";
import { decodeState, View } from "../../src/wire/state";
import { SLIDER_DEBOUNCE_MS, ThresholdSync } from "../../src/wire/sync";
import { golden } from "../helpers/golden";
import { FakeModel, fakeModel, traitsOf } from "../helpers/model";

const state = golden().state;

/** The golden state, optionally at another threshold the kernel drew. */
function viewAt(changes: { threshold?: number; auto?: boolean } = {}): View {
  return decodeState({ ...state, ...changes });
}

let view: View;
let model: FakeModel;
let sync: ThresholdSync;
const best = () => view.raw.sweep.best;
const other = () => view.grid.length - 1; // the highest threshold: fewer, smaller clusters than the automatic one

beforeEach(() => {
  vi.useFakeTimers();
  view = viewAt();
  model = fakeModel(traitsOf({ state: null, threshold: view.raw.threshold }));
  sync = new ThresholdSync(model);
});

afterEach(() => vi.useRealTimers());

describe("moving the slider", () => {
  it("shows the grid partition at once and writes the threshold only once the slider pauses", () => {
    expect(sync.index(view)).toBe(best());
    sync.move(view, other());
    expect(Array.from(sync.labels(view))).toEqual(Array.from(row(view.gridLabels, other())));
    expect(Array.from(sync.labels(view))).not.toEqual(Array.from(view.labels));
    expect(sync.index(view)).toBe(other());
    sync.move(view, 0);
    sync.move(view, other());
    expect(model.saves).toBe(0);
    vi.advanceTimersByTime(SLIDER_DEBOUNCE_MS);
    expect(model.get("threshold")).toBe(view.grid[other()]);
    expect(model.saves).toBe(1);
  });

  it("sends the last position at once when the slider is let go", () => {
    sync.move(view, other());
    sync.release();
    expect(model.get("threshold")).toBe(view.grid[other()]);
    vi.advanceTimersByTime(SLIDER_DEBOUNCE_MS);
    expect(model.saves).toBe(1);
  });

  it("keeps its position until the kernel has drawn that threshold, then shows the kernel's state", () => {
    sync.move(view, other());
    sync.release();
    sync.stateArrived(viewAt()); // an older state (another knob) arrives first
    expect(sync.localIndex).toBe(other());
    view = viewAt({ threshold: view.grid[other()], auto: false });
    sync.stateArrived(view);
    expect(sync.localIndex).toBeNull();
    expect(sync.index(view)).toBe(other());
    expect(sync.labels(view)).toBe(view.labels);
  });

  it("drops its position when moved back to the state's own threshold", () => {
    sync.move(view, other());
    sync.move(view, best());
    expect(sync.localIndex).toBeNull();
  });
});

describe("what the kernel writes applies at once", () => {
  it("follows a threshold set from Python while a slider write is on its way", () => {
    sync.move(view, other());
    sync.release();
    model.set("threshold", view.grid[0]);
    sync.thresholdChanged();
    expect(sync.localIndex).toBeNull();
  });

  it("keeps the slider's position when the kernel only echoes the threshold it was sent", () => {
    sync.move(view, other());
    sync.release();
    sync.thresholdChanged();
    expect(sync.localIndex).toBe(other());
  });

  it("sends a knob at once and drops a slider write that would re-cluster the old graph", () => {
    sync.move(view, other());
    sync.knob("method", "leiden");
    expect(model.get("method")).toBe("leiden");
    expect(model.saves).toBe(1);
    vi.advanceTimersByTime(SLIDER_DEBOUNCE_MS);
    expect(model.get("threshold")).toBe(view.raw.threshold);
    expect(model.saves).toBe(1);
  });
});

describe("reset to automatic", () => {
  it("sends the automatic threshold at once when the state is at another one", () => {
    view = viewAt({ threshold: view.grid[other()], auto: false });
    sync.move(view, 0);
    sync.reset(view);
    expect(model.get("threshold")).toBe(view.grid[best()]);
    expect(sync.localIndex).toBe(best());
    vi.advanceTimersByTime(SLIDER_DEBOUNCE_MS);
    expect(model.saves).toBe(1); // the drag's pending write was dropped
  });

  it("sends nothing when the state is already automatic", () => {
    sync.move(view, other());
    sync.reset(view);
    vi.advanceTimersByTime(SLIDER_DEBOUNCE_MS);
    expect(sync.localIndex).toBeNull();
    expect(model.saves).toBe(0);
  });
});

describe("an exported page", () => {
  it("moves over the grid but writes nothing, having no kernel", () => {
    const offline = new ThresholdSync(model, true);
    offline.move(view, other());
    offline.release();
    vi.advanceTimersByTime(SLIDER_DEBOUNCE_MS);
    expect(Array.from(offline.labels(view))).toEqual(Array.from(row(view.gridLabels, other())));
    expect(model.saves).toBe(0);
  });
});

it("sends the last slider position when the view goes away mid-drag", () => {
  sync.move(view, other());
  sync.dispose();
  expect(model.get("threshold")).toBe(view.grid[other()]);
});
