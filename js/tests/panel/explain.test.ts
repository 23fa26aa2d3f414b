// @vitest-environment happy-dom
// Explanations fetched on click (explain.ts): one request per group, replies
// for a partition the view has left never shown, progress then the badge.
import { describe, expect, it, vi } from "vitest";
import { basisKey, Entry, entryKey, Explanations, explainSection, REQUEST_DELAY_MS } from "../../src/panel/explain";
import type { ClusterInfo, ExplainReply, ExplainRequest } from "../../src/wire/messages";

const MEAN = basisKey("mean", null, null);

function setup() {
  const sent: ExplainRequest[] = [];
  return { sent, ex: new Explanations((c) => sent.push(c)) };
}

/** Show a group in the panel and let the request go out at once. */
function ask(ex: Explanations, basis: string, cluster: number, tokens: number[]): Entry {
  const e = ex.need(basis, cluster, tokens);
  ex.flush();
  return e;
}

function info(rationale: string, scores: Record<string, unknown> = {}): ClusterInfo {
  return { id: 0, size: 2, modularity: 0.1, internal: 0.5, rationale, headline: null, claims: [], evidence: {}, scores };
}

function reply(req: ExplainRequest, extra: Partial<ExplainReply> = {}): ExplainReply {
  return { type: `${req.type}_reply`, id: req.id, error: null, cluster: req.cluster, tokens: req.tokens, basis: ["mean", null, null], info: info("'cat' and 'sat' form a group."), scores_unavailable: null, ...extra };
}

describe("explanation requests", () => {
  it("asks once per group and basis, with the tokens the view shows", () => {
    const { sent, ex } = setup();
    const a = ask(ex, MEAN, 3, [1, 2]);
    expect(a.status).toBe("loading");
    expect(ask(ex, MEAN, 3, [1, 2])).toBe(a);
    expect(sent).toEqual([{ type: "explain", id: 1, cluster: 3, tokens: [1, 2], grid: null }]);
    ask(ex, MEAN, 3, [1, 2, 4]); // the same id at another threshold is another group
    ask(ex, basisKey("max", null, null), 3, [1, 2]);
    expect(sent.map((m) => m.tokens)).toEqual([[1, 2], [1, 2, 4], [1, 2]]);
  });

  it("keeps a group shown ahead of the kernel apart from the same group in the state's partition", () => {
    const { sent, ex } = setup();
    const ahead = ex.need(MEAN, 3, [1, 2], 7);
    ex.flush();
    const own = ask(ex, MEAN, 3, [1, 2]);
    expect(own).not.toBe(ahead);
    expect(sent.map((m) => m.grid)).toEqual([7, null]); // the kernel is told which partition is on screen
    expect(ex.receive(reply(sent[0]))).toBe(entryKey(MEAN, [1, 2], 7));
    expect(ex.get(MEAN, [1, 2], 7)?.status).toBe("done");
    expect(ex.get(MEAN, [1, 2])?.status).toBe("loading");
    ex.measure(MEAN, 3, [1, 2], 7);
    expect(sent[2]).toMatchObject({ type: "scores", tokens: [1, 2], grid: 7 });
  });

  it("asks again for a finished group once the partition's cut test is in, not for one being measured", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[0]));
    ask(ex, MEAN, 4, [5, 6]);
    ex.receive(reply(sent[1]));
    ex.measure(MEAN, 4, [5, 6]);
    ex.forgetDone();
    expect(ex.get(MEAN, [1, 2])).toBeUndefined();
    expect(ex.get(MEAN, [5, 6])?.measuring).not.toBeNull();
    expect(ask(ex, MEAN, 3, [1, 2]).status).toBe("loading");
    expect(sent.filter((m) => m.type === "explain").map((m) => m.tokens)).toEqual([[1, 2], [5, 6], [1, 2]]);
  });

  it("fills the entry from its reply and says which entry changed", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    expect(ex.receive(reply(sent[0]))).toBe(entryKey(MEAN, [1, 2]));
    const e = ex.get(MEAN, [1, 2])!;
    expect(e.status).toBe("done");
    expect(e.info?.rationale).toContain("'cat'");
  });

  it("never files a reply about other tokens or another aggregation under the group asked for", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[0], { tokens: [1, 2, 5] }));
    expect(ex.get(MEAN, [1, 2])).toBeUndefined(); // forgotten: asked again when shown
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[1], { basis: ["max", null, null] }));
    expect(ex.get(MEAN, [1, 2])).toBeUndefined();
    expect(ex.get(basisKey("max", null, null), [1, 2])).toBeUndefined();
    ask(ex, MEAN, 3, [1, 2]);
    expect(sent).toHaveLength(3);
  });

  it("ignores messages that answer nothing it asked", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    expect(ex.receive({ ...reply(sent[0]), type: "scores_reply" })).toBeNull(); // a reply of another kind
    expect(ex.receive({ ...reply(sent[0]), id: 99 })).toBeNull();
    expect(ex.receive(reply(sent[0]))).not.toBeNull();
    expect(ex.receive(reply(sent[0]))).toBeNull(); // answered already
  });

  it("shows the kernel's error in plain words", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[0], { error: "The explanation could not be made: cluster 3 does not exist here", info: null }));
    const e = ex.get(MEAN, [1, 2])!;
    expect(e.status).toBe("error");
    const box = explainSection(e, undefined, () => {});
    expect(box.querySelector('[data-testid="panel-explain-error"]')?.textContent).toContain("cluster 3 does not exist");
  });
});

