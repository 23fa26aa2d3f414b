/**
 * Study capture widget (anywidget): Likert ratings, comments and a timed task answer.
 * Python side: attn_widget/study/feedback.py (traits, the "response"/"ack" messages).
 *
 * The pure parts (response building, rating checks, the task timer, the resend
 * outbox) are exported and unit-tested in study.test.ts; `render` only wires them.
 * Every piece of user text (tokens, rationales, questions, choices, comments) is
 * set with textContent, never as HTML.
 *
 * Test hooks (data-testid): study-root (data-position), study-header, task, task-question,
 * task-choice (data-choice), task-answer (free text), task-submit, task-status,
 * cluster-card (data-cluster), explanation-card, rating (data-scale, inputs value 1-5),
 * comment, save, card-status, next, study-error.
 */

import type { AnyModel, AnyWidget } from "@anywidget/types";
import { isRecord } from "../wire/guard";
import { markingInput } from "./marking";

/** Synced traits of FeedbackWidget (attn_widget/study/feedback.py); change both together. */
export interface StudyTraits {
  study_id: string;
  title: string;
  participant_id: string;
  condition: string;
  condition_label: string;
  task_id: string;
  position: number;
  steps: number;
  question: string | null;
  choices: string[];
  clusters: ClusterItem[];
  mark: string | null; // a marking task's kind ("together" | "next_word"), else null
  tokens: string[]; // the tokens a marking task marks, by index
  stored: string[];
  done: boolean;
  error: string;
}

/** The part of anywidget's model this widget uses. */
export type Model = Pick<AnyModel<StudyTraits>, "get" | "set" | "save_changes" | "send" | "on" | "off">;

export interface ClusterItem {
  id: number;
  tokens: string;
  rationale: string;
}

export const SCALES = ["clarity", "usefulness", "trust"] as const;
export type Scale = (typeof SCALES)[number];
export type Kind = "cluster" | "explanation" | "task";

export interface ResponsePayload {
  response_id: string;
  kind: Kind;
  cluster_id?: number;
  clarity?: number;
  usefulness?: number;
  trust?: number;
  comment?: string;
  answer?: string;
  duration_ms?: number;
  client_time: string;
}

export interface Ack {
  type: "ack";
  response_id: string | null;
  status: "stored" | "duplicate" | "error";
  error: string;
}

/** An "ack" message from the kernel (anything else is not for us). */
export function isAck(msg: unknown): msg is Ack {
  return (
    isRecord(msg) &&
    msg.type === "ack" &&
    (typeof msg.response_id === "string" || msg.response_id === null) &&
    (msg.status === "stored" || msg.status === "duplicate" || msg.status === "error") &&
    typeof msg.error === "string"
  );
}

/** A fresh UUID v4 (crypto.randomUUID where the page is a secure context). */
export function newId(rand: Crypto = globalThis.crypto): string {
  if (typeof rand.randomUUID === "function") return rand.randomUUID();
  const b = rand.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Ratings + comment → a response, or an error message saying what is missing. */
export function ratingResponse(
  kind: "cluster" | "explanation",
  ratings: Partial<Record<Scale, number>>,
  comment: string,
  id: string,
  now: Date,
  clusterId?: number,
): ResponsePayload | string {
  const out: ResponsePayload = { response_id: id, kind, client_time: now.toISOString() };
  for (const s of SCALES) {
    const v = ratings[s];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1 || v > 5) return `${s} must be 1 to 5, got ${v}`;
    out[s] = v;
  }
  const text = comment.trim();
  if (text) out.comment = text;
  if (SCALES.every((s) => out[s] === undefined) && !text) return "Choose at least one rating or write a comment.";
  if (kind === "cluster") {
    if (clusterId === undefined) return "internal: a cluster rating needs its cluster id";
    out.cluster_id = clusterId;
  }
  return out;
}

/** A task answer with the time since the task was shown. */
export function taskResponse(answer: string, durationMs: number, id: string, now: Date): ResponsePayload | string {
  const text = answer.trim();
  if (!text) return "Choose or type an answer first.";
  return {
    response_id: id,
    kind: "task",
    answer: text,
    duration_ms: Math.max(0, Math.round(durationMs)),
    client_time: now.toISOString(),
  };
}

/** Measures time from when a task first became visible; a later `show` does not restart it. */
export class TaskTimer {
  private shownAt: number | null = null;
  constructor(private readonly clock: () => number = () => performance.now()) {}
  show(): void {
    if (this.shownAt === null) this.shownAt = this.clock();
  }
  get started(): boolean {
    return this.shownAt !== null;
  }
  /** Milliseconds since `show` (starting now if it was never called). */
  elapsed(): number {
    this.show();
    return this.clock() - (this.shownAt as number);
  }
}

/**
 * Sends responses and resends each one (same response_id) until the kernel
 * acknowledges it, so a lost message is retried and the store keeps it once.
 */
