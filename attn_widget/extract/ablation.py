"""Rerun a model with attention knocked out: edges removed from each layer's mask, heads' outputs zeroed.

:func:`rerun` is :func:`attn_widget.extract.forward.forward_pass` itself, run inside
hooks: one removes the knocked-out edges from the attention mask each attention
layer receives (the dtype's minimum added where a query may not attend to a
key; the model's own mask, positions and ALiBi biases stay as they were), one
zeroes the chosen heads' slices of each layer's output projection input, and
one keeps the final hidden state of the position whose next token is read,
through the model's own language-model head. With nothing knocked out no hook
changes anything, so the rerun is the plain forward pass, to the bit.

What can be knocked out (:func:`allowed`): ``tokens`` (every edge *to* them
from another token; each still attends to itself), ``edges`` (``(query, key)``
pairs). A query keeps at least one key: removing a token's last edge is refused.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import Candidate
from ..core.prediction import TOP_K, PredictionChange
from ..core.types import Attention
from . import lens, loading
from .families import Layer, UnsupportedModel, layers, model_type, try_layers
from .forward import forward_pass
from .hooks import attention_modules
from .perturb import jensen_shannon
from .tokens import piece_texts

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
    if isinstance(model, lens.LensModel):
        raise ValueError(lens.refuse(model, "ablate()"))
    if isinstance(tokens, (int, np.integer)):
        tokens = [tokens]
    toks = tuple(sorted({_index(i, n, "token") for i in tokens}))
    hs = []
    pairs = _pairs(heads, "heads")
    found = _known(model, "zero heads") if pairs else []
    shape = (len(found), found[0].n_heads) if found else (0, 0)
    for layer, head in pairs:
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


def _known(model: Any, what: str) -> list[Layer]:
    """The attention layers (:mod:`~attn_widget.extract.families`), or an error naming what is missing."""
    return layers(model, need=f"ablate() to {what}")


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
    """Per layer run: ``(module whose input holds the heads side by side, number of heads, head size)``.

    The output projection each family's entry in :mod:`attn_widget.extract.families` names
    (GPT-2's ``c_proj``, Llama-style ``o_proj``, BERT's ``attention.output.dense``, …).
    """
    found = try_layers(model)
    return [] if found is None else [(layer.out, layer.n_heads, layer.head_dim) for layer in found]


def _by_module(modules: Sequence[Any]) -> dict[int, tuple[Any, list[int]]]:
    """``id(module) → (module, the layers it runs, in order)``: one module may run several (ALBERT)."""
    out: dict[int, tuple[Any, list[int]]] = {}
    for i, module in enumerate(modules):
        out.setdefault(id(module), (module, []))[1].append(i)
    return out


def _with_mask(
    module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], allowed: Any, last: list[Any]
) -> Any:
    """The call's arguments with the edges ``allowed`` forbids removed from its attention mask.

    The model's own mask stays (causal, sliding window, padding, ALiBi biases added to it): an additive
    float mask gets the dtype's minimum, a keep-mask (bool or integer: DeBERTa) a zero where not allowed.
    ``last`` holds the previous call's ``[mask given, mask returned]``: the layers of a pass mostly receive
    the same mask object, which is then edited once, not once per layer.
    """
    import torch

    bound = inspect.signature(module.forward).bind_partial(*args, **kwargs)
    given_mask = mask = bound.arguments.get("attention_mask")
    if mask is not None and last and last[0] is mask:
        bound.arguments["attention_mask"] = last[1]
        return bound.args, bound.kwargs
    if mask is None:
        given = (*args, *kwargs.values())
        hidden = next((a for a in given if torch.is_tensor(a) and a.is_floating_point()), None)
        dtype = torch.float32 if hidden is None else hidden.dtype
        mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    if mask.is_floating_point():
        mask = torch.where(allowed, mask, torch.finfo(mask.dtype).min)
    else:
        mask = mask * allowed.to(mask.dtype)
    if given_mask is not None:
        last[:] = [given_mask, mask]
    bound.arguments["attention_mask"] = mask
    return bound.args, bound.kwargs


@contextlib.contextmanager
def _hooks(
    model: Any, mask: np.ndarray | None, heads: Pairs, position: int, causal: bool
) -> Iterator[dict[str, Any]]:
    import torch

    kept: dict[str, Any] = {}
    net = getattr(model, "base_model", model)
    handles = []
    runs: dict[int, int] = {}  # calls of each hooked module in this pass (one module may run several layers)
    last: list[Any] = []  # the mask a layer received and its edited copy (the next layer's is often it)

    def restart(*_: Any) -> None:
        runs.clear()
        last.clear()

    handles.append(net.register_forward_pre_hook(restart))
    if mask is not None:
        found = try_layers(model)  # the table's modules compute the attention, whether or not they return it
        modules = [(layer.weights, layer.index) for layer in found] if found else attention_modules(model)
        if modules is None:
            raise UnsupportedModel(
                f"ablate() cannot remove edges or tokens in model {model_type(model)!r} "
                f"({type(model).__name__}): no module that computes its attention is known (no entry in "
                "attn_widget.extract.families.FAMILIES, and the model class declares none); ablate heads "
                "only, or add an entry for its family"
            )
        allowed = torch.as_tensor(mask, device=next(net.parameters()).device)
        allowed = allowed[None, None] if allowed.ndim == 2 else allowed[:, None]  # [batch, 1, queries, keys]

        def add(module: Any, args: Any, kwargs: dict[str, Any]) -> Any:
            return _with_mask(module, args, kwargs, allowed, last)

        for module in {id(m): m for m, _ in modules}.values():
            handles.append(module.register_forward_pre_hook(add, with_kwargs=True))
    if heads:
        layers = _known(model, "zero heads")
        for key, (proj, order) in _by_module([layer.out for layer in layers]).items():
            size, cols = layers[order[0]].head_dim, {}
            for i in order:
                cols[i] = [c for ly, h in heads if ly == i for c in range(h * size, (h + 1) * size)]
            if not any(cols.values()):
                continue

            def zero(_module: Any, args: Any, key: int = key, order: Any = order, cols: Any = cols) -> Any:
                runs[key] = runs.get(key, 0) + 1
                chosen = cols[order[(runs[key] - 1) % len(order)]]
                if not chosen:
                    return None
                x = args[0].clone()
                x[..., chosen] = 0
                return (x, *args[1:])

            handles.append(proj.register_forward_pre_hook(zero))
    if causal:

        def keep(_module: Any, _args: Any, output: Any) -> None:
            if "hidden" not in kept:  # the forward pass's, not a later backward pass's
                kept["hidden"] = output.last_hidden_state[:, position].detach().clone()  # [batch, hidden]

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
    # the model's lock around the hooks too: another thread's pass (a widget's first-screen probe)
    # would run through them, and its hidden state would overwrite the one the prediction is read from
    with loading.model_lock(model), _hooks(model, mask, heads, position, causal) as kept:
        attentions, data = forward_pass(model, ids, name=name, causal=causal)
        if gradient is not None:
            data["gradient"] = gradient(model, ids, name=name, causal=causal)
    head = model.get_output_embeddings() if causal and hasattr(model, "get_output_embeddings") else None
    if head is None or "hidden" not in kept:
        return attentions, data, None
    with torch.inference_mode():
        logits = head(kept["hidden"][:1])[0].to(torch.float64)
    return attentions, data, torch.softmax(logits, dim=-1).numpy()


def next_token_probs(model: Any, ids: Sequence[int], knockouts: Sequence[Sequence[int]]) -> np.ndarray:
    """``[1 + len(knockouts), vocab]``: a causal model's next-token distribution after its last token,
    as it is (row 0) and with each set of tokens in ``knockouts`` knocked out (every edge to them
    removed, as :func:`allowed`), from the model's body alone (no attention kept).

    Knocking out tokens from ``t`` on changes nothing before ``t`` (no earlier query can see
    them): one pass keeps every position's keys and values, and each knockout reruns only the
    positions from its first token, on that cache cut at it. A model whose cache cannot be cut
    runs the knockouts as one batched pass over the whole text instead (the same numbers).
    """
    import torch

    net = getattr(model, "base_model", model)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None:
        raise ValueError(f"{type(model).__name__} has no output head to read a next-token prediction from")
    n = len(ids)
    masks = [allowed(n, list(k), (), causal=True) for k in knockouts]
    device = next(net.parameters()).device
    with loading.model_lock(model), torch.inference_mode():
        try:
            rows = _from_cache(model, torch.tensor([list(ids)], device=device), knockouts, masks)
        except (AttributeError, TypeError, ValueError, NotImplementedError):  # no cache to cut: all at once
            whole = np.tril(np.ones((n, n), dtype=bool))
            batch = torch.tensor([list(ids)] * (1 + len(masks)), device=device)
            with _hooks(model, np.stack([whole, *masks]), (), n - 1, True) as kept:  # type: ignore[list-item]
                net(input_ids=batch)
            rows = kept["hidden"]
        logits = head(rows).to(torch.float64)
    return torch.softmax(logits, dim=-1).numpy()


def _from_cache(model: Any, ids: Any, knockouts: Sequence[Sequence[int]], masks: Sequence[Any]) -> Any:
    """``[1 + len(knockouts), hidden]``: the last position's final hidden state as it is, then under
    each knockout, rerunning only the positions from the knockout's first token on a copy of the cache."""
    import copy

    import torch

    net = getattr(model, "base_model", model)
    out = net(input_ids=ids, use_cache=True)
    cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
    if cache is None or not hasattr(cache, "crop"):
        raise AttributeError("no cache that can be cut")
    name = "cache" if "cache" in inspect.signature(net.forward).parameters else "past_key_values"
    rows = [out.last_hidden_state[0, -1]]
    for tokens, mask in zip(knockouts, masks, strict=True):
        start = min(tokens)
        cut = copy.deepcopy(cache)
        cut.crop(start - ids.shape[1])  # a negative length: drop the last tokens (every transformers)
        with _hooks(model, mask[start:], (), 0, False):
            again = net(input_ids=ids[:, start:], use_cache=True, **{name: cut})
        rows.append(again.last_hidden_state[0, -1])
    return torch.stack(rows)


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
