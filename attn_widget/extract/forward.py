"""Run a model on text and return its attention, with tokens that carry character offsets.

:func:`extract` loads the model (:mod:`attn_widget.extract.loading`) and tokenizes
(:func:`prepare`, with :mod:`attn_widget.extract.tokens`), refuses input whose
attention would not fit in memory, and runs one forward pass (:func:`run`,
:func:`forward_pass`). :func:`resolve_keep` decides whether an analysis keeps the
raw attention or streams it (:mod:`attn_widget.extract.hooks`). Clustering is
not done here: :func:`attn_widget.analyze` hands the result to the graph layer.
"""

from __future__ import annotations

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
from .blocks import parse_bytes
from .gradient import attention_gradient
from .hooks import attention_modules, stream_attention
from .tokens import tokenize
from .values import require as require_norms

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


@dataclass(frozen=True, eq=False)
class Prepared:
    """A model and a tokenized text, ready for a forward pass (:func:`prepare`)."""

    text: str
    model: Any
    name: str
    ids: tuple[int, ...]
    tokens: tuple[Token, ...]
    causal: bool
    notices: tuple[str, ...]

    @property
    def sink(self) -> tuple[int, ...]:
        """The model's own sink tokens: a causal model's first token, an encoder's special tokens."""
        if self.causal:
            return (0,)
        return tuple(i for i, t in enumerate(self.tokens) if t.special)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(layers, heads, tokens)`` of the attention a forward pass makes."""
        layers, heads = model_shape(self.model.config)
        return layers or 0, heads or 0, len(self.ids)


def prepare(
    text: str,
    model: Any = DEFAULT_MODEL,
    tokenizer: Any = None,
    *,
    prepend_bos: bool | None = None,
    overlength: str = "error",
    progress: Progress | None = None,
) -> Prepared:
    """Load ``model`` and tokenize ``text`` (the options are :func:`extract`'s); no forward pass yet."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text={text!r} is empty or only whitespace; give some text to analyse")
    if overlength not in OVERLENGTH_POLICIES:
        raise ValueError(f"overlength={overlength!r}: choose 'error' or 'truncate'")
    report = reporter(progress)
    report(f"loading model {_model_name(model)}…", 0.0)
    net, tok, name, notices = loading.resolve(model, tokenizer, falling_back=fallback_reporter(model, report))
    refuse_encoder_decoder(net, name)
    causal = loading.is_causal_config(net.config)
    ids, tokens, more = tokenize(
        text, tok, name=name, causal=causal, prepend_bos=prepend_bos,
        limit=context_length(net, tok), overlength=overlength,
    )
    for notice in more:
        warnings.warn(notice, UserWarning, stacklevel=3)
    return Prepared(text, net, name, tuple(int(i) for i in ids), tokens, causal, (*notices, *more))


class EncoderDecoderModel(ValueError):
    """An encoder–decoder model where one text is read (:func:`refuse_encoder_decoder`)."""


def refuse_encoder_decoder(model: Any, name: str) -> None:
    """Refuse an encoder–decoder model (T5, BART, Marian) where one text is read (``analyze`` routes them
    to :mod:`attn_widget.runs.pairs` before this)."""
    config = getattr(model, "config", None)
    if getattr(config, "is_encoder_decoder", False):
        raise EncoderDecoderModel(
            f"model {name!r} ({getattr(config, 'model_type', '?')}) is an encoder–decoder model, and this "
            "reads one text through one stack (decoder-only or encoder-only); attn_widget.analyze(source, "
            "model=..., target=...) reads a source and a target with the cross-attention between them"
        )


def check_measure(prep: Prepared, measure: str) -> None:
    """Refuse, before any pass, a ``measure`` the model cannot give (value norms of an unknown layout).

    Raises :class:`~attn_widget.extract.families.UnsupportedModel` naming the family and what is missing.
    """
    if measure == "norm":
        require_norms(prep.model, prep.name)


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
    prep = prepare(text, model, tokenizer, prepend_bos=prepend_bos, overlength=overlength, progress=progress)
    return run(prep, progress=progress, gradient=gradient)


def run(prep: Prepared, *, progress: Progress | None = None, gradient: bool = False) -> Extraction:
    """The forward pass (and, with ``gradient``, the backward pass) of :func:`extract` on a prepared text."""
    report = reporter(progress)
    n = len(prep.ids)
    check_memory(prep.model.config, n, name=prep.name)
    if gradient:
        check_gradient_memory(prep.model.config, n, name=prep.name)
    report(f"running the model on {n} tokens…", 0.3)
    attentions, head_data = forward_pass(prep.model, prep.ids, name=prep.name, causal=prep.causal)
    if gradient:
        report(f"measuring what the output depends on (a backward pass over {n} tokens)…", 0.5)
        head_data["gradient"] = attention_gradient(prep.model, prep.ids, name=prep.name, causal=prep.causal)
    return Extraction(
        prep.text, prep.tokens, attentions, prep.sink, prep.name, prep.causal, prep.notices, head_data
    )


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
"""Largest float32 attention tensor (``layers × heads × T × T × 4`` bytes) ``keep="attention"`` may keep.

The forward pass copies each layer into it as the layer is computed, so the peak
is this plus one layer. Raise it (or set the environment variable
``ATTN_WIDGET_MAX_ATTENTION_BYTES``) on a machine with more memory; longer texts
are streamed (``keep="summary"``), which keeps no per-head maps.
"""

KEEP_ATTENTION_BYTES = int(os.environ.get("ATTN_WIDGET_KEEP_ATTENTION_BYTES", 512 * 2**20))
"""With ``keep="auto"`` (the default), the raw attention is kept up to this size; a larger one is streamed.

512 MiB: GPT-2 small keeps it up to about 970 tokens, SmolLM2 (270 heads) up to
about 700. Environment variable ``ATTN_WIDGET_KEEP_ATTENTION_BYTES``.
"""

KEEP_POLICIES = ("auto", "attention", "summary")
"""What an analysis keeps of the attention (:func:`resolve_keep`)."""


def model_shape(config: Any) -> tuple[int | None, int | None]:
    """``(layers, heads per layer)`` a model's config declares (``None`` where it does not say)."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    layers = _first_int(text_config, ("num_hidden_layers", "n_layer", "num_layers"))
    heads = _first_int(text_config, ("num_attention_heads", "n_head", "num_heads"))
    return layers, heads


def attention_bytes(config: Any, n_tokens: int) -> int | None:
    """Bytes of the float32 ``[layer, head, T, T]`` attention for ``n_tokens`` (``None``: shape unknown)."""
    layers, heads = model_shape(config)
    if layers is None or heads is None:
        return None
    return layers * heads * n_tokens * n_tokens * 4


def resolve_keep(keep: str, config: Any, n_tokens: int, *, max_memory: Any = None) -> str:
    """``"attention"`` (keep the raw ``[layer, head, T, T]``) or ``"summary"`` (stream it) for ``keep``.

    ``"auto"`` keeps the raw attention when it takes at most :data:`KEEP_ATTENTION_BYTES`
    (and at most ``max_memory``, bytes or ``"2GB"``, when given).
    """
    if keep not in KEEP_POLICIES:
        raise ValueError(
            f"keep={keep!r}: choose 'auto' (the raw attention when it is small, else a summary), "
            "'attention' (always keep it) or 'summary' (stream it: aggregate each layer as the model runs)"
        )
    if keep != "auto":
        return keep
    need = attention_bytes(config, n_tokens)
    limit = KEEP_ATTENTION_BYTES if max_memory is None else min(KEEP_ATTENTION_BYTES, parse_bytes(max_memory))
    return "attention" if need is None or need <= limit else "summary"


def check_memory(config: Any, n_tokens: int, *, name: str) -> None:
    """Refuse, before running the model, a text whose kept attention would not fit in memory."""
    layers, heads = model_shape(config)
    need = attention_bytes(config, n_tokens)
    if need is None or layers is None or heads is None:
        return
    if need > MAX_ATTENTION_BYTES:
        fits = int((MAX_ATTENTION_BYTES / (layers * heads * 4)) ** 0.5)
        raise ValueError(
            f"the text is {n_tokens} tokens: model {name!r}'s attention for it would take "
            f"{need / 2**30:.1f} GiB ({layers} layers x {heads} heads x {n_tokens}² float32), over the "
            f"limit of {MAX_ATTENTION_BYTES / 2**30:.1f} GiB for keeping it; use keep='summary' (or "
            f"'auto') to stream it layer by layer, shorten the text to about {fits} tokens, or raise "
            "attn_widget.extract.forward.MAX_ATTENTION_BYTES (env ATTN_WIDGET_MAX_ATTENTION_BYTES) if this "
            "machine has the memory"
        )


GRADIENT_COPIES = 3
"""A backward pass keeps about this many ``[layer, head, T, T]`` float32 tensors alive at once
(the weights, their gradients and the scores before the softmax)."""


def check_gradient_memory(config: Any, n_tokens: int, *, name: str) -> None:
    """Refuse ``measure="gradient"`` for a text whose backward pass would not fit in memory.

    The backward pass needs every layer's attention at once (autograd keeps them),
    so it cannot be streamed.
    """
    layers, heads = model_shape(config)
    need = attention_bytes(config, n_tokens)
    if need is None or layers is None or heads is None:
        return
    if GRADIENT_COPIES * need > MAX_ATTENTION_BYTES:
        fits = int((MAX_ATTENTION_BYTES / (GRADIENT_COPIES * layers * heads * 4)) ** 0.5)
        raise ValueError(
            f"measure='gradient' runs a backward pass, which holds every layer's attention at once "
            f"(about {GRADIENT_COPIES * need / 2**30:.1f} GiB for {n_tokens} tokens of model {name!r}, "
            f"over the limit of {MAX_ATTENTION_BYTES / 2**30:.1f} GiB); it cannot be streamed. Use "
            f"measure='norm' or 'attention' for this text, or analyse at most about {fits} tokens with "
            "measure='gradient'"
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
    an architecture the hooks do not know simply gets none. Each layer's attention is
    copied into the result as soon as the layer has computed it
    (:func:`attn_widget.extract.hooks.stream_attention`), so the pass holds the
    result plus one layer.
    """
    modules = attention_modules(model)
    n_layers = len(modules) if modules else model_shape(model.config)[0]
    store: list[np.ndarray] = []

    def keep(layer: int, attention: np.ndarray, _norm: np.ndarray | None) -> None:
        if not store:
            store.append(np.empty((n_layers or 1, *attention.shape), dtype=np.float32))
        if layer >= store[0].shape[0]:  # a model that declares fewer layers than it runs
            grown = np.empty((layer + 1, *attention.shape), dtype=np.float32)
            grown[: store[0].shape[0]] = store[0]
            store[0] = grown
        store[0][layer] = attention

    data = stream_attention(model, ids, name=name, causal=causal, on_layer=keep, value_norms=value_norms)
    att = store[0]
    norms = data.get("value_norm")
    if norms is not None and norms.shape != att.shape[:3]:
        del data["value_norm"]
    return att, data


def fallback_reporter(model: Any, report: Progress) -> Callable[[str], None]:
    """Say, before a fallback model loads, that it is the one that will run (``model`` could not be had)."""
    return lambda name: report(f"loading model {name} ({_model_name(model)} could not be had)…", 0.0)


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
