"""The hierarchical view's second level: the words (or tokens) inside one cluster, clustered on their own.

A long text is read first as clusters of sentences (``unit="sentence"``); :func:`zoom`
then takes one of those clusters and clusters the words inside it. The zoomed
graph is the model's attention among the cluster's tokens (the token aggregate of
the whole text, restricted to them, rows renormalised: the model read the whole
text), pooled into words. Nothing runs the model. The result is an ordinary
:class:`~attn_widget.Analysis` over the same text (its tokens keep their offsets,
so a view can show them in place) whose ``options.zoom`` names the tokens it
covers; re-clustering it keeps it inside them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..core import Analysis, Cluster
from ..core.options import CLUSTER_OPTIONS, check_names
from ..core.types import Matrix
from .aggregate import renormalise
from .pipeline import build, check_choices
from .weights import combine_options

__all__ = ["zoom"]

ZOOM_NOTICE = "Zoomed into"
"""Start of the notice a zoomed analysis carries."""


def zoom(analysis: Analysis, cluster: int | Cluster, *, unit: str = "word", **options: Any) -> Analysis:
    """Cluster the ``unit``s (``"word"`` or ``"token"``) inside cluster ``cluster`` of ``analysis``.

    Parameters
    ----------
    analysis
        An analysis that kept its raw attention or token aggregate (not one loaded from JSON).
    cluster
        A cluster id of ``analysis`` (or the :class:`~attn_widget.Cluster`).
    unit
        The nodes of the zoomed graph: ``"word"`` (default), ``"token"`` or ``"sentence"``.
    **options
        Clustering options for the zoomed graph (``threshold``, ``method``, ``seed``,
        ``threshold_mode``); the rest are the analysis's own.

    Returns
    -------
    Analysis
        Over ``analysis.text``; its nodes are the cluster's words, its
        ``options.zoom`` the model tokens it covers.
    """
    check_names(options, CLUSTER_OPTIONS - {"aggregation", "layers", "heads", "measure", "lens", "exclude",
                                            "unit"}, "zoom()")  # fmt: skip
    chosen = _cluster(analysis, cluster)
    pieces = analysis.units.pieces(chosen.tokens)
    if pieces.size < 2:
        raise ValueError(f"cluster {chosen.id} holds one token; there is nothing inside it to cluster")
    raw = _token_weights(analysis)
    sub = renormalise(np.asarray(raw, dtype=np.float64)[np.ix_(pieces, pieces)])
    where = {int(p): k for k, p in enumerate(pieces.tolist())}
    exclude = tuple(sorted(where[i] for i in analysis.options.exclude if i in where))
    base = analysis.options.zoom
    covered = tuple(int(base[p]) for p in pieces) if base is not None else tuple(int(p) for p in pieces)
    opts = dataclasses.replace(
        analysis.options, unit=unit, exclude=exclude, exclude_auto=False, zoom=covered,
        model_sinks=tuple(sorted(where[i] for i in analysis.options.model_sinks if i in where)),
        pair=None if analysis.options.pair is None else (
            int(np.sum(pieces < analysis.options.pair[0])), analysis.options.pair[1]
        ),
        **{k: v for k, v in options.items() if k != "threshold"},
    )
    check_choices(dataclasses.asdict(opts))
    att = analysis.attentions
    kind = "sentences" if analysis.options.unit == "sentence" else f"{analysis.options.unit}s"
    notice = (
        f"{ZOOM_NOTICE} cluster {chosen.id} ({chosen.size} {kind}, {pieces.size} tokens): its {unit}s, "
        "clustered by the attention between them (the model read the whole text)."
    )
    return build(
        text=analysis.text,
        tokens=tuple(analysis.model_tokens[p] for p in pieces),
        attentions=None if att is None else att[:, :, pieces][:, :, :, pieces],
        weights=None,
        options=opts,
        threshold=options.get("threshold", "auto"),
        model=analysis.model,
        notices=(*(n for n in analysis.notices if not n.startswith(ZOOM_NOTICE)), notice),
        head_data=_head_data(analysis.head_data, pieces),
        token_weights=sub,
        keep_token_weights=True,
    )


def _cluster(analysis: Analysis, cluster: int | Cluster) -> Cluster:
    cid = cluster.id if isinstance(cluster, Cluster) else cluster
    if isinstance(cid, bool) or not isinstance(cid, (int, np.integer)):
        raise ValueError(f"cluster={cluster!r}: give a cluster id (an integer) of this analysis")
    found = next((c for c in analysis.clusters if c.id == int(cid)), None)
    if found is None:
        ids = [c.id for c in analysis.clusters if c.size > 1]
        raise ValueError(f"cluster {cid} does not exist; clusters of 2+ {analysis.options.unit}s: {ids}")
    return found


def _token_weights(analysis: Analysis) -> Matrix:
    if analysis.token_weights is not None:
        return analysis.token_weights
    if analysis.attentions is None:
        raise ValueError(
            "zoom() needs the attention between the tokens, and this analysis kept only its graph (loaded "
            "from .json); re-run analyze(), or save with another suffix (e.g. 'x.attn') to keep it"
        )
    return combine_options(analysis.attentions, analysis.options, analysis.head_data)


def _head_data(data: Any, pieces: np.ndarray) -> dict[str, np.ndarray]:
    """The per-head data restricted to ``pieces`` (keys outside them dropped from the top links)."""
    out: dict[str, np.ndarray] = {}
    for key, value in data.items():
        value = np.asarray(value)
        if key == "value_norm":
            out[key] = value[:, :, pieces]
        elif key == "gradient":
            out[key] = value[:, :, pieces][:, :, :, pieces]
        elif key == "sink_received":
            out[key] = value[:, :, pieces]
        elif key == "top_index":
            where = np.full(value.shape[2], -1, dtype=np.int64)
            where[pieces] = np.arange(pieces.size)
            out[key] = where[np.clip(value[:, :, pieces], 0, value.shape[2] - 1)].astype(np.int32)
            weight = np.asarray(data["top_weight"])[:, :, pieces]
            out["top_weight"] = np.where(out[key] >= 0, weight, 0).astype(weight.dtype)
        elif key != "top_weight":
            out[key] = value  # per head, not per token (head roles): as they were
    return out
