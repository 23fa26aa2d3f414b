"""From attention and options to the graph's weights: edge measure, lens, sinks, aggregation.

:func:`aggregate_options` turns raw attention ``[layer, head, T, T]`` (and the
per-head data of the edge measures) into the ``[T, T]`` weights an
:class:`~attn_widget.core.Options` asks for; :func:`resolve_exclude` decides
which tokens are left out (``exclude="auto"`` finds the sinks);
:func:`strongest_links` reads a token's links off the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import Options, Token
from ..core.types import Attention, Matrix
from . import aggregate as _aggregate
from . import measures as _measures
from . import sinks as _sinks
from . import validate as _validate
from .measures import HeadData


def aggregate_options(
    attentions: Attention, options: Options, head_data: HeadData, *, exclude: Sequence[int] | None = None
) -> Matrix:
    """The ``[T, T]`` graph weights ``options`` ask for: measure, lens, aggregation, exclusion."""
    per_head = _measures.measure_weights(attentions, options.measure, head_data)
    return _aggregate.aggregate(
        per_head,
        options.aggregation,
        exclude=options.exclude if exclude is None else exclude,
        layers=options.layers,
        heads=options.heads,
        mask=lens_mask(attentions.shape[:2], options.lens_heads),
    )


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
    exclude: Any, attentions: Attention, tokens: Sequence[Token], also: Sequence[int] = ()
) -> tuple[tuple[int, ...], bool, tuple[str, ...]]:
    """``(token indices left out, found automatically?, notices)`` for an ``exclude`` option.

    ``"auto"`` finds the attention sinks (:func:`attn_widget.graph.sinks.detect_sinks`) and adds
    ``also`` (a model's own sink tokens); a list is validated and taken as it is.
    """
    n = attentions.shape[-1]
    if isinstance(exclude, str):
        if exclude != "auto":
            raise ValueError(
                f"exclude={exclude!r}: give 'auto', [] (keep every token) or a list of token indices"
            )
        found = set(_sinks.detect_sinks(attentions)) | {int(i) % n for i in also}
        chosen = tuple(sorted(found)) if len(found) < n - 1 else ()
        if not chosen:
            return (), True, ()
        named = ", ".join(f"{tokens[i].text.strip() or repr(tokens[i].text)!r} (token {i})" for i in chosen)
        return chosen, True, (
            f"{SINK_NOTICE} (exclude='auto'): {named}. "
            "Pass exclude=[] to keep every token, or a list of token indices.",
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
