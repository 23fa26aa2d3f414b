"""The statistics head roles are scored from, gathered one layer at a time.

:class:`HeadScorer` is told each layer's ``[head, T, T]`` attention (from a kept
array, or from a streaming forward pass that drops the layer afterwards) and
keeps only per-row summaries: each row's mass, sum of squared weights and
entropy, and the attention each row puts on each role's pattern. That is
``O(layers × heads × T)`` memory, enough to score every role
(:meth:`HeadScorer.scores`) after the pass. Patterns are sparse ``(query, key)`` pairs,
so a layer costs a few passes over its weights. The roles themselves and the
control against chance are :mod:`attn_widget.heads.roles`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..core.types import Attention, LayerAttention

MIN_KEYS = 3
"""Rows with fewer keys to choose from say little about a head and are not scored."""
MIN_ROWS = 4
"""A role needs at least this many scored rows; fewer → NaN (not measurable on this input)."""
BLOCK_ROWS = 512
"""Rows of one head summarised per numpy call (bounds the temporaries on long texts)."""
CAUSAL_ROWS = 64
"""Rows per call for a causal layer: each block reads the keys up to its last query only, so
smaller blocks skip more of the zeros above the diagonal (about half the square at 64 rows)."""


@dataclass(frozen=True, eq=False)
class RowStats:
    """Per-row summaries of every head (``[layer, head, query]``)."""

    mass: np.ndarray
    sumsq: np.ndarray  # sum of squared normalised weights
    entropy: np.ndarray

    @classmethod
    def of(cls, att: Attention) -> RowStats:
        parts = [layer_stats(att[layer], causal=False) for layer in range(att.shape[0])]
        return cls(*(np.stack([p[k] for p in parts]) for k in range(3)))


def layer_stats(
    att: LayerAttention, causal: bool, start: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mass, sumsq, entropy)``, each ``[head, rows]``, of one layer's rows (in blocks of rows).

    ``causal``: keys after the last query of a block are known to be zero and skipped.
    ``start``: ``att`` holds the queries ``start…`` (a block of a streamed layer).
    """
    n_heads, t = att.shape[0], att.shape[1]
    mass, sumsq, ent = (np.empty((n_heads, t)) for _ in range(3))
    step = CAUSAL_ROWS if causal else BLOCK_ROWS
    for h in range(n_heads):
        for r0 in range(0, t, step):
            r1 = min(r0 + step, t)
            a = att[h, r0:r1, : min(start + r1, att.shape[2]) if causal else att.shape[2]]
            m = np.maximum(a.sum(axis=-1, dtype=np.float64), 1e-12)
            mass[h, r0:r1] = m
            # with w = a / m: sum w² = sum a² / m², and -sum w log w = log m - sum a log a / m
            sumsq[h, r0:r1] = np.einsum("ij,ij->i", a, a, dtype=np.float64) / m**2
            loga = np.log(np.maximum(a, np.float32(1e-12 * m.min())))
            ent[h, r0:r1] = np.log(m) - np.einsum("ij,ij->i", a, loga, dtype=np.float64) / m
    return mass, sumsq, ent


@dataclass(frozen=True, eq=False)
class PatternRows:
    """A role pattern as sparse pairs: the rows it scores and, per row, its keys.

    ``rows``: scored query rows; ``query``/``key``: the pattern's pairs in those
    rows, grouped by row (``starts`` index the first pair of each row);
    ``n``: keys each row may see; ``k``: pattern keys per row.
    """

    rows: np.ndarray
    query: np.ndarray
    key: np.ndarray
    starts: np.ndarray
    n: np.ndarray
    k: np.ndarray

    @classmethod
    def of(cls, pattern: np.ndarray, allowed: np.ndarray) -> PatternRows | None:
        """The scored part of ``pattern`` (``[T, T]`` bool); ``None`` with under :data:`MIN_ROWS` rows."""
        pattern = pattern & allowed
        rows = np.flatnonzero(pattern.any(axis=1) & (allowed.sum(axis=1) >= MIN_KEYS))
        if rows.size < MIN_ROWS:
            return None
        query, key = np.nonzero(pattern[rows])  # row-major: grouped by row
        starts = np.searchsorted(query, np.arange(rows.size))
        k = np.bincount(query, minlength=rows.size).astype(np.float64)
        return cls(rows, rows[query], key, starts, allowed[rows].sum(axis=1).astype(np.float64), k)

    def on(self, att: LayerAttention) -> np.ndarray:
        """``[head, rows]``: the attention each scored row puts on the pattern, in one layer."""
        picked = att[:, self.query, self.key].astype(np.float64)
        return np.add.reduceat(picked, self.starts, axis=1)

    def span(self, start: int, stop: int) -> slice:
        """The scored rows among the queries ``start … stop - 1`` (a slice of :attr:`rows`)."""
        return slice(*np.searchsorted(self.rows, [start, stop]).tolist())

    def on_block(self, att: LayerAttention, start: int) -> np.ndarray:
        """:meth:`on` for the queries ``start…`` (``[head, rows, width]``): ``[head, scored rows in it]``."""
        span = self.span(start, start + att.shape[1])
        if span.start == span.stop:
            return np.zeros((att.shape[0], 0))
        p0 = int(self.starts[span.start])
        p1 = int(self.starts[span.stop]) if span.stop < self.rows.size else self.query.size
        picked = att[:, self.query[p0:p1] - start, self.key[p0:p1]].astype(np.float64)
        return np.add.reduceat(picked, self.starts[span] - p0, axis=1)