export class Outbox {
  readonly pending = new Map<string, { payload: ResponsePayload; tries: number; timer: unknown }>();
  constructor(
    private readonly send: (p: ResponsePayload) => void,
    private readonly onGiveUp: (p: ResponsePayload) => void,
    private readonly retryMs = 3000,
    private readonly maxTries = 5,
    private readonly timers = { set: (f: () => void, ms: number): unknown => setTimeout(f, ms), clear: (h: unknown) => clearTimeout(h as number) },
  ) {}

  post(payload: ResponsePayload): void {
    this.pending.set(payload.response_id, { payload, tries: 0, timer: null });
    this.attempt(payload.response_id);
  }

  private attempt(id: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    if (entry.tries >= this.maxTries) {
      this.pending.delete(id);
      this.onGiveUp(entry.payload);
      return;
    }
    entry.tries += 1;
    this.send(entry.payload);
    entry.timer = this.timers.set(() => this.attempt(id), this.retryMs);
  }

  /** Handle an ack; returns the acknowledged payload (or undefined for an unknown id). */
  ack(id: string | null): ResponsePayload | undefined {
    if (id === null) return undefined;
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.timers.clear(entry.timer);
    this.pending.delete(id);
    return entry.payload;
  }

  dispose(): void {
    for (const e of this.pending.values()) this.timers.clear(e.timer);
    this.pending.clear();
  }
}

/** The "Next" button is enabled once the task is answered (if any) and the whole explanation rated. */
export function canFinish(hasQuestion: boolean, answered: boolean, explanationRated: boolean): boolean {
  return (!hasQuestion || answered) && explanationRated;
}

// ------------------------------------------------------------------ DOM wiring
const CSS = `
.aws-root{font:14px/1.45 system-ui,sans-serif;color:var(--jp-ui-font-color1,#222);max-width:900px}
.aws-header{font-weight:600;margin:4px 0 8px}
.aws-card{border:1px solid var(--jp-border-color1,#bbb);border-radius:6px;padding:8px 10px;margin:6px 0}
.aws-tokens{font-family:monospace;white-space:pre-wrap}
.aws-rationale{margin:4px 0;white-space:pre-wrap}
.aws-scale{display:flex;gap:8px;align-items:center;margin:2px 0}
.aws-scale-name{width:88px}
.aws-comment{width:100%;min-height:2.5em;box-sizing:border-box}
.aws-status{margin-left:8px;font-size:12px}
.aws-status.err,.aws-error{color:#b71c1c}
.aws-choices{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0}
.aws-choice[aria-pressed=true]{outline:2px solid #1565c0}
`;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { cls?: string; text?: string; testid?: string; attrs?: Record<string, string> } = {},
  children: Node[] = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.cls) e.className = props.cls;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.testid) e.dataset.testid = props.testid;
  for (const [k, v] of Object.entries(props.attrs ?? {})) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

