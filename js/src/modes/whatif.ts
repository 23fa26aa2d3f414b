// "What if this word were knocked out?" from a word's menu (text/wordmenu.ts): the kernel
// reruns the model with every link to the word removed (all its pieces, in every layer and
// head; view/modes.py, the same "ablate" request as the What if… section) and the answer, the
// next-word prediction before → after ("Paris 74.9% → 1.3%"), is shown in a card at the top of
// the panel slot, under the knobs: the text, the findings and the slider stay where they are.
// The groups before and after stay in the What if… section (its "show the groups" button).
// Listeners end with ``signal``.

import { el, readable, spoken } from "../common/dom";
import { NEEDS_KERNEL } from "../common/skeleton";
import { WordMenu } from "../text/wordmenu";
import { ablationWire, PredictionWire } from "../wire/modes";
import type { AblateReply } from "../wire/messages";
import type { Model } from "../wire/model";
import { FLAG_EXCLUDED, FLAG_SPECIAL, View } from "../wire/state";
import { nextAblateId, pct } from "./ablation";

export interface WhatIfHooks {
  view(): View | null;
  labels(): ArrayLike<number>;
  /** Select a cluster (its panel opens). */
  select(id: number): void;
}

/**
 * The word menu on ``text`` (its spans given by ``spans()``) and the what-if card at the top
 * of ``panel``'s slot; ``section`` is the What if… section the card's "show the groups" opens.
 */
export function wireWhatIf(
  model: Model, text: HTMLElement, panel: HTMLElement, section: HTMLDetailsElement, offline: boolean,
  hooks: WhatIfHooks, signal: AbortSignal,
): { card: WhatIfCard; menu: WordMenu } {
  const card = new WhatIfCard(model, () => {
    section.open = true;
    section.scrollIntoView({ block: "nearest" });
  }, signal);
  const flag = (i: number, f: number) => ((hooks.view()?.flags[i] ?? FLAG_SPECIAL) & f) !== 0;
  const menu = new WordMenu(text, {
    unit: () => hooks.view()?.raw.unit ?? "word",
    usable: (i) => hooks.view() !== null && !flag(i, FLAG_SPECIAL),
    grouped: (i) => !flag(i, FLAG_EXCLUDED) && hooks.labels()[i] >= 0,
    group: (i) => hooks.select(hooks.labels()[i]),
    whatIf: (i) => card.ask(i, hooks.view()?.raw.tokens[i] ?? ""),
    blocked: () => (offline ? `${NEEDS_KERNEL}.` : (model.get("what_if") ?? "")),
  }, signal);
  panel.before(card.el);
  text.parentElement?.append(menu.el);
  return { card, menu };
}

export class WhatIfCard {
  readonly el: HTMLDivElement;
  private readonly title: HTMLDivElement;
  private readonly body: HTMLDivElement;
  /** The request whose answer the card waits for, or shows (null: none). */
  private asked: number | null = null;
  private waiting = false;
  private word = "";

  constructor(
    private readonly model: Model,
    /** Opens the What if… section, where the groups before and after are drawn. */
    private readonly more: () => void,
    signal: AbortSignal,
  ) {
    const close = el("button", { class: "aw-close", text: "×", title: "Close", testid: "whatif-close" });
    this.title = el("div", { class: "aw-whatif-title", testid: "whatif-title" });
    this.body = el("div", { class: "aw-whatif-body", testid: "whatif-body" });
    this.el = el("div", { class: "aw-whatif", testid: "whatif-card", attrs: { role: "status", "aria-live": "polite" } }, [
      el("div", { class: "aw-panel-head" }, [this.title, close]),
      this.body,
    ]);
    this.el.hidden = true;
    close.addEventListener("click", () => this.clear(), { signal });
  }

  /** Knock node ``i`` (its text ``word``) out: ask the kernel, say so in the card at once. */
  ask(i: number, word: string): void {
    this.asked = nextAblateId(true);
    this.waiting = true;
    this.word = readable(word);
    this.title.textContent = `What if “${this.word}” were knocked out?`;
    this.body.replaceChildren(el("div", { class: "aw-muted", testid: "whatif-running", text: "Rerunning the model without it…" }));
    this.el.hidden = false;
    this.el.scrollIntoView({ block: "nearest" });
    this.model.send({ type: "ablate", id: this.asked, tokens: [i], heads: [], position: null });
  }

  /** The kernel's answer to a request (the result itself comes as the ``ablation`` trait). */
  receive(reply: AblateReply): void {
    if (reply.id === null || reply.id !== this.asked) return;
    this.waiting = false;
    if (reply.error) this.body.replaceChildren(el("div", { class: "aw-whatif-error", testid: "whatif-error", text: reply.error }));
  }

  /** The ``ablation`` trait changed: show it when it answers the card's request. */
  update(): void {
    const raw = this.model.get("ablation");
    const ab = raw ? ablationWire(raw, "ablation") : null;
    if (this.asked === null) return;
    if (ab === null) {
      if (!this.waiting) this.clear(); // another text or step is shown: the answer was about the old one
      return;
    }
    if (ab.id !== this.asked) return;
    this.waiting = false;
    const lines = ab.prediction ? prediction(ab.prediction) : [el("div", { class: "aw-muted", text: "This model predicts no next word: only the groups change." })];
    const more = el("button", { testid: "whatif-more", text: "show the groups before and after", title: "Open the What if… section below" });
    more.addEventListener("click", () => this.more());
    this.body.replaceChildren(...lines, ...ab.notices.map((n) => el("div", { class: "aw-note", text: n })), el("div", { class: "aw-whatif-foot aw-muted" }, [
      `Every link to “${this.word}” removed, in every layer and head. `,
      more,
    ]));
  }

  clear(): void {
    this.asked = null;
    this.waiting = false;
    this.el.hidden = true;
    this.body.replaceChildren();
  }
}

/** "The next word: Paris 74.9% → 1.3%", and what the model predicts instead when that changed. */
function prediction(p: PredictionWire): HTMLElement[] {
  const first = p.before[0]?.[0] ?? p.token;
  const top = spoken(first);
  const change = el("div", { class: "aw-whatif-change", testid: "whatif-change" }, [
    el("span", { text: "The model's next word: " }),
    el("strong", { testid: "whatif-prediction", text: `${top} ${pct(p.probability_before)} → ${pct(p.probability_after)}` }),
  ]);
  const after = p.after[0];
  const quoted = (s: string, said: string) => (s.trim() ? `“${said}”` : said); // “Paris”, a space
  const instead = p.changed && after
    ? el("div", { testid: "whatif-instead", text: `Now it predicts ${quoted(after[0], spoken(after[0]))} (${pct(after[1])}).` })
    : el("div", { testid: "whatif-instead", text: `${quoted(first, top)} is still its first choice.` });
  return [change, instead];
}
