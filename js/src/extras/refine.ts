// Hands-on refinement: merge the selected cluster with another, split it
// (re-cluster inside, or split off the picked tokens), move or pin the picked
// tokens, undo and redo. Every edit is a `refine` message; the kernel
// (attn_widget/view/refining.py) applies it with attn_widget.refine and sends
// the new partition as a new state, whose `partition` section lists the edits
// with their modularity change. Pure helpers are exported for vitest.

import { NEEDS_KERNEL } from "../common/skeleton";
import { el, option, readable } from "../common/dom";
import type { EditOp, RefineReply, RefineRequest } from "../wire/messages";
import type { Model } from "../wire/model";
import type { View } from "../wire/state";

export interface RefineHooks {
  view(): View | null;
  labels(): ArrayLike<number>;
  selected(): number | null;
  picked(): number[];
  clearPicks(): void;
  /** Why editing is not possible now (the slider is ahead of the kernel), or null. */
  blocked(): string | null;
}

/** "+0.012" / "−0.180": a modularity change as the bar shows it. */
export function formatDelta(delta: number): string {
  const sign = delta > 0 ? "+" : delta < 0 ? "−" : "±";
  return `${sign}${Math.abs(delta).toFixed(3)}`;
}

/** The clusters of 2+ tokens and the singletons' ids, in id order. */
export function clusterIds(labels: ArrayLike<number>): number[] {
  const ids = new Set<number>();
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) ids.add(labels[i]);
  return [...ids].sort((a, b) => a - b);
}

/** The fields of a refine message for ``op`` (null fields unused by it). */
export function refineRequest(id: number, op: EditOp, fields: Partial<Pick<RefineRequest, "clusters" | "cluster" | "tokens" | "to">> = {}): RefineRequest {
  return { type: "refine", id, op, clusters: null, cluster: null, tokens: null, to: null, ...fields };
}

export class RefineBar {
  readonly root: HTMLDetailsElement;
  private readonly modularity = el("span", { class: "aw-refine-q", testid: "refine-modularity" });
  private readonly last = el("span", { class: "aw-muted", testid: "refine-last" });
  private readonly status = el("span", { class: "aw-refine-status", testid: "refine-status", attrs: { role: "status" } });
  private readonly undo = el("button", { text: "Undo", testid: "refine-undo" });
  private readonly redo = el("button", { text: "Redo", testid: "refine-redo" });
  private readonly mergeTarget = el("select", { testid: "refine-merge-target", attrs: { "aria-label": "merge with" } });
  private readonly merge = el("button", { text: "Merge", testid: "refine-merge" });
  private readonly split = el("button", { text: "Split (re-cluster inside)", testid: "refine-split" });
  private readonly picked = el("span", { class: "aw-muted", testid: "refine-picked" });
  private readonly splitOff = el("button", { text: "Split off", testid: "refine-split-off", title: "The picked tokens leave the selected cluster as a new one" });
  private readonly moveTarget = el("select", { testid: "refine-move-target", attrs: { "aria-label": "move to" } });
  private readonly move = el("button", { text: "Move", testid: "refine-move" });
  private readonly pin = el("button", { text: "Pin together", testid: "refine-pin", title: "Put the picked tokens in one cluster and keep them together through later edits" });
  private readonly unpin = el("button", { text: "Unpin", testid: "refine-unpin" });
  private readonly clear = el("button", { text: "Clear picks", testid: "refine-clear" });
  private readonly history = el("ol", { class: "aw-refine-history", testid: "refine-history" });
  private nextId = 1;
  private waiting: number | null = null;
  private offline = false;

