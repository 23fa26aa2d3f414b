"""Run a model on text and return its attention with readable, offset-carrying tokens.

:func:`extract` does the forward pass; :func:`analyze` runs it and then the
clustering pipeline (:func:`attn_widget.pipeline.analyze_attention`).

Tokens keep character offsets into the *original* text, so a front-end can
highlight the text itself. Their ``.text`` is readable: byte-level pieces are
decoded (``"Ġcat"`` → ``" cat"``, ``"Ċ"`` → ``"\\n"``); a piece holding only
part of a multi-byte character shows those bytes as ``\\xNN``, and its offsets
cover the whole character.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from . import models
from ._typing import Attention
from .analysis import Analysis, Token
from .models import DEFAULT_MODEL

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
        One :class:`~attn_widget.analysis.Token` per position (a prepended BOS
        and ``[CLS]``/``[SEP]`` are ``special`` with ``start = end = None``).
    attentions
        ``[layer, head, T, T]`` float32 attention probabilities.
    sink
        Token indices that act as attention sinks (the first token of a causal
        model; the special tokens of an encoder), left out of the graph by default.
    model
        Name of the model (``models.load(name)`` gives it back).
    causal
        True for decoder-only models.
    notices
        Things the user should see (a fallback model, truncation).
    """

    text: str
    tokens: tuple[Token, ...]
    attentions: Attention
    sink: tuple[int, ...]
    model: str
    causal: bool
    notices: tuple[str, ...] = ()


