// Messages from the kernel are checked against messages.ts (which
// tests/view/test_messages.py keeps equal to attn_widget/view/messages.py)
// before the view trusts them.
import { describe, expect, it } from "vitest";
import { kernelMessage } from "../../src/wire/messages";
import { golden } from "../helpers/golden";

const cluster = golden().state.clusters as unknown[];

const EXPLAIN_REPLY = {
  type: "explain_reply",
  id: 4,
  error: null,
  cluster: 0,
  tokens: [1, 2, 3],
  basis: ["mean", null, null],
  info: cluster[0],
  scores_unavailable: "Faithfulness scores need the model that made the attention",
};

describe("messages from the kernel", () => {
  it("accepts each message kind the kernel sends, as Python writes it", () => {
    expect(kernelMessage(EXPLAIN_REPLY)).toEqual(EXPLAIN_REPLY);
    const progress = { type: "scores_progress", id: 5, cluster: 0, tokens: [1, 2, 3], done: 2, total: 9, message: "knockout" };
    expect(kernelMessage(progress)).toEqual(progress);
    const failed = { type: "drilldown_reply", id: 1, error: "The drill-down could not be drawn: layers [40] out of range" };
    expect(kernelMessage(failed)).toEqual({ ...failed, capped: undefined, note: undefined });
    const drawn = { type: "drilldown_reply", id: 2, error: null, capped: true, note: "capped to 2 layers" };
    expect(kernelMessage(drawn)).toEqual(drawn);
  });

  it("keeps an explanation's cluster as the panel reads it", () => {
    const msg = kernelMessage(EXPLAIN_REPLY);
    expect(msg?.type === "explain_reply" && msg.info?.rationale).toMatch(/form a group/);
  });

  it("leaves other widgets' messages alone", () => {
    expect(kernelMessage({ type: "ack", response_id: "x" })).toBeNull();
    expect(kernelMessage({ type: "toString" })).toBeNull();
    expect(kernelMessage("drilldown_reply")).toBeNull();
    expect(kernelMessage(null)).toBeNull();
  });

  it("names the field that does not match what Python declares", () => {
    expect(() => kernelMessage({ ...EXPLAIN_REPLY, tokens: [1, "2"] })).toThrow("explain_reply message.tokens[1] should be an integer, got the string \"2\"");
    const { basis: _, ...noBasis } = EXPLAIN_REPLY;
    expect(() => kernelMessage(noBasis)).toThrow("explain_reply message.basis should be an array, got nothing (the key is missing)");
    expect(() => kernelMessage({ ...EXPLAIN_REPLY, info: { id: 0 } })).toThrow(/explain_reply message\.info\.size should be an integer/);
    expect(() => kernelMessage({ type: "scores_progress", id: 1, cluster: 0, tokens: null, done: 1, total: 2 })).toThrow(/scores_progress message\.message should be a string/);
  });
});
