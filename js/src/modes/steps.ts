// The generation's step bar: a step slider and a play button that move the
// kernel's `step` trait, the step's new token (marked in the text) with its
// probability and top-5 alternatives, its strongest links into the prompt, and
// what happened to the clusters at that step. The bar describes the step the
// state on screen shows (told by its length, so a state and a step that cross
// on the wire never mismatch), and gives the clusters' colour slots, which
// follow them across steps. Listeners and the play timer end with ``signal``.

import { inheritSlots } from "../common/colors";
import { el, readable, showToken } from "../common/dom";
import { GenerationWire, generationWire, StepWire } from "../wire/modes";
import type { Model } from "../wire/model";
import { debounce } from "../controls/slider";
import type { View } from "../wire/state";

export const PLAY_MS = 1100;
/** Why a generation is shown in model tokens, not words (the unit select says it too). */
export const GENERATION_UNIT = "A generation is shown in model tokens: the model writes it one token at a time.";
export const STEP_DEBOUNCE_MS = 120;

const pct = (p: number) => `${(100 * p).toFixed(p < 0.01 ? 2 : 1)}%`;

export class StepBar {
  readonly el: HTMLDivElement;
  private gen: GenerationWire | null = null;
  private readonly slider: HTMLInputElement;
  private readonly play: HTMLButtonElement;
  private readonly label: HTMLSpanElement;
  private readonly token: HTMLDivElement;
  private readonly links: HTMLDivElement;
  private readonly events: HTMLUListElement;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly write = debounce((k: number) => this.send(k), STEP_DEBOUNCE_MS);

  constructor(
    private readonly model: Model,
    signal: AbortSignal,
    /** The view's unit select: locked to model tokens while a generation is shown. */
    private readonly unit?: HTMLSelectElement,
  ) {
    this.play = el("button", { class: "aw-play", testid: "step-play", text: "▶ play", title: "Play the generation step by step" });
    this.slider = el("input", { class: "aw-slider", testid: "step-slider", attrs: { type: "range", min: "0", max: "0", step: "1", "aria-label": "generation step" } });
    this.slider.setAttribute("data-lm-suppress-shortcuts", "true");
    this.label = el("span", { class: "aw-value", testid: "step-label" });
    this.token = el("div", { class: "aw-step-token", testid: "step-token" });
    this.links = el("div", { class: "aw-step-links", testid: "step-links" });
    this.events = el("ul", { class: "aw-step-events", testid: "step-events" });
    this.el = el("div", { class: "aw-steps", testid: "steps" }, [
      el("div", { class: "aw-controls" }, [this.play, el("label", {}, ["step "]), this.slider, this.label]),
      el("div", { class: "aw-muted aw-step-unit", testid: "step-unit", text: GENERATION_UNIT }),
      this.token,
      this.links,
      this.events,
    ]);
    this.el.hidden = true;
    this.slider.addEventListener("input", () => {
      this.stop();
      this.label.textContent = this.stepText(Number(this.slider.value));
      this.write(Number(this.slider.value));
    }, { signal });
    this.slider.addEventListener("change", () => this.write.flush(), { signal });
    this.play.addEventListener("click", () => (this.timer ? this.stop() : this.start()), { signal });
    signal.addEventListener("abort", () => {
      this.stop();
      this.write.cancel();
    }, { once: true });
  }

  /** The generation trait changed: keep it (checked) and show or hide the bar. */
  update(): void {
    const raw = this.model.get("generation");
    this.gen = raw ? generationWire(raw, "generation") : null;
    this.el.hidden = !this.gen;
    if (!this.gen) return this.stop();
    if (this.unit) {
      this.unit.disabled = true;
      this.unit.title = GENERATION_UNIT;
    }
    this.slider.max = String(Math.max(this.gen.steps.length - 1, 0));
    this.stepChanged();
  }

  /** The kernel's step moved (or the user's came back): the slider follows unless it is being dragged. */
  stepChanged(): void {
    const k = this.model.get("step");
    if (k !== null && k !== undefined && document.activeElement !== this.slider) this.slider.value = String(k);
  }

