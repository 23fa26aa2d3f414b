// How much the partition on screen tells beyond word order: its contiguity
// (share of neighbouring tokens in one cluster, from the labels the view shows)
// and, on request, the kernel's partition cut test (attn_widget/explain/cuttest.py)
// for exactly those labels. A reply for a partition the view has left is dropped.

import { amount, el } from "../common/dom";
import type { CutTestProgress, CutTestReply, CutTestResult } from "../wire/messages";
import type { Model } from "../wire/model";
import type { Parts } from "../common/skeleton";
import { contiguity } from "../wire/state";

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** The contiguity line: the share, and a plain warning when the clusters are just runs of words. */
export function contiguityText(share: number): string {
  const base = `${pct(share)} of neighbouring tokens share a cluster`;
  return share >= 0.8 ? `${base}: the clusters are mostly runs of neighbouring words` : base;
}

/** What the cut test's output is, in a student's words ("the model's predictions" for a causal model). */
function outputWords(r: CutTestResult): string {
  return r.output.startsWith("next-token") ? "the model's predictions" : "the model's summary of the sentence";
}

/** "0.45 times as much as": a ratio said as a comparison. */
const times = (x: number): string => `${x.toFixed(2)} times as much as`;

/** The cut test's result in words: does cutting between these groups hurt less than chunks and chance? */
export function cutTestText(r: CutTestResult): string {
  const chunks = r.ratio_contiguous;
  const what = outputWords(r);
  if (chunks === null || r.ratio_random === null) {
    const moved = r.divergence > 0 ? `changes ${what}` : `does not change ${what}`;
    return `Cutting the links between these groups ${moved}; cutting between runs of neighbouring words ` +
      "of the same sizes changes nothing, so there is nothing to compare with.";
  }
  const verdict =
    chunks <= 0.9
      ? "the model relies on these groups more than on runs of neighbouring words"
      : chunks < 1.0
        ? "the model relies on these groups barely more than on runs of neighbouring words"
        : "the model relies on these groups no more than on runs of neighbouring words";
  return (
    `Cutting the links between these groups changes ${what} ${times(chunks)} cutting between ` +
    `runs of neighbouring words of the same sizes, and ${times(r.ratio_random)} cutting between random ` +
    `groups: ${verdict}.`
  );
}

/** The exact measure behind the sentence, for whoever opens "the exact measure". */
export function cutTestMeasure(r: CutTestResult): string {
  const measure = r.output.startsWith("next-token")
    ? "Jensen-Shannon divergence of the next-token distributions, averaged over positions (0: unchanged, 1: nothing in common)"
    : "1 − cosine similarity of the sentence embedding (0: unchanged)";
  return (
    `${measure}: ${amount(r.divergence)} when cutting between these groups, ${amount(r.contiguous)} between ` +
    `runs of neighbouring words of the same sizes, ${amount(r.random)} between random groups (mean of ` +
    `${r.n_random}). The "times as much" figures divide the first by the others.`
  );
}

/** The sentence, with the exact measure folded under it. */
function cutTestNodes(r: CutTestResult): Node[] {
  return [
    el("span", { testid: "cuttest-text", text: cutTestText(r) }),
    el("details", { class: "aw-evidence", testid: "cuttest-measure" }, [
      el("summary", { text: "the exact measure" }),
      el("span", { text: cutTestMeasure(r) }),
    ]),
  ];
}

const sameLabels = (a: ArrayLike<number> | null, b: ArrayLike<number>): boolean =>
  a !== null && a.length === b.length && Array.from(a).every((x, i) => x === b[i]);

export class PartitionView {
  private next = 1;
  private pending: { id: number; labels: Int32Array } | null = null;
  private shown: Int32Array = new Int32Array(0);

  constructor(
    private readonly ui: Parts,
    private readonly model: Model,
    offline: boolean,
    signal: AbortSignal,
  ) {
    if (!offline) ui.cutButton.addEventListener("click", () => this.request(), { signal });
  }

  /** The partition the view now shows. */
  show(labels: Int32Array): void {
    const changed = !sameLabels(this.shown, labels);
    this.shown = labels;
    this.ui.contiguity.textContent = labels.length ? contiguityText(contiguity(labels)) : "";
    if (changed && this.pending === null) this.ui.cutStatus.textContent = "";
  }

  private request(): void {
    if (!this.shown.length) return;
    const id = this.next++;
    this.pending = { id, labels: this.shown };
    this.ui.cutButton.disabled = true;
    this.ui.cutStatus.textContent = "Running the model with the attention between clusters cut…";
    this.model.send({ type: "cuttest", id, labels: Array.from(this.shown) });
  }

  /** A cut-test message from the kernel (others are not this module's). */
  receive(m: CutTestReply | CutTestProgress): void {
    if (!this.pending || m.id !== this.pending.id) return;
    if (m.type === "cuttest_progress") {
      this.ui.cutStatus.textContent = `${m.message} (${m.done}/${m.total})`;
      return;
    }
    const asked = this.pending.labels;
    this.pending = null;
    this.ui.cutButton.disabled = false;
    if (m.error) {
      this.ui.cutStatus.textContent = m.error;
      return;
    }
    if (!m.result || !sameLabels(m.labels, this.shown) || !sameLabels(asked, this.shown)) {
      this.ui.cutStatus.textContent = "The partition changed while the cut test ran; ask again for this one.";
      return;
    }
    this.ui.cutStatus.replaceChildren(...cutTestNodes(m.result));
  }
}
