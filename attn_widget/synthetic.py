"""Synthetic attention with planted structure, for tests, benchmarks and teaching.

:func:`planted_attention` makes attention in which known groups of tokens
attend to each other: block logits plus noise, a causal mask, a softmax per
head, and optionally a strong first-token sink, as real causal models have.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .core import Token
from .core.types import Attention, Labels


def planted_attention(
    group_sizes: Sequence[int],
    *,
    layers: int = 4,
    heads: int = 4,
    strength: float = 3.0,
    noise: float = 1.0,
    sink: float = 4.0,
    causal: bool = True,
    shuffle: bool = False,
    seed: int = 0,
) -> tuple[Attention, Labels]:
    """Attention ``[layers, heads, T, T]`` with planted groups, and the true group per token.

    Parameters
    ----------
    group_sizes
        Tokens per group; ``T = sum(group_sizes)`` (plus one sink token when ``sink > 0``).
    strength
        Logit bonus for attending inside one's own group.
    noise
        Standard deviation of Gaussian logit noise (per layer, head, query, key).
    sink
        Logit bonus on token 0 (a first-token attention sink); 0 for none. With a
        sink, token 0 is an extra token whose true label is ``-1``.
    causal
        Mask future keys (a decoder), else attend both ways (an encoder).
    shuffle
        Interleave group members along the sequence instead of contiguous blocks.
    seed
        Random seed.

    Returns
    -------
    attention, groups
        float32 ``[layers, heads, T, T]`` rows summing to 1, and int32 ``[T]`` groups.
    """
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(group_sizes)), group_sizes).astype(np.int32)
    if shuffle:
        groups = rng.permutation(groups).astype(np.int32)
    if sink > 0:
        groups = np.concatenate([[-1], groups]).astype(np.int32)
    n = len(groups)
    bonus = strength * ((groups[:, None] == groups[None, :]) & (groups[:, None] >= 0))
    if sink > 0:
        bonus[:, 0] += sink
    future = ~np.tril(np.ones((n, n), dtype=bool)) if causal else np.zeros((n, n), dtype=bool)
    att = np.empty((layers, heads, n, n), dtype=np.float32)
    for layer in range(layers):  # one layer at a time: float64 work stays small at 1,024 tokens
        logits = rng.normal(0.0, noise, (heads, n, n)) + bonus
        logits[:, future] = -np.inf
        logits -= logits.max(axis=-1, keepdims=True)
        probs = np.exp(logits)
        att[layer] = probs / probs.sum(axis=-1, keepdims=True)
    return att, groups


def tokens_from_pieces(pieces: Sequence[str], *, bos: str | None = "<s>") -> tuple[str, list[Token]]:
    """The text the ``pieces`` spell, and one :class:`Token` per piece with its character offsets.

    With ``bos``, a special first token (not in the text) comes first, as
    :func:`attn_widget.analyze` makes for GPT-2. Use it to give
    :func:`attn_widget.analyze_attention` tokens that highlight the text itself.
    """
    text, tokens = "", [] if bos is None else [Token(bos, special=True)]
    for piece in pieces:
        tokens.append(Token(piece, len(text), len(text) + len(piece)))
        text += piece
    return text, tokens
