// A marking task in the study widget: participants click words to mark the
// groups that belong together (mark "together", several groups) or the words
// that matter for the next word (mark "next_word", one group). The answer is
// the groups as JSON (`[[1, 2], [5, 6, 7]]`, token indices), checked again in
// Python (attn_widget/study/responses.py `marks_of`). Token text is set with
// textContent only. Pure helpers are exported for vitest.

export type Groups = number[][];

/** Token ``i`` joins group ``current`` (or leaves it when it is already there); it leaves any other group. */
export function toggleMark(groups: Groups, current: number, i: number): Groups {
  const inCurrent = groups[current]?.includes(i) ?? false;
  const out = groups.map((g) => g.filter((t) => t !== i));
  while (out.length <= current) out.push([]);
  if (!inCurrent) out[current] = [...out[current], i].sort((a, b) => a - b);
  return out;
}

/** The answer sent: non-empty groups, sorted, as JSON ("" when nothing is marked). */
export function marksAnswer(groups: Groups): string {
  const kept = groups.filter((g) => g.length).map((g) => [...g].sort((a, b) => a - b));
  return kept.length ? JSON.stringify(kept) : "";
}

const GROUP_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];

/** The marking element; ``onChange`` gets the answer after every click. */
export function markingInput(tokens: string[], mark: string, onChange: (answer: string) => void): HTMLElement {
  let groups: Groups = [[]];
  let current = 0;
  const root = document.createElement("div");
  root.className = "aws-marking";
  root.dataset.testid = "marking";
  const words = document.createElement("div");
  words.className = "aws-mark-words";
  Object.assign(words.style, { display: "flex", flexWrap: "wrap", gap: "3px", margin: "4px 0" });
  const chips = tokens.map((text, i) => {
    const b = document.createElement("button");
    b.className = "aws-mark-token";
    Object.assign(b.style, { font: "inherit", padding: "1px 4px" });
    b.dataset.testid = "mark-token";
    b.dataset.index = String(i);
    b.textContent = text.trim() || "␣";
    b.addEventListener("click", () => {
      groups = toggleMark(groups, current, i);
      paint();
    });
    return b;
  });
  words.append(...chips);
  const summary = document.createElement("div");
  summary.className = "aws-status";
  summary.dataset.testid = "mark-summary";
  const newGroup = document.createElement("button");
  newGroup.textContent = "New group";
  newGroup.dataset.testid = "mark-new-group";
  newGroup.hidden = mark !== "together";
  newGroup.addEventListener("click", () => {
    if (groups[current]?.length) current = groups.push([]) - 1;
    paint();
  });
  const clear = document.createElement("button");
  clear.textContent = "Clear";
  clear.dataset.testid = "mark-clear";
  clear.addEventListener("click", () => {
    groups = [[]];
    current = 0;
    paint();
  });

  function paint(): void {
    chips.forEach((chip, i) => {
      const g = groups.findIndex((grp) => grp.includes(i));
      chip.dataset.group = g < 0 ? "" : String(g);
      chip.style.background = g < 0 ? "" : GROUP_COLOURS[g % GROUP_COLOURS.length];
      chip.setAttribute("aria-pressed", String(g >= 0));
    });
    const n = groups.filter((g) => g.length).length;
    summary.textContent = n ? `${n} group${n > 1 ? "s" : ""} marked; adding to group ${current + 1}` : "Nothing marked yet.";
    onChange(marksAnswer(groups));
  }

  root.append(words, document.createElement("div"), summary);
  root.lastChild?.before(newGroup, clear);
  paint();
  return root;
}
