"""Let a causal model write, keeping its attention: one new row per generated token, from the KV cache.

:func:`generate` runs the prompt once (its rows of attention), then feeds each
chosen token alone with the key/value cache, as ``model.generate`` does: that
pass returns the token's own row of attention (over everything before it and
itself) and the logits for the next token. One more single-token pass gives the
last token's row. Nothing is recomputed, so step ``k``'s attention is the
leading ``[:T_k, :T_k]`` block of the final ``[layer, head, T, T]`` array.

Tokens are chosen greedily, or sampled with a seed exactly as
``torch.manual_seed(seed); model.generate(do_sample=True, ...)`` does
(temperature, then top-k, then top-p, then one multinomial draw per step from a
generator seeded once). With ``chat=True`` the prompt goes through the
tokenizer's chat template; the template's own tokens are kept (the model reads
them) but listed in ``hidden`` and have no place in the readable text, which is
the prompt, a blank line and the reply. The prompt is given to the model as
its tokenizer encodes it, as ``model.generate(tokenizer(prompt).input_ids)``
sees it; ``prepend_bos=True`` puts a BOS token first and says so in a notice.
Clustering is not done here.
"""

from __future__ import annotations

import codecs
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import Candidate, Token
from ..core.prediction import TOP_K
from ..core.types import Attention
from . import lens, loading
from .forward import check_memory, context_length, fallback_reporter, reporter
from .tokens import _byte_decoder, _is_byte_level, make_tokens, piece_texts, tokenize
from .values import value_norm_hooks

CHAT_SEPARATOR = "\n\n"
"""Between the prompt and the reply in a chat's readable text."""

SAMPLING_DEFAULTS = {"temperature": 1.0, "top_k": 50, "top_p": 1.0}
"""``model.generate``'s own defaults, used when neither the call nor ``model.generation_config`` sets one."""


@dataclass(frozen=True, eq=False)
class Written:
    """What :func:`generate` returns: the whole sequence, its attention and each step's choice.

    ``steps[k]`` is ``(probability of the chosen token, top alternatives)``;
    the token itself is ``tokens[prompt_length + k]``.
    """

    text: str
    reply: str
    ids: list[int]
    tokens: tuple[Token, ...]
    attentions: Attention
    prompt_length: int
    steps: list[tuple[float, tuple[Candidate, ...]]]
    hidden: tuple[int, ...]
    sink: tuple[int, ...]
    stop: str
    model: str
    settings: dict[str, Any]
    notices: tuple[str, ...] = ()
    head_data: dict[str, np.ndarray] = field(default_factory=dict)


def sampling(
    model: Any, sample: bool, temperature: float | None, top_k: int | None, top_p: float | None
) -> dict[str, Any]:
    """The settings in force: those given, else ``model.generation_config``'s, else ``generate``'s."""
    config = getattr(model, "generation_config", None)
    given = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    out: dict[str, Any] = {"sample": bool(sample)}
    for key, value in given.items():
        if value is None:
            value = getattr(config, key, None)
        out[key] = SAMPLING_DEFAULTS[key] if value is None else value
    if not out["temperature"] > 0:
        raise ValueError(f"temperature={out['temperature']!r} must be above 0 (use sample=False for greedy)")
    if not 0 < out["top_p"] <= 1:
        raise ValueError(f"top_p={out['top_p']!r} must be in (0, 1]")
    if int(out["top_k"]) < 0:
        raise ValueError(f"top_k={out['top_k']!r} must be 0 (off) or more")
    out["temperature"], out["top_k"], out["top_p"] = (
        float(out["temperature"]),
        int(out["top_k"]),
        float(out["top_p"]),
    )
    return out


def _warpers(settings: dict[str, Any]) -> list[Any]:
    """The logits warpers ``model.generate`` applies for these settings, in its order."""
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    out: list[Any] = []
    if settings["temperature"] != 1.0:
        out.append(TemperatureLogitsWarper(settings["temperature"]))
    if settings["top_k"] != 0:
        out.append(TopKLogitsWarper(top_k=settings["top_k"], min_tokens_to_keep=1))
    if settings["top_p"] < 1.0:
        out.append(TopPLogitsWarper(top_p=settings["top_p"], min_tokens_to_keep=1))
    return out


def eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """Token ids that end the text (the generation config's, else the tokenizer's)."""
    value = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if value is None:
        value = getattr(tokenizer, "eos_token_id", None)
    if value is None:
        return set()
    return {int(v) for v in (value if isinstance(value, (list, tuple)) else [value])}


def generate(
    prompt: str,
    model: Any,
    tokenizer: Any = None,
    *,
    max_new_tokens: int,
    sample: bool = False,
    seed: int = 0,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    chat: bool = False,
    prepend_bos: bool | None = None,
    progress: Callable[[str, float], Any] | None = None,
) -> Written:
    """Generate up to ``max_new_tokens`` after ``prompt`` and keep every token's row of attention.

    See the module docstring. ``model`` / ``tokenizer`` as for
    :func:`attn_widget.extract.forward.extract`; the model must be a causal
    language model. ``progress(stage, fraction)`` hears "generating token k of N…".
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError(
            f"prompt={prompt!r} is empty or only whitespace; give the model something to continue"
        )
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} must be a whole number of at least 1")
    report = reporter(progress)
    report(f"loading model {model if isinstance(model, str) else loading.describe(model)}…", 0.0)
    net, tok, name, notices = loading.resolve(model, tokenizer, falling_back=fallback_reporter(model, report))
    if isinstance(net, lens.LensModel):
        raise ValueError(lens.refuse(net, "analyze_generation()"))
    if (
        not loading.is_causal_config(net.config)
        or getattr(net, "get_output_embeddings", lambda: None)() is None
    ):
        raise ValueError(
            f"model {name!r} does not generate text (it is an encoder, or has no language-model head); "
            "use a causal language model such as 'gpt2' or 'smollm2'"
        )
    settings = sampling(net, sample, temperature, top_k, top_p)
    limit = context_length(net, tok)
    if chat:
        ids, tokens, hidden = chat_prompt(prompt, tok, name)
    else:
        ids, tokens, _ = tokenize(
            prompt, tok, name=name, causal=True, prepend_bos=bool(prepend_bos), limit=None, overlength="error"
        )
        hidden = ()
        if prepend_bos:
            notices = (*notices, bos_notice(prompt, tok, name, ids))
    if limit is not None and len(ids) + max_new_tokens > limit:
        raise ValueError(
            f"the prompt is {len(ids)} tokens and {max_new_tokens} more would make "
            f"{len(ids) + max_new_tokens}, "
            f"but model {name!r} reads at most {limit}; shorten the prompt or lower max_new_tokens"
        )
    check_memory(net.config, len(ids) + max_new_tokens, name=name)
    chosen, att, steps, stop, data = _decode(
        net, ids, max_new_tokens, settings, seed, eos_ids(net, tok), tok, report
    )
    offset = len(prompt) + (len(CHAT_SEPARATOR) if chat else 0)
    reply, more = continuation(tok, chosen, offset, before=ids[-1])
    hidden = (*hidden, *(len(ids) + i for i, t in enumerate(more) if chat and t.special))
    text = prompt + (CHAT_SEPARATOR if chat else "") + reply
    report("done", 1.0)
    return Written(
        text=text,
        reply=reply,
        ids=[*ids, *chosen],
        tokens=(*tokens, *more),
        attentions=att,
        prompt_length=len(ids),
        steps=steps,
        hidden=tuple(hidden),
        sink=(0,),
        stop=stop,
        model=name,
        settings={**settings, "seed": int(seed), "chat": bool(chat), "max_new_tokens": max_new_tokens},
        head_data=data,
        notices=notices,
    )


def bos_notice(prompt: str, tok: Any, name: str, ids: Sequence[int]) -> str:
    """What ``prepend_bos=True`` changed: the token put before the prompt, or that it had one already."""
    own = tokenize(prompt, tok, name=name, causal=True, prepend_bos=False, limit=None, overlength="error")[0]
    if len(ids) == len(own):
        return f"prepend_bos=True: the prompt starts with the BOS token {tok.bos_token!r}; none added."
    return (
        f"A BOS token {tok.bos_token!r} was put before the prompt (prepend_bos=True): the model read "
        f"{len(ids)} prompt tokens where model.generate(tokenizer(prompt).input_ids) reads {len(own)}, so "
        "its continuation can differ from yours. Leave prepend_bos unset to give it the prompt as its "
        "tokenizer encodes it."
    )


def _decode(
    net: Any,
    ids: list[int],
    n: int,
    settings: dict[str, Any],
    seed: int,
    eos: set[int],
    tok: Any,
    report: Callable[[str, float], Any],
) -> tuple[list[int], Attention, list[Any], str, dict[str, np.ndarray]]:
    """The loop: prefill, then one cached single-token pass per token (and one for the last token's row).

    Value norms (:mod:`attn_widget.extract.values`) are measured by the same
    passes, one key at a time, as ``head_data["value_norm"]``.
    """
    import torch

    warpers = _warpers(settings) if settings["sample"] else []
    texts = piece_texts(tok)
    rng = torch.Generator().manual_seed(int(seed))
    p = len(ids)
    att: np.ndarray | None = None
    chosen: list[int] = []
    steps: list[tuple[float, tuple[Candidate, ...]]] = []
    stop = "length"
    takes = inspect.signature(net.forward).parameters
    keep_last: dict[str, Any] = {"logits_to_keep": 1} if "logits_to_keep" in takes else {}
    cache_name = "cache" if "cache" in takes else "past_key_values"  # transformers 5 renamed it
    with torch.inference_mode(), loading.eager_attention(net), value_norm_hooks(net) as norms:
        x = torch.tensor([ids], dtype=torch.long)
        cache = None
        for k in range(n + 1):
            kwargs: dict[str, Any] = dict(keep_last) if k == 0 else {}
            kwargs[cache_name] = cache
            out = net(input_ids=x, use_cache=True, output_attentions=True, **kwargs)
            layers = out.attentions
            if not layers or any(a is None for a in layers):
                raise ValueError(
                    "the model returned no attention weights; load it with attn_implementation='eager'"
                )
            if att is None:
                att = np.zeros((len(layers), int(layers[0].shape[1]), p + n, p + n), dtype=np.float32)
                att[:, :, :p, :p] = np.stack([a[0].float().numpy() for a in layers])
            else:
                row = p + k - 1
                att[:, :, row, : row + 1] = np.stack([a[0, :, 0].float().numpy() for a in layers])
            cache = out.cache if hasattr(out, "cache") else out.past_key_values
            if k == n or stop == "eos":
                break
            report(f"generating token {k + 1} of {n}…", 0.1 + 0.8 * k / n)
            logits = out.logits[:, -1, :].to(dtype=torch.float32)
            probs = torch.softmax(logits[0], dim=-1)
            if settings["sample"]:
                scores = logits
                for warp in warpers:
                    scores = warp(x, scores)
                token = int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=rng)[0, 0])
            else:
                token = int(torch.argmax(logits[0]))
            top = torch.topk(probs, TOP_K)
            top_ids = [int(i) for i in top.indices]
            named = zip(texts(top_ids), top_ids, top.values.tolist(), strict=True)
            alternatives = tuple(Candidate(text, i, float(v)) for text, i, v in named)
            steps.append((float(probs[token]), alternatives))
            chosen.append(token)
            if token in eos:
                stop = "eos"
            x = torch.tensor([[token]], dtype=torch.long)
    assert att is not None
    t = p + len(chosen)
    data: dict[str, np.ndarray] = {}
    n_layers = att.shape[0]
    if norms and len(norms) % n_layers == 0:  # one [head, keys] array per layer and pass
        per_layer = [np.concatenate(norms[i::n_layers], axis=-1) for i in range(n_layers)]
        if per_layer[0].shape == (att.shape[1], t):
            data["value_norm"] = np.stack(per_layer).astype(np.float32)
    return chosen, att[:, :, :t, :t].copy() if t < p + n else att, steps, stop, data


def chat_prompt(
    prompt: str, tokenizer: Any, name: str
) -> tuple[list[int], tuple[Token, ...], tuple[int, ...]]:
    """The chat template around ``prompt``: ids, tokens (offsets into ``prompt``), the template's indices."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"chat=True, but model {name!r}'s tokenizer has no chat template; pass chat=False")
    messages = [{"role": "user", "content": prompt}]
    templated = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    enc = tokenizer(templated, add_special_tokens=False, return_offsets_mapping=True)
    ids = [int(i) for i in enc["input_ids"]]
    offsets = [(int(a), int(b)) for a, b in enc["offset_mapping"]]
    at = templated.rfind(prompt)
    shown = make_tokens(templated, tokenizer, ids, offsets)
    tokens, hidden = [], []
    for i, (t, (a, b)) in enumerate(zip(shown, offsets, strict=True)):
        if at >= 0 and a >= at and b <= at + len(prompt) and b > a:
            tokens.append(Token(t.text, a - at, b - at, t.id, False))
        else:
            tokens.append(Token(t.text, None, None, t.id, True))
            hidden.append(i)
    return ids, tuple(tokens), tuple(hidden)


def continuation(
    tokenizer: Any, ids: Sequence[int], offset: int, before: int | None = None
) -> tuple[str, tuple[Token, ...]]:
    """Readable text of generated ``ids`` and their tokens, with offsets from ``offset`` on.

    Byte-level pieces are decoded incrementally: a piece that ends inside a
    character gets an empty span, the piece completing it the character.
    Special tokens (the end of a turn) have no text. Other tokenizers: each
    token is what decoding it after the ones before adds, decoded after the
    prompt's last token ``before`` (so a SentencePiece word keeps its leading space).
    """
    special_ids = set(getattr(tokenizer, "all_special_ids", ()) or ())
    text = ""
    spans: list[tuple[int, int] | None] = []
    if _is_byte_level(tokenizer):
        decode = _byte_decoder()
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for piece, i in zip(tokenizer.convert_ids_to_tokens(list(ids)), ids, strict=True):
            if i in special_ids:
                spans.append(None)
                continue
            start = len(text)
            text += utf8.decode(bytes(decode.get(c, 0) for c in piece))
            spans.append((start, len(text)))
        tail = utf8.decode(b"", final=True)
        if tail:
            last = [k for k, s in enumerate(spans) if s is not None]
            text += tail
            if last:
                start, _ = spans[last[-1]] or (0, 0)
                spans[last[-1]] = (start, len(text))
    else:
        anchor = [] if before is None else [before]

        def decoded(upto: int) -> str:
            return str(
                tokenizer.decode(
                    [*anchor, *ids[:upto]], skip_special_tokens=True, clean_up_tokenization_spaces=False
                )
            )

        base = decoded(0)
        for k, i in enumerate(ids):
            if i in special_ids:
                spans.append(None)
                continue
            now = decoded(k + 1).removeprefix(base)
            start = len(text) if now.startswith(text) else len(_common_prefix(text, now))
            text = now
            spans.append((min(start, len(text)), len(text)))
    shown = make_tokens("", tokenizer, list(ids), None)
    tokens = tuple(
        Token(t.text, None, None, t.id, True)
        if s is None
        else Token(_readable(t.text, text, s), offset + s[0], offset + s[1], t.id, False)
        for t, s in zip(shown, spans, strict=True)
    )
    return text, tokens


def _readable(piece: str, text: str, span: tuple[int, int]) -> str:
    """A generated piece's text: the characters it completes when it holds only part of one."""
    return text[span[0] : span[1]] if span[1] > span[0] and piece != text[span[0] : span[1]] else piece


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
