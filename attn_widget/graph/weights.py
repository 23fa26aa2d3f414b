"""From attention and options to the graph's weights: edge measure, lens, sinks, aggregation.

:func:`combine_options` turns raw attention ``[layer, head, T, T]`` (and the
per-head data of the edge measures) into the ``[T, T]`` aggregate an
:class:`~attn_widget.core.Options` asks for (:func:`make_reducer` gives the same
computation one layer at a time, for a streaming pass); :func:`node_weights`
leaves tokens out and pools them into words or sentences;
:func:`resolve_exclude` decides which tokens are left out (``exclude="auto"``
finds the sinks); :func:`strongest_links` reads a token's links off the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import Options, Token
from ..core.types import Attention, Matrix
from ..core.units import Units
from . import aggregate as _aggregate
from . import measures as _measures
from . import validate as _validate
from .measures import LAYERWISE, HeadData
from .reduce import REDUCERS, Reducer
from .units import pool


def aggregate_options(
    attentions: Attention, options: Options, head_data: HeadData, *, exclude: Sequence[int] | None = None
) -> Matrix:
    """The token-level ``[T, T]`` graph weights ``options`` ask for: measure, lens, aggregation, exclusion."""
    raw = combine_options(attentions, options, head_data)
    return _aggregate.renormalise(raw, options.exclude if exclude is None else exclude)


def combine_options(attentions: Attention, options: Options, head_data: HeadData) -> Matrix:
    """The ``[T, T]`` aggregate before any token is left out (rows sum to ~1).

    A built-in aggregation of a per-layer measure runs layer by layer
    (:mod:`attn_widget.graph.reduce`), as a streaming pass does; an aggregation
    you registered gets the full per-head weights.
    """
    shape = (int(attentions.shape[0]), int(attentions.shape[1]), int(attentions.shape[2]))
    if options.aggregation in REDUCERS and options.measure in LAYERWISE:
        reducer = make_reducer(options, shape)
        for layer in range(shape[0]):
            weights = _measures.layer_weights(attentions[layer], options.measure, head_data, layer)
            reducer.layer(layer, weights)
        return reducer.result()
    per_head = _measures.measure_weights(attentions, options.measure, head_data)
    mask = lens_mask(shape, options.lens_heads)
    kwargs = _aggregate.selection(options.aggregation, layers=options.layers, heads=options.heads, mask=mask)
    return _aggregate.AGGREGATIONS[options.aggregation](per_head, **kwargs)


def make_reducer(options: Options, shape: tuple[int, int, int], *, compact: bool = False) -> Reducer:
    """The per-layer reducer of ``options``' aggregation, selection and lens for attention of ``shape``.

    ``compact``: keep the running ``[T, T]`` in float32 (:mod:`attn_widget.graph.reduce`).
    """
    if options.aggregation not in REDUCERS:
        raise ValueError(
            f"aggregation={options.aggregation!r} has no per-layer form, so it cannot be streamed; "
            "analyse with keep='attention' (the raw attention is kept) or use one of "
            f"{', '.join(repr(n) for n in REDUCERS.names())}"
        )
    mask = lens_mask(shape, options.lens_heads)
    kwargs = _aggregate.selection(options.aggregation, layers=options.layers, heads=options.heads, mask=mask)
    return REDUCERS[options.aggregation](shape, **kwargs, **({"compact": True} if compact else {}))


def node_weights(raw: Matrix, options: Options, units: Units) -> Matrix:
    """The graph's weights: token aggregate ``raw``, ``options.exclude`` left out, pooled into ``units``."""
    tokens = _aggregate.renormalise(raw, options.exclude)
    return tokens if units.kind == "token" else pool(tokens, units, units.excluded(options.exclude))


def lens_mask(shape: tuple[int, ...], heads: Sequence[tuple[int, int]] | None) -> np.ndarray | None:
    """``[layer, head]`` bool of the heads a lens keeps (``None``: every head)."""
    if heads is None:
        return None
    mask = np.zeros(shape[:2], dtype=bool)
    for layer, head in heads:
        if not (0 <= layer < shape[0] and 0 <= head < shape[1]):
            raise ValueError(
                f"the lens names head ({layer}, {head}), but the model has {shape[0]} layers "
                f"of {shape[1]} heads"
            )
        mask[layer, head] = True
    if not mask.any():
        raise ValueError("the lens keeps no head; choose another lens or lens='all'")
    return mask


SINK_NOTICE = "Left out of the graph as attention sinks"
"""Start of the notice naming the tokens ``exclude="auto"`` left out."""


def resolve_exclude(
    exclude: Any, detect: Callable[[], Sequence[int]], tokens: Sequence[Token], also: Sequence[int] = ()
) -> tuple[tuple[int, ...], bool, tuple[str, ...]]:
    """``(token indices left out, found automatically?, notices)`` for an ``exclude`` option.

    ``"auto"`` finds the attention sinks with ``detect()`` (e.g.
    :func:`attn_widget.graph.sinks.detect_sinks` on the raw attention) and adds
    ``also`` (a model's own sink tokens); a list is validated and taken as it is.
    """
    n = len(tokens)
    if isinstance(exclude, str):
        if exclude != "auto":
            raise ValueError(
                f"exclude={exclude!r}: give 'auto', [] (keep every token) or a list of token indices"
            )
        found = set(detect()) | {int(i) % n for i in also}
        chosen = tuple(sorted(found)) if len(found) < n - 1 else ()
        if not chosen:
            return (), True, ()
        named = ", ".join(f"{tokens[i].text.strip() or repr(tokens[i].text)!r} (token {i})" for i in chosen)
        return (
            chosen,
            True,
            (
                f"{SINK_NOTICE} (exclude='auto'): {named}. "
                "Pass exclude=[] to keep every token, or a list of token indices.",
            ),
        )
    return _validate.check_exclude(exclude, n), False, ()


def strongest_links(
    weights: Matrix, token: int, k: int, exclude: Sequence[int] = ()
) -> list[tuple[int, float, str]]:
    """``(other token, weight, "out" | "in")`` for ``token``'s ``k`` strongest links, strongest first.

    ``weights[i, j]`` is the share of ``i``'s attention on ``j``; for each other
    token the stronger direction is kept. Excluded tokens and ``token`` itself are skipped.
    """
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    out, into = w[token].copy(), w[:, token].copy()
    skip = [token, *exclude]
    out[skip], into[skip] = 0.0, 0.0
    best = np.maximum(out, into)
    order = np.argsort(-best, kind="stable")[: max(0, min(int(k), n))]
    return [(int(j), float(best[j]), "out" if out[j] >= into[j] else "in") for j in order if best[j] > 0]
