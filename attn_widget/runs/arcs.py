"""The arcs the first screen draws over the text: pronoun → referent, and links that skip words.

:func:`arcs` is :meth:`Analysis.arcs <attn_widget.core.Analysis.arcs>`: the one list the
widget, the standalone page, the CLI and the JSON export show.

- **Reference arcs**: every pronoun to the word it is linked to most through
  the model's coreference heads (:func:`attn_widget.heads.coref.reference_links`,
  under the analysis's measure). What the model links, right or wrong: a wrong
  arc is what a debugger needs to see. Its calibrated confidence (the chance,
  fitted on held-out probe items, that the link is right) decides solid or faint.
- **Long-range arcs**: the links under the clusters' own lens and measure (or
  ``lens``) that most exceed the distance baseline
  (:func:`attn_widget.graph.arcs.long_range`), so word order does not fill the screen.

Words, not pieces: node texts are shown as the whole words they belong to.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import Analysis, Arc
from ..core.lexicon import PRONOUNS, STOPWORDS
from ..core.units import segment, unit_tokens, word_label
from ..extract.errors import ModelLoadError
from ..graph.arcs import CONFIDENT_LIFT, long_range
from ..graph.measures import measure_weights
from ..heads import coref
from .lensed import lens_heads, weights_under

_LETTER = re.compile(r"\w", re.UNICODE)


def words(analysis: Analysis) -> tuple[tuple[str, ...], np.ndarray]:
    """Each node as a person reads it (the whole word a token belongs to), and each node's word number."""
    nodes = analysis.tokens
    spans = all(t.start is not None for t in nodes if not t.special)
    if analysis.options.unit != "token" or not analysis.text or not spans:
        return tuple(word_label(t.text) for t in nodes), np.arange(len(nodes))
    units = segment(analysis.text, nodes, "word")
    whole = unit_tokens(analysis.text, nodes, units)
    owner = units.owner()
    return tuple(word_label(whole[u].text) for u in owner), owner


