// "What if": pick tokens (click them while picking is on) or the selected
// cluster, or type heads (here or in the drill-down), then "remove and rerun".
// The kernel reruns the model with every edge to those tokens knocked out (or
// the heads zeroed) and answers with the `ablation` trait: the next-token
// prediction before and after, and the new clusters, drawn under the text with
// the colours of the clusters they match (compareview.ts). Listeners end with
// ``signal``.

import { SecondText } from "./compareview";
import { amount, el, readable, showToken } from "../common/dom";
import { carryPicks, Nodes } from "../common/words";
import { AblationWire, ablationWire, Candidate, decodeComparison, PredictionWire } from "../wire/modes";
import type { AblateReply } from "../wire/messages";
import type { Model } from "../wire/model";
import { NEEDS_KERNEL } from "../common/skeleton";
import { parseHeadList } from "../controls/slider";

export interface AblationHooks {
  /** Token spans of the text on screen. */
  spans(): HTMLSpanElement[];
  /** Tokens of the selected cluster on screen (empty: none selected). */
  selected(): number[];
}

export const pct = (p: number): string => `${(100 * p).toFixed(1)}%`;

let requests = 0;
/** Requests asked from a word's menu (modes/whatif.ts): their answer is the card's, the section stays shut. */
const fromWords = new Set<number>();

/** A new "ablate" request id, unique across this page's views (the kernel keeps the last one asked). */
export function nextAblateId(fromWord = false): number {
  requests += 1;
  if (fromWord) fromWords.add(requests);
  return requests;
}

export class AblationView {
  readonly el: HTMLDetailsElement;
  /** Heads box and button for the drill-down section (zero heads there). */
  readonly drill: HTMLDivElement;
  readonly after = new SecondText("ablate-after");
  private readonly picked = new Set<number>();
  private picking = false;
  private readonly pick: HTMLButtonElement;
  private readonly list: HTMLSpanElement;
  private readonly heads: HTMLInputElement;
  private readonly drillHeads: HTMLInputElement;
  private readonly run: HTMLButtonElement;
  private readonly drillRun: HTMLButtonElement;
  private readonly status: HTMLSpanElement;
  private readonly result: HTMLDivElement;
  private waiting: number | null = null;
  private mainSpans: HTMLSpanElement[] = [];

  constructor(
    private readonly model: Model,
    private readonly text: HTMLElement,
    private readonly hooks: AblationHooks,
    offline: boolean,
    signal: AbortSignal,
  ) {
    const button = (testid: string, label: string, title: string) => el("button", { testid, text: label, title });
    this.pick = button("ablate-pick", "pick tokens", "Then click tokens in the text to pick them (click again to drop one)");
    const cluster = button("ablate-cluster", "add the selected cluster", "Pick every token of the cluster selected in the text");
    const clear = button("ablate-clear", "clear", "Drop every picked token");
    this.list = el("span", { class: "aw-muted", testid: "ablate-picked" });
    this.heads = el("input", { class: "aw-small-input", testid: "ablate-heads", attrs: { type: "text", placeholder: "heads e.g. 5.1 6.9", "aria-label": "heads to zero" } });
    this.run = button("ablate-run", "remove and rerun", "Rerun the model with every edge to the picked tokens knocked out and the heads zeroed");
    this.status = el("span", { class: "aw-muted", testid: "ablate-status" });
    this.result = el("div", { class: "aw-ablate-result", testid: "ablate-result" });
    this.el = el("details", { class: "aw-drill aw-ablate", testid: "ablate" }, [
      el("summary", { text: "What if… (remove and rerun)", testid: "ablate-toggle" }),
      el("div", { class: "aw-controls" }, [this.pick, cluster, clear, this.list]),
      el("div", { class: "aw-controls" }, [this.heads, this.run, this.status]),
      this.result,
      this.after.el,
    ]);
    this.drillHeads = el("input", { class: "aw-small-input", testid: "drilldown-ablate-heads", attrs: { type: "text", placeholder: "heads e.g. 5.1 6.9", "aria-label": "heads to zero and rerun" } });
    this.drillRun = button("drilldown-ablate-run", "zero these heads and rerun", "Rerun the model with these heads' outputs zeroed");
    this.drill = el("div", { class: "aw-controls" }, [this.drillHeads, this.drillRun]);
    for (const c of [this.heads, this.drillHeads]) c.setAttribute("data-lm-suppress-shortcuts", "true");
    if (offline) {
      for (const c of [this.pick, cluster, this.run, this.drillRun, this.heads, this.drillHeads]) {
        c.disabled = true;
        c.title = NEEDS_KERNEL;
      }
    }
    const on = (target: HTMLElement, cb: () => void) => target.addEventListener("click", cb, { signal });
    on(this.pick, () => this.setPicking(!this.picking));
    on(cluster, () => this.add(this.hooks.selected()));
    on(clear, () => {
      this.picked.clear();
      this.mark();
    });
    this.el.addEventListener("toggle", () => this.update(), { signal });
    on(this.run, () => this.send(this.heads));
    on(this.drillRun, () => this.send(this.drillHeads));
    // while picking, a click on a token picks it instead of selecting its cluster
    this.text.addEventListener("click", (ev) => {
      if (!this.picking) return;
      const span = ev.target instanceof Element ? ev.target.closest<HTMLElement>(".aw-tok") : null;
      if (!span) return;
      ev.stopPropagation();
      const i = Number(span.dataset.index);
      if (this.picked.has(i)) this.picked.delete(i);
      else this.picked.add(i);
      this.mark();
    }, { signal, capture: true });
    this.mark();
  }