let uniq = 0;

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  const group = `aws${++uniq}`;
  const status = new Map<string, (ack: Ack) => void>();
  const outbox = new Outbox(
    (p) => model.send({ type: "response", response: p }),
    (p) => status.get(p.response_id)?.({ type: "ack", response_id: p.response_id, status: "error", error: "No reply from the kernel; is it running? Press the button again." }),
  );
  const timer = new TaskTimer();
  let answered = false;
  let explanationRated = false;
  const next = h("button", { text: "Next →", testid: "next" });

  const refresh = (): void => {
    next.disabled = model.get("done") || !canFinish(model.get("question") !== null, answered, explanationRated);
  };

  function ratingCard(kind: "cluster" | "explanation", item?: ClusterItem): HTMLElement {
    const chosen: Partial<Record<Scale, number>> = {};
    const rows = SCALES.map((s) => {
      const name = `${group}-${kind}-${item?.id ?? "all"}-${s}`;
      const opts = [1, 2, 3, 4, 5].map((v) => {
        const input = h("input", { attrs: { type: "radio", name, value: String(v), "aria-label": `${s} ${v}` } });
        input.addEventListener("change", () => (chosen[s] = v));
        return h("label", {}, [input, document.createTextNode(String(v))]);
      });
      return h("div", { cls: "aws-scale", testid: "rating", attrs: { "data-scale": s } }, [
        h("span", { cls: "aws-scale-name", text: s }),
        h("span", { text: "1 = poor" }),
        ...opts,
        h("span", { text: "5 = excellent" }),
      ]);
    });
    const comment = h("textarea", { cls: "aws-comment", testid: "comment", attrs: { placeholder: "Comment (optional)" } });
    const save = h("button", { text: "Save", testid: "save" });
    const note = h("span", { cls: "aws-status", testid: "card-status" });
    save.addEventListener("click", () => {
      const r = ratingResponse(kind, chosen, comment.value, newId(), new Date(), item?.id);
      if (typeof r === "string") {
        note.textContent = r;
        note.className = "aws-status err";
        return;
      }
      save.disabled = true;
      note.textContent = "Saving…";
      note.className = "aws-status";
      status.set(r.response_id, (ack) => {
        save.disabled = false;
        const ok = ack.status !== "error";
        note.textContent = ok ? "Saved ✓" : `Not saved: ${ack.error}`;
        note.className = ok ? "aws-status" : "aws-status err";
        if (ok && kind === "explanation") explanationRated = true;
        refresh();
      });
      outbox.post(r);
    });
    const head = item
      ? [h("div", { cls: "aws-tokens", text: item.tokens }), h("div", { cls: "aws-rationale", text: item.rationale })]
      : [h("div", { text: "How good is this explanation of the attention, as a whole?" })];
    return h(
      "div",
      { cls: "aws-card", testid: kind === "cluster" ? "cluster-card" : "explanation-card", attrs: item ? { "data-cluster": String(item.id) } : {} },
      [...head, ...rows, comment, h("div", {}, [save, note])],
    );
  }

  function taskCard(question: string): HTMLElement {
    const choices = model.get("choices");
    let answer = "";
    const input = h("input", { testid: "task-answer", attrs: { type: "text", placeholder: "Your answer" } });
    input.addEventListener("input", () => (answer = input.value));
    const buttons = choices.map((c) => {
      const b = h("button", { cls: "aws-choice", text: c, testid: "task-choice", attrs: { "data-choice": c, "aria-pressed": "false" } });
      b.addEventListener("click", () => {
        answer = c;
        for (const o of buttons) o.setAttribute("aria-pressed", String(o === b));
      });
      return b;
    });
    const mark = model.get("mark");
    const marker = mark !== null ? markingInput(model.get("tokens"), mark, (a) => (answer = a)) : null;
    const submit = h("button", { text: "Submit answer", testid: "task-submit" });
    const note = h("span", { cls: "aws-status", testid: "task-status" });
    submit.addEventListener("click", () => {
      const r = taskResponse(answer, timer.elapsed(), newId(), new Date());
      if (typeof r === "string") {
        note.textContent = r;
        note.className = "aws-status err";
        return;
      }
      submit.disabled = true;
      note.textContent = "Saving…";
      status.set(r.response_id, (ack) => {
        const ok = ack.status !== "error";
        submit.disabled = ok;
        note.textContent = ok ? "Answer saved ✓" : `Not saved: ${ack.error}`;
        note.className = ok ? "aws-status" : "aws-status err";
        if (ok) answered = true;
        refresh();
      });
      outbox.post(r);
    });
    const card = h("div", { cls: "aws-card", testid: "task" }, [
      h("div", { text: "Task", cls: "aws-header" }),
      h("div", { text: question, testid: "task-question" }),
      marker ?? (choices.length ? h("div", { cls: "aws-choices" }, buttons) : input),
      h("div", {}, [submit, note]),
    ]);
    return card;
  }

  const root = h("div", { cls: "aws-root", testid: "study-root" });
  root.dataset.position = String(model.get("position"));
  const title = model.get("title");
  root.append(
    h("style", { text: CSS }),
    h("div", {
      cls: "aws-header",
      testid: "study-header",
      text: `${title ? title + " · " : ""}Participant ${model.get("participant_id")} · step ${model.get("position") + 1} of ${model.get("steps")} · ${model.get("condition_label") || model.get("condition")}`,
    }),
  );
  const question = model.get("question");
  let observer: IntersectionObserver | null = null;
  if (question !== null) {
    const card = taskCard(question);
    root.append(card);
    if (typeof IntersectionObserver !== "undefined") {
      observer = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) timer.show();
      });
      observer.observe(card);
    } else timer.show();
  }
  for (const item of model.get("clusters")) root.append(ratingCard("cluster", item));
  root.append(ratingCard("explanation"));
  const errorLine = h("div", { cls: "aws-error", testid: "study-error" });
  next.addEventListener("click", () => {
    model.set("done", true);
    model.save_changes();
    refresh();
  });
  root.append(errorLine, next);
  refresh();
  el.replaceChildren(root);

  const onMsg = (msg: unknown): void => {
    if (!isAck(msg) || msg.response_id === null) return;
    if (outbox.ack(msg.response_id)) status.get(msg.response_id)?.(msg);
  };
  const onError = (): void => {
    errorLine.textContent = model.get("error");
  };
  model.on("msg:custom", onMsg);
  model.on("change:error", onError);
  model.on("change:done", refresh);
  return () => {
    observer?.disconnect();
    outbox.dispose();
    model.off("msg:custom", onMsg);
    model.off("change:error", onError);
    model.off("change:done", refresh);
  };
}

export default { render } satisfies AnyWidget<StudyTraits>;
