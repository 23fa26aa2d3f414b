"""Tokens with character offsets into the original text, and the BOS and over-length policies.

Tokens keep character offsets into the *original* text, so a front-end can
highlight the text itself. Their ``.text`` is readable: byte-level pieces are
decoded (``"Ġcat"`` → ``" cat"``, ``"Ċ"`` → ``"\\n"``). A piece holding only
part of a multi-byte character (byte-level BPE splits an emoji, a CJK or an
Arabic letter over several pieces) has offsets that cover the whole character,
and its ``.text`` is that character (``text[start:end]``), never ``\\xNN`` or
U+FFFD: the pieces of one character overlap, and a view shows that character
once for all of them. The exact bytes stay one call away:
``tokenizer.convert_ids_to_tokens([token.id])``. An unknown-word token
(``[UNK]``) reads as the characters it stands for and is not special.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import Token
from ..core.cache import memoize


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
    # an unknown-word token ([UNK]: WordPiece meeting emoji, Hangul, Thai) stands for characters of the
    # text: it is highlighted over them and joins the graph like any word, not set aside as a sink
    unknown = getattr(tokenizer, "unk_token_id", None)
    special_ids = set(getattr(tokenizer, "all_special_ids", ()) or ()) - {unknown}
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
        whole = start is not None and end is not None and end > start
        if raw is not None and (complete := _utf8(raw[i])) is not None:
            shown = complete
        elif whole:
            shown = text[start:end]  # part of a character (or a normalised piece): the characters it touches
        elif raw is not None:
            shown = raw[i].decode("utf-8", errors="ignore")
        else:
            shown = str(piece).removeprefix("##").replace("\u2581", " ")
        out.append(Token(text=shown, start=start, end=end, id=int(tid), special=special[i]))
    return tuple(out)


def _utf8(piece: bytes) -> str | None:
    """The piece's text, or ``None`` when it holds only part of a character."""
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        return None


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


@memoize(size=16)
def _is_byte_level(tokenizer: Any) -> bool:
    """Whether the tokenizer decodes byte-level pieces (GPT-2, SmolLM2).

    Memoized per tokenizer: finding out serialises it to JSON, ~0.4 s for SmolLM2's (once per text before).
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or backend.decoder is None:
        return False
    # the decoder's own state, not backend.to_str(): that serialises the whole vocabulary on every call
    decoder = json.loads(backend.decoder.__getstate__()) or {}
    parts = decoder.get("decoders", [decoder]) if decoder.get("type") == "Sequence" else [decoder]
    return any(p.get("type") == "ByteLevel" for p in parts)


@memoize(size=1)
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


def piece_texts(tokenizer: Any) -> Callable[[Sequence[int]], list[str]]:
    """A function: token ids → their readable texts, as :class:`~attn_widget.core.Token` shows them.

    Whether the tokenizer is byte-level is read once (it means serialising the
    whole tokenizer), so the function is cheap to call at every step.
    """
    if not _is_byte_level(tokenizer):
        return lambda ids: [t.text for t in make_tokens("", tokenizer, list(ids), None)]
    decode = _byte_decoder()
    special = set(getattr(tokenizer, "all_special_ids", ()) or ())

    def texts(ids: Sequence[int]) -> list[str]:
        pieces = tokenizer.convert_ids_to_tokens(list(ids))
        return [
            str(p) if i in special else byte_piece(bytes(decode.get(c, 0) for c in p))
            for i, p in zip(ids, pieces, strict=True)
        ]

    return texts


def byte_piece(raw: bytes) -> str:
    """A byte-level piece as a person reads it: its characters, or ``⟨F0 9F⟩`` for part of one.

    A candidate next token can be the first bytes of a character (an emoji's);
    alone it has no character to show, so its bytes are named in hex, never as
    ``\\xNN`` escapes or U+FFFD.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        head = raw.decode("utf-8", errors="ignore") if raw[:1].isascii() else ""
        return head + "⟨" + " ".join(f"{b:02X}" for b in raw[len(head.encode('utf-8')):]) + "⟩"
