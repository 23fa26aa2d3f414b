// A word's own actions: right-click a word (or reach it from the keyboard and press Enter,
// the context-menu key or Shift+F10) for a small menu: "Show its group" and "What if this
// word were knocked out?". From the keyboard one word of the text holds the tab stop at a
// time (a roving tabindex): Tab reaches the text, the arrow keys move along its words, so a
// 500-word text is one tab stop, not 500. The menu floats over the text (nothing moves);
// Escape closes it and gives the focus back to its word. Listeners end with ``signal``.

import { el, readable } from "../common/dom";

export interface WordMenuHooks {
  /** What a node is ("word", "token", "sentence"): the menu names it. */
  unit(): string;
  /** Whether node ``i`` can be acted on (not a special token). */
  usable(i: number): boolean;
  /** Whether node ``i`` is in a group (not left out of the graph). */
  grouped(i: number): boolean;
  /** Show node ``i``'s group (its cluster) in the panel. */
  group(i: number): void;
  /** Knock node ``i`` out and show what the model predicts then. */
  whatIf(i: number): void;
  /** Why "What if…" does not apply now ("": it does). */
  blocked(): string;
}

/** The menu's question for a node of ``unit``. */
export function whatIfLabel(unit: string): string {
  const what = unit === "token" ? "token" : unit === "sentence" ? "sentence" : "word";
  return `What if this ${what} were knocked out?`;
}

const OPEN_KEYS = new Set(["Enter", " ", "ContextMenu"]);

export class WordMenu {
  readonly el: HTMLDivElement;
  private readonly title: HTMLDivElement;
  private readonly groupItem: HTMLButtonElement;
  private readonly whatIfItem: HTMLButtonElement;
  private readonly why: HTMLDivElement;
  private spans: HTMLSpanElement[] = [];
  /** The span holding the text's tab stop (null: none yet). */
  private stop: HTMLSpanElement | null = null;
  /** The node the open menu is about (null: closed). */
  private index: number | null = null;

  constructor(
    private readonly host: HTMLElement,
    private readonly hooks: WordMenuHooks,
    signal: AbortSignal,
  ) {
    this.title = el("div", { class: "aw-word-menu-title", testid: "word-menu-title" });
    this.groupItem = el("button", { testid: "word-menu-group", text: "Show its group", attrs: { role: "menuitem" } });
    this.whatIfItem = el("button", { testid: "word-menu-whatif", attrs: { role: "menuitem" } });
    this.why = el("div", { class: "aw-muted aw-word-menu-why", testid: "word-menu-why" });
    this.el = el("div", { class: "aw-word-menu", testid: "word-menu", attrs: { role: "menu", "data-lm-suppress-shortcuts": "true" } }, [
      this.title, this.groupItem, this.whatIfItem, this.why,
    ]);
    this.el.hidden = true;
    // the text's keys and right-clicks are ours, not JupyterLab's (its shortcuts, its context menu)
    host.setAttribute("data-lm-suppress-shortcuts", "true");
    host.setAttribute("data-jp-suppress-context-menu", "");
    host.setAttribute("aria-label", "The text: arrow keys move along its words; Enter opens a word's actions");
    const act = (cb: (i: number) => void) => () => {
      const i = this.index;
      this.close(true);
      if (i !== null) cb(i);
    };
    this.groupItem.addEventListener("click", act((i) => this.hooks.group(i)), { signal });
    this.whatIfItem.addEventListener("click", act((i) => this.hooks.whatIf(i)), { signal });
    host.addEventListener("contextmenu", (ev) => {
      const span = this.spanOf(ev.target);
      if (!span || ev.shiftKey) return; // shift: the browser's own menu
      ev.preventDefault();
      ev.stopPropagation();
      this.open(span);
    }, { signal });
    host.addEventListener("keydown", (ev) => this.onTextKey(ev), { signal });
    this.el.addEventListener("keydown", (ev) => this.onMenuKey(ev), { signal });
    document.addEventListener("pointerdown", (ev) => {
      if (this.index !== null && !(ev.target instanceof Node && this.el.contains(ev.target))) this.close(false);
    }, { signal, capture: true });
  }

