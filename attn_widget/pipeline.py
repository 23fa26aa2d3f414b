"""Runs the stages in order: aggregate → graph → cluster, building an :class:`Analysis`."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import aggregate as _aggregate
from . import cluster as _cluster
from . import graph as _graph
from . import sweep as _sweep
from ._typing import EXCLUDED, Attention, Labels, Matrix
from .analysis import Analysis, Cluster, Options, Sweep, Token

ROW_SUM_TOLERANCE = 1e-2


def as_attention(attentions: Any) -> Attention:
    """Validate attention and return it as float32 ``[layer, head, T, T]``.

    Accepts an array of that shape, or the tuple of per-layer ``[1, head, T, T]``
    tensors that Hugging Face models return with ``output_attentions=True``.
    """
    if isinstance(attentions, (tuple, list)):
        if len(attentions) == 0:
            raise ValueError(
                "attentions is empty: the model returned no attention. Load it with "
                "attn_implementation='eager' and call it with output_attentions=True"
            )
        layers = [_to_numpy(a) for a in attentions]
        shapes = {a.shape for a in layers}
        if len(shapes) != 1:
            raise ValueError(f"per-layer attention shapes differ: {sorted(shapes)}")
        if layers[0].ndim == 4 and layers[0].shape[0] != 1:
            raise ValueError(
                f"attention holds a batch of {layers[0].shape[0]} sequences; "
                "analyse one sequence at a time (index the batch: [a[i:i+1] for a in attentions])"
            )
        layers = [a[0] if a.ndim == 4 else a for a in layers]
        att = np.stack(layers, dtype=np.float32)
    else:
        att = _to_numpy(attentions)
        if att.ndim == 5 and att.shape[1] == 1:
            att = att[:, 0]
    if att.ndim != 4 or att.shape[2] != att.shape[3]:
        raise ValueError(
            f"attention has shape {tuple(att.shape)}; expected [layers, heads, T, T] "
            "(or a tuple of [1, heads, T, T] per layer)"
        )
    if att.shape[2] == 0:
        raise ValueError("attention covers 0 tokens; give at least one token")
    att = np.asarray(att, dtype=np.float32)
    _check_values(att)
    return att


def _check_values(att: Attention) -> None:
    """NaN/inf, negative weights and row sums, in two passes per layer (no full-size temporaries)."""
    for layer in range(att.shape[0]):
        sums = att[layer].sum(axis=-1)  # NaN or inf anywhere in a row makes its sum non-finite
        if not np.isfinite(sums).all():
            where = np.argwhere(~np.isfinite(att[layer]))[0].tolist()
            raise ValueError(
                f"attention contains NaN or inf (first at [layer, head, query, key] = {[layer, *where]}); "
                "check the model's dtype (float16 overflows) or pass finite probabilities"
            )
        if att[layer].min() < 0:
            where = np.argwhere(att[layer] < 0)[0].tolist()
            raise ValueError(
                f"attention has negative weights (first at [layer, head, query, key] = {[layer, *where]}); "
                "pass softmax probabilities, not logits"
            )
        bad = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
        if bad.any():
            head, row = np.argwhere(bad)[0].tolist()
            raise ValueError(
                f"attention rows must sum to 1 (softmax probabilities); row {row} of layer {layer}, "
                f"head {head} sums to {sums[head, row]:.4f}. Pass post-softmax attention "
                "(for logits, apply a softmax over the last axis first)"
            )


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def as_tokens(tokens: Sequence[Any], n: int) -> tuple[Token, ...]:
    """Token strings (or :class:`Token`) → Tokens; their count must match the attention."""
    if isinstance(tokens, str):
        raise ValueError(
            f"tokens={tokens[:40]!r} is one string; pass one string per token, e.g. tokenizer.tokenize(text)"
        )
    out = tuple(t if isinstance(t, Token) else Token(text=str(t)) for t in tokens)
    if len(out) != n:
        raise ValueError(
            f"got {len(out)} tokens but the attention covers {n}; pass one token string per position"
        )
    return out


def _check_exclude(exclude: Any, n: int) -> tuple[int, ...]:
    """Distinct, in-range token indices (negative ones count from the end), sorted."""
    example = "e.g. exclude=[0] to leave out a first-token sink"
    if isinstance(exclude, (str, bytes)) or not isinstance(exclude, Iterable):
        raise ValueError(f"exclude={exclude!r} must be a list of token indices, {example}")
    out = set()
    for i in exclude:
        try:
            index = operator.index(i)
        except TypeError:
            raise ValueError(f"exclude={exclude!r} must be a list of token indices, {example}") from None
        if not -n <= index < n:
            raise ValueError(f"exclude index {index} is out of range for {n} tokens")
        out.add(index % n)
    if len(out) >= n:
        raise ValueError(f"exclude={list(exclude)} leaves no token to cluster ({n} tokens)")
    return tuple(sorted(out))


def _check_threshold(threshold: Any, mode: str, sym: Matrix) -> float | None:
    """``None`` for ``"auto"``, else the threshold as a float inside the mode's range."""
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold={threshold!r}: give a number or 'auto'")
        return None
    if isinstance(threshold, bool):
        raise ValueError(f"threshold={threshold!r}: give a number or 'auto'")
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"threshold={threshold!r}: give a number or 'auto'") from None
    lo, hi = _graph.threshold_range(sym, mode)
    # an absolute value above the strongest edge is allowed: no edge is kept, every token stands alone
    if not np.isfinite(value) or value < lo or (mode == "mass" and value > hi):
        unit = " (a share of each token's attention)" if mode == "mass" else " (an edge weight)"
        raise ValueError(
            f"threshold={threshold!r} is outside [{lo:g}, {hi:g}] for threshold_mode={mode!r}{unit}; "
            "pick a value in that range or threshold='auto'"
        )
    return value


