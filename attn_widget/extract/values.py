"""How big is what each head moves? Value-output norms ``‖f_h(x_j)‖``, measured by hooks in the same pass.

The ``norm`` edge measure (Kobayashi et al. 2020, :mod:`attn_widget.graph.measures`)
weighs attention ``α_ij`` by the norm of what head ``h`` writes for key ``j``:
``f_h(x_j) = v_h(x_j) W_O^h``, the head's value vector mapped through its slice
of the output projection. Since ``α_ij ≥ 0``, ``‖α_ij f_h(x_j)‖ = α_ij ‖f_h(x_j)‖``,
so one ``[head, T]`` array per layer is all the measure needs.

A forward hook on each layer's value projection computes those norms as the
model runs (no second pass, nothing ``[T, T]``-sized kept). Where the values live:

- GPT-2 (``GPT2Attention``): ``c_attn`` is a ``Conv1D`` whose output is ``q | k | v``;
  ``c_proj`` (``Conv1D``, weight ``[d, d]``): head ``h`` owns rows ``h·hd:(h+1)·hd``.
- Llama-style (``LlamaAttention``, grouped-query attention, e.g. SmolLM2):
  ``v_proj`` outputs ``[T, n_kv·hd]`` before the key/value heads are repeated;
  query head ``h`` reads key/value head ``h // (n_heads / n_kv)``; ``o_proj``
  (``Linear``, weight ``[d, n_heads·hd]``): head ``h`` owns columns ``h·hd:(h+1)·hd``.
- BERT (``BertSelfAttention``): ``self.value`` (``Linear``), and the sibling
  ``BertAttention.output.dense`` mixes the heads (columns per head).

Other architectures get no value norms (:func:`value_norm_hooks` says so).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class LayerValues:
    """One layer: the module whose output holds the values, and how each head writes back."""

    value_module: Any
    value_cols: slice
    w_o: Any
    """``[head, head_dim, d_model]``: head ``h``'s output is ``z_h @ w_o[h]``."""
    kv_of: np.ndarray
    """Key/value head each query head reads."""
    head_dim: int


def layer_values(model: Any) -> list[LayerValues] | None:
    """One :class:`LayerValues` per attention layer, in order; ``None`` for an unknown architecture."""
    config = getattr(model, "config", None)
    out: list[LayerValues] = []
    for module in model.modules():
        if hasattr(module, "c_attn") and hasattr(module, "c_proj") and hasattr(module, "embed_dim"):
            d, h = int(module.embed_dim), int(module.num_heads)
            hd = d // h
            out.append(LayerValues(module.c_attn, slice(2 * d, 3 * d),
                                   module.c_proj.weight.reshape(h, hd, -1), np.arange(h), hd))
        elif hasattr(module, "v_proj") and hasattr(module, "o_proj") and hasattr(module, "head_dim"):
            hd = int(module.head_dim)
            h = int(getattr(config, "num_attention_heads", 0) or 0) or module.o_proj.weight.shape[1] // hd
            kv = int(getattr(config, "num_key_value_heads", None) or h)
            out.append(LayerValues(module.v_proj, slice(0, kv * hd),
                                   module.o_proj.weight.T.reshape(h, hd, -1), np.arange(h) // (h // kv), hd))
        elif hasattr(module, "self") and hasattr(module, "output") and hasattr(module.self, "value"):
            own = module.self
            h, hd = int(own.num_attention_heads), int(own.attention_head_size)
            out.append(LayerValues(own.value, slice(0, h * hd),
                                   module.output.dense.weight.T.reshape(h, hd, -1), np.arange(h), hd))
    return out or None


def head_output_norms(layer: LayerValues, values: Any) -> np.ndarray:
    """``[head, T]`` norms ``‖v_{kv(h)}(x_j) W_O^h‖`` from one layer's value output ``[T, cols]``."""
    import torch

    with torch.no_grad():
        t = values.shape[0]
        per_kv = values[:, layer.value_cols].reshape(t, -1, layer.head_dim)
        per_head = per_kv[:, torch.as_tensor(layer.kv_of)]  # [T, H, hd]: grouped heads share values
        w_o = layer.w_o.detach()
        f = torch.einsum("thk,hkd->htd", per_head.to(w_o.dtype), w_o)
        return f.norm(dim=-1).to(torch.float32).cpu().numpy()


@contextlib.contextmanager
def value_norm_hooks(model: Any) -> Iterator[list[np.ndarray] | None]:
    """Inside the block, each forward pass of ``model`` appends one ``[head, T]`` array per layer.

    Yields the list (``None`` for an architecture it does not know: then no norms).
    Only the first sequence of a batch is measured.
    """
    layers = layer_values(model)
    if layers is None:
        yield None
        return
    found: list[np.ndarray] = []
    handles = []
    for layer in layers:

        def grab(_module: Any, _inputs: Any, output: Any, layer: LayerValues = layer) -> None:
            found.append(head_output_norms(layer, output[0]))

        handles.append(layer.value_module.register_forward_hook(grab))
    try:
        yield found
    finally:
        for handle in handles:
            handle.remove()