  /** The spans of a new state: the tab stop stays on the same node when it still exists. */
  set(spans: HTMLSpanElement[]): void {
    const kept = this.stop ? Number(this.stop.dataset.index) : -1;
    this.close(false);
    this.spans = spans;
    this.stop = null;
    const first = kept >= 0 && kept < spans.length && this.hooks.usable(kept) ? kept : this.next(-1, 1);
    if (first !== null) this.hold(spans[first]);
  }

  /** Open the menu for ``span``'s node, under the word, focus on its first action. */
  open(span: HTMLSpanElement): void {
    const i = Number(span.dataset.index);
    if (!this.hooks.usable(i)) return;
    this.hold(span);
    this.index = i;
    const blocked = this.hooks.blocked();
    this.title.textContent = `“${readable(span.textContent ?? "")}”`;
    this.groupItem.disabled = !this.hooks.grouped(i);
    this.whatIfItem.textContent = whatIfLabel(this.hooks.unit());
    this.whatIfItem.disabled = blocked !== "";
    this.why.textContent = blocked;
    this.why.hidden = blocked === "";
    const reading = this.el.parentElement;
    this.el.hidden = false;
    if (reading) {
      const box = reading.getBoundingClientRect();
      const word = span.getBoundingClientRect();
      const left = Math.max(0, Math.min(word.left - box.left, box.width - this.el.offsetWidth));
      this.el.style.left = `${left}px`;
      this.el.style.top = `${word.bottom - box.top + 2}px`;
    }
    [this.whatIfItem, this.groupItem].find((b) => !b.disabled)?.focus({ preventScroll: true });
  }

  /** Close the menu; ``refocus``: the focus goes back to its word. */
  close(refocus: boolean): void {
    if (this.index === null) return;
    this.index = null;
    this.el.hidden = true;
    if (refocus) this.stop?.focus({ preventScroll: true });
  }

  private spanOf(target: EventTarget | null): HTMLSpanElement | null {
    return target instanceof Element ? target.closest<HTMLSpanElement>(".aw-tok") : null;
  }

  /** ``span`` takes the text's one tab stop. */
  private hold(span: HTMLSpanElement): void {
    if (this.stop === span) return;
    this.stop?.removeAttribute("tabindex");
    span.tabIndex = 0;
    this.stop = span;
  }

  /** The next usable node from ``i`` in direction ``step`` with its own span (pieces of one character share one). */
  private next(i: number, step: 1 | -1): number | null {
    for (let j = i + step; j >= 0 && j < this.spans.length; j += step) {
      const span = this.spans[j];
      if (span && span !== this.spans[i] && Number(span.dataset.index) === j && this.hooks.usable(j)) return j;
    }
    return null;
  }

  private onTextKey(ev: KeyboardEvent): void {
    const span = this.spanOf(ev.target);
    if (!span || span !== this.stop) return;
    const i = Number(span.dataset.index);
    let to: number | null = null;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") to = this.next(i, 1);
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") to = this.next(i, -1);
    else if (ev.key === "Home") to = this.next(-1, 1);
    else if (ev.key === "End") to = this.next(this.spans.length, -1);
    else if (OPEN_KEYS.has(ev.key) || (ev.key === "F10" && ev.shiftKey)) {
      ev.preventDefault();
      this.open(span);
      return;
    } else return;
    ev.preventDefault();
    if (to === null) return;
    const target = this.spans[to];
    this.hold(target);
    target.focus();
    target.dispatchEvent(new MouseEvent("mouseover", { bubbles: true })); // its links, as on hover
  }

  private onMenuKey(ev: KeyboardEvent): void {
    const items = [this.groupItem, this.whatIfItem].filter((b) => !b.disabled);
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    if (ev.key === "Escape" || ev.key === "Tab") {
      ev.preventDefault();
      this.close(true);
    } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const step = ev.key === "ArrowDown" ? 1 : items.length - 1;
      items[(Math.max(at, 0) + step) % items.length]?.focus();
    }
    ev.stopPropagation();
  }
}
