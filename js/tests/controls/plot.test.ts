// @vitest-environment happy-dom
// The plot beside the slider: its axis values read as numbers a person expects
// (a modularity a hair below zero is "0.00", never "-0.00").
import { describe, expect, it } from "vitest";
import { axisNumber, drawPlot } from "../../src/controls/plot";

function labels(host: Element): string[] {
  return Array.from(host.querySelectorAll("text"), (t) => t.textContent ?? "");
}

describe("the plot's axis values", () => {
  it("say 0.00 for a value that rounds to zero from below, and keep real negatives", () => {
    expect(axisNumber(-0.001)).toBe("0.00");
    expect(axisNumber(-0)).toBe("0.00");
    expect(axisNumber(-0.004999)).toBe("0.00");
    expect(axisNumber(-0.02)).toBe("-0.02");
    expect(axisNumber(0.456)).toBe("0.46");
  });

  it("never draw -0.00 on the modularity axis", () => {
    const host = document.createElement("div");
    drawPlot(host, [0.01, 0.02, 0.03], [-0.0012, 0.31, 0.12], [5, 3, 1], 1, 1, "absolute");
    const shown = labels(host);
    expect(shown).not.toContain("-0.00");
    expect(shown).toContain("0.00");
    expect(shown).toContain("0.31");
  });
});
