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

For ``analyze(source, model=..., target=...)`` (:mod:`attn_widget.runs.pairs`),
:func:`prepare_pair` loads the model, tokenizes both texts (or lets the model write
the target) and lays them out as one text, the source, :data:`SEPARATOR`, then the
target, with every token's offsets into it; :func:`run_pair` runs the pass and
joins the attention. The decoder's start token sits between the two, a special
token (and a sink). Not here: value norms, gradients and streaming for these
models and the coreference lens (refused with the reason by :func:`check_pair_options`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import Token
from ..core.analysis import PAIR_SEPARATOR as SEPARATOR
from ..core.prediction import TOP_K, Candidate
from ..core.types import Attention
from . import loading
from .loading import eager_attention
from .tokens import make_tokens, tokenize

OWN_TARGET = "The target is the model's own greedy output"
"""How the notice that the model wrote the target begins."""

MAX_NEW_TOKENS = 20
"""Most tokens the model writes as its own target when none is given."""


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
    choices: tuple[tuple[float, tuple[Candidate, ...]], ...] = ()
    """With ``texts`` given to :func:`forward_seq2seq`: for each target token, the model's probability of
    it where it was written (reading the source and the target before it) and the top alternatives."""


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
    texts: Callable[[Sequence[int]], list[str]] | None = None,
) -> Seq2SeqAttention:
    """Encoder, decoder and cross-attention for ``source_ids`` → ``target_ids`` (default: the model's own).

    ``texts`` (token ids → readable texts): also read, from the same pass's logits, each target
    token's probability and its top alternatives (:attr:`Seq2SeqAttention.choices`).
    """
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

    choices: list[tuple[float, tuple[Candidate, ...]]] = []
    if texts is not None:
        probs = torch.softmax(out.logits[0].to(torch.float32), dim=-1)
        for k, token in enumerate(target):  # position k reads the start token and target[:k]
            top = torch.topk(probs[k], TOP_K)
            ids = [int(i) for i in top.indices]
            named = zip(texts(ids), ids, top.values.tolist(), strict=True)
            alternatives = tuple(Candidate(text, i, float(p)) for text, i, p in named)
            choices.append((float(probs[k, int(token)]), alternatives))
    return Seq2SeqAttention(
        tuple(int(i) for i in source_ids), decoder_ids, stack(out.encoder_attentions),
        stack(out.decoder_attentions), stack(out.cross_attentions), tuple(choices),
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


@dataclass(frozen=True, eq=False)
class PairInput:
    """A source and a target ready for one pass (:func:`prepare_pair`).

    ``text`` is ``source + SEPARATOR + target``; ``tokens`` the source's tokens, the
    decoder's start token (special, no offsets), then the target's, each with offsets
    into ``text``. ``source_tokens`` counts the source's; ``source_chars`` its characters.
    """

    text: str
    model: Any
    name: str
    source_ids: tuple[int, ...]
    target_ids: tuple[int, ...]
    tokens: tuple[Token, ...]
    source_chars: int
    notices: tuple[str, ...]
    tokenizer: Any = None

    @property
    def source_tokens(self) -> int:
        """Tokens of the source (the encoder's input)."""
        return len(self.source_ids)

    @property
    def sink(self) -> tuple[int, ...]:
        """The special tokens: the source's end token, the decoder's start token, the target's end token."""
        return tuple(i for i, t in enumerate(self.tokens) if t.special)


def refuse_target(model: Any, name: str) -> None:
    """Refuse ``target=`` for a model that reads one text (decoder-only or encoder-only)."""
    if not is_encoder_decoder(model):
        kind = "decoder-only" if loading.is_causal_config(model.config) else "encoder-only"
        raise ValueError(
            f"target= is read by encoder–decoder models (T5, BART, Marian), and model {name!r} "
            f"({getattr(model.config, 'model_type', '?')}) is {kind}: it reads one text. Pass the whole "
            "text as the first argument without target=, or use an encoder–decoder model"
        )


def prepare_pair(
    source: str,
    target: str | None,
    model: Any,
    tokenizer: Any = None,
    *,
    overlength: str = "error",
    max_new_tokens: int = MAX_NEW_TOKENS,
    report: Any = None,
) -> PairInput:
    """Load ``model``, tokenize ``source`` and ``target`` (``None``: the model's own greedy output).

    Each text must fit the model's context (``overlength="truncate"`` keeps the first
    tokens that fit, with a notice); an empty text or a ``target`` that is not a
    string is refused naming the value.
    """
    from .forward import context_length

    for what, value in (("source", source), ("target", target)):
        if value is None and what == "target":
            continue
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str, got {type(value).__name__}")
        if not value.strip():
            raise ValueError(f"{what}={value!r} is empty or only whitespace; give some text")
    net, tok, name, notices = loading.resolve(model, tokenizer)
    refuse_target(net, name)
    limit = context_length(net, tok)
    options: dict[str, Any] = {"name": name, "causal": False, "prepend_bos": False, "overlength": overlength}
    options["limit"] = limit
    src_ids, src_tokens, said = tokenize(source, tok, **options)
    notes = [*notices, *("source: " + n for n in said)]
    if target is None:
        if report is not None:
            report(f"letting {name} write its own target (at most {max_new_tokens} tokens)…", 0.1)
        gen_ids = own_target(net, src_ids, max_new_tokens)
        target, tgt_ids, tgt_tokens = _written(tok, gen_ids)
        notes.append(f"{OWN_TARGET} ({len(tgt_ids)} tokens): pass target= to "
                     "read another text.")  # fmt: skip
    else:
        tgt_ids, tgt_tokens, said = tokenize(target, tok, **{**options, "limit": limit and limit - 1})
        notes.extend("target: " + n for n in said)
    if not tgt_ids:
        raise ValueError(f"the target {target!r} gives no tokens; give a target with some text")
    shift = len(source) + len(SEPARATOR)
    moved = tuple(_shifted(t, shift) for t in tgt_tokens)
    start = Token(text=_start_text(tok, _start(net)), id=_start(net), special=True)
    return PairInput(
        source + SEPARATOR + target, net, name, tuple(int(i) for i in src_ids),
        tuple(int(i) for i in tgt_ids), (*src_tokens, start, *moved), len(source), tuple(notes), tok,
    )  # fmt: skip


def _written(tokenizer: Any, ids: Sequence[int]) -> tuple[str, list[int], tuple[Token, ...]]:
    """The model's own output as text and tokens with offsets into it (its ids kept as written)."""
    text = tokenizer.decode(list(ids), skip_special_tokens=True)
    fast = bool(getattr(tokenizer, "is_fast", False))
    again = tokenizer(text, add_special_tokens=False, return_offsets_mapping=fast)
    kept = [i for i in ids if i not in set(getattr(tokenizer, "all_special_ids", ()) or ())]
    offsets = None
    if list(again["input_ids"]) == kept and len(kept) == len(ids) and "offset_mapping" in again:
        offsets = [tuple(o) for o in again["offset_mapping"]]
    return text, list(ids), make_tokens(text, tokenizer, list(ids), offsets)


def _shifted(token: Token, by: int) -> Token:
    if token.start is None or token.end is None:
        return token
    return Token(token.text, token.start + by, token.end + by, token.id, token.special)


def _start_text(tokenizer: Any, start: int) -> str:
    try:
        return str(tokenizer.convert_ids_to_tokens([start])[0])
    except (IndexError, KeyError, TypeError, ValueError):
        return "<start>"


def check_pair_options(o: Mapping[str, Any], name: str) -> None:
    """Refuse, before any pass, what an encoder–decoder analysis cannot do yet, saying why."""
    why = {
        "norm": "value norms are measured per attention module of one stack, and the table does not yet "
        "know an encoder–decoder model's three kinds (encoder, decoder, cross)",
        "gradient": "the gradient measure differentiates one stack's attention; the cross-attention has none",
    }
    if o.get("measure") in why:
        raise ValueError(
            f"measure={o['measure']!r} cannot be used with encoder–decoder model {name!r}: "
            f"{why[o['measure']]}; use measure='attention' (the default)"
        )
    if o.get("keep") == "summary":
        raise ValueError(
            f"keep='summary' streams one stack's attention, and encoder–decoder model {name!r} has three "
            "(encoder, decoder, cross); use keep='auto' or 'attention' (the pair is kept whole)"
        )
    refuse_lens(o.get("lens", "all"), name)


def refuse_lens(lens: Any, name: str | None) -> None:
    """Refuse the coreference lens on an encoder–decoder pair: its probe runs the model on one text."""
    if isinstance(lens, str) and lens == "coreference":
        raise ValueError(
            f"lens='coreference' finds its heads by running model {name!r} on probe sentences as one text, "
            "and an encoder–decoder model reads a source and a target; use another lens (role lenses and "
            "layer bands are read off the pair's own attention) or a list of (layer, head) pairs"
        )


def run_pair(prep: PairInput, *, choices: bool = False) -> tuple[Attention, Seq2SeqAttention]:
    """One pass: the joint ``[layer, head, S + T, S + T]`` attention (:func:`joint_attention`), its parts
    (with ``choices``: each target token's probability and alternatives, as a generation's steps show)."""
    from .forward import check_memory
    from .tokens import piece_texts

    check_memory(prep.model.config, len(prep.tokens), name=prep.name)
    texts = piece_texts(prep.tokenizer) if choices else None
    found = forward_seq2seq(prep.model, prep.source_ids, prep.target_ids, texts=texts)
    return joint_attention(found), found
