"""Run a model on text and return its attention, with tokens that carry character offsets.

:func:`extract` loads the model (:mod:`attn_widget.extract.loading`), tokenizes
(:mod:`attn_widget.extract.tokens`), refuses input whose attention would not fit
in memory, and runs one forward pass (:func:`forward`). Clustering is not done
here: :func:`attn_widget.analyze` hands the result to the graph layer.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import Token
from ..core.options import DEFAULT_MODEL
from ..core.types import Attention
from . import loading
from .gradient import attention_gradient
from .tokens import tokenize
from .values import value_norm_hooks

Progress = Callable[[str, float], Any]
"""``progress(stage, fraction)``: told what runs now ("loading model gpt2…") and how far along (0–1)."""

OVERLENGTH_POLICIES = ("error", "truncate")
"""What to do with text longer than the model's context."""


@dataclass(frozen=True, eq=False)
class Extraction:
    """Attention of one forward pass.

    Attributes
    ----------
    text
        The original text.
    tokens
        One :class:`~attn_widget.Token` per position (a prepended BOS
        and ``[CLS]``/``[SEP]`` are ``special`` with ``start = end = None``).
    attentions
        ``[layer, head, T, T]`` float32 attention probabilities.
    sink
        Token indices that act as attention sinks (the first token of a causal
        model; the special tokens of an encoder), left out of the graph by default.
    model
        Name of the model (``loading.load(name)`` gives it back).
    causal
        True for decoder-only loading.
    notices
        Things the user should see (a fallback model, truncation).
    head_data
        Per-head arrays measured in the same pass for the edge measures
        (:mod:`attn_widget.graph.measures`), e.g. ``"value_norm"``.
    """

    text: str
    tokens: tuple[Token, ...]
    attentions: Attention
    sink: tuple[int, ...]
    model: str
    causal: bool
    notices: tuple[str, ...] = ()
    head_data: Mapping[str, np.ndarray] = field(default_factory=dict)


def extract(
    text: str,
    model: Any = DEFAULT_MODEL,
    tokenizer: Any = None,
    *,
    prepend_bos: bool | None = None,
    overlength: str = "error",
    progress: Progress | None = None,
    gradient: bool = False,
) -> Extraction:
    """Run ``model`` on ``text`` and return its attention and tokens.

    Parameters
    ----------
    text
        Non-empty text.
    model
        Hub name, local folder, ``"smollm2"`` / ``"minilm"``, or a loaded model
        (then pass ``tokenizer``). Left at its default, GPT-2 falls back to
        SmolLM2 (with a notice) when GPT-2 cannot be loaded; a named model never does.
    tokenizer
        Tokenizer object or name/folder; defaults to the model's own.
    prepend_bos
        Put the BOS token first. ``None`` (default): yes for causal models whose
        tokenizer does not add one itself (GPT-2, as TransformerLens does), no for encoders.
    overlength
        ``"error"`` (default) or ``"truncate"`` (keep the first tokens that fit,
        with a warning and a notice) for text longer than the model's context.
    progress
        Optional ``progress(stage, fraction)``, called with "loading model …"
        (0.0), "running the model on N tokens…" (0.3) and, with ``gradient``,
        "measuring what the output depends on…" (0.5).
    gradient
        Also run one backward pass for ``head_data["gradient"]``
        (:mod:`attn_widget.extract.gradient`), which the ``gradient`` edge measure needs.

    Returns
    -------
    Extraction
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text={text!r} is empty or only whitespace; give some text to analyse")
    if overlength not in OVERLENGTH_POLICIES:
        raise ValueError(f"overlength={overlength!r}: choose 'error' or 'truncate'")
    report = reporter(progress)
    report(f"loading model {_model_name(model)}…", 0.0)
    net, tok, name, notices = loading.resolve(model, tokenizer)
    causal = loading.is_causal_config(net.config)
    ids, tokens, more = tokenize(
        text, tok, name=name, causal=causal, prepend_bos=prepend_bos,
        limit=context_length(net, tok), overlength=overlength,
    )
    for notice in more:
        warnings.warn(notice, UserWarning, stacklevel=2)
    check_memory(net.config, len(ids), name=name)
    report(f"running the model on {len(ids)} tokens…", 0.3)
    attentions, head_data = forward_pass(net, ids, name=name, causal=causal)
    if gradient:
        report(f"measuring what the output depends on (a backward pass over {len(ids)} tokens)…", 0.5)
        head_data["gradient"] = attention_gradient(net, ids, name=name, causal=causal)
    if causal:
        sink: tuple[int, ...] = (0,)
    else:
        sink = tuple(i for i, t in enumerate(tokens) if t.special)
    return Extraction(text, tokens, attentions, sink, name, causal, (*notices, *more), head_data)


def context_length(model: Any, tokenizer: Any) -> int | None:
    """Most positions the model reads (``n_positions`` / ``max_position_embeddings``)."""
    config = model.config
    limits = [getattr(config, k, None) for k in ("n_positions", "max_position_embeddings")]
    limit = next((int(v) for v in limits if isinstance(v, int) and v > 0), None)
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limit = tok_max if limit is None else min(limit, tok_max)
    return limit


MAX_ATTENTION_BYTES = int(os.environ.get("ATTN_WIDGET_MAX_ATTENTION_BYTES", 4 * 2**30))
"""Largest float32 attention tensor (``layers × heads × T × T × 4`` bytes) a forward pass may make.

