// The cluster side panel: the headline first (Cluster.headline: one plain
// sentence, its checked claims on hover), then the cluster's facts (size,
// modularity, inside share), and behind one click ("Details") the full
// rationale, each claim with its evidence on hover, and the head roles; the
// faithfulness badges stay in view. An analysis explained before headlines
// existed shows its rationale as before.

import { el, readable, showToken } from "../common/dom";
import { clip, pieceGroups, runText, Source } from "../common/words";
import type { ClusterInfo } from "../wire/messages";
import type { Swatch } from "../common/colors";

export interface PanelInput {
  id: number;
  /** The number the legend shows for it (reading order, from 1); default: its id. */
  number?: number;
  tokens: number[];
  tokenText: string[];
  /** The text and offsets the tokens come from: pieces of one character make one chip. */
  source?: Source;
  /** What a node is ("token", "word", "sentence"); default "token". */
  unit?: string;
  swatch?: Swatch;
  facts: { modularity: number; internal: number } | null;
  info: ClusterInfo | null; // null when showing a slider partition the kernel has not sent yet
  pending: boolean; // the kernel is re-clustering at this slider position
  explain?: HTMLElement | null; // explanation status and the faithfulness button (explain.ts)
  /** Whether the details (full rationale, evidence, heads) are open, and how to remember a click. */
  details?: { open: boolean; onToggle: (open: boolean) => void };
  onClose: () => void;
  /** Removes the panel's listeners when it aborts (the view went away). */
  signal?: AbortSignal;
}

const MAX_TOKENS = 300;

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

function short(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === "string") return value;
  const s = JSON.stringify(value);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}

export function claimText(c: Record<string, unknown>): string {
  for (const key of ["text", "sentence_text", "claim"]) if (typeof c[key] === "string") return c[key] as string;
  return short(c);
}

const CLAIM_META = new Set(["text", "sentence", "type", "field"]);

/** Hover text for a claim: the evidence field it was checked against and the values it uses. */
export function claimTitle(c: Record<string, unknown>): string {
  const parts = Object.entries(c).filter(([k]) => !CLAIM_META.has(k)).map(([k, v]) => `${k} = ${short(v)}`);
  const field = typeof c.field === "string" ? `evidence: ${c.field}` : "evidence";
  return parts.length ? `${field}\n${parts.join("\n")}` : field;
}

/**
 * One line per head that carries the cluster: "head 2.1 — 3.9× an average head's share; previous-token
 * (score 0.72)" (the evidence's ``lift``: its share times the number of heads), or, without a lift,
 * "— 26% of the group's attention" (a share over all heads reads small: 1% of 270 heads is 3.9×).
 */
export function headLines(evidence: Record<string, unknown>, max = 6): { text: string; title: string }[] {
  const heads = evidence.heads;
  if (!Array.isArray(heads)) return [];
  return heads.slice(0, max).map((h) => {
    const r = (h ?? {}) as Record<string, unknown>;
    const name = r.layer !== undefined && r.head !== undefined ? `head ${r.layer}.${r.head}` : short(r.name ?? h);
    const share = typeof r.lift === "number"
      ? ` — ${r.lift.toFixed(1)}× an average head's share`
      : typeof r.share === "number" ? ` — ${pct(r.share)} of the group's attention` : "";
    const roles = Array.isArray(r.roles) ? (r.roles as Record<string, unknown>[]) : r.role ? [{ role: r.role, score: r.score }] : [];
    const named = roles.map((x) => `${short(x.role)}${typeof x.score === "number" ? ` (score ${x.score.toFixed(2)})` : ""}`);
    const glosses = roles.filter((x) => typeof x.gloss === "string").map((x) => `${short(x.role)}: ${x.gloss}`);
    return { text: `${name}${share}${named.length ? `; ${named.join(", ")}` : ""}`, title: glosses.join("\n") };
  });
}

/**
 * The rationale split into its sentences, each with the claims it makes (claims
 * carry the index of their sentence) as hover text. Falls back to one piece
 * when the split does not line up with the claims.
 */
