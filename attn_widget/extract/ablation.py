"""Rerun a model with attention knocked out: edges removed by an additive mask, heads' outputs zeroed.

:func:`rerun` is :func:`attn_widget.extract.forward.forward_pass` itself, run inside
hooks: one swaps the all-ones attention mask for an additive ``[T, T]`` mask
(``0`` where a query may attend to a key, the dtype's minimum where not, as
the faithfulness scores do), one zeroes the chosen heads' slices of each
layer's output projection input, and one keeps the final hidden state of the
position whose next token is read, through the model's own language-model
head. With nothing knocked out no hook changes anything, so the rerun is the
plain forward pass, to the bit.

What can be knocked out (:func:`allowed`): ``tokens`` (every edge *to* them
from another token; each still attends to itself), ``edges`` (``(query, key)``
pairs). A query keeps at least one key: removing a token's last edge is refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import Candidate
from ..core.prediction import TOP_K, PredictionChange
from ..core.types import Attention
from .forward import forward_pass
from .generate import piece_texts
from .perturb import jensen_shannon

Pairs = tuple[tuple[int, int], ...]

HEADS_NOTICE = (
    "Zeroed heads still attend as they did (their attention is part of the new graph); only what they "
    "write into the model was removed. Pass lens=... to leave them out of the graph too."
)


@dataclass(frozen=True)
class Knockout:
    """What :func:`knockout` checked: tokens, heads and edges to knock out, the mask, the position read."""

    tokens: tuple[int, ...]
    heads: Pairs
    edges: Pairs
    mask: np.ndarray | None
    position: int
    notices: tuple[str, ...] = ()


def _index(value: Any, n: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not -n <= int(value) < n:
        raise ValueError(f"{what} {value!r} is not a token index of this text (0..{n - 1})")
    return int(value) % n


def _pairs(value: Any, what: str) -> list[tuple[Any, Any]]:
    items = list(value)
    for item in items:
        if isinstance(item, (str, bytes)) or len(tuple(item)) != 2:
            raise ValueError(f"{what}={value!r}: give a list of pairs such as [(2, 5)], got {item!r}")
    return [(a, b) for a, b in items]


def knockout(
    n: int, tokens: Any, heads: Any, edges: Any, position: int | None, model: Any, *, causal: bool
) -> Knockout:
    """Check what :func:`attn_widget.ablate` was asked to knock out, naming any bad value and the fix."""
    if isinstance(tokens, (int, np.integer)):
        tokens = [tokens]
    toks = tuple(sorted({_index(i, n, "token") for i in tokens}))
    layers = head_projections(model)
    shape = (len(layers), layers[0][1]) if layers else None
    hs = []
    for layer, head in _pairs(heads, "heads"):
        if shape is None:
            raise ValueError(
                f"cannot zero heads of {type(model).__name__}: its attention layers are not known here"
            )
        if not (
            isinstance(layer, int)
            and isinstance(head, int)
            and 0 <= layer < shape[0]
            and 0 <= head < shape[1]
        ):
            raise ValueError(
                f"head ({layer}, {head}) does not exist: the model has {shape[0]} layers of "
                f"{shape[1]} heads (layer 0..{shape[0] - 1}, head 0..{shape[1] - 1})"
            )
        hs.append((layer, head))
    es = []
    for q, k in _pairs(edges, "edges"):
        q, k = _index(q, n, "edge query"), _index(k, n, "edge key")
        if causal and k > q:
            raise ValueError(
                f"edge ({q}, {k}) does not exist: in a causal model token {q} cannot attend to "
                f"the later token {k}; give (query, key) with key <= query"
            )
        es.append((q, k))
    at = n - 1 if position is None else _index(position, n, "position")
    said = (HEADS_NOTICE,) if hs else ()
    return Knockout(
        toks,
        tuple(sorted(set(hs))),
        tuple(sorted(set(es))),
        allowed(n, toks, tuple(es), causal=causal),
        at,
        said,
    )


def allowed(n: int, tokens: Sequence[int], edges: Pairs, *, causal: bool) -> np.ndarray | None:
    """``[n, n]`` bool: which query (row) may attend to which key (column); ``None``: nothing removed."""
    if not tokens and not edges:
        return None
    mask = np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool)
    keep_self = np.diag(mask).copy()
    mask[:, list(tokens)] = False
    mask[np.arange(n), np.arange(n)] = keep_self
    for q, k in edges:
        mask[q, k] = False
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(
            f"token {int(empty[0])} would attend to nothing: every edge it has would be removed; "
            "keep at least one of its edges (e.g. its edge to itself)"
        )
    return mask


def head_projections(model: Any) -> list[tuple[Any, int, int]]:
    """Per layer: ``(module whose input holds the heads side by side, number of heads, head size)``.

    GPT-2's ``c_proj``, Llama-style ``o_proj`` (SmolLM2), BERT's ``attention.output.dense``.
    """
    config = getattr(model, "config", None)
    out = []
    for module in model.modules():
        if hasattr(module, "c_attn") and hasattr(module, "c_proj") and hasattr(module, "num_heads"):
            out.append((module.c_proj, int(module.num_heads), int(module.head_dim)))
        elif hasattr(module, "o_proj") and hasattr(module, "head_dim"):
            heads = int(
                getattr(config, "num_attention_heads", 0) or module.o_proj.in_features // module.head_dim
            )
            out.append((module.o_proj, heads, int(module.head_dim)))
        elif (
            hasattr(module, "self")
            and hasattr(module, "output")
            and hasattr(module.self, "num_attention_heads")
        ):
            out.append(
                (
                    module.output.dense,
                    int(module.self.num_attention_heads),
                    int(module.self.attention_head_size),
                )
            )
    return out


@contextlib.contextmanager
def _hooks(
    model: Any, mask: np.ndarray | None, heads: Pairs, position: int, causal: bool
) -> Iterator[dict[str, Any]]:
    import torch

    kept: dict[str, Any] = {}
    net = getattr(model, "base_model", model)
    handles = []
    if mask is not None:
        additive = torch.where(torch.as_tensor(mask), 0.0, torch.finfo(torch.float32).min)[None, None]

        def swap(_module: Any, args: Any, kwargs: dict[str, Any]) -> Any:
            return args, {**kwargs, "attention_mask": additive.to(next(net.parameters()).dtype)}

        handles.append(net.register_forward_pre_hook(swap, with_kwargs=True))
    if heads:
        layers = head_projections(model)
        if not layers:
            raise ValueError(
                f"cannot zero heads of {type(model).__name__}: its attention layers are not known here"
            )
        for layer in sorted({h[0] for h in heads}):
            proj, _, size = layers[layer]
            cols = [c for _, h in heads if _ == layer for c in range(h * size, (h + 1) * size)]

            def zero(_module: Any, args: Any, cols: list[int] = cols) -> Any:
                x = args[0].clone()
                x[..., cols] = 0
                return (x, *args[1:])

            handles.append(proj.register_forward_pre_hook(zero))
    if causal:

        def keep(_module: Any, _args: Any, output: Any) -> None:
            if "hidden" not in kept:  # the forward pass's, not a later backward pass's
                kept["hidden"] = output.last_hidden_state[0, position].detach().clone()

        handles.append(net.register_forward_hook(keep))
    try:
        yield kept
    finally:
        for handle in handles:
            handle.remove()


def rerun(
    model: Any,
    ids: Sequence[int],
    *,
    name: str,
    causal: bool,
    mask: np.ndarray | None = None,
    heads: Pairs = (),
    position: int = -1,
    gradient: Callable[..., Attention] | None = None,
) -> tuple[Attention, dict[str, np.ndarray], np.ndarray | None]:
    """A (perturbed) forward pass: attention, per-head data and (causal model) the next-token distribution.

    The per-head data are what :func:`~attn_widget.extract.forward.forward_pass`
    measures in the pass (value norms), plus ``gradient(model, ids, name=, causal=)``'s
    under the same knockouts when given. ``position``: whose next token is read
    (``-1``: the last); the distribution comes from the model's own output head
    applied to that position's final hidden state.
    """
    import torch

    position = position % len(ids)
    with _hooks(model, mask, heads, position, causal) as kept:
        attentions, data = forward_pass(model, ids, name=name, causal=causal)
        if gradient is not None:
            data["gradient"] = gradient(model, ids, name=name, causal=causal)
    head = model.get_output_embeddings() if causal and hasattr(model, "get_output_embeddings") else None
    if head is None or "hidden" not in kept:
        return attentions, data, None
    with torch.inference_mode():
        logits = head(kept["hidden"][None])[0].to(torch.float64)
    return attentions, data, torch.softmax(logits, dim=-1).numpy()


def top(probs: np.ndarray, tokenizer: Any, k: int = TOP_K) -> tuple[Candidate, ...]:
    """The ``k`` most likely tokens of a distribution, most likely first."""
    order = np.argsort(-probs, kind="stable")[:k]
    texts = piece_texts(tokenizer)([int(i) for i in order])
    return tuple(Candidate(text, int(i), float(probs[i])) for text, i in zip(texts, order, strict=True))


def prediction_change(
    before: np.ndarray, after: np.ndarray, position: int, tokenizer: Any
) -> PredictionChange:
    """How the next-token distribution after ``position`` moved from ``before`` to ``after``."""
    first = top(before, tokenizer)
    token = first[0]
    return PredictionChange(
        position=position,
        before=first,
        after=top(after, tokenizer),
        token=token,
        probability_before=float(before[token.id]),
        probability_after=float(after[token.id]),
        divergence=float(jensen_shannon(before, after)),
    )
