"""How much does a partition tell? Contiguity, and the partition cut test against chunks and random groups.

Clusters that are just runs of neighbouring words tell a reader nothing word
order does not. Two numbers say how far a partition goes beyond that:

``contiguity``
    The share of neighbouring tokens that share a cluster
    (:func:`attn_widget.graph.metrics.contiguity`); free to compute.
``cut test``
    On request (forward passes, cached, with progress): cut all attention
    between clusters in every layer and head (:mod:`attn_widget.extract.cut`)
    and measure how far the model's output moves; do the same for contiguous
    chunks of the same sizes in the same order, and for ``n_random`` random
    partitions of the same sizes. All three cut the same number of
    query-key pairs; a partition that follows what the model uses moves the
    output *less*. ``ratio_contiguous < 1``: it beats word order;
    ``ratio_random`` ≪ 1: it beats chance.

Output: causal models, the Jensen-Shannon divergence of the next-token
distributions, averaged over every position; encoders, ``1 - cosine`` of the
mean-pooled sentence embedding (see :class:`~attn_widget.extract.cut.CutRunner`).
The result also gives the same ratios for the other readout (the last
position only; each token's representation) as ``other_ratio_contiguous`` and
``other_ratio_random``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import Analysis
from ..core.cache import LRU
from ..extract.cut import CutRunner
from ..extract.perturb import model_and_ids
from ..graph.metrics import contiguity, contiguous_like, random_like

N_RANDOM = 5
"""Random partitions the cut test compares with."""
_CACHE: LRU[tuple[Any, ...], dict[str, Any]] = LRU(256)

Progress = Callable[[int, int, str], None]


def cut_test(
    analysis: Analysis,
    model: Any = None,
    *,
    n_random: int = N_RANDOM,
    seed: int = 0,
    batch_size: int = 8,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The partition cut test for ``analysis``'s clusters (see the module docstring).

    Parameters
    ----------
    analysis
        An analysis made from a model (its token ids and model name are needed).
    model
        The model object; by default the analysis's own model is loaded.
    n_random, seed
        How many random partitions of the same sizes, and their seed.
    progress
        ``progress(done, total, message)`` as the forward passes run.

    Returns
    -------
    dict
        ``divergence`` (the partition's), ``contiguous`` (chunks'), ``random``
        (mean of the random partitions'), ``ratio_contiguous``, ``ratio_random``,
        ``other_ratio_contiguous``, ``other_ratio_random`` (the other readout),
        ``contiguity``, ``output`` (what was compared), ``n_random`` and
        ``passes`` (forward passes run).
    """
    # words and sentences are cut piece by piece: each unit's label (and each twin's) on all its model tokens
    model, _, ids = model_and_ids(analysis, model, analysis.model_tokens, "the cut test")
    labels = np.asarray(analysis.labels)
    sizes = None if analysis.unit_starts is None else np.diff(analysis.unit_starts)
    key = (id(model), tuple(ids), labels.tobytes(), int(n_random), int(seed))
    hit = _CACHE.get(key)
    if hit is not None:
        if progress is not None:
            progress(1, 1, "measured before")
        return hit
    partitions = [labels, contiguous_like(labels), *random_like(labels, n_random, seed)]
    if sizes is not None:
        partitions = [np.repeat(p, sizes) for p in partitions]
    if progress is not None:
        progress(0, 1, f"cutting attention between clusters ({len(partitions)} forward passes)…")
    runner = CutRunner(model, ids, batch=batch_size)

    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total, f"{done} of {total} cut forward passes")

    found = runner.divergences(partitions, progress=tick)

    def ratios(key: str) -> tuple[float, float, float, float, float]:
        mine, chunks = found[0][key], found[1][key]
        chance = float(np.mean([d[key] for d in found[2:]])) if n_random else float("nan")
        return (
            mine, chunks, chance,
            mine / chunks if chunks > 0 else float("nan"), mine / chance if chance > 0 else float("nan"),
        )

    mine, chunks, chance, vs_chunks, vs_chance = ratios("main")
    result = {
        "divergence": mine,
        "contiguous": chunks,
        "random": chance,
        "ratio_contiguous": vs_chunks,
        "ratio_random": vs_chance,
        "other_ratio_contiguous": ratios("other")[3],
        "other_ratio_random": ratios("other")[4],
        "contiguity": contiguity(labels),
        "output": "next-token distributions (JS divergence)" if runner.causal
        else "sentence embedding (1 - cosine)",
        "n_random": int(n_random),
        "passes": runner.passes,
    }
    return _CACHE.put(key, result)