export function rationaleSentences(rationale: string, claims: Record<string, unknown>[] | null | undefined): { text: string; title: string }[] {
  const parts = rationale.split(/(?<=[.!?])\s+(?=[A-Z'"“‘(])/);
  const list = claims ?? [];
  const maxIndex = Math.max(-1, ...list.map((c) => (typeof c.sentence === "number" ? c.sentence : -1)));
  if (parts.length <= maxIndex) return [{ text: rationale, title: list.map(claimText).join("\n") }];
  return parts.map((text, k) => ({
    text,
    title: list.filter((c) => c.sentence === k).map((c) => `✓ ${claimText(c)}`).join("\n"),
  }));
}

/** Hover text for the headline: the checked claims it says (claims marked ``headline``). */
export function headlineTitle(claims: Record<string, unknown>[] | null | undefined): string {
  const said = (claims ?? []).filter((c) => c.headline === true).map((c) => `✓ ${claimText(c)}`);
  return said.length ? `checked against the evidence:\n${said.join("\n")}` : "";
}

export interface Badge {
  text: string;
  title: string;
  tone: "" | "aw-good" | "aw-fair" | "aw-poor";
}

function tone(beats: number): Badge["tone"] {
  return beats >= 0.8 ? "aw-good" : beats >= 0.5 ? "aw-fair" : "aw-poor";
}

/**
 * Badges from ``Cluster.scores``: the faithfulness summary first (how often the
 * cluster beats random token sets of the same size), then each metric with its
 * random baseline, then complexity. Unknown score kinds are listed as they are.
 */
export function scoreBadges(scores: Record<string, unknown>): Badge[] {
  const out: Badge[] = [];
  const faith = scores.faithfulness as Record<string, unknown> | undefined;
  if (faith && typeof faith === "object") {
    const metrics = Object.entries(faith).filter(([, v]) => v && typeof v === "object" && "score" in (v as object)) as [string, Record<string, unknown>][];
    const beats = metrics.map(([, v]) => v.beats).filter((b): b is number => typeof b === "number");
    if (beats.length) {
      const mean = beats.reduce((a, b) => a + b, 0) / beats.length;
      out.push({ text: `faithfulness: beats ${pct(mean)} of random sets`, title: `mean over ${beats.length} metrics, ${short(faith.n_random ?? "?")} random token sets each`, tone: tone(mean) });
    }
    if (!beats.length && typeof faith.note === "string") {
      out.push({ text: "faithfulness: no random baseline", title: faith.note, tone: "" });
    }
    for (const [name, v] of metrics) {
      const base = v.baseline === null || v.baseline === undefined ? "" : ` vs random ${short(v.baseline)}`;
      out.push({ text: `${name.replace(/_/g, " ")} ${short(v.score)}${base}`, title: typeof v.beats === "number" ? `beats ${pct(v.beats)} of random sets (sd ${short(v.baseline_sd)})` : "", tone: typeof v.beats === "number" ? tone(v.beats) : "" });
    }
  }
  const cx = scores.complexity as Record<string, unknown> | undefined;
  if (cx && typeof cx === "object") {
    const e = cx.token_entropy;
    const g = cx.token_gini;
    out.push({ text: `complexity: entropy ${short(e)}, Gini ${short(g)}`, title: "how spread the cluster's attention is over its tokens (entropy: higher = more spread; Gini: higher = more concentrated)", tone: "" });
  }
  for (const [name, v] of Object.entries(scores)) {
    if (name !== "faithfulness" && name !== "complexity") out.push({ text: `${name}: ${short(v)}`, title: "", tone: "" });
  }
  return out;
}

export function renderPanel(host: HTMLElement, p: PanelInput): void {
  host.replaceChildren();
  host.hidden = false;
  const swatch = el("span", { class: "aw-swatch" });
  if (p.swatch) {
    swatch.style.background = p.swatch.fill;
    swatch.style.borderColor = p.swatch.color;
  }
  const close = el("button", { class: "aw-close", text: "×", title: "Close", testid: "panel-close" });
  close.addEventListener("click", p.onClose, { signal: p.signal });
  host.append(el("div", { class: "aw-panel-head" }, [swatch, el("h3", { text: `Cluster ${p.number ?? p.id}` }), close]));
  const info = p.info;
  if (info?.headline) {
    const title = headlineTitle(info.claims);
    host.append(el("p", { class: `aw-headline${title ? " aw-checked" : ""}`, testid: "panel-headline", text: info.headline, title }));
  }
  const size = p.tokens.length;
  const facts = el("dl", { class: "aw-facts", testid: "panel-facts" });
  const fact = (k: string, v: string, title: string) => {
    facts.append(el("dt", { text: k, title }), el("dd", { text: v, title }));
  };
  const unit = p.unit ?? "token";
  fact("size", `${size} ${unit}${size === 1 ? "" : "s"}`, `${unit}s in this cluster`);
  if (p.facts) {
    fact("modularity", p.facts.modularity.toFixed(3), "this cluster's share of the partition's modularity");
    const shares = (p.info?.evidence as { attention?: { inside?: unknown } } | null | undefined)?.attention;
    if (typeof shares?.inside === "number") {
      // the rationale's share: its tokens' attention that stays in the group (each other + themselves)
      fact("inside", pct(shares.inside), "share of its tokens' attention that stays in the group (each other + themselves), as in the rationale");
    } else {
      fact("linked inside", pct(p.facts.internal), "share of the link weight touching this group that joins two of its tokens");
    }
  }
  host.append(facts);
  const more: HTMLElement[] = [];
  if (info?.rationale) {
    const para = el("p", { class: "aw-rationale", testid: "panel-rationale" });
    rationaleSentences(info.rationale, info.claims).forEach((sentence, k) => {
      if (k) para.append(" ");
      para.append(el("span", { class: sentence.title ? "aw-checked" : "", text: sentence.text, title: sentence.title ? `checked against the evidence:\n${sentence.title}` : "" }));
    });
    more.push(para);
  }
  if (info?.claims?.length) {
    const list = el("ul", { class: "aw-claims", testid: "panel-claims" });
    for (const c of info.claims) list.append(el("li", { text: claimText(c), title: claimTitle(c) }));
    more.push(el("details", { class: "aw-evidence" }, [el("summary", { text: `Evidence (${info.claims.length} checked facts)` }), list]));
  }
  const heads = info?.evidence ? headLines(info.evidence) : [];
  if (heads.length) {
    const list = el("ul", { class: "aw-roles", testid: "panel-heads" });
    for (const h of heads) list.append(el("li", { text: h.text, title: h.title }));
    more.push(el("h4", { text: "Heads that carry it" }), list);
  }
  if (info?.headline && more.length) {
    // the headline is read first; the full rationale and the evidence are one click away
    const box = el("details", { class: "aw-details", testid: "panel-details" }, [
      el("summary", { testid: "panel-details-toggle", text: "Details: the full explanation and its evidence" }),
      ...more,
    ]);
    box.open = p.details?.open ?? false;
    box.addEventListener("toggle", () => p.details?.onToggle(box.open), { signal: p.signal });
    host.append(box);
  } else {
    host.append(...more);
  }
  const badges = info?.scores ? scoreBadges(info.scores) : [];
  if (badges.length) {
    const box = el("div", { class: "aw-scores", testid: "panel-scores" });
    badges.forEach((b, k) => box.append(el("span", { class: `aw-badge ${b.tone}`, text: b.text, title: b.title, testid: b.text.startsWith("faithfulness:") ? "panel-faithfulness" : "panel-score" })));
    host.append(box);
  }
  if (p.explain) host.append(p.explain);
  if (!info && p.pending) host.append(el("p", { class: "aw-muted", text: "Re-clustering at this threshold; explanations follow." }));
  const words = el("div", { class: "aw-panel-tokens", testid: "panel-tokens" });
  // pieces of one character (byte-level BPE) make one chip; right-to-left words isolated (dir=auto); long ones cut
  for (const group of pieceGroups(p.tokens.slice(0, MAX_TOKENS), p.source)) {
    const shown = readable(runText(group, p.tokenText, p.source));
    const which = group.length > 1 ? `tokens ${group.join(", ")} (pieces of one character)` : `${unit} ${group[0]}`;
    words.append(el("span", { class: "aw-chip", text: clip(shown), title: `${which}: ${clip(showToken(runText(group, p.tokenText, p.source)), 200)}`, attrs: { dir: "auto" } }));
  }
  if (size > MAX_TOKENS) words.append(el("span", { class: "aw-muted", text: ` … and ${size - MAX_TOKENS} more` }));
  host.append(el("h4", { text: `${unit[0].toUpperCase()}${unit.slice(1)}s` }), words); // "Words" in the word view
}
