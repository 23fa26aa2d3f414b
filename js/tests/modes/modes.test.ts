// @vitest-environment happy-dom
// The generation, comparison and ablation payloads Python writes
// (fixtures/modes.json, from tests/view/test_golden_modes.py) are read by
// wire/modes.ts's guards and drawn by the whole view with a fake model: the step
// bar moves the `step` trait and marks the new token, colours follow the
// kernel's slots, a second text marks what differs, and "remove and rerun"
// sends the picked tokens and shows the prediction before and after.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { assignColors, inheritSlots, swatchOf } from "../../src/common/colors";
import { ablationWire, comparisonWire, decodeComparison, generationWire, MODES_VERSION } from "../../src/wire/modes";
import { WireError } from "../../src/wire/guard";
import type { AblateRequest } from "../../src/wire/messages";
import type { Traits } from "../../src/wire/model";
import { PLAY_MS, STEP_DEBOUNCE_MS } from "../../src/modes/steps";
import widget from "../../src/widget";
import { FakeModel, fakeModel, traitsOf } from "../helpers/model";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "modes.json");
const fixture = () => JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<string, unknown>;

let host: HTMLElement;
let model: FakeModel;
let cleanup: () => void;
const q = (id: string, root: ParentNode = host) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
const all = (id: string, root: ParentNode = host) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

function show(traits: Partial<Traits>): void {
  host = document.createElement("div");
  document.body.append(host);
  model = fakeModel(traitsOf(traits));
  cleanup = widget.render({ model, el: host });
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  cleanup?.();
  host?.remove();
  vi.useRealTimers();
});

describe("the payloads Python writes", () => {
  const f = fixture();
  it("pass the guards and decode", () => {
    const g = generationWire(f.generation, "generation");
    expect(g.version).toBe(MODES_VERSION);
    expect(g.steps.map((s) => s.token)).toEqual([" then", " <b>it</b>", " slept", "."]);
    const c = decodeComparison(comparisonWire(f.comparison, "comparison"));
    expect(c.b.raw.tokens[2]).toBe(" dog");
    expect(c.aUnits[2]).toBe(-1);
    expect(c.aUnits.length).toBe(c.b.n);
    const ab = ablationWire(f.ablation, "ablation");
    expect(ab.prediction?.changed).toBe(true);
  });

  it("name the field that does not match", () => {
    const g = fixture().generation as Record<string, unknown>;
    (g.steps as Record<string, unknown>[])[1].links = [[1, "x"]];
    expect(() => generationWire(g, "generation")).toThrow(WireError);
    expect(() => generationWire(g, "generation")).toThrow("generation.steps[1].links[0] should hold 3 items");
    expect(() => generationWire({ ...g, version: 99 }, "generation")).toThrow("version 99 does not match");
  });
});

describe("colour slots", () => {
  it("fix the colours the kernel chose and give the rest the lowest free ones", () => {
    const colours = assignColors([0, 0, 1, 1, 2, 2, 3], new Map([[1, 0], [2, 4]]));
    expect(colours.get(1)).toEqual(swatchOf(0));
    expect(colours.get(2)).toEqual(swatchOf(4));
    expect(colours.get(0)).toEqual(swatchOf(1));
    expect(colours.has(3)).toBe(false); // one token: no colour
  });

  it("carry over to a partition the kernel has not coloured, by the largest overlap", () => {
    const slots = inheritSlots([5, 5, 5, 6, 6, 7], [0, 0, 1, 1, 1, 1], new Map([[0, 3], [1, 8]]));
    expect([...slots.entries()].sort()).toEqual([[5, 3], [6, 8]]);
  });
});

