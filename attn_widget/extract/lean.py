"""A memory-lean eager attention for streamed passes: one ``[head, T, T]`` buffer per layer.

transformers' eager attention (``eager_attention_forward`` in
``modeling_llama``) holds a layer's ``[1, head, T, T]`` scores two to three
times at once: the scaled scores, the masked scores and the softmax result are
separate tensors. At 4,096 tokens on SmolLM2 that is 604 MB each. The function
here computes the same output and the same weights in one buffer: the scores
by a matmul, then the scaling, the mask and the softmax all in place (the
softmax is torch's own, written over its input with ``out=``: the same kernel
as the eager softmax, so the weights are equal bit for bit; a hand-written
``exp_`` / divide softmax differs in the last bit, which 30 layers grow to
about 1e-5 in the hidden states). It returns ``(output, weights)`` like the
eager function, so forward hooks on the attention modules still receive the
weights.

It is registered with transformers' ``AttentionInterface`` (and the eager mask
with ``AttentionMaskInterface``) under :data:`LEAN`, and used only by
:func:`lean_attention` for the model types in :data:`LEAN_MODEL_TYPES`, whose
eager attention it reproduces exactly (Llama-family, grouped-query attention
through ``repeat_kv``). Other models (GPT-2, BERT: their attention has its own
eager code) keep transformers' eager attention. This module does not change how
a model is loaded, and is not used outside the streaming pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from . import loading
from .families import FAMILIES

LEAN = "attn_widget_lean"
"""The name the lean attention (and its eager mask) is registered under in transformers."""

LEAN_MODEL_TYPES = frozenset(kind for kind, family in FAMILIES.items() if family.lean)
"""``config.model_type`` values whose eager attention :func:`lean_eager_attention` reproduces exactly
(``lean=True`` in :data:`attn_widget.extract.families.FAMILIES`)."""


def lean_eager_attention(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """Llama's eager attention computed in a single ``[batch, head, T, T]`` buffer.

    Parameters
    ----------
    module
        The attention module (its ``num_key_value_groups`` repeats the key/value heads).
    query, key, value
        ``[batch, heads, T, head_dim]`` projections (key and value with the key/value heads).
    attention_mask
        Additive float mask broadcastable to the scores (the eager mask), or ``None``.
    scaling
        Factor applied to the scores.
    dropout
        Dropout probability; only honoured in training, where this falls back to the eager function.

    Returns
    -------
    tuple
        ``(output [batch, T, heads, head_dim], weights [batch, heads, T, T])``, equal to the eager function's.
    """
    import torch
    from transformers.models.llama import modeling_llama

    if query.dtype != torch.float32 or (dropout and module.training):
        return modeling_llama.eager_attention_forward(
            module, query, key, value, attention_mask, scaling, dropout, **kwargs
        )
    groups = module.num_key_value_groups
    key_states = modeling_llama.repeat_kv(key, groups)
    value_states = modeling_llama.repeat_kv(value, groups)
    weights = torch.matmul(query, key_states.transpose(2, 3))
    del key_states
    weights.mul_(scaling)
    if attention_mask is not None:
        weights.add_(attention_mask)
    torch.softmax(weights, dim=-1, out=weights)  # in place: the eager softmax's own kernel, bit for bit
    output = torch.matmul(weights, value_states).transpose(1, 2).contiguous()
    return output, weights


def register() -> None:
    """Register :data:`LEAN` with transformers' attention and mask interfaces (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(LEAN, lean_eager_attention)
    AttentionMaskInterface.register(LEAN, eager_mask)


def supports_lean(model: Any) -> bool:
    """Whether ``model``'s eager attention is exactly :func:`lean_eager_attention` (by its model type)."""
    config = getattr(model, "config", None)
    return getattr(config, "model_type", None) in LEAN_MODEL_TYPES


@contextlib.contextmanager
def lean_attention(model: Any) -> Iterator[None]:
    """Run ``model`` with the lean attention inside the block where it is exact, else with eager attention.

    The model's attention setting is restored after the block. One block at a time per model
    (its lock, as :func:`~attn_widget.extract.loading.eager_attention` holds): the widget's first
    screen probes the same model on its own thread, and a pass must not run under another's setting.
    """
    if not supports_lean(model):
        with loading.eager_attention(model):
            yield
        return
    register()
    with loading.model_lock(model):
        before = model.config._attn_implementation
        loading.set_attention(model, LEAN)
        try:
            yield
        finally:
            loading.set_attention(model, before)
