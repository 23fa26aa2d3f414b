// How much the partition on screen tells beyond word order: its contiguity
// (share of neighbouring tokens in one cluster, from the labels the view shows)
// and, on request, the kernel's partition cut test (attn_widget/explain/cuttest.py)
// for exactly those labels. A reply for a partition the view has left is dropped.

import { amount } from "../common/dom";
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

/** The cut test's result in words: does cutting between these clusters hurt less than chunks and chance? */
export function cutTestText(r: CutTestResult): string {
  const chunks = r.ratio_contiguous;
  if (chunks === null || r.ratio_random === null) {
    return `Cutting attention between these clusters moves the ${r.output} by ${amount(r.divergence)}; ` +
      "runs of neighbouring words of the same sizes move nothing, so there is nothing to compare with.";
  }
  const verdict =
    chunks <= 0.9
      ? "the model depends on these groups more than on runs of neighbouring words"
      : chunks < 1.0
        ? "barely more than runs of neighbouring words"
        : "no more than runs of neighbouring words";
  return (
    `Cutting attention between these clusters moves the ${r.output} by ${amount(r.divergence)}: ` +
    `×${chunks.toFixed(2)} what cutting runs of neighbouring words of the same sizes does, ` +
    `×${r.ratio_random.toFixed(2)} what random groups do (mean of ${r.n_random}) — ${verdict}.`
  );
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
    this.ui.cutStatus.textContent = cutTestText(m.result);
  }
}