describe("a generation", () => {
  const f = fixture();
  beforeEach(() => show({ state: f.step_state as Traits["state"], generation: f.generation as Traits["generation"], step: 3 }));

  it("shows the step bar for the step on screen, with its new token marked", () => {
    expect(q("steps").hidden).toBe(false);
    expect(q("step-label").textContent).toBe("4 of 4");
    expect(q("steps").dataset.step).toBe("3");
    const marked = host.querySelectorAll<HTMLElement>("[data-new-token=true]");
    expect(marked).toHaveLength(1);
    expect(marked[0].textContent).toBe(".");
    expect(q("step-new-token").textContent).toBe(".");
    expect(all("step-alternative")).toHaveLength(5);
    expect(q("step-links").textContent).toMatch(/^attends most to, in the prompt: /);
    expect(host.querySelectorAll("b, script")).toHaveLength(0); // token text stays text
  });

  it("colours clusters with the slots of their tracks", () => {
    const g = generationWire(f.generation, "generation");
    for (const [cluster, slot] of g.steps[3].slots) {
      const span = host.querySelector<HTMLElement>(`[data-testid=text] [data-cluster="${cluster}"]`)!;
      expect(span.className).toContain(swatchOf(slot).className);
    }
  });

  it("moves the kernel's step after the slider pauses, and plays to the end", () => {
    const slider = q("step-slider") as HTMLInputElement;
    slider.value = "1";
    slider.dispatchEvent(new Event("input"));
    expect(q("step-label").textContent).toBe("2 of 4");
    expect(model.get("step")).toBe(3);
    vi.advanceTimersByTime(STEP_DEBOUNCE_MS + 1);
    expect(model.get("step")).toBe(1);
    q("step-play").click();
    expect(q("step-play").dataset.playing).toBe("true");
    vi.advanceTimersByTime(PLAY_MS * 2 + 1);
    expect(model.get("step")).toBe(3);
    expect(q("step-play").dataset.playing).toBeUndefined(); // stopped at the last step
  });

  it("says in the panel when the selected cluster formed", () => {
    model.set("selected_cluster", 1);
    model.emit("change:selected_cluster");
    expect(q("panel-formed").textContent).toMatch(/step|first step/);
    expect(q("zoom-in").hidden).toBe(true); // the kernel zooms one analysis, not a generation's steps
  });
});

describe("a comparison", () => {
  const f = fixture();
  beforeEach(() => show({ state: f.a_state as Traits["state"], comparison: f.comparison as Traits["comparison"] }));

  it("shows the second text below the first, matched clusters in one colour, differences marked", () => {
    const second = q("compare-text");
    expect(all("token", second).map((t) => t.textContent)[2]).toBe(" dog");
    expect(all("token", second).filter((t) => t.dataset.diff === "text").map((t) => t.textContent)).toEqual([" dog"]);
    expect(all("token", q("text")).filter((t) => t.dataset.diff === "text").map((t) => t.textContent)).toEqual([" cat"]);
    const c = comparisonWire(f.comparison, "comparison");
    expect(all("token", second).filter((t) => t.dataset.diff === "moved").length).toBeGreaterThan(0);
    for (const [cluster, slot] of c.b_slots) {
      const span = second.querySelector<HTMLElement>(`[data-cluster="${cluster}"]`)!;
      expect(span.className).toContain(swatchOf(slot).className);
    }
    expect(q("compare-summary").textContent).toContain("split");
    model.set("selected_cluster", 0);
    model.emit("change:selected_cluster");
    expect(q("zoom-in").hidden).toBe(true); // nor both sides of a comparison at once
  });
});

describe("remove and rerun", () => {
  const f = fixture();
  beforeEach(() => show({ state: f.a_state as Traits["state"] }));

  it("picks clicked tokens instead of selecting their cluster, and sends them with the heads", () => {
    q("ablate-pick").click();
    all("token", q("text"))[4].click();
    all("token", q("text"))[2].click();
    expect(model.get("selected_cluster")).toBeNull();
    expect(q("ablate-picked").textContent).toBe("picked: cat · on");
    (q("ablate-heads") as HTMLInputElement).value = "1.0";
    q("ablate-run").click();
    const sent = model.sent.at(-1) as AblateRequest;
    expect(sent).toMatchObject({ type: "ablate", tokens: [2, 4], heads: [[1, 0]], position: null });
    expect((q("ablate-run") as HTMLButtonElement).disabled).toBe(true);
    model.emit("msg:custom", { type: "ablate_reply", id: sent.id, error: "The rerun failed: no model" });
    expect((q("ablate-run") as HTMLButtonElement).disabled).toBe(false);
    expect(q("ablate-status").textContent).toBe("The rerun failed: no model");
  });

  it("refuses to send nothing, and bad heads, saying why", () => {
    q("ablate-run").click();
    expect(model.sent).toHaveLength(0);
    expect(q("ablate-status").textContent).toContain("Pick tokens");
    (q("drilldown-ablate-heads") as HTMLInputElement).value = "two";
    q("drilldown-ablate-run").click();
    expect(model.sent).toHaveLength(0);
    expect(q("ablate-status").dataset.error).toBe("true");
  });

  it("shows the prediction before and after and the rerun's clusters", () => {
    model.set("ablation", f.ablation as Traits["ablation"]);
    model.emit("change:ablation");
    expect(q("ablate-change").textContent).toContain("60.0% → 10.0%");
    expect(q("ablate-change").textContent).toContain("now ·rug");
    expect(all("token", q("ablate-before")).length).toBe(0);
    expect([...q("ablate-before").querySelectorAll("li")].map((li) => li.textContent)).toEqual(["·mat 60.0%", "·rug 20.0%"]);
    expect([...q("ablate-after-top").querySelectorAll("li")].map((li) => li.textContent)).toEqual(["·rug 50.0%", "·mat 10.0%"]);
    expect(all("token", q("ablate-after-text")).length).toBe(12);
    expect((q("ablate") as HTMLDetailsElement).open).toBe(true);
  });
});

