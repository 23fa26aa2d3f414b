"""What makes a headline plain: its limits, the words it may use, and how they are counted.

A headline (:mod:`attn_widget.explain.headline`) is one sentence of at most
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
    """a above ahead all alone an and apart are as aside at attention average back barely before between
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


