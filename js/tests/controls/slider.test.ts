import { afterEach, describe, expect, it, vi } from "vitest";
import { debounce, formatThreshold, nearestIndex, onGrid, parseHeadList, parseIndexList } from "../../src/controls/slider";

afterEach(() => vi.useRealTimers());

describe("snapping", () => {
  const grid = [0.01, 0.02, 0.04, 0.08];
  it("snaps to the nearest grid value", () => {
    expect(nearestIndex(grid, 0.05)).toBe(2);
    expect(nearestIndex(grid, 1)).toBe(3);
    expect(nearestIndex(grid, -1)).toBe(0);
    expect(nearestIndex([], 1)).toBe(-1);
  });
  it("knows when a value is exactly on the grid", () => {
    expect(onGrid(grid, 0.04, 2)).toBe(true);
    expect(onGrid(grid, 0.041, 2)).toBe(false);
  });
});

describe("debounce", () => {
  it("sends only the last value once the slider pauses", () => {
    vi.useFakeTimers();
    const sent: number[] = [];
    const d = debounce((x: number) => sent.push(x), 150);
    d(1);
    d(2);
    vi.advanceTimersByTime(100);
    d(3);
    vi.advanceTimersByTime(149);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([3]);
  });
  it("flushes at once on release and cancels on reset", () => {
    vi.useFakeTimers();
    const sent: number[] = [];
    const d = debounce((x: number) => sent.push(x), 150);
    d(5);
    d.flush();
    expect(sent).toEqual([5]);
    d(6);
    d.cancel();
    vi.advanceTimersByTime(500);
    expect(sent).toEqual([5]);
  });
});

describe("parsing and display", () => {
  it("parses layer lists and ranges", () => {
    expect(parseIndexList("0-2, 5 5")).toEqual([0, 1, 2, 5]);
    expect(parseIndexList(" all ")).toBeNull();
    expect(() => parseIndexList("x")).toThrow(/"x" is not a layer/);
  });
  it("parses heads as layer.head", () => {
    expect(parseHeadList("5.1 6.9")).toEqual([[5, 1], [6, 9]]);
    expect(() => parseHeadList("5")).toThrow(/layer\.head/);
  });
  it("formats thresholds by mode", () => {
    expect(formatThreshold(0.5, "mass")).toBe("50%");
    expect(formatThreshold(0.012345, "absolute")).toBe("0.0123");
  });
});
