"""Runs the stages in order: aggregate → sweep → cluster, building an :class:`Analysis`.

Input checks live in :mod:`attn_widget.graph.validate`; re-clustering an
existing analysis in :mod:`attn_widget.graph.recluster`. The options are
:class:`attn_widget.core.options.ClusterOptions`, their defaults
:data:`attn_widget.core.options.DEFAULTS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from typing_extensions import Unpack

from ..core import Analysis, Cluster, Options, Sweep, Token
from ..core.options import CLUSTER_OPTIONS, DEFAULTS, ClusterOptions, check_names
from ..core.types import EXCLUDED, Attention, Labels, Matrix
from ..core.units import UNITS, segment, unit_tokens
from . import aggregate as _aggregate
from . import cluster as _cluster
from . import measures as _measures
from . import metrics as _metrics
from . import sweep as _sweep
from . import threshold as _threshold
from . import validate as _validate
from .measures import HeadData
from .sinks import detect_sinks
from .symmetric import Symmetric
from .validate import as_attention, as_tokens
from .weights import SINK_NOTICE, combine_options, node_weights, resolve_exclude

__all__ = [
    "SINK_NOTICE",
    "analyze_attention",
    "build",
    "check_choices",
    "lens_option",
    "make_clusters",
    "make_options",
]


def build(
    *,
    text: str,
    tokens: tuple[Token, ...],
    attentions: Attention | None,
    weights: Matrix | None,
    options: Options,
    threshold: Any,
    model: str | None = None,
    notices: tuple[str, ...] = (),
    sweep: Sweep | None = None,
    clip_threshold: bool = False,
    head_data: HeadData | None = None,
    token_weights: Matrix | None = None,
    keep_token_weights: bool = False,
) -> Analysis:
    """Run aggregate (unless ``weights`` given), sweep (unless given) and cluster.

    ``tokens`` are the model's tokens; ``options.unit`` groups them into the
    graph's nodes. ``token_weights`` is the token aggregate before exclusion,
    when known (a streamed analysis, or one re-clustered with the same
    aggregation); otherwise it is computed from ``attentions``. It is kept on the
    result when there is no attention to recompute it from, or with ``keep_token_weights``.
    ``clip_threshold``: a numeric ``threshold`` carried over from another graph
    is lowered to this graph's strongest edge instead of being refused.
    """
    check_choices(dataclasses.asdict(options))
    head_data = dict(head_data or {})
    units = segment(text, tokens, options.unit)
    if token_weights is None and attentions is not None:
        token_weights = combine_options(attentions, options, head_data)
    if weights is None:
        if token_weights is None:
            raise ValueError("build() needs the attention, the token aggregate or the graph's weights")
        weights = node_weights(token_weights, options, units)
    excluded = units.excluded(options.exclude)
    sym = Symmetric(weights)  # read a block of rows at a time: no T x T copy besides the weights
    if clip_threshold and isinstance(threshold, (int, float)):
        threshold = min(float(threshold), _threshold.threshold_range(sym, options.threshold_mode)[1])
    value = _validate.check_threshold(threshold, options.threshold_mode, sym)

    if sweep is None:
        sweep = Sweep(
            options.threshold_mode,
            *_sweep.sweep(
                weights, options.threshold_mode, options.method, seed=options.seed, exclude=excluded, sym=sym
            ),
        )
    if value is None:
        value = sweep.auto_threshold
        labels = sweep.labels[sweep.best].copy()
    else:
        hit = np.flatnonzero(np.isclose(sweep.thresholds, value, rtol=0, atol=1e-12))
        if hit.size:
            labels = sweep.labels[hit[0]].copy()
        else:
            adj = _threshold.THRESHOLDS[options.threshold_mode](weights, sym).edges(float(value))
            labels = _cluster.cluster(adj, options.method, seed=options.seed, exclude=excluded, profile=sym)
    options = _replace(options, auto_threshold=threshold == "auto")
    nodes = tokens if units.kind == "token" else unit_tokens(text, tokens, units)
    return Analysis(
        text=text,
        tokens=nodes,
        labels=labels,
        clusters=make_clusters(sym, labels),
        threshold=float(value),
        modularity=_metrics.modularity(sym, labels),
        sweep=sweep,
        weights=weights,
        options=options,
        model=model,
        notices=notices,
        attentions=attentions,
        head_data=head_data,
        pieces=() if units.kind == "token" else tokens,
        unit_starts=None if units.kind == "token" else units.starts,
        token_weights=token_weights if keep_token_weights or attentions is None else None,
    )


def make_clusters(sym: Matrix | Symmetric, labels: Labels) -> tuple[Cluster, ...]:
    """One :class:`Cluster` per label (labels are already numbered by first token)."""
    ids, inside, degree = _metrics.community_terms(sym, labels)
    two_m = float(degree.sum())
    q = inside / two_m - (degree / two_m) ** 2 if two_m > 0 else np.zeros(ids.size)
    share = np.divide(inside, degree, out=np.zeros(ids.size), where=degree > 0)
    kept = np.flatnonzero(labels != EXCLUDED)
    order = kept[np.argsort(labels[kept], kind="stable")]  # grouped by label, ascending inside each
    starts = np.flatnonzero(np.diff(labels[order])) + 1
    members = np.split(order, starts) if order.size else []
    return tuple(
        Cluster(id=int(lab), tokens=tuple(m.tolist()), modularity=float(q[k]), internal=float(share[k]))
        for k, (lab, m) in enumerate(zip(ids.tolist(), members, strict=True))
    )


def _replace(options: Options, **changes: Any) -> Options:
    return dataclasses.replace(options, **changes)


def check_choices(options: dict[str, Any]) -> None:
    """Fail fast, naming the choices, on an unknown method, aggregation, threshold mode, measure or unit."""
    unit = options.get("unit", DEFAULTS["unit"])
    if unit not in UNITS:
        raise ValueError(f"unit={unit!r}: choose one of {', '.join(repr(u) for u in UNITS)}")
    _cluster.METHODS[options.get("method", DEFAULTS["method"])]
    _aggregate.AGGREGATIONS[options.get("aggregation", DEFAULTS["aggregation"])]
    _threshold.THRESHOLDS[options.get("threshold_mode", DEFAULTS["threshold_mode"])]
    _measures.MEASURES[options.get("measure", DEFAULTS["measure"])]


def analyze_attention(
    attentions: Any,
    tokens: Sequence[Any],
    *,
    text: str = "",
    model: str | None = None,
    notices: Sequence[str] = (),
    head_data: HeadData | None = None,
    lens_heads: Sequence[tuple[int, int]] | None = None,
    model_sinks: Sequence[int] = (),
    **options: Unpack[ClusterOptions],
) -> Analysis:
    """Cluster tokens from attention the caller already has.

    Parameters
    ----------
    attentions
        ``[layers, heads, T, T]`` array, or the tuple of ``[1, heads, T, T]``
        tensors a Hugging Face model returns with ``output_attentions=True``.
    tokens
        ``T`` token strings (or :class:`~attn_widget.Token` objects with offsets).
    text
        The text the tokens come from (their offsets point into it); shown by the widget.
    model
        Name of the model the attention came from, kept on the result.
    notices
        Notes kept on the result (``Analysis.notices``), e.g. a fallback or truncation.
    head_data
        Per-head data for the edge measures other than ``"attention"``.
    lens_heads
        The heads a named lens resolved to (:func:`attn_widget.analyze_attention` passes them).
    model_sinks
        The model's own sink tokens, added to the detected ones with ``exclude="auto"``.
    **options
        The :class:`~attn_widget.core.options.ClusterOptions`, each optional:

        - ``threshold``: ``"auto"`` (default) or a number in ``threshold_mode``
          units. ``"auto"`` clusters the graph at every value of a grid running
          from every edge kept to almost every token alone
          (:func:`attn_widget.graph.sweep.threshold_grid`), scores each
          partition by modularity on the *unthresholded* graph, finds the widest
          run of grid values whose partitions barely change (adjusted Rand
          index >= 0.9 between neighbours) among runs within 10% of the best
          modularity, and takes its centre (:func:`attn_widget.graph.sweep.choose`).
          The sweep stays on the result (:attr:`Analysis.sweep`).
        - ``method``: the clustering method, a key of
          :data:`attn_widget.graph.cluster.METHODS`: ``"louvain"`` (default),
          ``"leiden"``, ``"infomap"`` cluster the thresholded graph;
          ``"agglomerative"`` and ``"dbscan"`` group tokens by their attention
          profiles, linking only tokens joined by a kept edge (see
          :mod:`attn_widget.graph.cluster`). All but Louvain need
          ``pip install 'attn_widget[cluster]'``.
        - ``aggregation``: a key of :data:`attn_widget.graph.aggregate.AGGREGATIONS`.
        - ``measure``: a key of :data:`attn_widget.graph.measures.MEASURES`
          (``"attention"``, ``"norm"``, ``"gradient"``); all but ``"attention"``
          need ``head_data``.
        - ``lens``: ``"all"`` or a list of ``(layer, head)`` pairs here; named
          lenses (``"content"``, ``"coreference"``, …) are resolved to heads by
          :func:`attn_widget.analyze_attention`, which passes them as ``lens_heads``.
        - ``seed``: random seed for the clustering.
        - ``threshold_mode``: ``"absolute"`` or ``"mass"``.
        - ``layers``, ``heads``: selection for the ``layers`` / ``heads``
          aggregations (``layers`` also restricts ``mean``, ``max`` and ``rollout``).
        - ``exclude``: ``"auto"`` (default: attention sinks are detected, see
          :mod:`attn_widget.graph.sinks`, and left out with a notice), ``[]`` to
          keep every token, or the token indices to leave out.

    Returns
    -------
    Analysis

    Raises
    ------
    ValueError
        For attention of the wrong shape, with NaN/inf, negative weights or
        rows not summing to 1; a token count that does not match; an unknown
        method, aggregation, measure or threshold mode; a threshold, seed,
        selection, lens or exclusion out of range. Each message names the value and the fix.
    """
    check_names(options, CLUSTER_OPTIONS, "analyze_attention()")
    o = {**DEFAULTS, **options}
    check_choices(o)  # unknown names fail before any work, listing the choices
    att = as_attention(attentions)
    n = att.shape[2]
    toks = as_tokens(tokens, n)
    exclude, auto, said = resolve_exclude(o["exclude"], lambda: detect_sinks(att), toks, model_sinks)
    opts = make_options(
        o, n, lens_heads=lens_heads, exclude=exclude, exclude_auto=auto, model_sinks=model_sinks
    )
    return build(
        text=text,
        tokens=toks,
        attentions=att,
        weights=None,
        options=opts,
        threshold=o["threshold"],
        model=model,
        notices=(*notices, *said),
        head_data=head_data,
    )


def make_options(
    o: Mapping[str, Any],
    n: int,
    *,
    lens_heads: Sequence[tuple[int, int]] | None = None,
    exclude: tuple[int, ...] = (),
    exclude_auto: bool = False,
    model_sinks: Sequence[int] = (),
) -> Options:
    """The :class:`Options` for the option values ``o`` (all of :data:`DEFAULTS`' cluster keys), checked."""
    lens, resolved = lens_option(o["lens"], lens_heads)
    return Options(
        aggregation=o["aggregation"],
        method=o["method"],
        threshold_mode=o["threshold_mode"],
        seed=_validate.as_seed(o["seed"]),
        layers=_validate.as_layers(o["layers"]),
        heads=_validate.as_heads(o["heads"]),
        exclude=exclude,
        exclude_auto=exclude_auto,
        measure=o["measure"],
        lens=lens,
        lens_heads=resolved,
        model_sinks=tuple(sorted({int(i) % n for i in model_sinks})),
        unit=o["unit"],
    )


def lens_option(
    lens: Any, lens_heads: Sequence[tuple[int, int]] | None
) -> tuple[str | tuple[tuple[int, int], ...], tuple[tuple[int, int], ...] | None]:
    """``(the lens as recorded, the heads it keeps)``; named lenses come resolved as ``lens_heads``."""
    if isinstance(lens, str):
        if lens == "all" and lens_heads is None:
            return "all", None
        if lens_heads is None:
            raise ValueError(
                f"lens={lens!r} picks heads by their roles, which the graph layer does not compute; "
                "call attn_widget.analyze_attention / attn_widget.recluster (they resolve lenses)"
            )
        return lens, _validate.as_heads(lens_heads)
    if callable(lens):
        if lens_heads is None:
            raise ValueError(
                "a lens function is resolved by attn_widget.analyze_attention / attn_widget.recluster"
            )
        return getattr(lens, "__name__", "custom"), _validate.as_heads(lens_heads)
    pairs = _validate.as_heads(lens)
    if not pairs:
        raise ValueError("lens=[] keeps no head; give (layer, head) pairs, a lens name, or lens='all'")
    return pairs, pairs