describe("dragging the slider with a cluster selected", () => {
  it("asks only about the group the panel still shows once the drag pauses", () => {
    vi.useFakeTimers();
    try {
      const { sent, ex } = setup();
      ex.need(MEAN, 3, [1, 2]);
      ex.need(MEAN, 3, [1, 2, 4]);
      ex.need(MEAN, 3, [1, 2, 4, 5]);
      expect(sent).toHaveLength(0);
      vi.advanceTimersByTime(REQUEST_DELAY_MS);
      expect(sent).toEqual([{ type: "explain", id: 1, cluster: 3, tokens: [1, 2, 4, 5], grid: null }]);
      ex.need(MEAN, 3, [1, 2]); // back to a group passed over: asked now
      vi.advanceTimersByTime(REQUEST_DELAY_MS);
      expect(sent.map((m) => m.tokens)).toEqual([[1, 2, 4, 5], [1, 2]]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("measuring faithfulness", () => {
  it("reports progress, then files the scores; a second click while it runs sends nothing", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[0]));
    ex.measure(MEAN, 3, [1, 2]);
    ex.measure(MEAN, 3, [1, 2]);
    expect(sent.slice(1)).toEqual([{ type: "scores", id: 2, cluster: 3, tokens: [1, 2], grid: null }]);
    const key = ex.receive({ type: "scores_progress", id: 2, cluster: 3, tokens: [1, 2], done: 1, total: 3, message: "cluster 3: knockout" });
    expect(key).toBe(entryKey(MEAN, [1, 2]));
    const e = ex.get(MEAN, [1, 2])!;
    const running = explainSection(e, undefined, () => {});
    expect(running.querySelector<HTMLButtonElement>('[data-testid="panel-measure"]')!.disabled).toBe(true);
    expect(running.querySelector('[data-testid="panel-measure-status"]')?.textContent).toBe("cluster 3: knockout (1/3)");
    const faith = { knockout: { score: 0.2, baseline: 0.05, beats: 0.9 }, n_random: 10 };
    ex.receive(reply(sent[1], { info: info("x", { faithfulness: faith }) }));
    expect(e.measuring).toBeNull();
    expect(e.info?.scores?.faithfulness).toEqual(faith);
    expect(explainSection(e, faith, () => {}).querySelector('[data-testid="panel-measure"]')).toBeNull();
  });

  it("says why a cluster was not measured (it covers the whole text)", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[0]));
    const box = explainSection(ex.get(MEAN, [1, 2])!, { skipped: "the cluster covers the whole text: nothing to compare it with", n_random: 0 }, () => {});
    expect(box.querySelector('[data-testid="panel-measure-status"]')?.textContent).toBe("Faithfulness not measured: the cluster covers the whole text: nothing to compare it with.");
    expect(box.querySelector('[data-testid="panel-measure"]')).toBeNull();
  });

  it("disables the button and says why when scores need a model", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[0], { scores_unavailable: "Faithfulness scores need the model that made the attention" }));
    const box = explainSection(ex.get(MEAN, [1, 2])!, undefined, () => {});
    expect(box.querySelector<HTMLButtonElement>('[data-testid="panel-measure"]')!.disabled).toBe(true);
    expect(box.querySelector('[data-testid="panel-measure-status"]')?.textContent).toContain("need the model");
  });

  it("keeps a failed measurement's error next to the button, which works again", () => {
    const { sent, ex } = setup();
    ask(ex, MEAN, 3, [1, 2]);
    ex.receive(reply(sent[0]));
    ex.measure(MEAN, 3, [1, 2]);
    ex.receive(reply(sent[1], { error: "Could not load the model to measure faithfulness: no network", info: null }));
    const e: Entry = ex.get(MEAN, [1, 2])!;
    expect(e.status).toBe("done"); // the rationale stays
    let clicked = 0;
    const box = explainSection(e, undefined, () => clicked++);
    const button = box.querySelector<HTMLButtonElement>('[data-testid="panel-measure"]')!;
    expect(button.disabled).toBe(false);
    expect(box.querySelector('[data-testid="panel-measure-status"]')?.textContent).toContain("no network");
    button.click();
    expect(clicked).toBe(1);
  });
});
