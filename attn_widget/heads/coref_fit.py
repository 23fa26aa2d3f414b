"""Choosing the coreference heads by cross-validation on the probe, and calibrating their confidence.

One model pass per probe item keeps, for every head, the pronoun's row and
column of the edge weights and each row's mass outside the sinks
(:func:`attn_widget.heads.coref.probe_features`). From those, the link the coreference lens draws for
any set of heads is computed exactly as :meth:`attn_widget.Analysis.links`
computes it (the mean of the heads' weights, sinks left out, rows renormalised,
the stronger direction), for every item at once (:func:`combined`).

The selection rule (:func:`choose`), one for every model: candidate head sets
are the ``n`` heads most accurate alone on the training items (``"top-n"``) and
``n`` heads added one at a time, each the one that most raises the training
accuracy of the mean (``"greedy-n"``), for ``n`` in :data:`GRID`; the candidate
whose antecedent is the top link on most held-out items over ``FOLDS``-fold
cross-validation wins and is refitted on the whole probe; its held-out top-1
and top-3 are what the lens notice reports. The confidence of a link
(:func:`confidence_features`): the margin of the top link over the runner-up
(relative to the top), the share of the chosen heads whose own top link is the
same token, and, where a second edge measure of the same heads is at hand
(``cross``: ``norm`` for an ``attention`` lens, ``attention`` for a ``norm`` one),
whether that measure's top link is the same token and that agreement times the
margin; mapped to a probability of being right by a logistic fit on the held-out
predictions (:func:`calibrate`). The confidence features were chosen among
thirteen sets by nested cross-validation on the probe
(``benchmarks/bench_coref_confidence.py``). Each model gets its own threshold
of "sure", by one rule (:func:`threshold`) on its own held-out probe links,
each with a confidence fitted without it (:func:`nested_probability`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

FOLDS = 5
GRID = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
SEED = 0
Heads = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Features:
    """Per probe item (padded to ``T`` tokens): ``out``/``inn`` ``[N, heads, T]`` (pronoun's row / column),
    ``sums`` ``[N, heads, T]`` (each row's mass on kept tokens), ``cand``/``ante`` ``[N, T]`` bool.
    ``shape`` is ``(layers, heads per layer)``; heads are flattened layer-major."""

    out: np.ndarray
    inn: np.ndarray
    sums: np.ndarray
    sp: np.ndarray
    cand: np.ndarray
    ante: np.ndarray
    far: np.ndarray
    shape: tuple[int, int]

    def subset(self, idx: np.ndarray) -> Features:
        part = Features(
            self.out[idx],
            self.inn[idx],
            self.sums[idx],
            self.sp[idx],
            self.cand[idx],
            self.ante[idx],
            self.far[idx],
            self.shape,
        )
        if "hits" in self.__dict__:  # per item: a subset's are the parent's rows
            part.__dict__["hits"] = self.hits[idx]
        return part

    @cached_property
    def hits(self) -> np.ndarray:
        """``[N, heads]``: whether each head's own top link is the item's antecedent (computed once;
        the cross-validation's training subsets reuse these rows)."""
        return ranks(single(self), self.ante[:, None]) == 0


def item_features(
    weights: np.ndarray, exclude: Sequence[int], p: int, ante: Sequence[int], t_max: int
) -> tuple[np.ndarray, ...]:
    """One item's rows from its ``[layer, head, T, T]`` edge weights (sinks ``exclude``, pronoun ``p``)."""
    n_l, n_h, t, _ = weights.shape
    w = np.asarray(weights, dtype=np.float64).reshape(n_l * n_h, t, t).copy()
    keep = np.ones(t, dtype=bool)
    keep[list(exclude)] = False
    w[:, :, ~keep] = 0.0
    pad = np.zeros((n_l * n_h, t_max), dtype=np.float32)
    out, inn, sums = pad.copy(), pad.copy(), pad.copy()
    m = min(t, t_max)
    out[:, :m], inn[:, :m], sums[:, :m] = w[:, p, :m], w[:, :m, p], w.sum(-1)[:, :m]
    cand = np.zeros(t_max, dtype=bool)
    cand[:m] = keep[:m]
    cand[p] = False
    a = np.zeros(t_max, dtype=bool)
    a[[i for i in ante if i < t_max]] = True
    return out, inn, sums, w[:, p].sum(-1).astype(np.float32), cand, a & cand


def stack(rows: list[tuple[np.ndarray, ...]], far: Sequence[bool], shape: tuple[int, int]) -> Features:
    """The items' rows (from :func:`item_features`) as one :class:`Features`."""
    out, inn, sums, sp, cand, ante = (np.stack(x) for x in zip(*rows, strict=True))
    return Features(out, inn, sums, sp, cand, ante, np.asarray(far, dtype=bool), shape)


def combined(f: Features, c: np.ndarray) -> np.ndarray:
    """``[N, T]``: the link of each token to the pronoun under head weights ``c`` (``-inf``: no candidate)."""
    c = np.asarray(c, dtype=np.float64)
    out = np.einsum("nht,h->nt", f.out, c) / np.clip(f.sp @ c, 1e-12, None)[:, None]
    inn = np.einsum("nht,h->nt", f.inn, c) / np.clip(np.einsum("nht,h->nt", f.sums, c), 1e-12, None)
    return np.where(f.cand, np.maximum(out, inn), -np.inf)


def single(f: Features) -> np.ndarray:
    """``[N, heads, T]``: each head's own link to the pronoun."""
    out = f.out / np.clip(f.sp, 1e-12, None)[..., None]
    inn = f.inn / np.clip(f.sums, 1e-12, None)
    return np.where(f.cand[:, None], np.maximum(out, inn), -np.inf)


def ranks(link: np.ndarray, ante: np.ndarray) -> np.ndarray:
    """``[...]``: how many candidates beat the best antecedent token (0: it is the top link)."""
    best = np.where(ante, link, -np.inf).max(-1, keepdims=True)
    return (link > best).sum(-1) + np.where(np.isfinite(best[..., 0]), 0, 99)


def head_accuracy(f: Features) -> np.ndarray:
    """``[heads]``: share of items whose antecedent is the head's own top link."""
    return f.hits.mean(0)


def top_n(f: Features, sizes: Sequence[int]) -> list[np.ndarray]:
    """The ``n`` heads most accurate alone, equally weighted, for each ``n`` of ``sizes``."""
    order = np.argsort(-head_accuracy(f), kind="stable")
    out = []
    for n in sizes:
        c = np.zeros(f.out.shape[1])
        c[order[:n]] = 1.0
        out.append(c)
    return out


def weighted_n(f: Features, sizes: Sequence[int]) -> list[np.ndarray]:
    """The ``n`` heads most accurate alone, weighted by how far their accuracy beats the median head's."""
    acc = head_accuracy(f)
    order = np.argsort(-acc, kind="stable")
    out = []
    for n in sizes:
        c = np.zeros_like(acc)
        c[order[:n]] = np.clip(acc[order[:n]] - np.median(acc), 1e-3, None)
        out.append(c)
    return out


def top1_objective(link: np.ndarray, ante: np.ndarray) -> np.ndarray:
    """``[P]``: share of items whose antecedent is the top link under each of ``P`` candidate head sets
    (``link`` ``[N, P, T]``), plus a thousandth of the top-3 share to break ties."""
    r = ranks(link, ante)
    return (r == 0).mean(0) + 1e-3 * (r < 3).mean(0)


def greedy_n(
    f: Features,
    sizes: Sequence[int],
    objective: Callable[[np.ndarray, np.ndarray], np.ndarray] = top1_objective,
) -> list[np.ndarray]:
    """Heads added one at a time (from the ``POOL`` most accurate alone), each the one that most raises
    the training ``objective`` of the mean (top-1); the first ``n`` for each ``n`` of ``sizes``."""
    pool = np.argsort(-head_accuracy(f), kind="stable")[:POOL]
    out_p, inn_p, sp_p, sums_p = f.out[:, pool], f.inn[:, pool], f.sp[:, pool], f.sums[:, pool]
    c = np.zeros(f.out.shape[1])
    num_out = np.zeros((len(f.sp), f.out.shape[2]), dtype=np.float32)
    den_out = np.zeros(len(f.sp), dtype=np.float32)
    num_in, den_in = num_out.copy(), num_out.copy()
    taken: list[np.ndarray] = []
    for step in range(1, max(sizes) + 1):
        o = (num_out[:, None] + out_p) / np.clip(den_out[:, None, None] + sp_p[..., None], 1e-12, None)
        i = (num_in[:, None] + inn_p) / np.clip(den_in[:, None] + sums_p, 1e-12, None)
        score = objective(np.where(f.cand[:, None], np.maximum(o, i), -np.inf), f.ante[:, None])
        score[c[pool] > 0] = -1.0
        k = int(np.argmax(score))
        c[pool[k]] = 1.0
        num_out += out_p[:, k]
        den_out += sp_p[:, k]
        num_in += inn_p[:, k]
        den_in += sums_p[:, k]
        if step in sizes:
            taken.append(c.copy())
    return taken


def best_layer(f: Features, sizes: Sequence[int]) -> list[np.ndarray]:
    """Every head of the layer whose mean is most accurate (one candidate, whatever ``sizes``)."""
    n_l, n_h = f.shape
    best, chosen = -1.0, np.zeros(n_l * n_h)
    for layer in range(n_l):
        c = np.zeros(n_l * n_h)
        c[layer * n_h : (layer + 1) * n_h] = 1.0
        acc = float((ranks(combined(f, c), f.ante) == 0).mean())
        if acc > best:
            best, chosen = acc, c
    return [chosen]


POOL = 48
"""The greedy rule adds heads from this many, the most accurate alone (keeps the probe run short)."""
RULES: dict[str, Callable[[Features, Sequence[int]], list[np.ndarray]]] = {
    "top-n mean": top_n,
    "greedy mean": greedy_n,
    "top-n weighted": weighted_n,
    "best layer": best_layer,
}
ADOPTABLE = ("top-n mean", "greedy mean")
"""Rules whose head sets a lens can hold (a plain mean of heads); the package chooses among these."""


def sizes_for(rule: str, n_heads: int) -> tuple[int, ...]:
    return (0,) if rule == "best layer" else tuple(n for n in GRID if n <= n_heads)


def folds(n: int, k: int = FOLDS, seed: int = SEED) -> list[np.ndarray]:
    return [np.sort(x) for x in np.array_split(np.random.default_rng(seed).permutation(n), k)]


def cross_validate(f: Features, rule: str, cross: Features | None = None) -> dict[int, dict[str, Any]]:
    """Per head count: held-out top-1 / top-3 / far top-3 of ``rule``, each held-out item's rank and
    confidence features (four columns with ``cross``, the same items under the second measure; else two)."""
    n = len(f.cand)
    sizes = sizes_for(rule, f.out.shape[1])
    r = np.zeros((len(sizes), n), dtype=int)
    feats = np.zeros((len(sizes), n, 2 if cross is None else 4))
    f.hits  # noqa: B018 - once for the whole probe: each training subset takes its rows
    for test in folds(n):
        train = np.setdiff1d(np.arange(n), test)
        held = f.subset(test)
        other = None if cross is None else cross.subset(test)
        each = single(held)
        for k, c in enumerate(RULES[rule](f.subset(train), sizes)):
            link = combined(held, c)
            r[k, test] = ranks(link, held.ante)
            second = None if other is None else combined(other, c)
            feats[k, test] = confidence_features(link, each[:, c > 0], second)
    return {
        size: {
            "top1": float((r[k] == 0).mean()),
            "top3": float((r[k] < 3).mean()),
            "far_top3": float((r[k][f.far] < 3).mean()) if f.far.any() else float("nan"),
            "ranks": r[k],
            "features": feats[k],
        }
        for k, size in enumerate(sizes)
    }


def confidence_features(
    link: np.ndarray, per_head: np.ndarray, cross: np.ndarray | None = None
) -> np.ndarray:
    """``[N, 2]``: (margin of the top link over the runner-up / top, share of heads agreeing on the top);
    with ``cross`` (``[N, T]``, the same heads' links under the second edge measure) ``[N, 4]``, adding
    whether its top link is the same token (1/0) and that times the margin."""
    order = np.argsort(-link, axis=-1)
    first = np.take_along_axis(link, order[:, :1], -1)[:, 0]
    second = np.take_along_axis(link, order[:, 1:2], -1)[:, 0]
    second = np.where(np.isfinite(second), second, 0.0)
    margin = np.where(first > 0, (first - second) / np.clip(first, 1e-12, None), 0.0)
    agree = (per_head.argmax(-1) == order[:, :1]).mean(-1)
    if cross is None:
        return np.stack([margin, agree], -1)
    same = (np.asarray(cross).argmax(-1) == order[:, 0]).astype(np.float64)
    return np.stack([margin, agree, same, margin * same], -1)


L2 = 1e-2
"""Ridge penalty of the calibration, on standardised features."""


def calibrate(features: np.ndarray, correct: np.ndarray) -> tuple[float, ...]:
    """Logistic ``P(right) = 1 / (1 + exp(-(b0 + b · features)))`` by Newton steps, on standardised
    features with a small ridge (:data:`L2`), returned on the raw features: ``(b0, b1, …)``."""
    x = np.asarray(features, dtype=np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    y = np.asarray(correct, dtype=np.float64)
    b = np.zeros(z.shape[1])
    reg = L2 * np.eye(len(b))
    reg[0, 0] = 0.0
    for _ in range(60):
        p = 1 / (1 + np.exp(-z @ b))
        grad = z.T @ (y - p) - reg @ b
        hess = (z * (p * (1 - p))[:, None]).T @ z + reg + 1e-9 * np.eye(len(b))
        b = b + np.linalg.solve(hess, grad)
    raw = b[1:] / sd
    return (float(b[0] - raw @ mu), *(float(v) for v in raw))


def probability(coef: Sequence[float], features: np.ndarray) -> np.ndarray:
    """``[N]``: the calibrated probability of each row of ``features`` (as many columns as ``coef`` - 1)."""
    f = np.atleast_2d(np.asarray(features, dtype=np.float64))
    b = np.asarray(coef, dtype=np.float64)
    if f.shape[1] != len(b) - 1:
        raise ValueError(f"{len(b) - 1} confidence features expected, got {f.shape[1]}")
    return 1 / (1 + np.exp(-(b[0] + f @ b[1:])))


PRECISION = 0.85
"""A model's threshold (:func:`threshold`) keeps the links that held-out probe links at that confidence
were right at least this often …"""
LIFT = 0.10
"""… and more often than all its held-out probe links together by at least this, plus one standard error
of their precision (so the lift holds on text the probe did not see) …"""
CEILING = 0.95
"""… or, for a model whose links are mostly right already (all links right more than 85% of the time,
where +0.10 would ask for more than 0.95), right at least this often, plus one standard error."""
MIN_LINKS = 20
"""A threshold is judged only while at least this many held-out probe links reach it."""
THRESHOLDS = tuple(round(0.5 + 0.01 * k, 2) for k in range(50))
"""The thresholds :func:`threshold` tries, lowest first: 0.50, 0.51, … 0.99."""


def nested_probability(features: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """``[N]``: each held-out link's confidence from a calibration fitted on the other folds' links (the
    folds the heads were chosen on), so no link's confidence was fitted on it."""
    y = np.asarray(correct, dtype=bool)
    out = np.zeros(len(y))
    for test in folds(len(y)):
        train = np.setdiff1d(np.arange(len(y)), test)
        out[test] = probability(calibrate(features[train], y[train]), features[test])
    return out


def threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    precision: float = PRECISION,
    lift: float = LIFT,
    errors: tuple[float, float] = (0.0, 1.0),
) -> tuple[float, float, float, float]:
    """One model's threshold, by one rule for every model: the lowest of :data:`THRESHOLDS` at which the
    links at or above it are right at least :data:`PRECISION` of the time and at least :data:`LIFT` plus
    one standard error more often than all links (at most :data:`CEILING` plus one standard error: a
    model right nearly always needs no lift), judged while :data:`MIN_LINKS` links reach it.

    ``confidence`` and ``correct``: held-out probe links (:func:`nested_probability`). Returns
    ``(threshold, coverage, precision, precision of all links)``; the threshold is NaN when none
    qualifies (then no link is sure), with the coverage and precision of the highest tried.
    ``precision``, ``lift`` and ``errors`` (how many standard errors the precision and the lift must
    clear them by) are there for ``benchmarks/bench_coref_confidence.py`` to compare other rules."""
    conf = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(correct, dtype=bool)
    base = float(y.mean()) if len(y) else float("nan")
    cover, prec = 0.0, float("nan")
    for t in THRESHOLDS:
        kept = conf >= t
        n = int(kept.sum())
        if n < MIN_LINKS:
            break
        cover, prec = n / len(y), float(y[kept].mean())
        se = np.sqrt(prec * (1 - prec) / n)
        if prec - errors[0] * se >= precision and prec - errors[1] * se >= min(base + lift, CEILING):
            return t, cover, prec, base
    return float("nan"), cover, prec, base


def choose(f: Features, rules: Sequence[str] = ADOPTABLE, cross: Features | None = None) -> dict[str, Any]:
    """The rule of the module docstring: every candidate's cross-validated scores, the winner refitted.

    ``calibration``: on (margin, agreement); ``calibration_cross`` (with ``cross``, else ``()``): on all four
    features of :func:`confidence_features`; ``threshold`` / ``threshold_cross``: each calibration's
    :func:`threshold` on its nested held-out confidences."""
    table = {(rule, n): v for rule in rules for n, v in cross_validate(f, rule, cross).items()}
    key = max(table, key=lambda k: (table[k]["top1"], table[k]["top3"], -k[1]))
    (c,) = RULES[key[0]](f, (key[1],))
    win = table[key]
    right = win["ranks"] == 0
    coef = calibrate(win["features"][:, :2], right)
    coef_cross = calibrate(win["features"], right) if cross is not None else ()
    sure = threshold(nested_probability(win["features"][:, :2], right), right)
    sure_cross = threshold(nested_probability(win["features"], right), right) if cross is not None else ()
    n_l, n_h = f.shape
    order = np.argsort(-head_accuracy(f), kind="stable")
    heads = tuple(divmod(int(i), n_h) for i in order if c[i] > 0)
    return {
        "rule": key,
        "heads": heads,
        "cv": win,
        "table": table,
        "calibration": coef,
        "calibration_cross": coef_cross,
        "threshold": sure,
        "threshold_cross": sure_cross,
        "accuracy": head_accuracy(f).reshape(n_l, n_h),
    }
