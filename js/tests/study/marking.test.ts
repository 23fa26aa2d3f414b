// @vitest-environment happy-dom
// The marking task's element: clicks mark words into the current group, "New group"
// starts another (mark "together" only), the answer is the sorted JSON groups, and
// token text stays text.
import { describe, expect, it } from "vitest";
import { markingInput } from "../../src/study/marking";

function setup(mark: string, tokens = ["<s>", "The", " cat", " sat", " <b>on</b>", " mat"]) {
  const answers: string[] = [];
  const root = markingInput(tokens, mark, (a) => answers.push(a));
  document.body.replaceChildren(root);
  const q = (id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
  return { root, answers, q };
}

describe("marking tokens", () => {
  it("builds groups from clicks and answers with their token indices", () => {
    const { answers, q } = setup("together");
    expect(answers.at(-1)).toBe("");
    q("mark-token")[2].click();
    q("mark-token")[3].click();
    q("mark-new-group")[0].click();
    q("mark-token")[5].click();
    q("mark-token")[3].click(); // moves from the first group to the second
    expect(answers.at(-1)).toBe("[[2],[3,5]]");
    expect(q("mark-token").map((b) => b.dataset.group)).toEqual(["", "", "0", "1", "", "1"]);
    expect(q("mark-summary")[0].textContent).toBe("2 groups marked; adding to group 2");
    q("mark-clear")[0].click();
    expect(answers.at(-1)).toBe("");
  });

  it("offers one group for the next-word task and shows token text as text", () => {
    const { root, q } = setup("next_word");
    expect(q("mark-new-group")[0].hidden).toBe(true);
    expect(root.querySelectorAll("b")).toHaveLength(0);
    expect(q("mark-token")[4].textContent).toBe("<b>on</b>");
  });
});
