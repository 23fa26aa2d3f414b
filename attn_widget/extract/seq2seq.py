"""Encoder–decoder models (T5, BART, Marian): a source, a target, and three kinds of attention.

A first building block for issue 23's part 3, below the API: :func:`forward_seq2seq`
runs an encoder–decoder model once on a source and a target (the model's own
greedy output when no target is given, :func:`own_target`) and returns the encoder
self-attention ``[layer, head, S, S]``, the decoder self-attention
``[layer, head, T, T]`` and the cross-attention ``[layer, head, T, S]`` (which
source tokens each target token reads). :func:`joint_attention` puts the three
into one ``[layer, head, S + T, S + T]`` array over the source then the target,
each row a distribution (a target token's row is half its self-attention and half
its cross-attention), which :func:`attn_widget.analyze_attention` clusters into
groups that can span both texts.

Not done yet (see the issue): ``analyze(source, model=..., target=...)``, the
widget's two-text view with cross-attention arcs, streaming and value norms for
these models, and generation step by step. ``analyze`` refuses them meanwhile
(:func:`attn_widget.extract.forward.refuse_encoder_decoder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.types import Attention
from .loading import eager_attention


@dataclass(frozen=True, eq=False)
class Seq2SeqAttention:
    """One pass of an encoder–decoder model: ids and float32 attention of each kind."""

    source_ids: tuple[int, ...]
    target_ids: tuple[int, ...]
    """The target as the decoder reads it: the decoder's start token first."""
    encoder: Attention
    decoder: Attention
    cross: np.ndarray
    """``[layer, head, T, S]``: target query, source key."""


def is_encoder_decoder(model: Any) -> bool:
    """Whether ``model`` has an encoder and a decoder with cross-attention (T5, BART, Marian, …)."""
    return bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))


def _start(model: Any) -> int:
    config = model.config
    start = getattr(config, "decoder_start_token_id", None)
    if start is None:
        start = getattr(config, "pad_token_id", None)
    if start is None:
        raise ValueError(f"{type(model).__name__} names no decoder_start_token_id: set it in its config")
    return int(start)


def own_target(model: Any, source_ids: Sequence[int], max_new_tokens: int = 20) -> tuple[int, ...]:
    """The model's own greedy output for the source (without the decoder's start token)."""
    import torch

    with torch.inference_mode():
        out = model.generate(
            input_ids=torch.tensor([list(source_ids)]), max_new_tokens=max_new_tokens, do_sample=False,
            num_beams=1, decoder_start_token_id=_start(model),
        )
    ids = [int(i) for i in out[0]]
    return tuple(ids[1:] if ids and ids[0] == _start(model) else ids)


def forward_seq2seq(
    model: Any,
    source_ids: Sequence[int],
    target_ids: Sequence[int] | None = None,
    *,
    max_new_tokens: int = 20,
) -> Seq2SeqAttention:
    """Encoder, decoder and cross-attention for ``source_ids`` → ``target_ids`` (default: the model's own)."""
    import torch

    if not is_encoder_decoder(model):
        raise ValueError(f"model {type(model).__name__} is not an encoder–decoder model")
    target = tuple(own_target(model, source_ids, max_new_tokens) if target_ids is None else target_ids)
    decoder_ids = (_start(model), *target)
    with torch.inference_mode(), eager_attention(model):
        out = model(
            input_ids=torch.tensor([list(source_ids)]), decoder_input_ids=torch.tensor([list(decoder_ids)]),
            output_attentions=True, use_cache=False,
        )

    def stack(layers: Any) -> np.ndarray:
        if not layers or any(a is None for a in layers):
            raise ValueError(f"{type(model).__name__} returned no attention weights (eager attention?)")
        return np.stack([a[0].detach().to(torch.float32).numpy() for a in layers])

    return Seq2SeqAttention(
        tuple(int(i) for i in source_ids), decoder_ids,
        stack(out.encoder_attentions), stack(out.decoder_attentions), stack(out.cross_attentions),
    )  # fmt: skip


def joint_attention(found: Seq2SeqAttention) -> Attention:
    """``[layer, head, S + T, S + T]``: source rows their encoder attention; target rows half decoder
    self-attention (on the target columns) and half cross-attention (on the source columns).

    Needs as many encoder as decoder layers and heads (T5, BART and Marian have them).
    """
    enc, dec, cross = found.encoder, found.decoder, found.cross
    if enc.shape[:2] != dec.shape[:2]:
        raise ValueError(
            f"the encoder has {enc.shape[0]} layers of {enc.shape[1]} heads and the decoder "
            f"{dec.shape[0]} of {dec.shape[1]}: one joint graph needs them equal; cluster each side alone"
        )
    s, t = enc.shape[-1], dec.shape[-1]
    out = np.zeros((*enc.shape[:2], s + t, s + t), dtype=np.float32)
    out[..., :s, :s] = enc
    out[..., s:, s:] = dec / 2
    out[..., s:, :s] = cross / 2
    return out
