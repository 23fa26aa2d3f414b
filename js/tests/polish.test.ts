// @vitest-environment happy-dom
// What users saw in screenshots (issue 3 follow-up): look-alike cluster
// colours, "·cat" in the legend and panel, plot labels over the curves, a heavy
// selection box, and a white drill-down in a dark theme.
import { describe, expect, it } from "vitest";
import { assignColors, COLOURS, fillDistance, PALETTE, swatchCss } from "../src/common/colors";
import { readable } from "../src/common/dom";
import { luminance, themeMode } from "../src/extras/drilldown";
import { drawLegend } from "../src/text/legend";
import { renderPanel } from "../src/panel/panel";
import { drawPlot, PAD, PLOT_SIZE } from "../src/controls/plot";
import { markSelected } from "../src/text/text";

const BACKGROUNDS = { light: "#FFFFFF", dark: "#111111" }; // JupyterLab's --jp-layout-color1
const MIN_DISTANCE = 9; // CIE76 ΔE; Okabe–Ito's closest pair (sky blue / blue) is 9.8 over white

const pairs = (n: number) => Array.from({ length: n }, (_, i) => [i, i]).flat(); // n clusters of two tokens

describe("cluster colours", () => {
  it("gives ten clusters ten fills that look different in light and dark themes", () => {
    const swatches = [...assignColors(pairs(10)).values()];
    expect(new Set(swatches.map((s) => s.color)).size).toBe(10);
    for (const [theme, bg] of Object.entries(BACKGROUNDS)) {
      for (let a = 0; a < 10; a++)
        for (let b = a + 1; b < 10; b++) {
          const d = fillDistance(swatches[a].color, swatches[b].color, bg);
          expect(d, `clusters ${a} and ${b} in the ${theme} theme`).toBeGreaterThanOrEqual(MIN_DISTANCE);
        }
    }
  });

  it("keeps every fill visible against the background of both themes", () => {
    const MIN_FROM_BACKGROUND = 19; // Okabe–Ito's yellow over white is 19.5
    for (const [theme, bg] of Object.entries(BACKGROUNDS))
      for (const c of COLOURS) expect(fillDistance(c, bg, bg), `${c} over the ${theme} background`).toBeGreaterThanOrEqual(MIN_FROM_BACKGROUND);
  });

  it("keeps Okabe–Ito for the first seven and marks the extra hues with a dashed underline", () => {
    const swatches = [...assignColors(pairs(10)).values()];
    expect(swatches.slice(0, 7).map((s) => s.color)).toEqual(PALETTE);
    expect(swatches.slice(0, 7).every((s) => s.pattern === "solid")).toBe(true);
    expect(swatches.slice(7).every((s) => s.pattern === "dashed")).toBe(true);
  });

  it("never repeats a colour and pattern pair for up to 40 clusters", () => {
    const swatches = [...assignColors(pairs(40)).values()];
    expect(new Set(swatches.map((s) => `${s.color}/${s.pattern}`)).size).toBe(40);
    expect(new Set(swatches.map((s) => s.className)).size).toBe(40);
  });

  it("has a style rule (fill, faded fill, line) for every colour class it hands out", () => {
    const css = swatchCss();
    COLOURS.forEach((_, i) => expect(css).toMatch(new RegExp(`\\.aw-k${i}\\{--aw-fill:[^}]*--aw-fill-dim:[^}]*--aw-line:`)));
  });
});

