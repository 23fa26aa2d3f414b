"""Faithfulness curves: remove the most important tokens (or attention edges) first, watch the output.

:func:`fad_curve` ranks the tokens (or the token-to-token edges) by importance,
removes the top share in ``steps`` equal steps from none to all, and records
at each step how far the model's output moved from the full input's
(Jensen-Shannon divergence of the next-token distribution for a causal model,
``1 - cosine`` of the sentence embedding for an encoder, as in
:mod:`attn_widget.evaluate.faithfulness`) and how much of its agreement with its
own prediction is left (the *performance*). The same is done for ``n_random``
random orders.

- **N-AUC**: the area under the change curve over the removed share (0..1),
  so in [0, 1]; a faithful ranking moves the output early and scores above the
  random orders' N-AUC (``beats``: the share of random orders it beats).
- **AUC-TP**: the area under the threshold-performance curve (performance at
  each removed share); lower means the removed tokens carried the prediction.
  :func:`auc_tp` averages it over several texts.

Tokens: the left-out tokens (sinks) and special tokens are never removed, nor,
for a causal model, the last token (its position is where the next word is
read). Edges: removing an edge cuts that query-key pair in every layer and head.
Results are cached per model, input and settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import Analysis
from ..core.cache import LRU
from ..core.serialize import to_jsonable
from ..extract.perturb import Runner, model_and_ids
from .plausibility import SCORES

Progress = Callable[[int, int, str], None]
UNITS = ("tokens", "edges")
_CACHE: LRU[tuple[Any, ...], FadCurve] = LRU(128)


def clear_cache() -> None:
    """Forget cached curves."""
    _CACHE.clear()


@dataclasses.dataclass(frozen=True, eq=False)
class FadCurve:
    """A feature-dropping curve, its random-order baseline and their areas.

    Attributes
    ----------
    unit, order
        ``"tokens"`` or ``"edges"``; how they were ranked (``"received"``, ``"cluster 3"``, …).
    fractions
        ``[S + 1]`` the removal thresholds: ``0, 1/S, …, 1`` of the candidates.
    removed
        ``[S + 1]`` number of tokens or edges removed at each (the share rounded).
    change, performance
        ``[S + 1]`` output change from the full input, and the agreement left
        (the full input's agreement with its own prediction is 1).
    random_change, random_change_sd, random_performance
        Means (and the change's standard deviation) over the random orders.
    n_auc, random_n_auc
        Area under the change curves (in [0, 1]; higher: the output moved sooner).
    beats
        Share of the random orders whose N-AUC is below ``n_auc``.
    auc_tp, random_auc_tp
        Area under the performance curves (lower: the prediction fell sooner).
    output, target
        What was read (``"next-token distribution"`` / ``"sentence embedding"``)
        and the predicted token id (causal models).
    """

    unit: str
    order: str
    fractions: np.ndarray
    removed: np.ndarray
    change: np.ndarray
    performance: np.ndarray
    random_change: np.ndarray
    random_change_sd: np.ndarray
    random_performance: np.ndarray
    n_auc: float
    random_n_auc: float
    beats: float
    auc_tp: float
    random_auc_tp: float
    n_random: int
    output: str
    target: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (arrays as lists)."""
        return to_jsonable(self)


def area(fractions: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area of ``values`` over ``fractions`` (0 … 1)."""
    y, x = np.asarray(values, dtype=np.float64), np.asarray(fractions, dtype=np.float64)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def auc_tp(curves: FadCurve | Sequence[FadCurve]) -> float:
    """Area under the threshold-performance curve, averaged over texts (curves with the same steps)."""
    many = [curves] if isinstance(curves, FadCurve) else list(curves)
    if not many:
        raise ValueError("auc_tp needs at least one FadCurve")
    grids = {tuple(np.round(c.fractions, 12)) for c in many}
    if len(grids) > 1:
        raise ValueError("the curves were made with different steps; make them with the same steps=")
    return area(many[0].fractions, np.mean([c.performance for c in many], axis=0))


def _ranking(analysis: Analysis, order: Any, candidates: np.ndarray) -> tuple[np.ndarray, str]:
    """Importance of each candidate token, and the order's name."""
    if isinstance(order, str):
        scores = SCORES[order](analysis.weights, np.arange(len(analysis.tokens)))
        return scores[candidates], order
    if isinstance(order, (int, np.integer)) and not isinstance(order, bool):
        found = next((c for c in analysis.clusters if c.id == order), None)
        if found is None:
            ids = sorted(c.id for c in analysis.clusters)
            raise ValueError(f"order={order!r}: no such cluster; the clusters are {ids}")
        base = SCORES["received"](analysis.weights, np.arange(len(analysis.tokens)))
        inside = np.isin(candidates, found.tokens)  # the cluster's tokens first, then the rest
        return base[candidates] / (base.max() + 1.0) + inside, f"cluster {order}"
    scores = np.asarray(order, dtype=np.float64)
    if scores.shape != (len(analysis.tokens),):
        raise ValueError(
            f"order must be a score name {SCORES.names()}, a cluster id, or a [T] array of "
            f"{len(analysis.tokens)} scores; got shape {scores.shape}"
        )
    return np.nan_to_num(scores[candidates], nan=-np.inf), "given scores"


def _edges(
    analysis: Analysis, runner: Runner, keep: np.ndarray, order: Any
) -> tuple[np.ndarray, np.ndarray, str]:
    """Candidate edges ``[E, 2]`` (query, key) and their importance."""
    allowed = runner.allowed()
    np.fill_diagonal(allowed, False)
    allowed &= keep[:, None] & keep[None, :]
    pairs = np.argwhere(allowed)
    if isinstance(order, str) and order == "received":
        w = np.asarray(analysis.weights)
        return pairs, w[pairs[:, 0], pairs[:, 1]], "edge weight"
    raise ValueError(f"unit='edges' ranks edges by their weight: use order='received' (got {order!r})")


def fad_curve(
    analysis: Analysis,
    model: Any = None,
    tokenizer: Any = None,
    *,
    unit: str = "tokens",
    order: Any = "received",
    steps: int = 10,
    n_random: int = 10,
    seed: int = 0,
    batch_size: int = 8,
    progress: Progress | None = None,
    cache: bool = True,
) -> FadCurve:
    """The feature-dropping (FAD) curve of ``analysis`` with its N-AUC and random baseline.

    Parameters
    ----------
    analysis
        An analysis made by :func:`attn_widget.analyze` (its tokens carry ids).
    model, tokenizer
        The model that made it; default: loaded again by name (cached).
    unit
        ``"tokens"`` (erase tokens from the input) or ``"edges"`` (cut query-key
        pairs of attention in every layer and head).
    order
        Importance: ``"received"`` (attention received in the analysis's graph,
        so under its measure and lens), ``"next"`` (the last token's attention), a
        cluster id (its tokens first), or a ``[T]`` array of scores. Edges are
        ranked by their weight in the graph.
    steps
        Removal steps from none to all candidates (``steps + 1`` points).
    n_random
        Random orders for the baseline.
    seed
        Seed of the random orders.
    batch_size
        Variants per forward pass.
    progress
        ``progress(done, total, message)`` after each removal step (every order at once).
    cache
        Reuse a curve computed before for the same model, input and settings.

    Returns
    -------
    FadCurve
    """
    if unit not in UNITS:
        raise ValueError(f"unit={unit!r}: choose 'tokens' or 'edges'")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a whole number >= 1 (e.g. 10)")
    if isinstance(n_random, bool) or not isinstance(n_random, int) or n_random < 1:
        raise ValueError(f"n_random={n_random!r} must be a whole number >= 1")
    model, _, ids = model_and_ids(analysis, model, analysis.tokens, "fad_curve")
    n = len(ids)
    protected = sorted(set(analysis.excluded) | {i for i, t in enumerate(analysis.tokens) if t.special})
    name = getattr(getattr(model, "config", None), "_name_or_path", "")
    order_key = order if isinstance(order, (str, int)) else np.asarray(order, dtype=np.float64).tobytes()
    key = (id(model), name, tuple(ids), tuple(protected), unit, order_key, steps, n_random, seed)
    hit = _CACHE.get(key) if cache else None
    if hit is not None:
        if progress is not None:
            progress(steps + 1, steps + 1, "measured before")
        return hit
    runner = Runner(model, ids, protected, batch_size)
    keep = np.ones(n, dtype=bool)
    keep[protected] = False
    if runner.causal:
        keep[n - 1] = False
    candidates = np.flatnonzero(keep)
    if unit == "tokens":
        if candidates.size == 0:
            raise ValueError("no token can be removed (every token is left out, special or last)")
        importance, label = _ranking(analysis, order, candidates)
        items: np.ndarray = candidates
    else:
        items, importance, label = _edges(analysis, runner, keep, order)
        if items.size == 0:
            raise ValueError("no attention edge can be cut between the tokens that may be removed")
    count = len(items)
    fractions = np.linspace(0.0, 1.0, steps + 1)  # the thresholds, the same for every text
    removed = np.round(fractions * count).astype(int)
    ranked = items[np.argsort(-importance, kind="stable")]
    rng = np.random.default_rng(seed)
    orders = [ranked] + [items[rng.permutation(count)] for _ in range(n_random)]
    outs = _outputs(runner, unit, orders, removed, count, progress)
    curves = [(runner.divergence(o), runner.agreement(o)) for o in outs]
    full = float(runner.agreement(runner.full[None])[0])
    change = np.array([c for c, _ in curves])
    perf = np.clip(np.array([a for _, a in curves]) / max(full, 1e-12), 0.0, 1.0)
    aucs = np.array([area(fractions, c) for c in change])
    tps = np.array([area(fractions, p) for p in perf])
    result = FadCurve(
        unit=unit,
        order=label,
        fractions=fractions,
        removed=removed,
        change=change[0],
        performance=perf[0],
        random_change=change[1:].mean(axis=0),
        random_change_sd=change[1:].std(axis=0),
        random_performance=perf[1:].mean(axis=0),
        n_auc=float(aucs[0]),
        random_n_auc=float(aucs[1:].mean()),
        beats=float((aucs[0] > aucs[1:]).mean()),
        auc_tp=float(tps[0]),
        random_auc_tp=float(tps[1:].mean()),
        n_random=n_random,
        output="next-token distribution" if runner.causal else "sentence embedding",
        target=runner.target,
    )
    if cache:
        _CACHE.put(key, result)
    return result


def _outputs(
    runner: Runner,
    unit: str,
    orders: list[np.ndarray],
    removed: np.ndarray,
    count: int,
    progress: Progress | None,
) -> list[np.ndarray]:
    """Per order, the outputs with its first ``k`` items removed for each ``k`` of ``removed``.

    One step at a time over every order, so a batch holds inputs of one length.
    """
    per_step = []
    for m, k in enumerate(removed):
        if unit == "tokens":
            n = len(runner.ids)
            keeps = [[i for i in range(n) if i not in set(o[:k].tolist())] for o in orders]
            per_step.append(runner.keep_only(keeps))
        else:
            masks = np.repeat(runner.allowed()[None], len(orders), axis=0)
            for j, o in enumerate(orders):
                masks[j, o[:k, 0], o[:k, 1]] = False
            per_step.append(runner.masked(masks))
        if progress is not None:
            progress(m + 1, len(removed), f"{k} of {count} {unit} removed")
    stacked = np.stack(per_step)  # [step, order, D]
    return [stacked[:, j] for j in range(len(orders))]