def default_k(n: int) -> int:
    """How many long-range arcs to draw for ``n`` nodes: 3 for a sentence, up to 12 for a long text."""
    return int(min(12, 3 + n // 60))


def arcs(analysis: Analysis, k: int | None = None, lens: Any = None) -> tuple[Arc, ...]:
    """The arcs to draw: every pronoun's reference, then the ``k`` strongest long-range links.

    ``k``: long-range arcs (default :func:`default_k`); ``lens``: the heads the
    long-range links are read under (default: the clusters' own). Reference arcs
    need the model's coreference heads and the raw attention; without them (an
    analysis made from attention arrays, or streamed) there are none.
    """
    names, positions = words(analysis)
    if analysis.source_length is not None:
        return crossing(analysis, names, positions)
    eligible = _content(analysis, names)
    between = words_between(names, positions)
    refs = references(analysis, names, between)
    k = default_k(len(analysis.tokens)) if k is None else int(k)
    weights = weights_under(analysis, lens=lens) if lens is not None else analysis.weights
    kept = np.ones(len(analysis.tokens), dtype=bool)
    kept[list(analysis.excluded)] = False
    taken = {(a.source, a.target) for a in refs}
    lens_name = _lens_name(lens if lens is not None else analysis.options.lens)
    far = [
        Arc(i, j, w, "long-range", w >= CONFIDENT_LIFT * b, lens_name, analysis.options.measure,
            baseline=b, source_text=names[i], target_text=names[j], words_between=between(j, i))
        for i, j, w, b in long_range(weights, eligible & kept, k + len(taken), kept=kept, positions=positions)
        if (i, j) not in taken
    ][:k]  # fmt: skip
    pool = analysis.options.lens_heads if lens is None else _pool(analysis, lens)
    return (*refs, *(dataclasses.replace(a, heads=carriers(analysis, a.source, a.target, pool)) for a in far))


CARRIERS = 3
"""Heads named as an arc's evidence (:attr:`Arc.heads <attn_widget.core.Arc.heads>`)."""


def carriers(
    analysis: Analysis, source: int, target: int, pool: Sequence[tuple[int, int]] | None
) -> tuple[tuple[int, int, float], ...]:
    """The heads of ``pool`` (``None``: every head) that put the largest share of node ``source``'s
    weight on node ``target`` (under the analysis's measure; a word's pieces: summed over the
    target's, averaged over the source's): ``(layer, head, share)``, at most :data:`CARRIERS`."""
    att = analysis.attentions
    if att is None:
        return ()
    units = analysis.units
    q, k = units.pieces([source]), units.pieces([target])
    data = {key: np.asarray(v)[:, :, q] if key == "gradient" else v for key, v in analysis.head_data.items()}
    rows = measure_weights(att[:, :, q], analysis.options.measure, data).astype(np.float64)  # [L, H, q, keys]
    share = (rows[..., k].sum(axis=-1) / np.maximum(rows.sum(axis=-1), 1e-12)).mean(axis=-1)
    heads = [(int(la), int(h)) for la, h in pool] if pool is not None else list(np.ndindex(share.shape))
    heads.sort(key=lambda lh: (-share[lh], lh))
    return tuple((la, h, round(float(share[la, h]), 4)) for la, h in heads[:CARRIERS])


def _pool(analysis: Analysis, lens: Any) -> tuple[tuple[int, int], ...] | None:
    """The heads a ``lens`` given to :func:`arcs` keeps (``None``: every head)."""
    if not isinstance(lens, str):
        return tuple((int(la), int(h)) for la, h in lens)
    if lens == "all" or analysis.attentions is None:
        return None
    return lens_heads(analysis, {"lens": lens})[0]


def words_between(names: Sequence[str], positions: np.ndarray) -> Callable[[int, int], int]:
    """``between(left, right)``: how many whole words lie strictly between nodes ``left`` and ``right``.

    Counted on each node's word number (``positions``, from :func:`words`); a word
    without a letter or digit (punctuation) is not counted.
    """
    lettered = np.array([bool(_LETTER.search(w)) for w in names], dtype=bool)
    counted = np.unique(np.asarray(positions)[lettered]) if len(names) else np.zeros(0, dtype=int)

    def between(left: int, right: int) -> int:
        lo, hi = sorted((int(positions[left]), int(positions[right])))
        return int(np.searchsorted(counted, hi, "left") - np.searchsorted(counted, lo, "right"))

    return between


def references(
    analysis: Analysis, names: Sequence[str], between: Callable[[int, int], int] | None = None
) -> tuple[Arc, ...]:
    """A reference arc from every pronoun to the word its coreference-head link is strongest to.

    The link and its calibrated confidence are :func:`attn_widget.heads.coref.reference_links`
    (drawn solid when the link is ``confident``: at or above the model's own threshold).
    """
    if analysis.options.unit == "sentence" or analysis.attentions is None or not analysis.model:
        return ()  # no raw attention to read, or no model to find the heads with
    try:
        heads = coref.coreference_heads(analysis.model, analysis.options.measure)
        found = coref.reference_links(analysis, heads)
    except (ValueError, TypeError, ModelLoadError):  # a model that cannot be loaded or probed
        return ()
    out = []
    for i, link in found:
        if i > 0 and names[i - 1] == names[i] and analysis.options.unit == "token":
            continue  # a later piece of the same word
        if link.index >= i:
            continue  # a later word attending to the pronoun: not what it refers back to
        confidence = link.confidence
        out.append(Arc(
            i, link.index, link.weight, "reference", bool(link.confident),
            "coreference", analysis.options.measure, confidence=confidence, source_text=names[i],
            target_text=names[link.index], words_between=None if between is None else between(link.index, i),
            heads=carriers(analysis, i, link.index, heads.heads),
        ))  # fmt: skip
    return tuple(out)


def crossing(analysis: Analysis, names: Sequence[str], positions: np.ndarray) -> tuple[Arc, ...]:
    """An encoder–decoder pair's arcs: each target word to the source word it attends to most.

    One arc per target word (its first piece; special tokens and left-out nodes have
    none), weighted by that source word's share of the word's attention to the source
    (:func:`attn_widget.runs.pairs.cross_share`, under the analysis's aggregation, measure
    and lens); confident when it is at least twice the next source word's share.
    """
    from .pairs import cross_share  # pairs imports the extract layer's pair reading; arcs need only this

    s = int(analysis.source_length or 0)
    share = cross_share(analysis)
    excluded = set(analysis.excluded)
    out = []
    for row, t in enumerate(range(s, len(analysis.tokens))):
        first = t == s or positions[t] != positions[t - 1]
        if analysis.tokens[t].special or t in excluded or not first or share[row].max() <= 0:
            continue
        order = np.argsort(-share[row], kind="stable")
        j, runner_up = int(order[0]), float(share[row][order[1]]) if s > 1 else 0.0
        w = float(share[row][j])
        out.append(Arc(
            t, j, w, "cross", w >= 2 * runner_up, _lens_name(analysis.options.lens), analysis.options.measure,
            source_text=names[t], target_text=names[j],
        ))  # fmt: skip
    return tuple(out)


def _content(analysis: Analysis, names: Sequence[str]) -> np.ndarray:
    """``[T]`` nodes that can end an arc: words with a letter or digit, not function words, not special."""
    out = np.zeros(len(names), dtype=bool)
    for i, (t, w) in enumerate(zip(analysis.tokens, names, strict=True)):
        low = w.lower().strip(".,;:!?\"'()")
        out[i] = (
            not t.special
            and bool(_LETTER.search(w))
            and low not in STOPWORDS
            and (low not in PRONOUNS or low in coref.PRONOUNS)
        )
    return out


def _lens_name(lens: Any) -> str:
    return lens if isinstance(lens, str) else "custom"
