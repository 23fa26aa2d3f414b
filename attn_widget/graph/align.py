"""Align the tokens of two analyses into shared units: by character offsets, or by word.

The two texts are diffed character by character (:class:`difflib.SequenceMatcher`);
a character of ``a`` inside an unchanged stretch maps to its place in ``b``.

- ``"token"`` units: a token of ``a`` pairs with the token of ``b`` that covers
  exactly the mapped characters. Used when both analyses come from one model,
  or when the tokens pair up that way almost everywhere (:data:`TOKEN_AGREEMENT`).
- ``"word"`` units (the tokenizers differ): words (runs of letters and digits, or
  one other non-space character) pair the same way, and each token belongs to
  the word holding its first non-space character.

Tokens with no offsets (BOS, ``[CLS]``) pair with the other side's in order
when their texts agree. A token in a changed stretch pairs with nothing
(unit ``-1``). Analyses made from token strings alone (no text) are aligned
on the token strings. Standard library and numpy only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core import Token

TOKEN_AGREEMENT = 0.95
"""Share of the tokens in unchanged stretches that must pair one to one for token units (other models)."""

WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Alignment:
    """``unit`` kind, each token's unit on both sides (``-1``: unaligned) and each unit's text."""

    unit: str
    a_units: np.ndarray
    b_units: np.ndarray
    text: tuple[str, ...]


def char_map(a: str, b: str) -> np.ndarray:
    """``[len(a)]`` position of each character of ``a`` in ``b`` (``-1``: changed or gone)."""
    out = np.full(len(a), -1, dtype=np.int64)
    if a == b:
        out[:] = np.arange(len(a))
        return out
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        out[block.a : block.a + block.size] = np.arange(block.b, block.b + block.size)
    return out


def _mapped(span: tuple[int, int], cmap: np.ndarray) -> tuple[int, int] | None:
    """The span in the other text when every character of ``span`` maps there contiguously."""
    start, end = span
    if end <= start or end > cmap.size:
        return None
    target = cmap[start:end]
    if (target < 0).any() or (np.diff(target) != 1).any():
        return None
    return int(target[0]), int(target[-1]) + 1


def _special_pairs(a: Sequence[Token], b: Sequence[Token]) -> list[tuple[int, int]]:
    """Tokens with no offsets, paired in order where their texts agree."""
    ia = [i for i, t in enumerate(a) if t.start is None]
    ib = [i for i, t in enumerate(b) if t.start is None]
    sm = difflib.SequenceMatcher(None, [a[i].text for i in ia], [b[i].text for i in ib], autojunk=False)
    return [(ia[m.a + k], ib[m.b + k]) for m in sm.get_matching_blocks() for k in range(m.size)]


def _spans(tokens: Sequence[Token]) -> dict[tuple[int, int], int]:
    return {(t.start, t.end): i for i, t in enumerate(tokens) if t.start is not None and t.end is not None}


def _token_pairs(
    a: Sequence[Token], b: Sequence[Token], cmap: np.ndarray
) -> tuple[list[tuple[int, int]], float]:
    """Token pairs by mapped offsets, and the share of tokens in unchanged stretches that found a partner."""
    spans_b = _spans(b)
    pairs, eligible = [], 0
    for i, t in enumerate(a):
        if t.start is None or t.end is None or t.end <= t.start:
            continue
        target = _mapped((t.start, t.end), cmap)
        if target is None:
            continue
        eligible += 1
        j = spans_b.get(target)
        if j is not None and b[j].text == t.text:
            pairs.append((i, j))
    return pairs, (len(pairs) / eligible if eligible else 1.0)


def _word_of(tokens: Sequence[Token], text: str, words: list[tuple[int, int]]) -> np.ndarray:
    """Word index of each token: the word holding its first non-space character (``-1``: none)."""
    starts = np.array([s for s, _ in words], dtype=np.int64)
    out = np.full(len(tokens), -1, dtype=np.int64)
    for i, t in enumerate(tokens):
        if t.start is None or t.end is None:
            continue
        first = next((p for p in range(t.start, min(t.end, len(text))) if not text[p].isspace()), None)
        if first is None or not starts.size:
            continue
        w = int(np.searchsorted(starts, first, side="right")) - 1
        if w >= 0 and words[w][0] <= first < words[w][1]:
            out[i] = w
    return out


def align(a: Sequence[Token], a_text: str, b: Sequence[Token], b_text: str, *, same_model: bool) -> Alignment:
    """Align ``a``'s tokens with ``b``'s (see the module docstring)."""
    a_units = np.full(len(a), -1, dtype=np.int32)
    b_units = np.full(len(b), -1, dtype=np.int32)
    texts: list[str] = []

    def unit(ia: Sequence[int], ib: Sequence[int], text: str) -> None:
        a_units[list(ia)] = len(texts)
        b_units[list(ib)] = len(texts)
        texts.append(text)

    if not a_text or not b_text:  # token strings only: align the strings themselves
        sm = difflib.SequenceMatcher(None, [t.text for t in a], [t.text for t in b], autojunk=False)
        for m in sm.get_matching_blocks():
            for k in range(m.size):
                unit([m.a + k], [m.b + k], a[m.a + k].text)
        return Alignment("token", a_units, b_units, tuple(texts))
    cmap = char_map(a_text, b_text)
    pairs, agreement = _token_pairs(a, b, cmap)
    if same_model or agreement >= TOKEN_AGREEMENT:
        for i, j in sorted([*pairs, *_special_pairs(a, b)]):
            unit([i], [j], a[i].text)
        return Alignment("token", a_units, b_units, tuple(texts))
    words_a = [(m.start(), m.end()) for m in WORD.finditer(a_text)]
    words_b = {(m.start(), m.end()): k for k, m in enumerate(WORD.finditer(b_text))}
    of_a, of_b = _word_of(a, a_text, words_a), _word_of(b, b_text, sorted(words_b))
    specials = dict(_special_pairs(a, b))
    for w, span in enumerate(words_a):
        target = _mapped(span, cmap)
        found = words_b.get(target) if target is not None else None
        if found is not None and (of_a == w).any() and (of_b == found).any():
            unit(
                np.flatnonzero(of_a == w).tolist(),
                np.flatnonzero(of_b == found).tolist(),
                a_text[span[0] : span[1]],
            )
    for i, j in sorted(specials.items()):
        unit([i], [j], a[i].text)
    return Alignment("word", a_units, b_units, tuple(texts))
