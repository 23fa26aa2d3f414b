// The cluster side panel: the cluster's tokens and facts (size, modularity,
// inside share), and, when the explanation stages have filled them
// (Cluster.rationale / claims / evidence / scores), the rationale, each claim
// with its evidence on hover, head roles, and a faithfulness badge.

import { el, showToken } from "./dom";
import type { ClusterInfo } from "./state";
import type { Swatch } from "./colors";

export interface PanelInput {
  id: number;
  tokens: number[];
  tokenText: string[];
  swatch?: Swatch;
  facts: { modularity: number; internal: number } | null;
  info: ClusterInfo | null; // null when showing a slider partition the kernel has not sent yet
  pending: boolean; // the kernel is re-clustering at this slider position
  onClose: () => void;
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

function claimText(c: Record<string, unknown>): string {
  for (const key of ["text", "sentence", "claim"]) if (typeof c[key] === "string") return c[key] as string;
  return short(c);
}

function roles(evidence: Record<string, unknown>): HTMLElement | null {
  const heads = (evidence.heads ?? evidence.head_roles) as unknown;
  if (!Array.isArray(heads) || heads.length === 0) return null;
  const list = el("ul", { class: "aw-roles", testid: "panel-heads" });
  for (const h of heads.slice(0, 8)) {
    const r = h as Record<string, unknown>;
    const name = r.layer !== undefined && r.head !== undefined ? `head ${r.layer}.${r.head}` : short(r.name ?? h);
    const role = r.role ? ` — ${short(r.role)}` : "";
    const score = typeof r.score === "number" ? ` (score ${r.score.toFixed(2)})` : "";
    const share = typeof r.share === "number" ? `, ${pct(r.share)} of the cluster's attention` : "";
    list.append(el("li", { text: `${name}${role}${score}${share}` }));
  }
  return el("div", {}, [el("h4", { text: "Heads that carry it" }), list]);
}

function scoresBadge(scores: Record<string, unknown>): HTMLElement {
  const box = el("div", { class: "aw-scores", testid: "panel-scores" });
  for (const [name, value] of Object.entries(scores)) {
    let text: string;
    let tone = "";
    if (value && typeof value === "object" && "value" in (value as object)) {
      const v = value as Record<string, unknown>;
      text = `${name}: ${short(v.value)}`;
      if (v.baseline !== undefined) text += ` vs random ${short(v.baseline)}`;
      if (typeof v.beats === "number") {
        text += ` (beats ${pct(v.beats)} of random sets)`;
        tone = v.beats >= 0.8 ? "aw-good" : v.beats >= 0.5 ? "aw-fair" : "aw-poor";
      }
    } else {
      text = `${name}: ${short(value)}`;
    }
    box.append(el("span", { class: `aw-badge ${tone}`, text, testid: "panel-faithfulness" }));
  }
  return box;
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
  close.addEventListener("click", p.onClose);
  host.append(el("div", { class: "aw-panel-head" }, [swatch, el("h3", { text: `Cluster ${p.id}` }), close]));
  const size = p.tokens.length;
  const facts = el("dl", { class: "aw-facts", testid: "panel-facts" });
  const fact = (k: string, v: string, title: string) => {
    facts.append(el("dt", { text: k, title }), el("dd", { text: v, title }));
  };
  fact("size", `${size} token${size === 1 ? "" : "s"}`, "tokens in this cluster");
  if (p.facts) {
    fact("modularity", p.facts.modularity.toFixed(3), "this cluster's share of the partition's modularity");
    fact("inside", pct(p.facts.internal), "share of the cluster's attention that stays inside it");
  }
  host.append(facts);
  const info = p.info;
  if (info?.rationale) host.append(el("p", { class: "aw-rationale", testid: "panel-rationale", text: info.rationale }));
  if (info?.claims?.length) {
    const list = el("ul", { class: "aw-claims", testid: "panel-claims" });
    for (const c of info.claims) {
      const ev = (c as Record<string, unknown>).evidence;
      list.append(el("li", { text: claimText(c), title: ev === undefined ? "" : `evidence: ${short(ev)}` }));
    }
    host.append(list);
  }
  if (info?.evidence) {
    const r = roles(info.evidence);
    if (r) host.append(r);
  }
  if (info?.scores && Object.keys(info.scores).length) host.append(scoresBadge(info.scores));
  if (!info && p.pending) host.append(el("p", { class: "aw-muted", text: "Re-clustering at this threshold; explanations follow." }));
  const words = el("div", { class: "aw-panel-tokens", testid: "panel-tokens" });
  for (const i of p.tokens.slice(0, MAX_TOKENS)) words.append(el("span", { class: "aw-chip", text: showToken(p.tokenText[i]), title: `token ${i}` }));
  if (size > MAX_TOKENS) words.append(el("span", { class: "aw-muted", text: ` … and ${size - MAX_TOKENS} more` }));
  host.append(el("h4", { text: "Tokens" }), words);
}