  constructor(
    private readonly model: Model,
    offline: boolean,
    private readonly hooks: RefineHooks,
    signal: AbortSignal,
  ) {
    const row = (...kids: (Node | string)[]) => el("div", { class: "aw-controls" }, kids);
    // folded like the map and the drill-down, so the text stays near the top; the summary
    // keeps the modularity and the last edit in view
    this.root = el("details", { class: "aw-drill aw-refine", testid: "refine" }, [
      el("summary", { testid: "refine-toggle" }, ["Refine clusters by hand · ", this.modularity, " ", this.last]),
      row(this.undo, this.redo, this.status),
      row("Selected cluster: ", el("label", {}, ["merge with ", this.mergeTarget]), this.merge, this.split),
      row("Picked (shift-click tokens or dots): ", this.picked, this.splitOff, el("label", {}, ["move to ", this.moveTarget]), this.move, this.pin, this.unpin, this.clear),
      el("details", { class: "aw-evidence" }, [el("summary", { text: "Edits so far" }), this.history]),
    ]);
    for (const c of [this.mergeTarget, this.moveTarget]) c.setAttribute("data-lm-suppress-shortcuts", "true");
    const on = (b: HTMLElement, f: () => void) => b.addEventListener("click", f, { signal });
    on(this.undo, () => this.send("undo"));
    on(this.redo, () => this.send("redo"));
    on(this.merge, () => this.send("merge", { clusters: [this.hooks.selected() ?? -1, Number(this.mergeTarget.value)] }));
    on(this.split, () => this.send("split", { cluster: this.hooks.selected() }));
    on(this.splitOff, () => this.send("split", { cluster: this.hooks.selected(), tokens: this.hooks.picked() }));
    on(this.move, () => this.send("move", { tokens: this.hooks.picked(), to: this.moveTarget.value === "new" ? null : Number(this.moveTarget.value) }));
    on(this.pin, () => this.send("pin", { tokens: this.hooks.picked() }));
    on(this.unpin, () => this.send("unpin", { tokens: this.hooks.picked() }));
    on(this.clear, () => this.hooks.clearPicks());
    this.root.addEventListener("toggle", () => this.show(), { signal });
    this.moveTarget.append(option("new", "a new cluster")); // the default, before the bar is first opened
    if (offline) {
      for (const b of this.root.querySelectorAll<HTMLButtonElement | HTMLSelectElement>("button, select")) {
        b.disabled = true;
        b.title = NEEDS_KERNEL;
      }
      this.offline = true;
    }
  }

  private send(op: EditOp, fields: Partial<Pick<RefineRequest, "clusters" | "cluster" | "tokens" | "to">> = {}): void {
    const why = this.hooks.blocked();
    if (why) {
      this.status.textContent = why;
      return;
    }
    const msg = refineRequest(this.nextId++, op, fields);
    this.waiting = msg.id;
    this.status.textContent = "Applying…";
    if (op !== "undo" && op !== "redo" && op !== "merge" && op !== "split") this.hooks.clearPicks();
    this.model.send(msg);
  }

  receive(reply: RefineReply): void {
    if (reply.id !== this.waiting) return;
    this.waiting = null;
    this.status.classList.toggle("aw-refine-error", reply.error !== null);
    this.status.textContent = reply.error ?? (reply.delta === null ? reply.text : `${reply.text}: modularity ${formatDelta(reply.delta)}`);
    if (!reply.error && reply.text.startsWith("split")) this.hooks.clearPicks();
  }

  /** Redraw for the state and selection on screen. */
  show(): void {
    const view = this.hooks.view();
    if (!view) return;
    const p = view.raw.partition;
    this.modularity.textContent = `modularity ${view.raw.modularity.toFixed(3)}`;
    const e = p.edits[p.edits.length - 1];
    this.last.textContent = e ? `(last edit ${formatDelta(e.after - e.before)})` : "";
    this.last.dataset.delta = e ? String(e.after - e.before) : "";
    this.history.replaceChildren(...p.edits.map((x) => el("li", { text: `${x.text} (${formatDelta(x.after - x.before)})` })));
    if (!p.edits.length) this.history.append(el("li", { class: "aw-muted", text: "none yet" }));
    const labels = this.hooks.labels();
    const selected = this.hooks.selected();
    const picked = this.hooks.picked();
    const ids = this.root.open ? clusterIds(labels) : [];
    const keepValue = (s: HTMLSelectElement, opts: HTMLOptionElement[]) => {
      const v = s.value;
      s.replaceChildren(...opts);
      if ([...s.options].some((o) => o.value === v)) s.value = v;
    };
    // the cluster lists are rebuilt while the bar is open (and when it opens), not on every slider
    // move behind a folded bar: at 4,096 tokens and a hundred clusters that doubled the slider's p95
    if (this.root.open) {
      keepValue(this.mergeTarget, ids.filter((i) => i !== selected).map((i) => option(String(i), `cluster ${i}`)));
      keepValue(this.moveTarget, [option("new", "a new cluster"), ...ids.map((i) => option(String(i), `cluster ${i}`))]);
    }
    const words = picked.slice(0, 6).map((i) => readable(view.raw.tokens[i]));
    this.picked.textContent = picked.length ? `${words.join(", ")}${picked.length > 6 ? ` +${picked.length - 6}` : ""}` : "none";
    if (this.offline) return;
    this.undo.disabled = p.undo === 0;
    this.redo.disabled = p.redo === 0;
    this.merge.disabled = this.split.disabled = selected === null;
    this.splitOff.disabled = selected === null || !picked.length;
    this.move.disabled = this.pin.disabled = this.unpin.disabled = this.clear.disabled = !picked.length;
  }
}