  /** The step whose analysis ``view`` is (null: not a step of this generation). */
  stepOf(view: View): number | null {
    if (!this.gen) return null;
    const k = view.n - this.gen.prompt_length - 1;
    return k >= 0 && k < this.gen.steps.length ? k : null;
  }

  /** Colour slots for ``labels`` shown over ``view`` (a slider position ahead of the kernel inherits them). */
  slots(view: View, labels: ArrayLike<number>): Map<number, number> | undefined {
    const k = this.stepOf(view);
    if (k === null || !this.gen) return undefined;
    const own = new Map(this.gen.steps[k].slots);
    return labels === view.labels ? own : inheritSlots(labels, view.labels, own);
  }

  /** Mark the step's new token and hide the chat template in the text. */
  decorate(view: View, spans: HTMLSpanElement[]): void {
    const k = this.stepOf(view);
    if (k === null || !this.gen) return;
    for (const i of this.gen.hidden) spans[i]?.classList.add("aw-hidden");
    const span = spans[this.gen.prompt_length + k];
    span?.classList.add("aw-new-token");
    if (span) span.dataset.newToken = "true";
  }

  /** Describe the step ``view`` shows: the token, its alternatives, its links into the prompt, the events. */
  describe(view: View): void {
    const k = this.stepOf(view);
    if (k === null || !this.gen) return;
    const s = this.gen.steps[k];
    this.el.dataset.step = String(k);
    this.label.textContent = this.stepText(k);
    this.token.replaceChildren(
      el("span", { text: "new token " }),
      el("strong", { class: "aw-chip", testid: "step-new-token", text: showToken(s.token) }),
      el("span", { class: "aw-muted", text: ` ${pct(s.probability)}${this.gen.sample ? " (sampled)" : ""} · top 5: ` }),
      ...alternatives(s),
    );
    this.links.replaceChildren(
      el("span", { class: "aw-muted", text: "attends most to, in the prompt: " }),
      ...(s.links.length ? s.links.map(([, text, w]) => el("span", { class: "aw-link-chip aw-link-out", text: `${readable(text)} ${w.toFixed(2)}` })) : [el("span", { class: "aw-muted", text: "nothing" })]),
    );
    const lines = [...s.events];
    if (k === this.gen.steps.length - 1 && this.gen.stop === "eos") lines.push("the model ended its text here");
    this.events.replaceChildren(...lines.map((e) => el("li", { text: e })));
    this.events.hidden = lines.length === 0;
  }

  /** "formed at step k" for cluster ``cluster`` of the step ``view`` shows (null: not a followed cluster). */
  formed(view: View, cluster: number): string | null {
    const k = this.stepOf(view);
    if (k === null || !this.gen) return null;
    const at = this.gen.steps[k].formed.find(([id]) => id === cluster)?.[1];
    if (at === undefined) return null;
    return at === 0 ? "There from the first step." : `This cluster formed at step ${at + 1} (new token ${showToken(this.gen.steps[at].token)}).`;
  }

  private stepText(k: number): string {
    const n = this.gen?.steps.length ?? 0;
    return `${k + 1} of ${n}`;
  }

  private send(k: number): void {
    this.model.set("step", k);
    this.model.save_changes();
  }

  private start(): void {
    if (!this.gen) return;
    const last = this.gen.steps.length - 1;
    if (Number(this.slider.value) >= last) {
      this.slider.value = "0";
      this.send(0);
    }
    this.play.textContent = "⏸ pause";
    this.play.dataset.playing = "true";
    this.timer = setInterval(() => {
      const next = Number(this.slider.value) + 1;
      if (next > last) return this.stop();
      this.slider.value = String(next);
      this.label.textContent = this.stepText(next);
      this.send(next);
      if (next === last) this.stop();
    }, PLAY_MS);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = "▶ play";
    delete this.play.dataset.playing;
  }
}

function alternatives(s: StepWire): HTMLElement[] {
  return s.alternatives.map(([text, p]) => el("span", { class: "aw-chip aw-alt", testid: "step-alternative", text: `${showToken(text)} ${pct(p)}` }));
}
