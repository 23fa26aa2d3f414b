// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { assignColors } from "../../src/common/colors";
import { drawLegend, LEGEND_MAX, legendLabel, membersOf } from "../../src/text/legend";

describe("legend", () => {
  it("labels a cluster with its first words and size", () => {
    const tokens = ["The", " cat", " sat", " on", " the", "\n"];
    expect(legendLabel(3, [0, 1, 2, 3, 4], tokens)).toBe("3: The cat sat on … (5)");
    expect(legendLabel(1, [5, 1], tokens)).toBe("1: ⏎ cat (2)");
    expect([...membersOf([-1, 0, 1, 0]).entries()]).toEqual([[0, [1, 3]], [1, [2]]]);
  });

  it("caps long legends behind a toggle and selects clusters on click", () => {
    const labels = Array.from({ length: 40 }, (_, i) => Math.floor(i / 2)); // 20 pairs
    const host = document.createElement("div");
    const onSelect = vi.fn();
    const onToggle = vi.fn();
    const tokens = labels.map((_, i) => `w${i}`);
    drawLegend(host, { labels, colours: assignColors(labels), tokens, hasExcluded: true, open: false, onSelect, onToggle });
    const items = host.querySelectorAll<HTMLElement>('[data-testid="legend-item"]');
    expect(items).toHaveLength(LEGEND_MAX);
    const more = host.querySelector<HTMLElement>('[data-testid="legend-more"]')!;
    expect(more.textContent).toBe(`+${20 - LEGEND_MAX} more`);
    more.click();
    expect(onToggle).toHaveBeenCalledOnce();
    items[2].click();
    expect(onSelect).toHaveBeenCalledWith(2);
    expect(host.textContent).toContain("excluded (attention sink)");
    drawLegend(host, { labels, colours: assignColors(labels), tokens, hasExcluded: false, open: true, onSelect, onToggle });
    expect(host.querySelectorAll('[data-testid="legend-item"]')).toHaveLength(20);
  });
});