describe("a word's what if (its menu: right-click, or Enter from the keyboard)", () => {
  const f = fixture();
  beforeEach(() => show({ state: f.a_state as Traits["state"] }));
  const answer = (id: number) => {
    model.set("ablation", { ...(f.ablation as object), id } as Traits["ablation"]);
    model.emit("change:ablation");
  };

  it("knocks the right-clicked word out and shows the prediction before → after in the card", () => {
    const cat = all("token", q("text"))[2];
    const menuEvent = new MouseEvent("contextmenu", { bubbles: true, cancelable: true });
    cat.dispatchEvent(menuEvent);
    expect(menuEvent.defaultPrevented).toBe(true); // not the browser's (or JupyterLab's) menu
    expect(q("word-menu").hidden).toBe(false);
    expect(q("word-menu-title").textContent).toBe("“cat”");
    expect(q("word-menu-whatif").textContent).toBe("What if this token were knocked out?");
    expect(q("whatif-card").hidden).toBe(true);
    q("word-menu-whatif").click();
    expect(q("word-menu").hidden).toBe(true);
    const sent = model.sent.at(-1) as AblateRequest;
    expect(sent).toMatchObject({ type: "ablate", tokens: [2], heads: [], position: null });
    expect(q("whatif-card").hidden).toBe(false);
    expect(q("whatif-title").textContent).toBe("What if “cat” were knocked out?");
    expect(q("whatif-running")).not.toBeNull();
    answer(sent.id);
    expect(q("whatif-prediction").textContent).toBe("mat 60.0% → 10.0%");
    expect(q("whatif-instead").textContent).toBe("Now it predicts “rug” (50.0%).");
    expect((q("ablate") as HTMLDetailsElement).open).toBe(false); // the groups stay folded below
    q("whatif-more").click();
    expect((q("ablate") as HTMLDetailsElement).open).toBe(true);
    answer(sent.id + 100); // another request's answer (the What if… section's): the card keeps its own
    expect(q("whatif-prediction").textContent).toBe("mat 60.0% → 10.0%");
    q("whatif-close").click();
    expect(q("whatif-card").hidden).toBe(true);
  });

  it("says why when what if does not apply, and shows a rerun error in the card", () => {
    model.set("what_if", "What if… shows how the next-word prediction moves, and minilm is an encoder: it predicts no next word.");
    all("token", q("text"))[2].dispatchEvent(new MouseEvent("contextmenu", { bubbles: true, cancelable: true }));
    expect((q("word-menu-whatif") as HTMLButtonElement).disabled).toBe(true);
    expect(q("word-menu-why").textContent).toContain("is an encoder");
    model.set("what_if", "");
    all("token", q("text"))[3].dispatchEvent(new MouseEvent("contextmenu", { bubbles: true, cancelable: true }));
    q("word-menu-whatif").click();
    const sent = model.sent.at(-1) as AblateRequest;
    model.emit("msg:custom", { type: "ablate_reply", id: sent.id, error: "The rerun failed: no model" });
    expect(q("whatif-error").textContent).toBe("The rerun failed: no model");
  });

  it("is reached from the keyboard: one tab stop, arrows along the words, Enter opens, Escape closes", () => {
    const spans = all("token", q("text"));
    const stops = spans.filter((s) => s.getAttribute("tabindex") === "0");
    expect(stops).toEqual([spans[1]]); // the first word (the <s> token is special), one tab stop in all
    expect(q("text").getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    spans[1].focus();
    spans[1].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(spans[2].getAttribute("tabindex")).toBe("0");
    expect(spans[1].hasAttribute("tabindex")).toBe(false);
    expect(document.activeElement).toBe(spans[2]);
    expect(q("links").textContent).toContain("cat"); // its links, as on hover
    spans[2].dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(q("word-menu").hidden).toBe(false);
    expect(document.activeElement).toBe(q("word-menu-whatif"));
    q("word-menu").dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    expect(document.activeElement).toBe(q("word-menu-group"));
    q("word-menu").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(q("word-menu").hidden).toBe(true);
    expect(document.activeElement).toBe(spans[2]);
    spans[2].dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    q("word-menu-group").click();
    expect(model.get("selected_cluster")).toBe(Number(spans[2].dataset.cluster));
  });
});