  /** Picked tokens on the text (again after the text was rebuilt). */
  mark(): void {
    const spans = this.hooks.spans();
    spans.forEach((s, i) => s?.classList.toggle("aw-ablate-picked", this.picked.has(i)));
    const words = [...this.picked].sort((a, b) => a - b).map((i) => readable(spans[i]?.textContent ?? String(i)));
    this.list.textContent = words.length ? `picked: ${words.join(" · ")}` : "no tokens picked";
  }

  /** Another view on screen: the picks carried over to its nodes (common/words ``carryPicks``). */
  reset(from: Nodes | null, to: Nodes): void {
    const carried = carryPicks(this.picked, from, to);
    this.picked.clear();
    carried.forEach((i) => this.picked.add(i));
    this.mark();
  }

  /**
   * The `ablation` trait changed (or the section opened or closed): draw the rerun (null: none).
   * The rerun's text is drawn only while the section is open: a word's what-if answers in its
   * card (modes/whatif.ts) and leaves the section, and the marks on the text, for when it opens.
   */
  update(mainSpans: HTMLSpanElement[] = this.mainSpans): void {
    this.mainSpans = mainSpans;
    const raw = this.model.get("ablation");
    const ab = raw ? ablationWire(raw, "ablation") : null;
    if (ab && (ab.id === null || !fromWords.has(ab.id))) this.el.open = true;
    this.after.show(ab && this.el.open ? decodeComparison(ab.comparison) : null, mainSpans, "after the rerun");
    this.result.replaceChildren(...(ab ? this.describe(ab) : []));
  }

  /** The kernel's answer to a rerun request. */
  receive(reply: AblateReply): void {
    if (reply.id !== this.waiting) return;
    this.waiting = null;
    this.busy(false);
    this.status.textContent = reply.error ?? "";
    this.status.dataset.error = reply.error ? "true" : "";
  }

  private describe(ab: AblationWire): HTMLElement[] {
    const out: HTMLElement[] = [el("div", { testid: "ablate-what", text: `${ab.describe[0].toUpperCase()}${ab.describe.slice(1)}.` })];
    if (ab.prediction) out.push(...prediction(ab.prediction));
    else out.push(el("div", { class: "aw-muted", text: "This model predicts no next token (an encoder): only the clusters are compared." }));
    out.push(...ab.notices.map((n) => el("div", { class: "aw-note", text: n })));
    return out;
  }

  private setPicking(on: boolean): void {
    this.picking = on;
    this.pick.classList.toggle("aw-on", on);
    this.pick.textContent = on ? "picking… (click tokens)" : "pick tokens";
    this.text.classList.toggle("aw-picking", on);
  }

  private add(tokens: number[]): void {
    tokens.forEach((i) => this.picked.add(i));
    this.mark();
  }

  private send(box: HTMLInputElement): void {
    let heads: [number, number][];
    try {
      heads = parseHeadList(box.value) ?? [];
    } catch (e) {
      this.status.textContent = e instanceof Error ? e.message : String(e);
      this.status.dataset.error = "true";
      return;
    }
    const tokens = box === this.drillHeads ? [] : [...this.picked].sort((a, b) => a - b);
    if (!tokens.length && !heads.length) {
      this.status.textContent = "Pick tokens (or type heads) to remove first.";
      this.status.dataset.error = "true";
      return;
    }
    this.waiting = nextAblateId();
    this.status.textContent = "Rerunning the model…";
    this.status.dataset.error = "";
    this.busy(true);
    this.setPicking(false);
    this.model.send({ type: "ablate", id: this.waiting, tokens, heads, position: null });
  }

  private busy(on: boolean): void {
    this.run.disabled = on;
    this.drillRun.disabled = on;
  }
}

function prediction(p: PredictionWire): HTMLElement[] {
  const delta = p.probability_after - p.probability_before;
  const change = el("div", { testid: "ablate-change", class: "aw-ablate-change" }, [
    el("span", { text: "Most likely next token: " }),
    el("strong", { text: `${showToken(p.before[0][0])} ${pct(p.probability_before)} → ${pct(p.probability_after)}` }),
    el("span", { text: ` (${delta >= 0 ? "+" : "−"}${pct(Math.abs(delta))})` }),
    el("span", { class: "aw-muted", text: ` · divergence ${amount(p.divergence)}` }),
    p.changed ? el("span", { class: "aw-badge aw-poor", text: `now ${showToken(p.after[0][0])}` }) : el("span", { class: "aw-badge aw-good", text: "same top token" }),
  ]);
  const column = (title: string, items: Candidate[], testid: string) =>
    el("div", { class: "aw-ablate-col", testid }, [el("strong", { text: title }), el("ol", {}, items.map(([text, q]) => el("li", { text: `${showToken(text)} ${pct(q)}` })))]);
  const table = el("div", { class: "aw-ablate-table", testid: "ablate-prediction" }, [column("before", p.before, "ablate-before"), column("after", p.after, "ablate-after-top")]);
  return [change, table];
}
