"""How big is what each head moves? Value-output norms ``‖f_h(x_j)‖``, measured by hooks in the same pass.

The ``norm`` edge measure (Kobayashi et al. 2020, :mod:`attn_widget.graph.measures`)
weighs attention ``α_ij`` by the norm of what head ``h`` writes for key ``j``:
``f_h(x_j) = v_h(x_j) W_O^h``, the head's value vector mapped through its slice
of the output projection. Since ``α_ij ≥ 0``, ``‖α_ij f_h(x_j)‖ = α_ij ‖f_h(x_j)‖``,
so one ``[head, T]`` array per layer is all the measure needs.

A forward hook on each layer's value module computes those norms as the model
runs (no second pass, nothing ``[T, T]``-sized kept). Where the values are and how
they are laid out (a projection of their own, fused ``q | k | v`` as GPT-2's
``Conv1D``, interleaved per head as GPT-NeoX and Bloom, grouped as Falcon; grouped-query
attention, where query head ``h`` reads key/value head ``h // (heads / kv)``) is
:mod:`attn_widget.extract.families`' business; this module only reads it.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from .families import Layer, layers, try_layers
from .lens import LensModel


def layer_values(model: Any) -> list[Layer] | None:
    """One :class:`~attn_widget.extract.families.Layer` per attention layer run; ``None`` if unknown."""
    return try_layers(model)


def require(model: Any, name: str) -> None:
    """Raise :class:`~attn_widget.extract.families.UnsupportedModel` if the value norms are unknown."""
    if not isinstance(model, LensModel):  # TransformerLens models: their hook points (extract.lens)
        layers(model, name=name, need="measure='norm' (value norms)")


def head_output_norms(layer: Layer, values: Any) -> np.ndarray:
    """``[head, T]`` norms ``‖v_{kv(h)}(x_j) W_O^h‖`` from one layer's value-module output ``[T, cols]``.

    Through :func:`output_factor`: ``‖z W_O^h‖ = ‖z R_h^T‖`` with ``R_h`` ``[head_dim, head_dim]``,
    so no ``[head, T, d_model]`` product is formed (``d_model / head_dim`` times less arithmetic).
    """
    import torch

    with torch.no_grad():
        t = values.shape[0]
        per_kv = values[:, layer.value_cols].reshape(t, layer.n_kv, layer.head_dim)
        if layer.n_kv != layer.n_heads:  # grouped heads share values
            per_kv = per_kv[:, torch.as_tensor(layer.kv_of)]
        r_t = output_factor(layer)
        f = torch.einsum("thk,hkj->htj", per_kv.to(r_t.dtype), r_t)
        return f.norm(dim=-1).to(torch.float32).cpu().numpy()


_FACTORS: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def output_factor(layer: Layer) -> Any:
    """``[head, head_dim, head_dim]`` ``R_h^T``, where ``W_O^{hT} = Q_h R_h`` (QR; ``Q_h``: orthonormal).

    Then ``z W_O^h = z R_h^T Q_h^T`` and ``‖z W_O^h‖ = ‖z R_h^T‖`` for any row ``z``: the norms of what
    each head writes, without its ``d_model``-wide output. Factored in float64 on the CPU (exact also where a
    head's weights are rank-deficient), used in float32 (float64 for a float64 model), on the weights'
    device; cached per output projection until its weights change (their version counter).
    """
    import torch

    weight = layer.out.weight
    key = (weight.data_ptr(), weight._version, weight.dtype, weight.device, layer.n_heads, layer.head_dim)
    cached = _FACTORS.get(layer.out)
    if cached is not None and cached[0] == key:
        return cached[1]
    dtype = torch.float64 if weight.dtype == torch.float64 else torch.float32
    with torch.inference_mode(False), torch.no_grad():  # a plain tensor, whichever mode the pass runs in
        w_o = layer.w_o().detach().to(device="cpu", dtype=torch.float64)  # [head, head_dim, d_model]
        r = torch.linalg.qr(w_o.transpose(1, 2), mode="r")[1]  # [head, head_dim, head_dim]
        r_t = r.transpose(1, 2).to(device=weight.device, dtype=dtype).contiguous()
    _FACTORS[layer.out] = (key, r_t)
    return r_t


@contextlib.contextmanager
def value_norm_hooks(model: Any, every_row: bool = False) -> Iterator[list[np.ndarray] | None]:
    """Inside the block, each forward pass of ``model`` appends one ``[head, T]`` array per layer.

    Yields the list (``None`` for an architecture whose values are not known: then no norms).
    Only the first sequence of a batch is measured; with ``every_row``, every sequence, as one
    ``[batch, head, T]`` array per layer (padded rows' norms past their length are meaningless).
    """
    found_layers = layer_values(model)
    if found_layers is None:
        yield None
        return
    found: list[np.ndarray] = []
    handles = []
    seen: set[int] = set()
    for layer in found_layers:
        if id(layer.value_module) in seen:  # a module shared by layers (ALBERT): one hook, one call per layer
            continue
        seen.add(id(layer.value_module))

        def grab(_module: Any, _inputs: Any, output: Any, layer: Layer = layer) -> None:
            if every_row:
                found.append(np.stack([head_output_norms(layer, row) for row in output]))
            else:
                found.append(head_output_norms(layer, output[0]))

        handles.append(layer.value_module.register_forward_hook(grab))
    try:
        yield found
    finally:
        for handle in handles:
            handle.remove()
