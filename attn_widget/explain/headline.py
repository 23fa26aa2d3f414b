"""One plain sentence per cluster: what binds the group, and the single strongest reason.

The headline is read in a few seconds; the full rationale (:mod:`attn_widget.explain.prose`)
and the evidence stay one click away. It is built from the same verified claims
(:mod:`attn_widget.explain.claims`), so a claim the verifier dropped is never said here
either: the headline falls back to the next reason that still holds, and at
worst to "these words form a group".

Reasons, strongest first (:data:`REASONS`; the first one the verified claims
support is said):

``word``
    The group is exactly the pieces of one word, every one of them (the model reads it in pieces).
``chunk``
    The group is one run of neighbouring words and the partition is no better
    than chunking: most neighbouring words share a group (at least
    :data:`~attn_widget.explain.claims.CHUNKY`), or the cut test found cutting
    between groups no better than cutting plain chunks. Said plainly.
``pronoun``
    The strongest link inside the group starts at a pronoun (under the
    ``"coreference"`` lens: said as what that lens shows).
``far``
    The strongest link joins two words that are not next to each other.
``pieces``
    The group holds pieces of one word (all of them, when none is outside it), among other words.
``role``
    The head that carries the largest share of the group has a role (it looks
    at the word just before, ...): said as "an attention pattern that ...".
``link``, ``inside``, ``spread``, ``apart``, ``members``
    The strongest link; the share of attention that stays inside; no head
    standing out; a lone token's attention going elsewhere; at least, who is in it.

Every headline is one sentence of at most :data:`~.plain.MAX_WORDS` words (its optional
tail is left out when that keeps it within :data:`TARGET_WORDS`, or makes it shortest) with at most
:data:`~.plain.MAX_NUMBERS` numbers and none of the :data:`~.plain.JARGON` words. A lens other
than ``"all"`` or an edge measure other than attention is named first ("In the
model's late layers, ..."). Wording follows the evidence (the subject is a
quoted stretch, its two ends, or a list; the verbs and qualifiers depend on
shares, directions and roles) and, among phrasings that say the same thing,
rotates with the cluster id, so a screen of headlines does not read alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .claims import Claim
from .plain import fits, words
from .reasons import REASONS, Draft, Facts, Said, quote

__all__ = ["MEASURE_PREFIXES", "PREFIXES", "REASONS", "TARGET_WORDS", "Headline", "compose", "quote"]

TARGET_WORDS = 20
"""A headline leaves out its optional tail when that brings it within this many words."""
PREFIXES = {
    "early": "In the model's early layers",
    "middle": "In the model's middle layers",
    "late": "In the model's late layers",
    "content": "Leaving word order aside",
    "coreference": "Through the pronoun patterns",
    "previous-token": "Through patterns that look one word back",
    "duplicate-token": "Through repeat-spotting patterns",
    "induction": "Through patterns that continue repeats",
}
"""Lens → the opening words of a headline made under it (any other lens: "Through the chosen patterns")."""
MEASURE_PREFIXES = {
    "norm": "Weighing attention by what it moves",
    "gradient": "Weighing attention by what the output needs",
}
"""Edge measure → the opening words when the lens is ``"all"``."""


def _prefix(f: Facts, draft: Draft) -> tuple[str, Said]:
    basis = f.first("basis")
    if basis is None or any(c is basis for c in draft.used):
        return "", []
    if basis["lens"] != "all":
        return PREFIXES.get(basis["lens"], "Through the chosen patterns"), [basis]
    return MEASURE_PREFIXES.get(basis["measure"], ""), [basis]


def _versions(f: Facts, draft: Draft) -> list[tuple[str, Said]]:
    """The draft with the lens named and each tail, then shorter: see :func:`compose`."""
    lead, lead_used = _prefix(f, draft)
    plain = [(draft.body + tail, [*draft.used, *said]) for tail, said in [*draft.tails, ("", [])]]
    named = []
    if lead:  # the lens is named whenever it fits
        for body, claims in plain:
            lower = body if body[:1] in "'\"" else body[:1].lower() + body[1:]  # not a quoted token
            named.append((f"{lead}, {lower}.", [*lead_used, *claims]))
    return [*named, *((body + ".", claims) for body, claims in plain)]


@dataclass(frozen=True)
class Headline:
    """A headline, the reason it gives (a key of :data:`REASONS`) and the claims it says."""

    text: str
    reason: str
    claims: list[Claim]


def compose(claims: Sequence[Mapping[str, Any]], size: int, variant: int = 0) -> Headline:
    """The headline for one cluster from its verified ``claims`` (see the module docstring).

    Parameters
    ----------
    claims
        Claims that passed :func:`attn_widget.explain.claims.verify`.
    size
        Number of tokens in the cluster.
    variant
        Picks among phrasings that say the same thing (the cluster id).
    """
    f = Facts(claims, size, variant)
    for name in REASONS:
        draft = REASONS[name](f)
        if draft is None:
            continue
        versions = [(text, said) for text, said in _versions(f, draft) if fits(text)]
        if versions:
            named = [v for v in versions if v[1][:1] and v[1][0] is f.first("basis")] or versions
            short = [v for v in named if words(v[0]) <= TARGET_WORDS]
            text, said = short[0] if short else min(named, key=lambda v: words(v[0]))
            return Headline(text, name, [c for c in said if c is not None])
    return Headline("This group has one word." if size == 1 else "These words form a group.", "none", [])
