"""Facts about tokens from their text alone: stopwords, pronouns, numbers, words of several pieces."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .records import Token

STOPWORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from as into onto about over under
    is are was were be been being am do does did have has had will would can could should may might
    must shall this that these those there here not no nor than too very just only also such what
    which who whom whose when where why how all any both each few more most other some own same""".split()  # noqa: SIM905 (a word list reads best as one string)
)
PRONOUNS = frozenset(
    """i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
    it its itself we us our ours ourselves they them their theirs themselves one someone something
    anyone anything everyone everything nobody nothing this that these those who whom whose which""".split()  # noqa: SIM905 (a word list reads best as one string)
)
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)*|\d*\.\d+)(%|st|nd|rd|th)?$")
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve hundred thousand million".split()  # noqa: SIM905 (a word list reads best as one string)
)


def _bare(text: str) -> str:
    return text.strip().removeprefix("##").strip("\u0120\u2581 ")


def word_ids(tokens: Sequence[Token]) -> list[int]:
    """Word number of each token: pieces of one word (no space between them) share a number.

    Uses character offsets when known, else the text: a piece that starts with
    a space, ``Ġ`` or ``▁`` begins a word; ``##`` continues one. Punctuation is
    its own word.
    """
    out: list[int] = []
    word = -1
    prev: Token | None = None
    for t in tokens:
        bare = _bare(t.text)
        joined = (
            prev is not None
            and not t.special
            and not prev.special
            and bare.isalnum()
            and (_bare(prev.text).isalnum())
        )
        if joined and prev is not None:
            if t.start is not None and prev.end is not None:
                joined = t.start == prev.end and not t.text[:1].isspace()
            else:
                joined = t.text.startswith("##") or not (t.text[:1].isspace() or t.text[:1] in "\u0120\u2581")
        word = word if joined else word + 1
        out.append(word)
        prev = t
    return out


def lexical_classes(tokens: Sequence[Token], members: Sequence[int]) -> dict[str, Any]:
    """Token indices of ``members`` per lexical class, computed from the text alone.

    Classes: ``punctuation``, ``stopword``, ``number``, ``capitalised``,
    ``pronoun``, ``repeated`` (the same text twice or more in the cluster),
    ``same_word`` (lists of indices that are pieces of one word) and ``whole_word``
    (those of the ``same_word`` lists that hold every piece of their word).
    """
    out: dict[str, Any] = {k: [] for k in ("punctuation", "stopword", "number", "capitalised", "pronoun")}
    seen: dict[str, list[int]] = {}
    for i in members:
        bare = _bare(tokens[i].text)
        low = bare.lower()
        if bare and all(not c.isalnum() for c in bare):
            out["punctuation"].append(i)
        if low in STOPWORDS:
            out["stopword"].append(i)
        if _NUMBER.match(bare) or low in _NUMBER_WORDS:
            out["number"].append(i)
        if bare[:1].isupper():
            out["capitalised"].append(i)
        if low in PRONOUNS:
            out["pronoun"].append(i)
        if bare:
            seen.setdefault(low, []).append(i)
    out["repeated"] = sorted(i for group in seen.values() if len(group) > 1 for i in group)
    words = word_ids(tokens)
    by_word: dict[int, list[int]] = {}
    for i in members:
        by_word.setdefault(words[i], []).append(i)
    out["same_word"] = [group for group in by_word.values() if len(group) > 1]
    pieces = Counter(words)
    out["whole_word"] = [group for group in out["same_word"] if len(group) == pieces[words[group[0]]]]
    return out