def extract(
    text: str,
    model: Any = DEFAULT_MODEL,
    tokenizer: Any = None,
    *,
    prepend_bos: bool | None = None,
    overlength: str = "error",
    progress: Progress | None = None,
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
        (0.0) and "running the model on N tokens…" (0.3).

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
    report = _reporter(progress)
    report(f"loading model {_model_name(model)}…", 0.0)
    net, tok, name, notices = models.resolve(model, tokenizer)
    causal = models.is_causal_config(net.config)
    ids, tokens, more = tokenize(
        text, tok, name=name, causal=causal, prepend_bos=prepend_bos,
        limit=context_length(net, tok), overlength=overlength,
    )
    for notice in more:
        warnings.warn(notice, UserWarning, stacklevel=2)
    check_memory(net.config, len(ids), name=name)
    report(f"running the model on {len(ids)} tokens…", 0.3)
    attentions = forward(net, ids, name=name, causal=causal)
    if causal:
        sink: tuple[int, ...] = (0,)
    else:
        sink = tuple(i for i, t in enumerate(tokens) if t.special)
    return Extraction(text, tokens, attentions, sink, name, causal, (*notices, *more))


def tokenize(
    text: str,
    tokenizer: Any,
    *,
    name: str,
    causal: bool,
    prepend_bos: bool | None,
    limit: int | None,
    overlength: str,
) -> tuple[list[int], tuple[Token, ...], tuple[str, ...]]:
    """Token ids, readable :class:`Token` objects and notices, applying the BOS and length policies."""
    bos = getattr(tokenizer, "bos_token_id", None)
    ids, offsets = _encode(tokenizer, text, None)
    if prepend_bos is None:
        prepend_bos = causal and bos is not None
    prepend_bos = bool(prepend_bos) and not (ids and ids[0] == bos)  # never two BOS tokens
    if prepend_bos and bos is None:
        raise ValueError(f"prepend_bos=True, but the tokenizer of model {name!r} has no BOS token; "
                         "pass prepend_bos=False")
    extra = int(prepend_bos)
    notices: tuple[str, ...] = ()
    if limit is not None and len(ids) + extra > limit:
        total = len(ids) + extra
        if overlength == "error":
            raise ValueError(
                f"the text is {total} tokens but model {name!r} reads at most {limit} (its context "
                f"length); shorten the text or pass overlength='truncate' to analyse the first {limit} tokens"
            )
        ids, offsets = _encode(tokenizer, text, limit - extra)
        ends = [e for s, e in (offsets or ()) if e > s]
        upto = f" (characters 0-{max(ends)} of {len(text)})" if ends else ""
        notices = (f"The text is {total} tokens but model {name!r} reads at most {limit}; only the "
                   f"first {len(ids) + extra} tokens{upto} were analysed (overlength='truncate').",)
    tokens = make_tokens(text, tokenizer, ids, offsets)
    if prepend_bos and bos is not None:
        ids = [int(bos), *ids]
        tokens = (Token(text=str(tokenizer.bos_token), id=bos, special=True), *tokens)
    return ids, tokens, notices


Offsets = list[tuple[int, int]]
Spans = list[tuple[int | None, int | None]]


def _encode(tokenizer: Any, text: str, max_length: int | None) -> tuple[list[int], Offsets | None]:
    kwargs: dict[str, Any] = {"truncation": True, "max_length": max_length} if max_length else {}
    try:
        enc = tokenizer(text, return_offsets_mapping=True, verbose=False, **kwargs)
        offsets = [(int(a), int(b)) for a, b in enc["offset_mapping"]]
    except (NotImplementedError, TypeError, KeyError):  # slow tokenizers have no offsets
        enc, offsets = tokenizer(text, **kwargs), None
    return [int(i) for i in enc["input_ids"]], offsets


def make_tokens(
    text: str, tokenizer: Any, ids: Sequence[int], offsets: Offsets | None
) -> tuple[Token, ...]:
    """Readable tokens with character offsets into ``text`` (see the module docstring)."""
    special_ids = set(getattr(tokenizer, "all_special_ids", ()) or ())
    pieces = tokenizer.convert_ids_to_tokens(list(ids))
    special = [i in special_ids for i in ids]
    decode = _byte_decoder() if _is_byte_level(tokenizer) else None
    raw = [bytes(decode.get(c, 0) for c in p) for p in pieces] if decode else None
    spans = _byte_spans(text, raw, special) if raw else None
    table: Sequence[tuple[int | None, int | None]] = spans or offsets or [(None, None)] * len(ids)
    out = []
    for i, (tid, piece) in enumerate(zip(ids, pieces, strict=True)):
        start, end = table[i]
        if special[i] and (start is None or start == end):
            out.append(Token(text=str(piece), id=int(tid), special=True))
            continue
        if raw is not None:
            shown = raw[i].decode("utf-8", errors="backslashreplace")
        elif start is not None and end is not None and end > start:
            shown = text[start:end]
        else:
            shown = str(piece).removeprefix("##").replace("\u2581", " ")
        out.append(Token(text=shown, start=start, end=end, id=int(tid), special=special[i]))
    return tuple(out)


def _byte_spans(text: str, raw: list[bytes], special: list[bool]) -> Spans | None:
    """Character span of each byte-level piece; ``None`` if the pieces do not spell ``text``."""
    encoded = text.encode("utf-8")
    if b"".join(r for r, s in zip(raw, special, strict=True) if not s) != encoded:
        return None  # a normaliser changed the text, or it spells a special token: use HF's offsets
    char_at = np.repeat(np.arange(len(text)), [len(c.encode("utf-8")) for c in text])
    spans: Spans = []
    pos = 0
    for piece, is_special in zip(raw, special, strict=True):
        if is_special or not piece:
            spans.append((None, None) if is_special else (int(char_at[min(pos, len(encoded) - 1)]),) * 2)
            continue
        spans.append((int(char_at[pos]), int(char_at[pos + len(piece) - 1]) + 1))
        pos += len(piece)
    return spans


def _is_byte_level(tokenizer: Any) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    decoder = json.loads(backend.to_str()).get("decoder") or {}
    parts = decoder.get("decoders", [decoder]) if decoder.get("type") == "Sequence" else [decoder]
    return any(p.get("type") == "ByteLevel" for p in parts)


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's byte → printable-character map (``"Ġ"`` → 32, ``"Ċ"`` → 10)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


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
            f"text to about {fits} tokens, or raise attn_widget.extract.MAX_ATTENTION_BYTES "
            "(env ATTN_WIDGET_MAX_ATTENTION_BYTES) if this machine has the memory"
        )


