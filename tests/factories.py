"""Test data: one factory for an :class:`Analysis` of synthetic attention with planted groups.

:func:`make_analysis` is how tests build an analysis without a model: planted
attention from :func:`attn_widget.synthetic.planted_attention`, tokens in one
of three styles, then :func:`attn_widget.analyze_attention`. :func:`planted_input`
gives the same inputs before the analysis, for tests that need the raw
attention or the true groups. Imported by test modules as ``from factories
import make_analysis`` (``tests/`` is on ``sys.path`` through its conftest).
This module does not assert anything; the tests do.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from attn_widget import Analysis, analyze_attention
from attn_widget.core import Token
from attn_widget.core.types import Attention, Labels
from attn_widget.synthetic import planted_attention, tokens_from_pieces


@dataclass(frozen=True)
class Planted:
    """Planted attention with its tokens and text, ready for ``analyze_attention``, and the true groups."""

    attention: Attention
    groups: Labels
    tokens: list[Token] | list[str]
    text: str

    def analyze(self, **options: Any) -> Analysis:
        """``analyze_attention`` on this input, leaving out the planted sink (token 0, when there is
        one) unless ``exclude=`` says otherwise (``exclude="auto"`` to detect sinks instead);
        ``text=`` may replace the input's text."""
        defaults = {"text": self.text, "exclude": [0] if self.groups[0] < 0 else []}
        return analyze_attention(self.attention, self.tokens, **{**defaults, **options})


def planted_input(
    sizes: Sequence[int] = (5, 5, 4),
    *,
    n_layers: int = 4,
    n_heads: int = 4,
    tokens: Sequence[str] | None = None,
    words: Sequence[str] | None = None,
    pieces: Sequence[str] | None = None,
    words_of: str | None = None,
    bos: str = "<s>",
    **attention: Any,
) -> Planted:
    """Attention ``[n_layers, n_heads, T, T]`` with groups of ``sizes`` tokens, and its tokens.

    ``attention`` takes :func:`~attn_widget.synthetic.planted_attention`'s
    knobs (``strength``, ``noise``, ``sink``, ``causal``, ``shuffle``, ``seed``,
    with its defaults; ``seed`` seeds the attention, not the clustering). ``T``
    is ``sum(sizes)``, plus the sink token 0 when ``sink > 0``. The tokens come
    in one of four styles (at most one of ``tokens``, ``pieces``, ``words``, ``words_of``):

    - ``tokens``: plain strings, one per token, no text (default ``w0 … w{T-1}``);
    - ``pieces``: a special ``bos`` then these exact token texts, with offsets
      into the text they spell (:func:`~attn_widget.synthetic.tokens_from_pieces`);
    - ``words``: the same for words as GPT-2 writes them, a leading space on
      all but the first (``"The", " cat", …``): the text is the words joined
      by single spaces;
    - ``words_of``: a special ``bos`` then each whitespace-separated word of
      that text, without leading spaces, with its offsets into it.
    """
    if sum(x is not None for x in (tokens, pieces, words, words_of)) > 1:
        raise TypeError("give at most one of tokens=, pieces=, words=, words_of=")
    att, groups = planted_attention(sizes, layers=n_layers, heads=n_heads, **attention)
    n = len(groups)
    text, toks = "", list(tokens) if tokens is not None else [f"w{i}" for i in range(n)]
    if words is not None:
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    if pieces is not None:
        text, toks = tokens_from_pieces(pieces, bos=bos)
    elif words_of is not None:
        text, toks = words_of, words_in(words_of, bos=bos)
    if len(toks) != n:
        raise ValueError(f"sizes={list(sizes)} make {n} tokens (with the sink) but {len(toks)} were given")
    return Planted(att, groups, toks, text)


PLANTED_KNOBS = (
    frozenset(inspect.signature(planted_input).parameters) - {"sizes", "attention"}
) | (frozenset(inspect.signature(planted_attention).parameters) - {"group_sizes", "layers", "heads"})
"""Keywords :func:`make_analysis` passes to :func:`planted_input`; the rest go to ``analyze_attention``."""


def make_analysis(sizes: Sequence[int] = (5, 5, 4), **knobs: Any) -> Analysis:
    """An :class:`Analysis` of planted attention: the one way tests make one without a model.

    Keywords named in :data:`PLANTED_KNOBS` shape the input (see
    :func:`planted_input`: ``n_layers``, ``n_heads``, ``strength``, ``shuffle``,
    ``seed``, ``tokens`` / ``pieces`` / ``words`` / ``words_of``, …); every other
    keyword is an ``analyze_attention`` option (``exclude`` defaults to the
    planted sink, not to detection; ``text`` to the input's text).
    ``make_analysis([8, 12, 10], n_layers=3, seed=2)``.
    """
    planted, options = split_knobs(knobs)
    return planted_input(sizes, **planted).analyze(**options)


def split_knobs(knobs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``knobs`` split into :func:`planted_input` keywords and ``analyze_attention`` options."""
    planted = {k: v for k, v in knobs.items() if k in PLANTED_KNOBS}
    return planted, {k: v for k, v in knobs.items() if k not in PLANTED_KNOBS}


def with_carrying_head(a: Analysis, members: Sequence[int], layer: int, head: int) -> Analysis:
    """``a`` analysed again after head ``layer.head`` is made to carry ``members``.

    That head then spends almost all of each member's attention on the
    members before it, so it builds the group far more than the average head.
    """
    att = a.attentions.copy()
    strong = np.tril(np.full_like(att[layer, head], 1e-3))
    for i in members[1:]:
        strong[i, [j for j in members if j < i]] = 1.0
    att[layer, head] = strong / strong.sum(axis=1, keepdims=True)
    return analyze_attention(att, a.tokens, text=a.text, exclude=list(a.excluded))


def words_in(text: str, *, bos: str | None = "<s>") -> list[Token]:
    """A special ``bos`` token, then one token per whitespace-separated word of ``text`` with its offsets."""
    first = [] if bos is None else [Token(bos, special=True)]
    return first + [Token(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]
