// The drill-down iframe takes the height its page reports, within bounds; other messages are ignored.
import { describe, expect, it } from "vitest";
import { FRAME_HEIGHT, HEIGHT_MESSAGE, reportedHeight } from "../../src/extras/drillview";

describe("the drill-down's height report", () => {
  it("sizes the frame to the page's content, kept within bounds", () => {
    expect(reportedHeight({ type: HEIGHT_MESSAGE, height: 431.6 })).toBe(432);
    expect(reportedHeight({ type: HEIGHT_MESSAGE, height: 10 })).toBe(FRAME_HEIGHT.min);
    expect(reportedHeight({ type: HEIGHT_MESSAGE, height: 1e9 })).toBe(FRAME_HEIGHT.max);
  });

  it("ignores messages that are not a height report", () => {
    expect(reportedHeight(null)).toBeNull();
    expect(reportedHeight("attn-widget-height")).toBeNull();
    expect(reportedHeight({ type: "other", height: 300 })).toBeNull();
    expect(reportedHeight({ type: HEIGHT_MESSAGE, height: "300" })).toBeNull();
    expect(reportedHeight({ type: HEIGHT_MESSAGE, height: Number.NaN })).toBeNull();
  });
});
