"""Does the model depend on a cluster? Knockout and erasure scores against random token sets.

Computed on request (extra forward passes), for each cluster ``S``:

``knockout``
    Remove attention between ``S`` and the rest of the text in every layer and
    head (an additive ``-inf`` mask on those query/key pairs; the excluded sink
    and special tokens stay connected to everything), then measure how far the
    model's output moves.
``erasure``
    Delete the tokens of ``S`` from the input and measure how far the output moves.
``comprehensiveness``, ``sufficiency``
    ERASER (DeYoung et al. 2020), normalised as in Carton et al. 2020 and Zhao &
    Aletras 2023: with ``a(x)`` the model's agreement with its own full-input
    output, ``comp = max(0, a(x) - a(x without S))`` and ``suff = 1 - max(0,
    a(x) - a(only S))``, both divided by ``1 - suff(empty input)``; higher is
    more faithful for both.

Output and agreement:

- causal models: the next-token distribution at the last position; divergence
  is Jensen-Shannon (base 2, in [0, 1]); ``a`` is the probability of the token
  the full input predicts.
- encoders (no next-token distribution): the mean-pooled last hidden state (the
  sentence embedding, as sentence-transformers uses it); divergence is
  ``1 - cosine similarity``; ``a`` is the cosine similarity to the full input's
  embedding (clipped at 0).

Each score is reported next to the mean of ``n_random`` random token sets of
the same size at similar positions (``baseline``) and the share of those sets
the cluster beats (``beats``). The sets are distinct, and none is the cluster or
its complement (knocking out a set cuts the same links as knocking out its
complement). A text too short for :data:`MIN_RANDOM` distinct sets gets no
comparison: ``baseline`` and ``beats`` are ``None`` and a ``note`` says why.
Results are cached per model, input and cluster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import Analysis
from ..core.cache import LRU
from ..extract.perturb import Runner, model_and_ids

Progress = Callable[[int, int, str], None]
METRICS = ("knockout", "erasure", "comprehensiveness", "sufficiency")
CACHE_SIZE = 512
_CACHE: LRU[tuple[Any, ...], dict[str, Any]] = LRU(CACHE_SIZE)
MIN_RANDOM = 5
"""Fewer distinct random sets than this (or than asked for) → no baseline comparison."""


def clear_cache() -> None:
    """Forget cached scores."""
    _CACHE.clear()


def random_sets(
    members: Sequence[int],
    candidates: Sequence[int],
    n: int,
    *,
    seed: int = 0,
    scale: float | None = None,
    overlap: bool = False,
) -> list[tuple[int, ...]]:
    """``n`` random sets of ``len(members)`` candidate positions, each near a member's position.

    Each member position ``p`` draws one unused candidate ``c`` with probability
    proportional to ``exp(-|c - p| / scale)`` (``scale``: an eighth of the span of
    candidates, at least 2), so the sets match the cluster's size and layout.
    Sets avoid ``members`` unless ``overlap`` (needed when the cluster covers
    more than half of the text). The sets returned are distinct (so there may be
    fewer than ``n``); none equals ``members`` or the rest of ``candidates``
    (its knockout mask would be the cluster's).
    """
    pool = set(candidates) if overlap else set(candidates) - set(members)
    cand = np.asarray(sorted(pool), dtype=int)
    if len(cand) < len(members) or not len(members) or (overlap and len(cand) == len(members)):
        return []
    if scale is None:
        scale = max(2.0, (cand.max() - cand.min() + 1) / 8)
    rng = np.random.default_rng(seed)
    out: list[tuple[int, ...]] = []
    target = tuple(sorted(members))
    complement = tuple(sorted(set(candidates) - set(members)))
    seen = {target, complement}
    for _ in range(50 * n):
        if len(out) == n:
            break
        free = np.ones(len(cand), dtype=bool)
        chosen = []
        for p in rng.permutation(np.asarray(members)):
            w = np.exp(-np.abs(cand - p) / scale) * free
            pick = rng.choice(len(cand), p=w / w.sum())
            free[pick] = False
            chosen.append(int(cand[pick]))
        drawn = tuple(sorted(chosen))
        if drawn not in seen:
            seen.add(drawn)
            out.append(drawn)
    return out


def _summary(score: float, baseline: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"score": round(float(score), 4)}
    if baseline.size:
        out["baseline"] = round(float(baseline.mean()), 4)
        out["baseline_sd"] = round(float(baseline.std()), 4)
        out["beats"] = round(float((score > baseline).mean()), 4)
    else:
        out["baseline"] = out["baseline_sd"] = out["beats"] = None
    return out


def score_cluster(
    runner: Runner,
    members: Sequence[int],
    randoms: list[tuple[int, ...]],
    null: float,
    tick: Callable[[str], None],
) -> dict[str, Any]:
    """All four metrics for ``members`` (row 0) and ``randoms`` (the baseline)."""
    sets = [tuple(members), *randoms]
    raw: dict[str, np.ndarray] = {}
    raw["knockout"] = runner.divergence(runner.knockout(sets))
    tick("knockout")
    erased = runner.erase(sets)
    raw["erasure"] = runner.divergence(erased)
    tick("erasure")
    only = runner.only(sets)
    tick("sufficiency")
    full = float(runner.agreement(runner.full[None])[0])
    suff_null = 1.0 - max(0.0, full - null)  # sufficiency of the empty input
    denom = 1.0 - suff_null
    comp = np.maximum(0.0, full - runner.agreement(erased))
    suff = 1.0 - np.maximum(0.0, full - runner.agreement(only))
    if denom > 1e-9:
        raw["comprehensiveness"] = np.clip(comp / denom, 0.0, 1.0)
        raw["sufficiency"] = np.clip((suff - suff_null) / denom, 0.0, 1.0)
    else:  # the empty input already predicts as well as the full one: nothing to normalise by
        raw["comprehensiveness"] = raw["sufficiency"] = np.full(len(sets), np.nan)
    return {name: _summary(v[0], v[1:]) for name, v in raw.items()}


def faithfulness(
    analysis: Analysis,
    model: Any = None,
    tokenizer: Any = None,
    *,
    clusters: Sequence[int] | None = None,
    min_size: int = 2,
    n_random: int = 10,
    seed: int = 0,
    batch_size: int = 8,
    progress: Progress | None = None,
    cache: bool = True,
) -> Analysis:
    """Return a copy of ``analysis`` whose clusters carry ``scores["faithfulness"]``.

    Parameters
    ----------
    analysis
        An analysis whose tokens carry vocabulary ids (``Token.id``), as
        :func:`attn_widget.analyze` makes.
    model
        The model that made the attention (eager attention); default: loaded
        again by name with :func:`attn_widget.extract.loading.load` (cached).
    tokenizer
        Only used to show the predicted next token (``target``); the ids come from the analysis.
    clusters
        Cluster ids to score (default: those with at least ``min_size`` tokens).
    n_random
        Random token sets per cluster for the baseline.
    seed
        Seed for the random sets.
    batch_size
        Variants per forward pass.
    progress
        ``progress(done, total, message)``, called after every group of passes.
    cache
        Reuse scores computed before for the same model, input, cluster and settings.

    Returns
    -------
    Analysis
        ``cluster.scores["faithfulness"]``: per metric ``{"score", "baseline",
        "baseline_sd", "beats"}``, plus ``"n_random"`` (distinct random sets
        used), ``"output"``, ``"target"`` and ``"baseline_overlaps"`` (True when
        the cluster covers more than half the text, so the random sets may share
        tokens with it). With too few distinct sets, ``baseline``, ``baseline_sd``
        and ``beats`` are ``None`` and ``"note"`` says the text is too short.
    """
    pieces = analysis.model_tokens  # words and sentences are knocked out and erased token by token
    model, loaded_tokenizer, ids = model_and_ids(analysis, model, pieces, "faithfulness")
    tokenizer = loaded_tokenizer if tokenizer is None else tokenizer
    protected = sorted(set(analysis.options.exclude) | {i for i, t in enumerate(pieces) if t.special})
    chosen = set(clusters) if clusters is not None else None
    wanted = {
        c.id for c in analysis.clusters if (c.id in chosen if chosen is not None else c.size >= min_size)
    }
    if chosen is not None and wanted != chosen:
        raise ValueError(f"clusters {sorted(chosen - wanted)} do not exist")
    total, done = len(wanted) * 3, 0

    def tick(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, message)

    runner: Runner | None = None
    null = 0.0
    candidates = [i for i in range(len(ids)) if i not in set(protected)]
    out = []
    for c in analysis.clusters:
        if c.id not in wanted:
            out.append(c)
            continue
        members = [i for i in analysis.units.pieces(c.tokens).tolist() if i not in set(protected)]
        name = getattr(getattr(model, "config", None), "_name_or_path", "")
        key = (id(model), name, tuple(ids), tuple(protected), tuple(members), n_random, seed)
        result = _CACHE.get(key) if cache else None
        if result is None:
            if runner is None:
                runner = Runner(model, ids, protected, batch_size)
                null = runner.empty_agreement()
            label = f"cluster {c.id}"

            def step(message: str, label: str = label) -> None:
                tick(f"{label}: {message}")

            result = _score(
                runner,
                members,
                candidates,
                n_random,
                seed,
                null,
                step,
                tokenizer,
            )
            if cache:
                _CACHE.put(key, result)
        else:
            for kind in ("knockout", "erasure", "sufficiency"):
                tick(f"cluster {c.id}: {kind} (cached)")
        out.append(dataclasses.replace(c, scores={**(c.scores or {}), "faithfulness": result}))
    return dataclasses.replace(analysis, clusters=tuple(out))


def _score(
    runner: Runner,
    members: list[int],
    candidates: list[int],
    n_random: int,
    seed: int,
    null: float,
    tick: Callable[[str], None],
    tokenizer: Any,
) -> dict[str, Any]:
    base = {
        "n_random": 0,
        "output": "next-token distribution" if runner.causal else "sentence embedding",
        "target": _token_text(tokenizer, runner.target),
    }
    if not members or len(members) >= len(candidates):
        for _ in range(3):
            tick("skipped")
        return {**base, "skipped": "the cluster covers the whole text: nothing to compare it with"}
    overlap = 2 * len(members) > len(candidates)  # too few other tokens for disjoint sets
    randoms = random_sets(members, candidates, n_random, seed=seed + members[0], overlap=overlap)
    if len(randoms) < min(MIN_RANDOM, n_random):
        result = score_cluster(runner, members, [], null, tick)  # scores only: no comparison
        note = (
            f"the text is too short for a random baseline: only {len(randoms)} distinct token sets of "
            f"{len(members)} tokens differ from this cluster and its complement (at least "
            f"{min(MIN_RANDOM, n_random)} needed); use a longer text to compare with random sets"
        )
        return {**base, **result, "n_random": len(randoms), "baseline_overlaps": overlap, "note": note}
    result = score_cluster(runner, members, randoms, null, tick)
    return {**base, **result, "n_random": len(randoms), "baseline_overlaps": overlap}


def _token_text(tokenizer: Any, token_id: int | None) -> str | None:
    if token_id is None:
        return None
    if tokenizer is None:
        return f"token id {token_id}"
    return str(tokenizer.decode([token_id]))
