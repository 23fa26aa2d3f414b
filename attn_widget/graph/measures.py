"""Edge measures: how much token ``i`` takes from token ``j`` in one head, by more than attention weight.

Each measure is a named function in :data:`MEASURES` that turns the raw
attention ``[layer, head, T, T]`` and the per-head data the forward pass
measured (:attr:`attn_widget.core.Analysis.head_data`) into non-negative
per-head edge weights of the same shape. Aggregation, lenses, the sweep and
the clustering then work on those weights exactly as on attention.

``attention``
    The attention probability ``α_ij`` (what BertViz shows).
``norm``
    ``‖α_ij f(x_j)‖``, Kobayashi et al. 2020 ("Attention is not only a
    weight"): the size of what head ``h`` actually moves from ``j`` to ``i``,
    with ``f(x) = x W_V W_O`` the head's value vector mapped through its slice
    of the output projection. Sinks receive large weights but tiny value
    vectors, so they stop dominating. Needs ``head_data["value_norm"]``
    (``[layer, head, T]``, ``‖f(x_j)‖``), measured by the same forward pass.
``gradient``
    ``|α_ij · ∂ log p / ∂α_ij|``, attention times gradient (after Hao et al.
    2021, with one backward pass instead of integrated gradients): how much the
    model's output depends on the edge. Needs ``head_data["gradient"]``
    (``[layer, head, T, T]``), measured by a backward pass on request.

numpy only; the forward and backward passes that measure the per-head data
live in :mod:`attn_widget.extract`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..core.registry import Registry
from ..core.types import Attention, LayerAttention
from .reduce import LayerWeights

HeadData = Mapping[str, np.ndarray]
Measure = Callable[[Attention, HeadData], Attention]

MEASURES: Registry[Measure] = Registry("edge measure")
"""Named edge measures: ``attention``, ``norm``, ``gradient``."""

NEEDS: dict[str, str] = {"norm": "value_norm", "gradient": "gradient"}
"""Measure → the key of :attr:`Analysis.head_data` it reads."""


def _need(data: HeadData, measure: str, shape: tuple[int, ...]) -> np.ndarray:
    key = NEEDS[measure]
    if key not in data:
        raise ValueError(
            f"measure={measure!r} needs the per-head {key.replace('_', ' ')}s that only a forward pass "
            f"{'and a backward pass ' if measure == 'gradient' else ''}over the model can measure, and this "
            "analysis has none (made from attention arrays or loaded from .json, or by a model whose "
            "layout attn_widget.extract.families does not know); run "
            f"attn_widget.analyze(text, model=..., measure={measure!r}) instead"
        )
    value = np.asarray(data[key])
    if value.shape != shape:
        raise ValueError(f"head_data[{key!r}] has shape {value.shape}, expected {shape}")
    return value


@MEASURES.register("attention")
def attention(att: Attention, data: HeadData) -> Attention:
    """The attention weights themselves."""
    return att


@MEASURES.register("norm")
def norm(att: Attention, data: HeadData) -> Attention:
    """``α_ij · ‖f(x_j)‖`` per head (see the module docstring)."""
    value_norm = _need(data, "norm", (*att.shape[:2], att.shape[-1]))  # one per key (rows may be a slice)
    return (att * value_norm[:, :, None, :]).astype(np.float32, copy=False)


@MEASURES.register("gradient")
def gradient(att: Attention, data: HeadData) -> Attention:
    """``|α ⊙ ∂ log p / ∂α|`` per head (see the module docstring)."""
    return np.abs(_need(data, "gradient", att.shape)).astype(np.float32, copy=False)


def measure_weights(att: Attention, name: str, data: HeadData) -> Attention:
    """Per-head edge weights ``[layer, head, T, T]`` of measure ``name``."""
    return MEASURES[name](att, data)


def _layer_need(data: HeadData, measure: str, shape: tuple[int, ...]) -> np.ndarray:
    """One layer's slice of the per-head data ``measure`` needs, checked against the layer's ``shape``."""
    key = NEEDS[measure]
    if key not in data:
        _need(data, measure, shape)  # raises, saying how to get it
    value = np.asarray(data[key])
    if value.shape != shape:
        raise ValueError(f"head_data[{key!r}] has a layer of shape {value.shape}, expected {shape}")
    return value


LAYERWISE: dict[str, Callable[[LayerAttention, HeadData], LayerWeights]] = {
    "attention": lambda att, data: LayerWeights(att),
    "norm": lambda att, data: LayerWeights(att, _layer_need(data, "norm", (att.shape[0], att.shape[-1]))),
    "gradient": lambda att, data: LayerWeights(
        np.abs(_layer_need(data, "gradient", att.shape)).astype(np.float32, copy=False)
    ),
}
"""Measure → its weights for one layer, from the layer's ``[head, T, T]`` attention and its slice of
the per-head data (``{"value_norm": [head, T]}``, …), as
:class:`~attn_widget.graph.reduce.LayerWeights` (nothing multiplied out yet). These are the
measures a streaming pass and the per-layer aggregation support."""


def layer_weights(
    att: LayerAttention, name: str, data: HeadData, layer: int | None = None, *, start: int | None = None
) -> LayerWeights:
    """Per-head weights of one layer under measure ``name`` (see :data:`LAYERWISE`).

    ``data`` holds the whole model's per-head data when ``layer`` is given (its
    slice is taken), or that one layer's slices when ``layer`` is ``None``.
    ``start`` (``None``: a whole layer): ``att`` is the block of queries ``start…`` (``[head, rows, width]``,
    :class:`~attn_widget.graph.reduce.LayerWeights`), its per-key data cut to ``width``.
    """
    MEASURES[name]  # unknown names fail here, with the choices
    if name not in LAYERWISE:
        raise ValueError(
            f"measure={name!r} has no per-layer form, so it needs the kept raw attention; "
            "analyse with keep='attention'"
        )
    if layer is not None:
        key = NEEDS.get(name)
        if key is not None and key in data:
            value = np.asarray(data[key])
            if not 0 <= layer < value.shape[0]:
                raise ValueError(f"head_data[{key!r}] has {value.shape[0]} layers; layer {layer} is missing")
            data = {key: value[layer]}
    if start is None:
        return LAYERWISE[name](att, data)
    if name == "gradient":
        raise ValueError("measure='gradient' needs whole layers; it cannot be computed in blocks of queries")
    scale = None
    if name in NEEDS:
        if NEEDS[name] not in data:
            _need(data, name, att.shape[:1])  # raises, saying how to get it
        scale = np.asarray(data[NEEDS[name]])
        if scale.ndim != 2 or scale.shape[0] != att.shape[0] or scale.shape[1] < att.shape[-1]:
            raise ValueError(f"head_data[{NEEDS[name]!r}] has a layer of shape {scale.shape} for {att.shape}")
    return LayerWeights(att, scale, start)