describe("tokens as a person reads them", () => {
  it("drops the leading space and marks whitespace-only tokens", () => {
    expect(readable(" cat")).toBe("cat");
    expect(readable("The")).toBe("The");
    expect(readable("\n")).toBe("⏎");
    expect(readable("\n\n")).toBe("⏎⏎");
    expect(readable(" ")).toBe("␣");
    expect(readable("\t")).toBe("⇥");
    expect(readable("")).toBe("∅");
    expect(readable(" <b>x</b>")).toBe("<b>x</b>");
  });

  it("shows readable words in the legend and the panel, never ·", () => {
    const tokens = ["The", " cat", " sat", "\n", " down"];
    const labels = [0, 0, 0, 0, 1];
    const legend = document.createElement("div");
    drawLegend(legend, { labels, colours: assignColors([0, 0, 1, 1]), tokens, hasExcluded: false, open: false, onSelect: () => {}, onToggle: () => {} });
    expect(legend.textContent).toContain("1: The cat sat ⏎ (4)");
    const panel = document.createElement("aside");
    renderPanel(panel, { id: 0, tokens: [0, 1, 2, 3], tokenText: tokens, facts: null, info: null, pending: false, onClose: () => {} });
    const chips = [...panel.querySelectorAll("[data-testid=panel-tokens] .aw-chip")].map((c) => c.textContent);
    expect(chips).toEqual(["The", "cat", "sat", "⏎"]);
    expect(panel.textContent).not.toContain("·");
  });
});

describe("modularity / cluster-count plot", () => {
  it("puts every label outside the frame the curves are drawn in", () => {
    const host = document.createElement("div");
    const grid = [0.001, 0.01, 0.02, 0.05, 0.1];
    drawPlot(host, grid, [0.1, 0.16, 0.16, 0.12, 0.0], [1, 3, 3, 2, 1], 2, 3, "absolute");
    const frame = { x0: PAD.l, x1: PLOT_SIZE.width - PAD.r, y0: PAD.t, y1: PLOT_SIZE.height - PAD.b };
    const FONT = 9; // px (widget.css .aw-plot-label); ~0.6 em per character
    const labels = [...host.querySelectorAll("text")];
    expect(labels.map((t) => t.textContent)).toEqual(expect.arrayContaining(["modularity", "clusters"]));
    for (const t of labels) {
      const x = Number(t.getAttribute("x"));
      const y = Number(t.getAttribute("y"));
      const w = (t.textContent ?? "").length * FONT * 0.6;
      const [left, right] = t.getAttribute("text-anchor") === "end" ? [x - w, x] : [x, x + w];
      const [top, bottom] = [y - FONT, y];
      const overlaps = left < frame.x1 && right > frame.x0 && top < frame.y1 && bottom > frame.y0;
      expect(overlaps, `label "${t.textContent}" at (${x}, ${y}) overlaps the plot area`).toBe(false);
    }
  });
});

describe("selection", () => {
  it("marks the chosen cluster's tokens and tells the text to dim the rest, and undoes it", () => {
    const host = document.createElement("div");
    const spans = [0, 1, 2, 3].map(() => host.appendChild(document.createElement("span")));
    expect(markSelected(spans, [0, 1, 0, 1], 1, host)).toBe(2);
    expect(spans.map((s) => s.classList.contains("aw-selected"))).toEqual([false, true, false, true]);
    expect(host.classList.contains("aw-has-selection")).toBe(true);
    expect(markSelected(spans, [0, 1, 0, 1], null, host)).toBe(0);
    expect(host.classList.contains("aw-has-selection")).toBe(false);
    expect(spans.some((s) => s.classList.contains("aw-selected"))).toBe(false);
  });
});

describe("drill-down theme", () => {
  it("follows JupyterLab's theme flag, else the widget's background", () => {
    expect(themeMode({ jpThemeLight: "false" }, "rgb(255, 255, 255)")).toBe("dark");
    expect(themeMode({ jpThemeLight: "true" }, "rgb(0, 0, 0)")).toBe("light");
    expect(themeMode({}, "rgb(17, 17, 17)")).toBe("dark");
    expect(themeMode({}, "#1e1e1e")).toBe("dark");
    expect(themeMode({}, "rgb(255, 255, 255)")).toBe("light");
    expect(themeMode({}, "rgba(0, 0, 0, 0)")).toBe("light"); // transparent: no information
    expect(luminance("#ffffff")).toBeCloseTo(1);
  });
});
