"""Runs the stages in order: aggregate → sweep → cluster, building an :class:`Analysis`.

Input checks live in :mod:`attn_widget.graph.validate`. The options are
:class:`attn_widget.core.options.ClusterOptions`, their defaults
:data:`attn_widget.core.options.DEFAULTS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from typing_extensions import Unpack

from ..core import Analysis, Cluster, Options, Sweep, Token
from ..core.options import CLUSTER_OPTIONS, DEFAULTS, ClusterOptions, check_names
from ..core.types import EXCLUDED, Attention, Labels, Matrix
from . import aggregate as _aggregate
from . import cluster as _cluster
from . import measures as _measures
from . import metrics as _metrics
from . import sweep as _sweep
from . import threshold as _threshold
from . import validate as _validate
from .measures import HeadData
from .validate import as_attention, as_tokens
from .weights import SINK_NOTICE, aggregate_options, resolve_exclude

__all__ = ["analyze_attention", "build", "check_choices", "make_clusters", "recluster"]


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
) -> Analysis:
    """Run aggregate (unless ``weights`` given), sweep (unless given) and cluster.

    ``clip_threshold``: a numeric ``threshold`` carried over from another graph
    is lowered to this graph's strongest edge instead of being refused.
    """
    check_choices(dataclasses.asdict(options))
    head_data = dict(head_data or {})
    if weights is None:
        assert attentions is not None
        weights = aggregate_options(attentions, options, head_data)
    sym = _threshold.symmetrise(weights)
    if clip_threshold and isinstance(threshold, (int, float)):
        threshold = min(float(threshold), _threshold.threshold_range(sym, options.threshold_mode)[1])
    value = _validate.check_threshold(threshold, options.threshold_mode, sym)

    if sweep is None:
        sweep = Sweep(
            options.threshold_mode,
            *_sweep.sweep(
                weights, options.threshold_mode, options.method, seed=options.seed, exclude=options.exclude
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
            adj = _threshold.prune(weights, sym, options.threshold_mode, value)
            labels = _cluster.cluster(
                adj, options.method, seed=options.seed, exclude=options.exclude, profile=sym
            )
    options = _replace(options, auto_threshold=threshold == "auto")
    return Analysis(
        text=text,
        tokens=tokens,
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
    )


def make_clusters(sym: Matrix, labels: Labels) -> tuple[Cluster, ...]:
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
    """Fail fast, naming the choices, on an unknown method, aggregation, threshold mode or measure."""
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
    exclude, auto, said = resolve_exclude(o["exclude"], att, toks, model_sinks)
    lens, resolved = _lens(o["lens"], lens_heads)
    opts = Options(
        aggregation=o["aggregation"],
        method=o["method"],
        threshold_mode=o["threshold_mode"],
        seed=_validate.as_seed(o["seed"]),
        layers=_validate.as_layers(o["layers"]),
        heads=_validate.as_heads(o["heads"]),
        exclude=exclude,
        exclude_auto=auto,
        measure=o["measure"],
        lens=lens,
        lens_heads=resolved,
        model_sinks=tuple(sorted({int(i) % n for i in model_sinks})),
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


def _lens(
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


_NEEDS_ATTENTION = {"aggregation", "layers", "heads", "exclude", "measure", "lens_heads"}


def recluster(
    analysis: Analysis,
    *,
    lens_heads: Sequence[tuple[int, int]] | None = None,
    **changes: Unpack[ClusterOptions],
) -> Analysis:
    """Recompute clusters with changed options, reusing the attention (no forward pass).

    Accepts the :class:`~attn_widget.core.options.ClusterOptions`: ``threshold`` (a
    number or ``"auto"``), ``threshold_mode``, ``method``, ``seed``, and, when the
    raw attention is kept, ``aggregation``, ``layers``, ``heads``, ``exclude``,
    ``measure`` (when its per-head data is kept) and ``lens`` (named lenses come
    resolved as ``lens_heads``). A threshold you set by hand is kept when other
    options change (lowered to the new graph's strongest edge if it is above it);
    ``"auto"`` stays automatic.
    """
    check_names(changes, CLUSTER_OPTIONS, "recluster()")
    new_options: dict[str, Any] = dict(changes)
    opts = analysis.options
    explicit = new_options.pop("threshold", None)
    notices = analysis.notices
    if "exclude" in new_options:
        if analysis.attentions is None:
            raise _no_attention("exclude")
        exclude, auto, said = resolve_exclude(
            new_options.pop("exclude"), analysis.attentions, analysis.tokens, opts.model_sinks
        )
        new_options.update(exclude=exclude, exclude_auto=auto)
        notices = (*(x for x in notices if not x.startswith(SINK_NOTICE)), *said)
    if "lens" in new_options:
        new_options["lens"], new_options["lens_heads"] = _lens(new_options["lens"], lens_heads)
    if "layers" in new_options:
        new_options["layers"] = _validate.as_layers(new_options["layers"])
    if "heads" in new_options:
        new_options["heads"] = _validate.as_heads(new_options["heads"])
    if "seed" in new_options:
        new_options["seed"] = _validate.as_seed(new_options["seed"])
    new = _replace(opts, **new_options)
    reaggregate = any(getattr(new, k) != getattr(opts, k) for k in _NEEDS_ATTENTION)
    if reaggregate and analysis.attentions is None:
        raise _no_attention("aggregation, layers, heads, measure, lens and exclude")
    check_choices(dataclasses.asdict(new))
    if explicit is not None:
        threshold: Any = explicit
    elif opts.auto_threshold or new.threshold_mode != opts.threshold_mode:
        threshold = "auto"  # a number in the old mode's units means nothing in the new one
    else:
        threshold = analysis.threshold
    same_graph = not reaggregate and all(
        getattr(new, k) == getattr(opts, k) for k in ("method", "seed", "threshold_mode")
    )
    return build(
        text=analysis.text,
        tokens=analysis.tokens,
        attentions=analysis.attentions,
        weights=None if reaggregate else analysis.weights,
        options=new,
        threshold=threshold,
        model=analysis.model,
        notices=notices,
        sweep=analysis.sweep if same_graph else None,
        clip_threshold=explicit is None and reaggregate,
        head_data=analysis.head_data,
    )


def _no_attention(what: str) -> ValueError:
    return ValueError(
        "this analysis has no raw attention (it was saved as .json or made by from_dict, which "
        f"drop it), so {what} cannot change; re-run analyze(), or "
        "save with another suffix (e.g. Analysis.save('x.attn')) to keep the raw attention"
    )
