"""Attention weights a block of queries at a time: a streamed pass in memory that grows with the text.

A streamed analysis needs each layer's attention only to reduce it (the
aggregate, the sink statistics, the head roles, each head's strongest keys),
and every reduction goes row by row. The eager attention of transformers holds
a layer's whole ``[head, T, T]`` (9 × 8,192² float32 = 2.4 GB for SmolLM2 at
its full context) before anyone sees it. :func:`block_attention_forward`
computes the same weights from the layer's queries and keys (after the
family's rotary embedding, which the attention module applies before calling
it; learned positions are in the hidden states already; grouped-query heads
repeated as ``repeat_kv`` does; the mask, sliding windows and logit
soft-capping as the eager function adds them) ``rows`` queries at a time, and
hands each ``[head, rows, keys]`` block to the pass's ``on_block`` before
computing the next. In a causal model a block's keys stop at its last query
(later keys are zero and not computed), which halves the work.

The function is registered with transformers' ``AttentionInterface`` under
:data:`BLOCKS` (and SDPA's mask, which leaves out a plain causal mask, under
the same name), so it serves every family whose attention module calls the
interface: :func:`unsupported` says which cannot (their own attention code:
GPT-Neo, Bloom and Falcon's ALiBi, DeBERTa-v2, TransformerLens models, a family
the table does not know), and the streamed pass then falls back to
whole-layer attention and says so. :func:`plan` picks the block size from a
memory budget (:func:`parse_bytes` reads ``"2GB"``), or refuses a text that
cannot fit, naming the budget (and the length) that would.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .families import FAMILIES, model_type

BLOCKS = "attn_widget_blocks"
"""The name the block attention (and SDPA's mask) is registered under in transformers."""

BLOCK_BYTES = 64 * 2**20
"""Without a budget, a block's ``[head, rows, T]`` float32 weights take about this much."""
MIN_ROWS = 16
"""Fewest queries per block (smaller blocks cost more in Python than they save in memory)."""
ROW_COPIES = 4
"""A block is held about this many times at once (torch's weights, the measure's scaled copy,
the head sums and the sink statistics' head mean)."""
SQUARE_BYTES = 32
"""Bytes per ``T²`` entry the analysis takes besides the model and the blocks. The clustering
after the pass keeps the float32 aggregate (4) and the float64 graph weights (8) and reads the
symmetrised graph a block of rows at a time (:mod:`attn_widget.graph.symmetric`); with the sink
statistics' columns, the head roles' masks and what Python and torch hold, SmolLM2's whole process
peaked at 1,862-2,230 MB at 8,192 tokens, 1,310-1,753 MB besides its weights: 20-26 bytes a pair.
32 keeps a margin. (It was 64 while the clustering held a symmetric copy and every pair's edge.)"""


@dataclass(frozen=True)
class Plan:
    """How a streamed pass computes attention: ``rows`` queries per block (``None``: whole layers)."""

    rows: int | None
    need: int
    """Estimated bytes the analysis takes beyond the model (blocks and kept aggregates)."""
    reason: str | None = None
    """Why whole layers (a family whose attention cannot be computed in blocks)."""


_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_bytes(value: Any) -> int:
    """Bytes of ``value``: an int, or a size such as ``"2GB"``, ``"1.5 GiB"``, ``"800MB"`` (binary units)."""
    if isinstance(value, bool):
        raise ValueError(f"max_memory={value!r}: give bytes (an int) or a size such as '2GB'")
    if isinstance(value, (int, float)) and value > 0:
        return int(value)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?\s*", str(value).lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"max_memory={value!r}: give bytes (an int) or a size such as '2GB' or '800MB'")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def size_text(n: float) -> str:
    """``n`` bytes rounded up, as ``"1.3 GiB"``, ``"640 MiB"`` or ``"97 KiB"``."""
    if n >= 2**30:
        return f"{math.ceil(n / 2**30 * 10) / 10:.1f} GiB"
    return f"{math.ceil(n / 2**20)} MiB" if n >= 2**20 else f"{math.ceil(n / 2**10)} KiB"


def square_bytes(n: int) -> int:
    """What the analysis of ``n`` tokens keeps besides the blocks (see :data:`SQUARE_BYTES`)."""
    return SQUARE_BYTES * n * n


def row_bytes(heads: int, n: int) -> int:
    """Memory one query row of a block takes, all its copies included."""
    return ROW_COPIES * 4 * heads * n


def plan(heads: int, n: int, *, max_memory: Any = None, reason: str | None = None) -> Plan:
    """The block size for ``n`` tokens of a model with ``heads`` heads per layer, within ``max_memory``.

    Without a budget a block takes about :data:`BLOCK_BYTES`; with one, the largest
    block that fits beside what the analysis keeps. ``reason``: the model cannot be
    computed in blocks (whole layers are, and the budget is checked against one layer).

    Raises
    ------
    ValueError
        When ``max_memory`` cannot hold the analysis of ``n`` tokens even with the
        smallest blocks: the message names the budget that would, and the length that fits.
    """
    fixed = square_bytes(n)
    budget = None if max_memory is None else parse_bytes(max_memory)
    smallest = n if reason else min(MIN_ROWS, n)
    least = fixed + smallest * row_bytes(heads, n)
    if budget is not None and least > budget:
        fits = fits_tokens(heads, budget, whole=reason is not None)
        how = "whole layers (" + reason + ")" if reason else f"blocks of {smallest} queries"
        raise ValueError(
            f"max_memory={max_memory!r} ({size_text(budget)}) is too small for {n} tokens: even in {how} "
            f"the analysis needs about {size_text(least)} besides the model. Pass "
            f"max_memory='{size_text(least).replace(' ', '')}' (or more), or shorten the text to about "
            f"{fits} tokens, which fit in {size_text(budget)}"
        )
    if reason:
        return Plan(None, fixed + n * row_bytes(heads, n), reason)
    rows = BLOCK_BYTES // (4 * heads * n) if budget is None else (budget - fixed) // row_bytes(heads, n)
    rows = int(max(smallest, min(n, rows)))
    return Plan(rows, fixed + rows * row_bytes(heads, n))


def fits_tokens(heads: int, budget: int, *, whole: bool = False) -> int:
    """Most tokens whose analysis fits in ``budget`` bytes (blocks of :data:`MIN_ROWS`, or whole layers)."""
    per = SQUARE_BYTES + (ROW_COPIES * 4 * heads if whole else 0)  # bytes per T² ...
    lin = 0 if whole else MIN_ROWS * ROW_COPIES * 4 * heads  # ... and per T
    return max(0, int((-lin + math.sqrt(lin * lin + 4 * per * budget)) / (2 * per)))


def unsupported(model: Any) -> str | None:
    """Why ``model``'s attention cannot be computed in blocks (``None``: it can)."""
    kind = model_type(model)
    config = getattr(model, "config", None)
    family = FAMILIES.get(kind)
    if config is None or not hasattr(model, "set_attn_implementation"):
        return f"{type(model).__name__} is not a transformers model"
    if family is None:
        return f"family {kind!r} is not in attn_widget.extract.families.FAMILIES"
    if not family.blocks:
        return f"family {kind!r} computes its attention with code of its own ({family.positions} positions)"
    if getattr(config, "alibi", False):
        return f"family {kind!r} with ALiBi positions adds them in code of its own"
    if getattr(config, "reorder_and_upcast_attn", False):
        return "reorder_and_upcast_attn=True has an eager path of its own"
    dtype = getattr(next(iter(model.parameters()), None), "dtype", None)
    if str(dtype) != "torch.float32":
        return f"its weights are {dtype}, and block attention runs in float32 only"
    return None


OnBlock = Callable[[int, Any], None]
"""``on_block(start, weights)`` with torch ``[head, rows, keys]`` weights of queries ``start…``."""

_RUN: contextvars.ContextVar[tuple[int, OnBlock] | None] = contextvars.ContextVar("attn_blocks", default=None)


def block_attention_forward(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float | None = None,
    dropout: float = 0.0,
    softcap: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """The eager attention's output, its weights computed ``rows`` queries at a time (see the module).

    ``query`` is ``[1, heads, T, head_dim]``, ``key``/``value`` ``[1, kv heads, T, head_dim]``.
    Returns ``(output [1, T, heads, head_dim], None)``: the weights went to the pass's ``on_block``.
    """
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    run = _RUN.get()
    if run is None or query.shape[0] != 1 or (dropout and module.training):
        return sdpa_attention_forward(
            module,
            query,
            key,
            value,
            attention_mask,
            dropout=dropout,
            scaling=scaling,
            is_causal=is_causal,
            **kwargs,
        )
    rows, on_block = run
    heads, t, hd = query.shape[1], query.shape[2], query.shape[3]
    if key.shape[1] != heads:
        key, value = repeat_kv(key, heads // key.shape[1]), repeat_kv(value, heads // value.shape[1])
    scale = hd**-0.5 if scaling is None else scaling
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    causal = bool(causal) and attention_mask is None and t > 1
    low = torch.finfo(query.dtype).min
    out = torch.empty((1, heads, t, value.shape[-1]), dtype=query.dtype)
    keys_t = key.transpose(2, 3)
    for r0 in range(0, t, rows):
        r1 = min(r0 + rows, t)
        width = r1 if causal else key.shape[2]
        scores = torch.matmul(query[:, :, r0:r1], keys_t[..., :width])  # [1, head, rows, width]
        scores.mul_(scale)
        if softcap is not None:
            scores.div_(softcap).tanh_().mul_(softcap)
        if causal:
            later = torch.arange(width)[None, :] > torch.arange(r0, r1)[:, None]
            scores.masked_fill_(later, low)
        elif attention_mask is not None:
            mask = attention_mask[..., r0:r1, :width]
            if mask.dtype == torch.bool:
                scores.masked_fill_(~mask, low)
            else:
                scores.add_(mask)
        torch.softmax(scores, dim=-1, out=scores)
        out[:, :, r0:r1] = torch.matmul(scores, value[:, :, :width])
        on_block(r0, scores[0])
        del scores
    return out.transpose(1, 2).contiguous(), None


def register() -> None:
    """Register :data:`BLOCKS` with transformers' attention and mask interfaces (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(BLOCKS, block_attention_forward)
    AttentionMaskInterface.register(BLOCKS, sdpa_mask)


@contextlib.contextmanager
def block_attention(model: Any, rows: int, on_block: OnBlock) -> Iterator[None]:
    """Run ``model`` inside the block with :func:`block_attention_forward`, ``rows`` queries a block."""
    from . import loading

    if rows < 1:
        raise ValueError(f"rows={rows}: a block holds at least one query")
    register()
    with loading.model_lock(model):
        before = model.config._attn_implementation
        loading.set_attention(model, BLOCKS)
        token = _RUN.set((int(rows), on_block))
        try:
            yield
        finally:
            _RUN.reset(token)
            loading.set_attention(model, before)
