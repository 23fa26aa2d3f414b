"""Plain words for what built a graph: the lens (which heads) and the edge measure.

Shared by the full rationale (:mod:`attn_widget.explain.prose`) and the headline
(:mod:`attn_widget.explain.headline`), so both name a lens the same way. Each
phrase avoids the words a newcomer would have to look up ("head" is said as
"attention pattern" in the headline; the full rationale glosses it).
Writes no facts of its own: which lens and measure were used is a verified
``basis`` claim (:mod:`attn_widget.explain.claims`).
"""

from __future__ import annotations

PLAIN_ROLES = {
    "previous-token": "looks at the word just before",
    "duplicate-token": "looks back at an earlier copy of the same word",
    "induction": "looks at the word that followed an earlier copy of this word",
    "first-token sink": "parks spare attention on the first word",
    "self": "looks at the word itself",
    "broad": "spreads its attention evenly over the text",
}
"""Head role → what a head with it does, said of words (the roles' glosses,
:data:`attn_widget.heads.roles.GLOSSES`, say "token")."""

LENS_PATTERNS = {
    "early": "the attention in the model's first third of layers",
    "middle": "the attention in the middle third of the model's layers",
    "late": "the attention in the model's last third of layers",
    "content": "attention that follows content, leaving out patterns that only track position",
    "coreference": "the attention patterns that tie pronouns to the words they stand for",
    **{
        role: f"the attention patterns that each {PLAIN_ROLES[role].replace('looks', 'look', 1)}"
        for role in ("previous-token", "duplicate-token", "induction")
    },
}
"""Lens name → what the graph was built from, in plain words (a noun phrase)."""

MEASURES = {
    "norm": "weighing attention by the size of what it moves",
    "gradient": "weighing attention by how much the model's output depends on it",
}
"""Edge measure → how the attention was weighed (``"attention"`` itself needs no words)."""


def lens_phrase(lens: str, n_heads: int | None = None) -> str:
    """What the graph was built from: ``"the attention patterns that tie pronouns to ..."``."""
    if lens == "all":
        return "all of the model's attention"
    if lens in LENS_PATTERNS:
        return LENS_PATTERNS[lens]
    return "a chosen set of attention patterns" if n_heads is None else (
        f"{n_heads} chosen attention patterns" if n_heads > 1 else "one chosen attention pattern"
    )


def measure_phrase(measure: str) -> str:
    """How the attention was weighed (``""`` for plain attention weights)."""
    return MEASURES.get(measure, "" if measure == "attention" else f"measured as {measure!r}")
