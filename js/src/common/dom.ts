// Tiny DOM helpers. Text always goes in through textContent / text nodes, so
// token text (user data) can never become markup.

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  testid?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  children: Child[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.testid) node.dataset.testid = props.testid;
  if (props.title) node.title = props.title;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) node.setAttribute(k, v);
  if (props.text !== undefined) node.textContent = props.text;
  for (const c of children) if (c) node.append(c);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement {
  const node = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function option(value: string, label = value): HTMLOptionElement {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  return o;
}

/** A token's exact text made visible: spaces as ·, newlines as ⏎, empty as ∅ (tooltips). */
export function showToken(text: string): string {
  if (text === "") return "∅";
  return text.replace(/\n/g, "⏎").replace(/ /g, "·").replace(/\t/g, "⇥");
}

const WHITESPACE_MARKS: Record<string, string> = { "\n": "⏎", "\r": "", "\t": "⇥", " ": "␣" };

/** Only invisible characters: joiners (ZWJ), direction marks, variation selectors. */
const INVISIBLE = /^[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}]+$/u;

/**
 * A token as a person reads it (legend, panel, links): surrounding whitespace
 * dropped (" cat" → "cat"). Tokens that are only whitespace keep a visible
 * mark ("\n" → "⏎", " " → "␣"); the empty token is "∅"; an invisible one
 * (a zero-width joiner) reads as its code points ("U+200D"), a lone combining
 * mark sits on "◌".
 */
export function readable(text: string): string {
  const word = text.trim();
  if (word && INVISIBLE.test(word)) return [...word].map((ch) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`).join(" ");
  if (word && /^\p{M}/u.test(word)) return `◌${word}`; // a combining mark alone, on the usual dotted circle
  if (word) return word;
  if (text === "") return "∅";
  return [...text].map((ch) => WHITESPACE_MARKS[ch] ?? "␣").join("") || "⏎";
}

const SPOKEN: Record<string, [string, string]> = { " ": ["a space", "spaces"], "\n": ["a new line", "new lines"], "\t": ["a tab", "tabs"] };

/**
 * A predicted token said in words where its marks would puzzle a reader: only whitespace reads
 * "a space", "a new line", "2 new lines", "a new line and spaces"; anything else as ``readable``.
 */
export function spoken(text: string): string {
  if (text === "" || text.trim()) return readable(text);
  const runs: string[] = [];
  for (const run of text.replace(/\r/g, "").match(/( +|\n+|\t+|[^ \n\t]+)/g) ?? []) {
    const [one, many] = SPOKEN[run[0]] ?? ["a blank", "blanks"];
    runs.push(run.length === 1 ? one : run[0] === " " ? many : `${run.length} ${many}`);
  }
  return runs.length ? runs.join(" and ") : readable(text);
}

/** A divergence with three decimals, or two significant digits when it is smaller (a tiny model moves
 * its output by 1e-5; "0.000" would read as nothing moved while the ratios say otherwise). */
export function amount(x: number): string {
  return x === 0 || Math.abs(x) >= 0.001 ? x.toFixed(3) : x.toPrecision(2);
}