def _as_layers(layers: Any) -> tuple[int, ...] | None:
    if layers is None:
        return None
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise ValueError(f"layers={layers!r} must be a list of layer indices, e.g. layers=[4, 5]")
    try:
        return tuple(operator.index(x) for x in layers)
    except TypeError:
        raise ValueError(f"layers={layers!r} must be a list of layer indices, e.g. layers=[4, 5]") from None


def _as_heads(heads: Any) -> tuple[tuple[int, int], ...] | None:
    if heads is None:
        return None
    example = "e.g. heads=[(5, 1), (6, 9)]"
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Iterable):
        raise ValueError(f"heads={heads!r} must be a list of (layer, head) pairs, {example}")
    out = []
    for pair in heads:
        try:
            layer, head = (operator.index(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"head {pair!r} is not a (layer, head) pair of integers; {example}") from None
        out.append((layer, head))
    return tuple(out)


def _as_seed(seed: Any) -> int:
    try:
        value = operator.index(seed)
    except TypeError:
        raise ValueError(f"seed={seed!r} must be an integer, e.g. seed=0") from None
    if not 0 <= value < 2**31:
        raise ValueError(f"seed={seed!r} must be in [0, 2**31)")
    return value


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
) -> Analysis:
    """Run aggregate (unless ``weights`` given), sweep (unless given) and cluster."""
    if options.threshold_mode not in _graph.THRESHOLDS:
        _graph.THRESHOLDS[options.threshold_mode]  # raises with the choices
    _cluster.METHODS[options.method]  # fail fast on an unknown method
    if weights is None:
        assert attentions is not None
        weights = _aggregate.aggregate(
            attentions,
            options.aggregation,
            exclude=options.exclude,
            layers=options.layers,
            heads=options.heads,
        )
    sym = _graph.symmetrise(weights)
    value = _check_threshold(threshold, options.threshold_mode, sym)

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
            adj = _graph.prune(weights, sym, options.threshold_mode, value)
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
        modularity=_graph.modularity(sym, labels),
        sweep=sweep,
        weights=weights,
        options=options,
        model=model,
        notices=notices,
        attentions=attentions,
    )


def make_clusters(sym: Matrix, labels: Labels) -> tuple[Cluster, ...]:
    """One :class:`Cluster` per label (labels are already numbered by first token)."""
    ids, inside, degree = _graph.community_terms(sym, labels)
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
    import dataclasses

    return dataclasses.replace(options, **changes)


