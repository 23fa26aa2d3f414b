// @vitest-environment happy-dom
// The panel: faithfulness badges, head lines, claims per sentence, and the headline first with the
// full rationale and evidence behind a click.
import { describe, expect, it } from "vitest";
import { claimTitle, headlineTitle, headLines, rationaleSentences, renderPanel, scoreBadges } from "../../src/panel/panel";
import type { ClusterInfo } from "../../src/wire/messages";

function info(extra: Partial<ClusterInfo>): ClusterInfo {
  return { id: 2, size: 3, modularity: 0.1, internal: 0.6, evidence: null, claims: null, rationale: null, headline: null, scores: null, ...extra };
}

function panel(i: ClusterInfo, open = false): HTMLElement {
  const host = document.createElement("div");
  renderPanel(host, { id: 2, tokens: [0, 1, 2], tokenText: ["a", " b", " c"], facts: null, info: i, pending: false, details: { open, onToggle: () => {} }, onClose: () => {} });
  return host;
}

const q = (host: HTMLElement, id: string): HTMLElement | null => host.querySelector(`[data-testid="${id}"]`);

describe("headline first, details on demand", () => {
  const claims = [
    { type: "edge", sentence: 1, text: "'c' → 'a': 41% of 'c''s attention", headline: true },
    { type: "share", sentence: 0, text: "60% of their attention stays inside" },
  ];
  const explained = info({ headline: "'c' gives 41% of its attention to 'a'.", rationale: "They form a group. 'c' looks at 'a'.", claims });

  it("shows the headline above everything, its checked claims on hover", () => {
    const host = panel(explained);
    const head = q(host, "panel-headline")!;
    expect(head.textContent).toBe("'c' gives 41% of its attention to 'a'.");
    expect(host.children[1]).toBe(head); // right under the title
    expect(head.title).toBe("checked against the evidence:\n✓ 'c' → 'a': 41% of 'c''s attention");
    expect(headlineTitle(claims)).not.toContain("stays inside");
  });

  it("keeps the full rationale and the evidence behind one click", () => {
    const host = panel(explained);
    const details = q(host, "panel-details") as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(details.contains(q(host, "panel-rationale"))).toBe(true);
    expect(details.contains(q(host, "panel-claims"))).toBe(true);
    expect(q(host, "panel-details-toggle")!.textContent).toMatch(/full explanation/);
    expect((q(panel(explained, true), "panel-details") as HTMLDetailsElement).open).toBe(true);
  });

  it("shows an older analysis's rationale as before, with no headline and nothing hidden", () => {
    const host = panel(info({ rationale: "They form a group.", claims }));
    expect(q(host, "panel-headline")).toBeNull();
    expect(q(host, "panel-details")).toBeNull();
    expect(q(host, "panel-rationale")!.textContent).toBe("They form a group.");
  });

  it("sets the headline as text, never as markup", () => {
    const host = panel(info({ headline: "'<img src=x onerror=alert(1)>' stands alone.", rationale: "x." }));
    expect(q(host, "panel-headline")!.textContent).toContain("<img");
    expect(host.querySelector("img")).toBeNull();
  });
});

describe("cluster panel content", () => {
  it("summarises faithfulness against random baselines, with a tone", () => {
    const badges = scoreBadges({
      faithfulness: {
        comprehensiveness: { score: 0.31, baseline: 0.12, baseline_sd: 0.05, beats: 0.9 },
        sufficiency: { score: 0.2, baseline: 0.25, baseline_sd: 0.05, beats: 0.3 },
        n_random: 20,
      },
      complexity: { token_entropy: 0.66, token_gini: 0.55 },
    });
    expect(badges[0].text).toBe("faithfulness: beats 60% of random sets");
    expect(badges[0].tone).toBe("aw-fair");
    expect(badges[1]).toMatchObject({ text: "comprehensiveness 0.310 vs random 0.120", tone: "aw-good" });
    expect(badges[2].tone).toBe("aw-poor");
    expect(badges[3].text).toBe("complexity: entropy 0.660, Gini 0.550");
  });

  it("says there is no random baseline when the text is too short for one", () => {
    const badges = scoreBadges({
      faithfulness: {
        knockout: { score: 0.2, baseline: null, baseline_sd: null, beats: null },
        n_random: 0,
        note: "the text is too short for a random baseline",
      },
    });
    expect(badges[0]).toMatchObject({ text: "faithfulness: no random baseline", title: "the text is too short for a random baseline" });
    expect(badges[1].text).toBe("knockout 0.200");
  });

  it("lists heads with their share and roles, glosses on hover", () => {
    const lines = headLines({
      heads: [{ layer: 1, head: 0, share: 0.218, roles: [{ role: "first-token sink", score: 0.408, gloss: "parks attention on the first token" }] }],
    });
    expect(lines[0].text).toBe("head 1.0 — 22% of the group's attention; first-token sink (score 0.41)");
    expect(lines[0].title).toContain("parks attention");
    const lifted = headLines({ heads: [{ layer: 1, head: 2, share: 0.0144, lift: 3.9, roles: [{ role: "previous-token", score: 0.72 }] }] });
    expect(lifted[0].text).toBe("head 1.2 — 3.9× an average head's share; previous-token (score 0.72)");
  });

  it("attaches each claim to its rationale sentence", () => {
    const claims = [
      { type: "share", field: "attention.internal", sentence: 0, percent: 54, text: "54% of their attention goes to each other" },
      { type: "head", field: "heads", sentence: 1, text: "head 2.1 carries it" },
    ];
    const s = rationaleSentences("The words 'a b' form a group: 54% stays inside. The strongest link is carried by head 2.1.", claims);
    expect(s).toHaveLength(2);
    expect(s[0].title).toContain("54% of their attention");
    expect(s[1].title).toContain("head 2.1 carries it");
    expect(claimTitle(claims[0])).toBe("evidence: attention.internal\npercent = 54");
  });

  it("falls back to one piece when sentences and claims do not line up", () => {
    const s = rationaleSentences("One sentence only.", [{ sentence: 2, text: "x" }]);
    expect(s).toEqual([{ text: "One sentence only.", title: "x" }]);
  });
});

describe("the panel names the nodes it lists", () => {
  it("says words in the word view and tokens in the model's tokens", () => {
    for (const [unit, heading] of [["word", "Words"], ["token", "Tokens"], [undefined, "Tokens"]] as const) {
      const host = document.createElement("div");
      renderPanel(host, { id: 2, tokens: [0, 1], tokenText: ["suitcase", " was"], unit, facts: null, info: null, pending: false, details: { open: false, onToggle: () => {} }, onClose: () => {} });
      expect(host.querySelector("h4")?.textContent).toBe(heading);
      expect(host.querySelector(".aw-chip")?.getAttribute("title")).toMatch(new RegExp(`^${(unit ?? "token")} 0:`));
    }
  });
});