The forward pass briefly holds it twice (torch's copy and ours), so the default
4 GiB means about 8 GiB at peak. Raise it (or set the environment variable
``ATTN_WIDGET_MAX_ATTENTION_BYTES``) on a machine with more memory.
"""


def check_memory(config: Any, n_tokens: int, *, name: str) -> None:
    """Refuse, before running the model, a text whose attention would not fit in memory."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    layers = _first_int(text_config, ("num_hidden_layers", "n_layer", "num_layers"))
    heads = _first_int(text_config, ("num_attention_heads", "n_head", "num_heads"))
    if layers is None or heads is None:
        return
    need = layers * heads * n_tokens * n_tokens * 4
    if need > MAX_ATTENTION_BYTES:
        fits = int((MAX_ATTENTION_BYTES / (layers * heads * 4)) ** 0.5)
        raise ValueError(
            f"the text is {n_tokens} tokens: model {name!r}'s attention for it would take "
            f"{need / 2**30:.1f} GiB ({layers} layers x {heads} heads x {n_tokens}² float32, held twice "
            f"while the model runs), over the limit of {MAX_ATTENTION_BYTES / 2**30:.1f} GiB; shorten the "
            f"text to about {fits} tokens, or raise attn_widget.extract.forward.MAX_ATTENTION_BYTES "
            "(env ATTN_WIDGET_MAX_ATTENTION_BYTES) if this machine has the memory"
        )


def _first_int(config: Any, keys: Sequence[str]) -> int | None:
    return next((int(v) for k in keys if isinstance(v := getattr(config, k, None), int) and v > 0), None)


def forward(model: Any, ids: Sequence[int], *, name: str, causal: bool) -> Attention:
    """One forward pass → float32 ``[layer, head, T, T]`` attention (see :func:`forward_pass`)."""
    return forward_pass(model, ids, name=name, causal=causal, value_norms=False)[0]


def forward_pass(
    model: Any, ids: Sequence[int], *, name: str, causal: bool, value_norms: bool = True
) -> tuple[Attention, dict[str, np.ndarray]]:
    """One forward pass → float32 ``[layer, head, T, T]`` attention and the per-head data measured with it.

    With ``value_norms``, hooks measure ``head_data["value_norm"]`` (``[layer, head, T]``,
    :mod:`attn_widget.extract.values`) in the same pass, for the ``norm`` edge measure;
    an architecture the hooks do not know simply gets none. Torch's per-layer
    attention tensors are released as they are copied, so at most one full copy of
    the attention (plus one layer) is held at a time.
    """
    import torch

    net = getattr(model, "base_model", model)  # skip the LM head: its logits are not needed
    device = next(net.parameters()).device
    input_ids = torch.tensor([list(ids)], dtype=torch.long, device=device)
    kwargs: dict[str, Any] = {"attention_mask": torch.ones_like(input_ids), "output_attentions": True}
    if causal:
        kwargs["use_cache"] = False
    hooks = value_norm_hooks(model) if value_norms else contextlib.nullcontext(None)
    with torch.inference_mode(), loading.eager_attention(model), hooks as norms:
        out = net(input_ids=input_ids, **kwargs)
        layers = list(getattr(out, "attentions", None) or ())
        del out
        if not layers or any(a is None for a in layers):
            raise ValueError(
                f"model {name!r} returned no attention weights; load it with "
                "attn_implementation='eager' (sdpa and flash attention do not return them)"
            )
        n_heads, length = int(layers[0].shape[1]), int(layers[0].shape[-1])
        att = np.empty((len(layers), n_heads, length, length), dtype=np.float32)
        for i in range(len(layers)):
            att[i] = layers[i][0].to(dtype=torch.float32, device="cpu").numpy()
            layers[i] = None
    data: dict[str, np.ndarray] = {}
    if norms is not None and len(norms) == att.shape[0] and norms[0].shape == (n_heads, length):
        data["value_norm"] = np.stack(norms).astype(np.float32)
    return att, data


def reporter(progress: Progress | None) -> Progress:
    """``progress`` checked, or a no-op when it is None."""
    if progress is None:
        return lambda stage, fraction: None
    if not callable(progress):
        raise TypeError(
            f"progress={progress!r} is not callable; "
            "pass a function progress(stage: str, fraction: float) or None"
        )
    return progress


def _model_name(model: Any) -> str:
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    return loading.describe(model)