def analyze_attention(
    attentions: Any,
    tokens: Sequence[Any],
    *,
    threshold: float | str = "auto",
    method: str = "louvain",
    aggregation: str = "mean",
    seed: int = 0,
    threshold_mode: str = "absolute",
    layers: Sequence[int] | None = None,
    heads: Sequence[tuple[int, int]] | None = None,
    exclude: Sequence[int] = (),
    text: str = "",
    model: str | None = None,
    notices: Sequence[str] = (),
) -> Analysis:
    """Cluster tokens from attention the caller already has.

    Parameters
    ----------
    attentions
        ``[layers, heads, T, T]`` array, or the tuple of ``[1, heads, T, T]``
        tensors a Hugging Face model returns with ``output_attentions=True``.
    tokens
        ``T`` token strings (or :class:`~attn_widget.analysis.Token` objects with offsets).
    threshold
        ``"auto"`` or a number in ``threshold_mode`` units. ``"auto"`` clusters
        the graph at every value of a grid running from every edge kept to
        almost every token alone (:func:`attn_widget.sweep.threshold_grid`),
        scores each partition by modularity on the *unthresholded* graph, finds
        the widest run of grid values whose partitions barely change (adjusted
        Rand index >= 0.9 between neighbours) among runs within 10% of the best
        modularity, and takes its centre (:func:`attn_widget.sweep.choose`). The
        sweep stays on the result (:attr:`Analysis.sweep`).
    method
        Clustering method, a key of :data:`attn_widget.cluster.METHODS`:
        ``"louvain"`` (default), ``"leiden"``, ``"infomap"`` cluster the
        thresholded graph; ``"agglomerative"`` and ``"dbscan"`` group tokens by
        their attention profiles, linking only tokens joined by a kept edge
        (see :mod:`attn_widget.cluster`). All but Louvain need
        ``pip install 'attn_widget[cluster]'``.
    aggregation
        A key of :data:`attn_widget.aggregate.AGGREGATIONS`.
    seed
        Random seed for the clustering.
    threshold_mode
        ``"absolute"`` or ``"mass"``.
    layers, heads
        Selection for the ``layers`` / ``heads`` aggregations (``layers`` also
        restricts ``mean``, ``max`` and ``rollout``).
    exclude
        Token indices to leave out of the graph (e.g. ``[0]`` for a first-token sink).

    Returns
    -------
    Analysis

    Raises
    ------
    ValueError
        For attention of the wrong shape, with NaN/inf, negative weights or
        rows not summing to 1; a token count that does not match; an unknown
        method, aggregation or threshold mode; a threshold, seed, selection or
        exclusion out of range. Each message names the value and the fix.
    """
    _aggregate.AGGREGATIONS[aggregation]  # unknown names fail before any work, listing the choices
    _cluster.METHODS[method]
    _graph.THRESHOLDS[threshold_mode]
    att = as_attention(attentions)
    n = att.shape[2]
    toks = as_tokens(tokens, n)
    options = Options(
        aggregation=aggregation,
        method=method,
        threshold_mode=threshold_mode,
        seed=_as_seed(seed),
        layers=_as_layers(layers),
        heads=_as_heads(heads),
        exclude=_check_exclude(exclude, n),
    )
    return build(
        text=text,
        tokens=toks,
        attentions=att,
        weights=None,
        options=options,
        threshold=threshold,
        model=model,
        notices=tuple(notices),
    )


_RECLUSTER_KEYS = {
    "threshold", "threshold_mode", "method", "seed", "aggregation", "layers", "heads", "exclude"
}
_NEEDS_ATTENTION = {"aggregation", "layers", "heads", "exclude"}


def recluster(analysis: Analysis, **changes: Any) -> Analysis:
    """See :meth:`Analysis.recluster`."""
    unknown = set(changes) - _RECLUSTER_KEYS
    if unknown:
        raise TypeError(
            f"recluster() got unexpected options {sorted(unknown)}; allowed: {sorted(_RECLUSTER_KEYS)}"
        )
    opts = analysis.options
    explicit = changes.pop("threshold", None)
    n = len(analysis.tokens)
    if "exclude" in changes:
        changes["exclude"] = _check_exclude(changes["exclude"], n)
    if "layers" in changes:
        changes["layers"] = _as_layers(changes["layers"])
    if "heads" in changes:
        changes["heads"] = _as_heads(changes["heads"])
    if "seed" in changes:
        changes["seed"] = _as_seed(changes["seed"])
    new = _replace(opts, **changes)
    reaggregate = any(getattr(new, k) != getattr(opts, k) for k in _NEEDS_ATTENTION)
    if reaggregate and analysis.attentions is None:
        raise ValueError(
            "this analysis has no raw attention (loaded from JSON), so aggregation, layers, heads "
            "and exclude cannot change; re-run analyze() or load a file written by Analysis.save()"
        )
    if reaggregate:
        _aggregate.AGGREGATIONS[new.aggregation]
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
        notices=analysis.notices,
        sweep=analysis.sweep if same_graph else None,
    )
