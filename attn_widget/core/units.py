"""Units of text: the model's tokens grouped into words or sentences, each a run of tokens.

``unit="word"`` and ``unit="sentence"`` make one graph node of each word or
sentence (:mod:`attn_widget.graph.units` pools the attention). A unit is always
a run of consecutive tokens, so :class:`Units` stores only where each run
starts. The rules, chosen to be predictable rather than clever:

- A special token (BOS, ``[CLS]``, ``[SEP]``) is a unit of its own.
- **Words** are read off the text, not the tokenizer: a word is a number with
  its decimal point or thousands separators (``3.50``, ``1,024``), a run of
  letters and digits joined across inner apostrophes and hyphens (``don't``,
  ``well-known``), or a run of other non-space characters (``."``, ``--``).
  Each token belongs to the word holding its first non-space character; a
  token of spaces only joins the unit before it. Tokens without character
  offsets are grouped by their text instead: WordPiece tokens (some start with
  ``##``) start a word unless they are a ``##`` continuation; other tokens
  start one when they start with a space (``" cat"``, ``"Ġcat"``, ``"▁cat"``).
- **Sentences** end after ``.``, ``!``, ``?`` or ``…`` (and any closing quotes or
  brackets) followed by white space, except after a known abbreviation
  (:data:`ABBREVIATIONS`) or a single capital letter (an initial); a blank line
  ends one too. Each word belongs to the sentence holding its first character.

Imports no other layer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .records import Token

UNITS = ("token", "word", "sentence")
"""The values of the ``unit`` option."""

WORD = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:['’\-]\w+)*|[^\w\s]+")
SENTENCE_END = re.compile(r"(?:[.!?…]+[\"'”’)\]]*)(?=\s)|\n[ \t]*\n")
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "cf", "no", "vol",
    "fig", "wm", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "inc",
    "ltd", "co", "corp", "gen", "col", "capt", "lt", "rev", "hon",
})  # fmt: skip
"""Words (lower case, without the final full stop) after which a full stop does not end a sentence."""


@dataclass(frozen=True, eq=False)
class Units:
    """How the model's ``T`` tokens are grouped into ``U`` units (runs of consecutive tokens).

    Attributes
    ----------
    kind
        ``"token"``, ``"word"`` or ``"sentence"``.
    starts
        ``[U + 1]`` int: unit ``u`` holds tokens ``starts[u]:starts[u + 1]``.
    """

    kind: str
    starts: np.ndarray

    @classmethod
    def tokens(cls, n: int) -> Units:
        """One unit per token."""
        return cls("token", np.arange(n + 1))

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.starts) - 1

    @property
    def sizes(self) -> np.ndarray:
        """``[U]`` tokens per unit."""
        return np.diff(self.starts)

    def owner(self) -> np.ndarray:
        """``[T]``: the unit of each token."""
        return np.repeat(np.arange(self.n), self.sizes)

    def pieces(self, members: Sequence[int] | np.ndarray) -> np.ndarray:
        """The token indices of units ``members``, ascending."""
        members = np.asarray(members, dtype=int)
        if not members.size:
            return members
        return np.concatenate([np.arange(self.starts[u], self.starts[u + 1]) for u in np.sort(members)])

    def carry(self, members: Sequence[int], to: Units) -> tuple[int, ...]:
        """The units of ``to`` holding any model token of units ``members`` (of ``self``), ascending.

        What a pick means in another unit: a word is all its pieces, a piece the word it is in.
        """
        return tuple(sorted(set(to.owner()[self.pieces(members)].tolist())))

    def excluded(self, token_exclude: Sequence[int]) -> tuple[int, ...]:
        """Units all of whose tokens are in ``token_exclude``."""
        if self.kind == "token":
            return tuple(int(i) for i in token_exclude)
        out = np.zeros(self.starts[-1], dtype=bool)
        out[list(token_exclude)] = True
        whole = np.logical_and.reduceat(out, self.starts[:-1]) if self.n else np.zeros(0, bool)
        return tuple(np.flatnonzero(whole).tolist())


def word_label(text: str) -> str:
    """A word as a label: spaces collapsed, the punctuation it carries trimmed (``wife,`` -> ``wife``)."""
    flat = " ".join(text.split()) or text
    trimmed = flat.strip(".,;:!?\"'()[]{}“”‘’«»")
    return trimmed or flat


def segment(text: str, tokens: Sequence[Token], kind: str) -> Units:
    """Group ``tokens`` (of ``text``) into units of ``kind`` (see the module docstring)."""
    if kind not in UNITS:
        raise ValueError(f"unit={kind!r}: choose one of {', '.join(repr(u) for u in UNITS)}")
    n = len(tokens)
    if kind == "token" or n == 0:
        return Units.tokens(n)
    keys = _word_keys(text, tokens)
    if kind == "sentence":
        keys = _sentence_keys(text, tokens, keys)
    change = np.flatnonzero(np.diff(keys) != 0) + 1
    return Units(kind, np.concatenate([[0], change, [n]]).astype(np.int64))


def unit_tokens(text: str, tokens: Sequence[Token], units: Units) -> tuple[Token, ...]:
    """One :class:`Token` per unit: its text and character span (a one-token unit is that token)."""
    out = []
    for u in range(units.n):
        part = tokens[units.starts[u] : units.starts[u + 1]]
        if len(part) == 1:
            out.append(part[0])
            continue
        starts = [t.start for t in part if t.start is not None]
        ends = [t.end for t in part if t.end is not None]
        if text and starts and ends:
            start, end = min(starts), max(ends)
            special = all(t.special for t in part)
            out.append(Token(text=text[start:end], start=start, end=end, special=special))
        else:
            joined = part[0].text + "".join(t.text.removeprefix("##") for t in part[1:])
            out.append(Token(text=joined, special=all(t.special for t in part)))
    return tuple(out)


def _word_keys(text: str, tokens: Sequence[Token]) -> np.ndarray:
    """``[T]`` non-decreasing key per token; a run of equal keys is one word."""
    word_at = np.full(len(text) + 1, -1, dtype=np.int64)
    for k, (a, b) in enumerate(word_spans(text)):
        word_at[a:b] = k
    wordpiece = any(t.text.startswith("##") for t in tokens)
    start = np.zeros(len(tokens), dtype=bool)
    last_word: int | None = None
    for i, t in enumerate(tokens):
        if i == 0 or t.special or tokens[i - 1].special:
            start[i], last_word = True, None
        if t.special:
            continue
        if t.start is None or t.end is None or not text:
            spaced = t.text[:1] in (" ", "\n", "\t", "Ġ", "Ċ", "▁")
            start[i] |= (not t.text.startswith("##")) if wordpiece else spaced
            continue
        first = _first_visible(text, t.start, t.end)
        if first is None:
            continue  # spaces only: joins the unit before it
        word = int(word_at[first])
        start[i] |= last_word is not None and word != last_word
        last_word = word
    return np.cumsum(start)


OPENING = frozenset("([{\"'“‘«¿¡$£€#@")
"""Punctuation that belongs to the word after it when nothing separates them (``"Well``, ``(see``, ``$3``)."""


def word_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each word of ``text``, punctuation joined to the word it touches.

    :data:`WORD` finds words, numbers and runs of punctuation; a run of
    punctuation with no space before it joins the word before (``tired.``,
    ``Well-known,"``), else, opening with no space after it, the word after
    (``"Well``), so a group never starts with the previous clause's comma.
    """
    found = [(m.start(), m.end(), m.group()) for m in WORD.finditer(text)] if text else []
    spans: list[list[int]] = []
    glue_next = False
    for k, (a, b, word) in enumerate(found):
        punct = not any(c.isalnum() or c == "_" for c in word)
        if glue_next:
            spans[-1][1] = b
            glue_next = False
        elif punct and spans and spans[-1][1] == a:
            spans[-1][1] = b
            continue
        else:
            spans.append([a, b])
        after = found[k + 1][0] if k + 1 < len(found) else None
        if punct and word[-1] in OPENING and after == b:
            glue_next = True
    return [(a, b) for a, b in spans]


def _first_visible(text: str, start: int, end: int) -> int | None:
    for c in range(start, min(end, len(text))):
        if not text[c].isspace():
            return c
    return None


def _sentence_keys(text: str, tokens: Sequence[Token], word_keys: np.ndarray) -> np.ndarray:
    """``[T]`` key per token whose runs are sentences (words keep together; special tokens alone)."""
    found = SENTENCE_END.finditer(text) if text else ()
    ends = [m.end() for m in found if not _abbreviation(text, m.start())]
    bounds = np.asarray(ends, dtype=np.int64)
    keys = np.empty(len(tokens), dtype=np.int64)
    key, last_word, sentence = -1, None, -1
    for i, t in enumerate(tokens):
        if t.special:
            key += 1
            keys[i], last_word, sentence = key, None, -1
            continue
        if word_keys[i] != last_word:  # a new word: which sentence does it start in?
            at = t.start if t.start is not None else None
            if at is not None and text:
                first = _first_visible(text, at, t.end or at) or at
                here = int(np.searchsorted(bounds, first, side="right"))
            else:
                here = sentence if sentence >= 0 else 0
            if here != sentence:
                key += 1
                sentence = here
            last_word = int(word_keys[i])
        keys[i] = key
    return keys


def _abbreviation(text: str, end: int) -> bool:
    """Does the full stop at ``text[end]`` close an abbreviation or an initial?"""
    if text[end] != ".":
        return False
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    word = text[start:end]
    return word.lower() in ABBREVIATIONS or (len(word) == 1 and word.isupper())
