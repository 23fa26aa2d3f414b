"""One forward pass that hands each layer's attention to a callback and drops it: O(one layer) memory.

:func:`stream_attention` runs the model once with forward hooks on its attention
modules. Each layer's ``[head, T, T]`` attention is passed to ``on_layer``
(:data:`attn_widget.core.types.OnLayer`) as soon as that layer has computed it,
then released, so the pass holds one layer's attention at a time instead of
``layers × heads × T²`` floats. What to keep is the callback's business (the
graph layer aggregates, the explain layer scores head roles); this module only
runs the model. Optionally it also keeps, per head and query, the ``top_keys``
strongest keys (``head_data["top_index"]`` / ``["top_weight"]``, float16): a
compact stand-in for the raw attention where a few strong links are enough
(a cluster's heads, the drill-down).

Which modules return attention weights comes from the family table
(:mod:`attn_widget.extract.families`), else from the model class's own
declaration (``_can_record_outputs["attentions"]`` in transformers 5): the
module class, optionally the submodule name, and the index of the weights in
its output. Layers are numbered by the order the modules run in, so a module
that runs several layers (ALBERT) is counted once per run. A model with neither
is run with ``output_attentions=True`` and its layers are handed over one by one
afterwards (no memory saved).
Llama-family models run with :mod:`attn_widget.extract.lean`'s attention,
which computes the same weights in one ``[head, T, T]`` buffer per layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.types import OnLayer
from . import lens
from .families import weight_modules
from .lean import lean_attention
from .values import value_norm_hooks

TOP_KEYS = 8
"""Strongest keys kept per head and query by a streaming pass (``keep="summary"``)."""


def attention_modules(model: Any) -> list[tuple[Any, int]] | None:
    """``(module, index of the weights in its output)`` per layer run, in order; ``None`` if unknown."""
    known = weight_modules(model)
    if known is not None:
        return known
    spec = None
    for cls in type(model).__mro__:
        found = getattr(cls, "_can_record_outputs", None)
        if isinstance(found, dict) and "attentions" in found:
            spec = found["attentions"]
            break
    if spec is None:
        return None
    target = getattr(spec, "target_class", spec)
    name = getattr(spec, "layer_name", None)
    index = int(getattr(spec, "index", 1)) if hasattr(spec, "target_class") else 1
    if isinstance(target, str) or not isinstance(target, type):
        return None
    marker = None if name is None else "." + name.strip(".") + "."
    out = [
        (module, index)
        for path, module in model.named_modules()
        if isinstance(module, target) and (marker is None or marker in "." + path + ".")
    ]
    return out or None


def stream_attention(
    model: Any,
    ids: Sequence[int],
    *,
    name: str,
    causal: bool,
    on_layer: OnLayer,
    value_norms: bool = True,
    top_keys: int = 0,
) -> dict[str, np.ndarray]:
    """Run ``model`` once on ``ids``, calling ``on_layer(layer, attention, value_norm)`` per layer.

    Parameters
    ----------
    model
        A Hugging Face model (eager attention is switched on for the pass; for
        Llama-family models the memory-lean eager attention of
        :mod:`attn_widget.extract.lean`, which holds one ``[head, T, T]``
        buffer per layer instead of two to three).
    ids
        Token ids of one sequence.
    name
        The model's name, for error messages.
    causal
        True for a decoder-only model (no key/value cache is built).
    on_layer
        Called once per layer, in order, with float32 ``[head, T, T]`` attention
        (a read-only view, valid during the call) and the layer's ``[head, T]``
        value-output norms (``None`` without ``value_norms`` or for an
        architecture :mod:`attn_widget.extract.values` does not know).
    value_norms
        Measure the value-output norms (for the ``norm`` edge measure).
    top_keys
        Also keep each head's ``top_keys`` strongest keys per query (0: none).

    Returns
    -------
    dict
        Per-head data measured in the pass: ``"value_norm"`` ``[layer, head, T]``;
        with ``top_keys``, ``"top_index"`` (int32) and ``"top_weight"`` (float16),
        each ``[layer, head, T, top_keys]``, strongest first (weight 0 where a
        causal query sees fewer keys).
    """
    import torch

    tops: list[tuple[np.ndarray, np.ndarray]] = []
    norms_seen: list[np.ndarray] = []

    def handle(layer: int, weights: Any) -> None:
        a = weights[0].detach()
        if a.dtype != torch.float32 or a.device.type != "cpu":
            a = a.to(dtype=torch.float32, device="cpu")
        if top_keys:
            k = min(int(top_keys), a.shape[-1])
            values, index = torch.topk(a, k, dim=-1)
            tops.append((index.to(torch.int32).numpy(), values.to(torch.float16).numpy()))
        view = a.numpy()
        view.flags.writeable = False
        on_layer(layer, view, norms_seen[layer] if layer < len(norms_seen) else None)

    if isinstance(model, lens.LensModel):  # a TransformerLens model: through its own hook points
        lens.run(model, ids, handle, norms_seen if value_norms else None)
        return _data(tops, norms_seen)
    net = getattr(model, "base_model", model)  # skip the LM head: its logits are not needed
    device = next(net.parameters()).device
    input_ids = torch.tensor([list(ids)], dtype=torch.long, device=device)
    kwargs: dict[str, Any] = {"attention_mask": torch.ones_like(input_ids)}
    if causal:
        kwargs["use_cache"] = False
    modules = attention_modules(model)
    hooks = value_norm_hooks(model) if value_norms else contextlib.nullcontext(None)
    with (
        torch.inference_mode(),
        lean_attention(model),
        hooks as norms,
        contextlib.ExitStack() as stack,
    ):
        if norms is not None:
            norms_seen = norms
        if modules is None:
            out = net(input_ids=input_ids, output_attentions=True, **kwargs)
            layers = list(getattr(out, "attentions", None) or ())
            del out
            _check_layers(layers, name)
            for i in range(len(layers)):
                handle(i, layers[i])
                layers[i] = None
        else:
            calls = [0]  # layers in the order their modules run (ALBERT runs one module per layer)
            for module, index in {id(m): (m, i) for m, i in modules}.values():

                def grab(_mod: Any, _inputs: Any, output: Any, index: int = index) -> None:
                    weights = output[index] if isinstance(output, (tuple, list)) else None
                    _check_layers([weights], name)
                    calls[0] += 1
                    handle(calls[0] - 1, weights)

                stack.callback(module.register_forward_hook(grab).remove)
            net(input_ids=input_ids, **kwargs)
    return _data(tops, norms_seen)


def _data(tops: list[tuple[np.ndarray, np.ndarray]], norms_seen: list[np.ndarray]) -> dict[str, np.ndarray]:
    data: dict[str, np.ndarray] = {}
    n_heads = None if not tops else tops[0][0].shape[0]
    same = bool(norms_seen) and all(n.shape == norms_seen[0].shape for n in norms_seen)
    if same and (n_heads is None or norms_seen[0].shape[0] == n_heads):
        data["value_norm"] = np.stack(norms_seen).astype(np.float32)
    if tops:
        data["top_index"] = np.stack([i for i, _ in tops])
        data["top_weight"] = np.stack([w for _, w in tops])
    return data


def _check_layers(layers: Sequence[Any], name: str) -> None:
    if not layers or any(a is None for a in layers):
        raise ValueError(
            f"model {name!r} returned no attention weights; load it with "
            "attn_implementation='eager' (sdpa and flash attention do not return them)"
        )
