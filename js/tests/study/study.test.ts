import { describe, expect, it } from "vitest";
import { canFinish, newId, Outbox, ratingResponse, ResponsePayload, taskResponse, TaskTimer } from "../../src/study/study";

const NOW = new Date("2026-05-01T10:00:00.000Z");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("response ids", () => {
  it("are v4 UUIDs, unique, with or without crypto.randomUUID", () => {
    const ids = new Set(Array.from({ length: 200 }, () => newId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(UUID);
    const noRandomUUID = { getRandomValues: (a: Uint8Array) => crypto.getRandomValues(a) } as unknown as Crypto;
    expect(newId(noRandomUUID)).toMatch(UUID);
  });
});

describe("rating responses", () => {
  it("keeps only the scales chosen and trims the comment", () => {
    const r = ratingResponse("cluster", { clarity: 4, trust: 2 }, "  <b>odd</b> ", "id-1", NOW, 3);
    expect(r).toEqual({ response_id: "id-1", kind: "cluster", cluster_id: 3, clarity: 4, trust: 2, comment: "<b>odd</b>", client_time: "2026-05-01T10:00:00.000Z" });
  });
  it("refuses an empty card and out-of-range values", () => {
    expect(ratingResponse("explanation", {}, "   ", "x", NOW)).toMatch(/at least one rating or write a comment/);
    expect(ratingResponse("explanation", { usefulness: 6 }, "", "x", NOW)).toMatch(/usefulness must be 1 to 5, got 6/);
    expect(ratingResponse("explanation", { clarity: 2.5 }, "", "x", NOW)).toMatch(/clarity/);
  });
  it("accepts a comment alone, and never puts cluster_id on a whole-explanation rating", () => {
    const r = ratingResponse("explanation", {}, "too long", "x", NOW, 7) as ResponsePayload;
    expect(r.comment).toBe("too long");
    expect(r.cluster_id).toBeUndefined();
  });
});

describe("task responses and timing", () => {
  it("measures from when the task was first shown, not from later re-shows", () => {
    let t = 1000;
    const timer = new TaskTimer(() => t);
    expect(timer.started).toBe(false);
    timer.show();
    t = 1500;
    timer.show();
    t = 4250.4;
    expect(timer.elapsed()).toBeCloseTo(3250.4);
    const r = taskResponse(" cat ", timer.elapsed(), "id-2", NOW) as ResponsePayload;
    expect(r).toEqual({ response_id: "id-2", kind: "task", answer: "cat", duration_ms: 3250, client_time: "2026-05-01T10:00:00.000Z" });
  });
  it("needs an answer", () => {
    expect(taskResponse("  ", 10, "x", NOW)).toMatch(/answer/);
  });
  it("enables Next only after the required parts", () => {
    expect(canFinish(true, false, true)).toBe(false);
    expect(canFinish(true, true, false)).toBe(false);
    expect(canFinish(true, true, true)).toBe(true);
    expect(canFinish(false, false, true)).toBe(true);
  });
});

function fakeTimers() {
  const queue: { f: () => void; at: number; id: number }[] = [];
  let now = 0;
  let next = 1;
  return {
    set: (f: () => void, ms: number) => {
      queue.push({ f, at: now + ms, id: next });
      return next++;
    },
    clear: (h: unknown) => {
      const i = queue.findIndex((q) => q.id === h);
      if (i >= 0) queue.splice(i, 1);
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = queue.filter((q) => q.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        queue.splice(queue.indexOf(due), 1);
        now = due.at;
        due.f();
      }
      now = end;
    },
  };
}

describe("outbox", () => {
  const payload = (id: string): ResponsePayload => ({ response_id: id, kind: "explanation", clarity: 3, client_time: NOW.toISOString() });

  it("resends the same response (same id) until acknowledged, then stops", () => {
    const timers = fakeTimers();
    const sent: string[] = [];
    const box = new Outbox((p) => sent.push(p.response_id), () => {}, 1000, 5, timers);
    box.post(payload("a"));
    timers.advance(2500);
    expect(sent).toEqual(["a", "a", "a"]);
    expect(box.ack("a")?.response_id).toBe("a");
    timers.advance(10_000);
    expect(sent).toEqual(["a", "a", "a"]);
    expect(box.ack("a")).toBeUndefined(); // a late duplicate ack is ignored
  });

  it("gives up after maxTries and says so", () => {
    const timers = fakeTimers();
    const sent: string[] = [];
    const gaveUp: string[] = [];
    const box = new Outbox((p) => sent.push(p.response_id), (p) => gaveUp.push(p.response_id), 1000, 3, timers);
    box.post(payload("b"));
    timers.advance(5000);
    expect(sent).toEqual(["b", "b", "b"]);
    expect(gaveUp).toEqual(["b"]);
    expect(box.pending.size).toBe(0);
  });
});

describe("a marking task", () => {
  it("moves a token into the current group or out of it, and answers with sorted JSON groups", async () => {
    const { toggleMark, marksAnswer } = await import("../../src/study/marking");
    let g = toggleMark([[]], 0, 5);
    g = toggleMark(g, 0, 2);
    expect(g).toEqual([[2, 5]]);
    g = toggleMark(g, 1, 5); // to the second group, out of the first
    expect(g).toEqual([[2], [5]]);
    expect(toggleMark(g, 1, 5)).toEqual([[2], []]);
    expect(marksAnswer([[7, 3], [], [1]])).toBe("[[3,7],[1]]");
    expect(marksAnswer([[]])).toBe("");
  });
});
