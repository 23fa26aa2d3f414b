"""What makes a headline plain: its limits, the words it may use, and how they are counted.

A headline (:mod:`attn_widget.explain.headline`) says shares of attention in
words ("over a third", :func:`share_words`), not percentages: a student reads
"about half" at a glance, and the full rationale keeps the exact figure one click
away. The free-text check reads those words back as ranges (:func:`share_range`),
so a wrong "nearly all" is caught like a wrong "92%".

A headline is one sentence of at most
:data:`MAX_WORDS` words and :data:`MAX_NUMBERS` numbers that uses none of the
:data:`JARGON` words. The same test (:func:`fits`) holds a language model's
rewording of a headline to those limits (:mod:`attn_widget.explain.llm`), and the
free-text check (:mod:`attn_widget.explain.textcheck`) accepts the :data:`WORDS`
headlines are made of. Counts only; says nothing about a cluster.
"""

from __future__ import annotations

import re

MAX_WORDS = 25
"""Words in a headline (quoted tokens count as the words they contain)."""
MAX_NUMBERS = 2
"""Numbers (digit groups: ``41%``, ``3.9``) in a headline."""
JARGON = frozenset(
    """head heads token tokens cluster clusters sink sinks modularity lift entropy gini induction
    coreference logit logits query queries softmax lens contiguity partition gradient norm""".split()  # noqa: SIM905
)
"""Words a headline never uses outside quotes (the full rationale explains them)."""
WORDS = frozenset(
    """about nearly under skips quarter quarters third thirds half fifth tenth two three
    a above ahead all alone an and apart are as aside at attention average back barely before between
    binding binds bound by carrying chosen chunks continue copies copy cutting each early earlier evenly first
    followed form from gives goes group groups has here hold holds hurts in inside is it its join just
    keep keeping keeps late layers leaving less like link look looking looks many middle model model's more
    most moves needs neighbouring next no none of on one only other out outside over own parks past
    pattern pattern's patterns pieces plain pronoun pronouns reaches reads order without
    repeat-spotting repeats run share side simply spare spreads stands stays stretch strongest such
    than that the their these this through tie times to together track unbroken what with within word
    words work weighing output""".split()  # noqa: SIM905
)
"""Every word a headline says outside quotes (the free-text check,
:mod:`attn_widget.explain.textcheck`, accepts them even where the input text has them too)."""
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"")  # not the apostrophe of "model's"
FRACTIONS = (
    ("a tenth", 10.0), ("a fifth", 20.0), ("a quarter", 25.0), ("a third", 100 / 3), ("half", 50.0),
    ("two thirds", 200 / 3), ("three quarters", 75.0),
)
"""The fractions a headline names a share by, with the percentage each stands for."""
ABOUT, NEARLY = 2.0, 5.0
"""A share within ``ABOUT`` points of a fraction is "about" it; up to ``NEARLY`` points below, "nearly" it."""
_FRACTION_NAMES = {
    **{name: value for name, value in FRACTIONS},
    **{name.replace("a ", "one ", 1): value for name, value in FRACTIONS if name.startswith("a ")},
    "a half": 50.0, "one half": 50.0, "all": 100.0,
}
_HEDGE_WORDS = {
    "about": "about", "around": "about", "roughly": "about", "some": "about",
    "nearly": "nearly", "almost": "nearly", "just under": "nearly",
    "over": "over", "more than": "over", "above": "over", "just over": "over",
    "under": "under", "less than": "under", "below": "under",
}
SHARE_PHRASE = re.compile(
    r"\b(?:(" + "|".join(sorted(map(re.escape, _HEDGE_WORDS), key=len, reverse=True)) + r")\s+)?("
    + "|".join(sorted(map(re.escape, _FRACTION_NAMES), key=len, reverse=True)) + r")\s+"
    + r"(?=of\s+(?:(?:its|their|the|his|her|this|that|each)\s+)?(?:\S+'s\s+)?attention\b|of\s+words\s+here\b)"
)
"""A share of attention said in words, as :func:`share_words` says it or a rewording would
("more than half of its attention"); "all of these words" is not a share."""


def share_words(percent: float) -> str:
    """A share of attention in words: the fraction nearest to it, with "about", "nearly" or "over".

    ``share_range`` of the phrase always holds ``percent``: 100 is "all", 92-99
    "nearly all", under 8 "under a tenth", within 2 points of a fraction "about"
    it, 2-5 points below one "nearly" it, else "over" the largest fraction below.
    """
    if percent >= 100:
        return "all"
    if percent >= 92:
        return "nearly all"
    if percent < 8:
        return "under a tenth"
    name, value = min(FRACTIONS, key=lambda f: abs(f[1] - percent))
    if abs(value - percent) <= ABOUT:
        return f"about {name}"
    above = next((f for f in FRACTIONS if f[1] > percent), None)
    if above is not None and above[1] - percent <= NEARLY:
        return f"nearly {above[0]}"
    below = [f for f in FRACTIONS if f[1] < percent][-1]
    return f"over {below[0]}"


def share_range(hedge: str | None, fraction: str) -> tuple[float, float]:
    """The percentages ``hedge fraction`` (as :data:`SHARE_PHRASE` matched them) may truly stand for.

    "about X": within ``ABOUT`` + 0.5 points (a rewording may round); "nearly
    X": up to ``NEARLY`` + 1 points below; "over X": above X, up to the next
    fraction ("over a quarter" of 60% would mislead); "under X": below X; a bare
    fraction reads as "about"; "all" is 100 and "nearly all" 90-99.
    """
    value = _FRACTION_NAMES[fraction]
    kind = _HEDGE_WORDS.get(hedge or "", "about")
    if fraction == "all":
        return {"nearly": (90.0, 99.99), "under": (0.0, 99.99)}.get(kind, (99.5, 100.0))
    if kind == "nearly":
        return value - NEARLY - 1, value - 1e-9
    if kind == "over":
        return value + 1e-9, next((v for _, v in FRACTIONS if v > value), 100.0)
    if kind == "under":
        return 0.0, value - 1e-9
    return value - ABOUT - 0.5, value + ABOUT + 0.5


def words(text: str) -> int:
    """Words of ``text``, each word inside a quote counted."""
    return len(text.split())


def numbers(text: str) -> int:
    """Digit groups in ``text`` outside quotes (``41%`` and ``3.9`` are one number each)."""
    return len(_NUMBER.findall(_QUOTED.sub("", text)))


def jargon(text: str) -> list[str]:
    """The :data:`JARGON` words ``text`` uses outside quotes."""
    said = re.findall(r"[a-z]+", _QUOTED.sub("", text).lower())
    return sorted({w for w in said if w in JARGON})


def fits(text: str) -> bool:
    """One sentence, at most :data:`MAX_WORDS` words and :data:`MAX_NUMBERS` numbers, no jargon."""
    one = len(re.findall(r"[.!?](?=\s|$)", _QUOTED.sub("''", text))) == 1
    return one and words(text) <= MAX_WORDS and numbers(text) <= MAX_NUMBERS and not jargon(text)


