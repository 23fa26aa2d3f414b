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
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.types import OnBlock, OnLayer
from . import lens
from .blocks import block_attention
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
    on_layer: OnLayer | None = None,
    value_norms: bool = True,
    top_keys: int = 0,
    block_rows: int | None = None,
    on_block: OnBlock | None = None,
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
    block_rows, on_block
        Compute the weights ``block_rows`` queries at a time (:mod:`attn_widget.extract.blocks`;
        the caller checked :func:`~attn_widget.extract.blocks.unsupported`) and call
        ``on_block(layer, start, weights, value_norm)`` with each ``[head, rows, keys]`` block
        (queries ``start…``; keys past the block's width are zero) instead of ``on_layer``.
        Without ``block_rows``, ``on_block`` is called once per layer with ``start`` 0.

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
    n = len(ids)

    def handle_block(layer: int, start: int, a: Any) -> None:
        if a.dtype != torch.float32 or a.device.type != "cpu":
            a = a.to(dtype=torch.float32, device="cpu")
        if top_keys:
            _top(tops, layer, start, a, min(int(top_keys), n), n)
        view = a.numpy()
        view.flags.writeable = False
        norm = norms_seen[layer] if layer < len(norms_seen) else None
        if on_block is not None:
            on_block(layer, start, view, norm)
        elif on_layer is not None:
            on_layer(layer, view, norm)

    def handle(layer: int, weights: Any) -> None:
        handle_block(layer, 0, weights[0].detach())

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
    calls = [-1]  # block mode: the layer whose blocks arrive (a new one at each start 0)

    def next_block(start: int, weights: Any) -> None:
        if start == 0:
            calls[0] += 1
            release_freed()
        handle_block(calls[0], start, weights)

    attention = (
        lean_attention(model) if block_rows is None else block_attention(model, block_rows, next_block)
    )
    with (
        torch.inference_mode(),
        attention,
        hooks as norms,
        contextlib.ExitStack() as stack,
    ):
        if norms is not None:
            norms_seen = norms
        if block_rows is not None:
            net(input_ids=input_ids, **kwargs)
            expected = len(modules) if modules is not None else None
            if calls[0] < 0 or (expected is not None and calls[0] + 1 != expected):
                raise RuntimeError(
                    f"model {name!r}: the block attention saw {calls[0] + 1} layers, expected {expected}: "
                    "its "
                    "attention does not run through transformers' attention interface; mark its family "
                    "blocks=False in attn_widget.extract.families.FAMILIES"
                )
        elif modules is None:
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


def release_freed() -> None:
    """Give the memory the last layer freed back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    The blocks and a layer's projections are a few MB each: glibc keeps such freed
    chunks in its heap, where they fragment and the process's resident memory only
    grows (by hundreds of MB over a long text's pass).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _top(tops: list[tuple[np.ndarray, np.ndarray]], layer: int, start: int, a: Any, k: int, n: int) -> None:
    """Each query's ``k`` strongest keys of the block ``a`` (queries ``start…``) into ``layer``'s arrays."""
    import torch

    if layer == len(tops):
        heads = a.shape[0]
        tops.append((np.zeros((heads, n, k), dtype=np.int32), np.zeros((heads, n, k), dtype=np.float16)))
    if a.shape[-1] < k:  # a causal block narrower than k: its missing keys weigh 0, as in a whole row
        a = torch.nn.functional.pad(a, (0, k - a.shape[-1]))
    values, index = torch.topk(a, k, dim=-1)
    rows = slice(start, start + a.shape[1])
    tops[layer][0][:, rows] = index.to(torch.int32).numpy()
    tops[layer][1][:, rows] = values.to(torch.float16).numpy()


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