def _first_int(config: Any, keys: Sequence[str]) -> int | None:
    return next((int(v) for k in keys if isinstance(v := getattr(config, k, None), int) and v > 0), None)


def forward(model: Any, ids: Sequence[int], *, name: str, causal: bool) -> Attention:
    """One forward pass → float32 ``[layer, head, T, T]``, copied layer by layer.

    Torch's per-layer tensors are released as they are copied, so at most one
    full copy of the attention (plus one layer) is held at a time.
    """
    import torch

    net = getattr(model, "base_model", model)  # skip the LM head: its logits are not needed
    device = next(net.parameters()).device
    input_ids = torch.tensor([list(ids)], dtype=torch.long, device=device)
    kwargs: dict[str, Any] = {"attention_mask": torch.ones_like(input_ids), "output_attentions": True}
    if causal:
        kwargs["use_cache"] = False
    with torch.inference_mode(), models.eager_attention(model):
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
    return att


_PIPELINE_OPTIONS = frozenset(
    {"threshold", "method", "aggregation", "seed", "threshold_mode", "layers", "heads", "exclude"}
)


def analyze(
    text: str,
    model: Any = DEFAULT_MODEL,
    tokenizer: Any = None,
    *,
    prepend_bos: bool | None = None,
    exclude_sink: bool = True,
    overlength: str = "error",
    progress: Progress | None = None,
    **options: Any,
) -> Analysis:
    """Run ``model`` on ``text`` and cluster its tokens by attention.

    Parameters
    ----------
    text, model, tokenizer, prepend_bos, overlength
        As for :func:`extract`.
    exclude_sink
        Leave the attention sink (see :attr:`Extraction.sink`) out of the graph
        and renormalise rows (default True).
    progress
        Optional ``progress(stage, fraction)`` told each stage as it starts:
        "loading model NAME…" (0.0), "running the model on N tokens…" (0.3),
        "clustering…" (0.7), then "done" (1.0). The widget shows these.
    **options
        ``threshold``, ``method``, ``aggregation``, ``seed``, ``threshold_mode``,
        ``layers``, ``heads``, ``exclude`` (extra token indices to leave out),
        as for :func:`attn_widget.analyze_attention`.

    Returns
    -------
    Analysis
        With ``model`` set to the model's name and ``notices`` (fallback, truncation).
    """
    from .pipeline import analyze_attention

    unknown = sorted(set(options) - _PIPELINE_OPTIONS)
    if unknown:
        extra = {"tokenizer", "prepend_bos", "exclude_sink", "overlength", "progress"}
        allowed = sorted(_PIPELINE_OPTIONS | extra)
        raise TypeError(f"analyze() got unexpected keyword arguments {unknown}; allowed: {allowed}")
    _check_choices(options)  # before the (possibly slow) forward pass
    report = _reporter(progress)
    ex = extract(text, model, tokenizer, prepend_bos=prepend_bos, overlength=overlength, progress=progress)
    n = len(ex.tokens)
    exclude = {int(i) % n if -n <= int(i) < n else int(i) for i in options.pop("exclude", ())}
    notices = list(ex.notices)
    if exclude_sink:
        if len(exclude | set(ex.sink)) < n:
            exclude |= set(ex.sink)
        else:
            notices.append("The text is too short to leave out the attention sink; all tokens are clustered.")
    report("clustering…", 0.7)
    result = analyze_attention(
        ex.attentions, ex.tokens, text=text, model=ex.model,
        notices=tuple(notices), exclude=sorted(exclude), **options,
    )
    report("done", 1.0)
    return result


def _reporter(progress: Progress | None) -> Progress:
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
    return models.describe(model)


def _check_choices(options: dict[str, Any]) -> None:
    from .aggregate import AGGREGATIONS
    from .cluster import METHODS
    from .graph import THRESHOLDS

    METHODS[options.get("method", "louvain")]  # each raises ValueError naming the choices
    AGGREGATIONS[options.get("aggregation", "mean")]
    THRESHOLDS[options.get("threshold_mode", "absolute")]
