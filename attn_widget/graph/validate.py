"""Checks on everything a caller passes in: attention, tokens, indices, thresholds, seeds.

Each function returns the value in the form the pipeline uses, or raises
``ValueError`` with a message that names the value and says what to pass
instead. numpy only (a torch tensor is converted without importing torch).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..core import Token
from ..core.types import Attention, Matrix
from .symmetric import Symmetric
from .threshold import threshold_range

ROW_SUM_TOLERANCE = 1e-2
"""How far a row of attention may sum from 1 (float16 models round)."""


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


def check_exclude(exclude: Any, n: int) -> tuple[int, ...]:
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


def check_threshold(threshold: Any, mode: str, sym: Matrix | Symmetric) -> float | None:
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
    # One rule for both ends and both modes: the slider's range (an absolute threshold above the
    # strongest edge would keep no edge at all, which no slider position gives).
    lo, hi = threshold_range(sym, mode)
    if not np.isfinite(value) or not lo <= value <= hi:
        unit = " (a share of each token's attention)" if mode == "mass" else " (an edge weight)"
        raise ValueError(
            f"threshold={threshold!r} is outside [{lo:g}, {hi:g}] for threshold_mode={mode!r}{unit}; "
            "pick a value in that range or threshold='auto'"
        )
    return value


def as_layers(layers: Any) -> tuple[int, ...] | None:
    if layers is None:
        return None
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise ValueError(f"layers={layers!r} must be a list of layer indices, e.g. layers=[4, 5]")
    try:
        return tuple(operator.index(x) for x in layers)
    except TypeError:
        raise ValueError(f"layers={layers!r} must be a list of layer indices, e.g. layers=[4, 5]") from None


def as_heads(heads: Any) -> tuple[tuple[int, int], ...] | None:
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


def as_seed(seed: Any) -> int:
    try:
        value = operator.index(seed)
    except TypeError:
        raise ValueError(f"seed={seed!r} must be an integer, e.g. seed=0") from None
    if not 0 <= value < 2**31:
        raise ValueError(f"seed={seed!r} must be in [0, 2**31)")
    return value