class HeadScorer:
    """Collects, layer by layer, what :meth:`scores` needs for every pattern and for ``broad``."""

    def __init__(self, n_layers: int, patterns: Mapping[str, np.ndarray], allowed: np.ndarray, causal: bool):
        self.causal, self.allowed = causal, allowed
        self.patterns = {role: PatternRows.of(p, allowed) for role, p in patterns.items()}
        self.stats: list[tuple[np.ndarray, ...]] = [()] * n_layers
        self.on: dict[str, list[np.ndarray]] = {role: [np.empty(0)] * n_layers for role in patterns}

    def layer(self, index: int, att: LayerAttention) -> None:
        """Summarise one layer's ``[head, T, T]`` attention."""
        self.stats[index] = layer_stats(att, self.causal)
        for role, rows in self.patterns.items():
            if rows is not None:
                self.on[role][index] = rows.on(att)

    def block(self, index: int, start: int, att: LayerAttention) -> None:
        """Summarise the queries ``start…`` of a layer (``[head, rows, width]``, later keys zero);
        a layer's blocks arrive in order."""
        n, stop = self.allowed.shape[0], start + att.shape[1]
        if start == 0 and stop == n and att.shape[2] == n:
            self.layer(index, att)
            return
        if start == 0:
            self.stats[index] = tuple(np.empty((att.shape[0], n)) for _ in range(3))
            for role, rows in self.patterns.items():
                if rows is not None:
                    self.on[role][index] = np.empty((att.shape[0], rows.rows.size))
        for whole, part in zip(self.stats[index], layer_stats(att, self.causal, start), strict=True):
            whole[:, start:stop] = part
        for role, rows in self.patterns.items():
            if rows is not None:
                self.on[role][index][:, rows.span(start, stop)] = rows.on_block(att, start)

    def row_stats(self) -> RowStats:
        return RowStats(*(np.stack([s[k] for s in self.stats]) for k in range(3)))

    def scores(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``(scores, chance, z)``: role → ``[layer, head]``; ``broad`` has no chance or z (NaN)."""
        stats = self.row_stats()
        shape = stats.mass.shape[:2]
        scores, chance, zs = {}, {}, {}
        for role, rows in self.patterns.items():
            on = None if rows is None else np.stack(self.on[role])
            scores[role], chance[role], zs[role] = pattern_scores(on, rows, stats, shape)
        scores["broad"] = broad_score(stats, self.allowed)
        chance["broad"] = np.full(shape, np.nan)
        zs["broad"] = np.full(shape, np.nan)
        return scores, chance, zs


def pattern_scores(
    on: np.ndarray | None, rows: PatternRows | None, stats: RowStats, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score, chance level and permutation z-score of a pattern for every head (``[layer, head]`` each).

    ``on``: ``[layer, head, rows]`` attention on the pattern (:meth:`PatternRows.on`).
    The score is the mean share of each scored row's attention on the pattern;
    chance is the share uniform attention would give; z compares the score with
    shuffling each row's weights among its keys (exact mean and variance).
    """
    if on is None or rows is None:
        nan = np.full(shape, np.nan)
        return nan, nan.copy(), nan.copy()
    n, k = rows.n, rows.k
    mass = np.maximum(stats.mass[:, :, rows.rows], 1e-12)
    score = (on / mass).mean(axis=-1)
    chance = np.full(shape, (k / n).mean())
    var_w = stats.sumsq[:, :, rows.rows] / n - 1.0 / n**2  # population variance of each row's weights
    var = (k * (n - k) / np.maximum(n - 1, 1) * var_w).sum(axis=-1) / rows.rows.size**2
    z = (score - chance) / np.sqrt(var + 1e-12)
    return score, chance, z


def broad_score(stats: RowStats, allowed: np.ndarray, min_keys: int = 4) -> np.ndarray:
    """``[layer, head]`` mean normalised entropy of rows with at least ``min_keys`` keys."""
    n = allowed.sum(axis=1)
    rows = np.flatnonzero(n >= min_keys)
    if rows.size == 0:
        return np.full(stats.entropy.shape[:2], np.nan)
    return (stats.entropy[:, :, rows] / np.log(n[rows])).mean(axis=-1)
