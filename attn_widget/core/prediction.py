"""What a causal model predicts next, and how that moved: :class:`Candidate`, :class:`PredictionChange`.

Made by the extract layer (generation steps, ablation passes); kept by
:class:`~attn_widget.core.generation.Generation` and
:class:`~attn_widget.core.ablation.Ablation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TOP_K = 5
"""Alternatives kept per prediction."""


@dataclass(frozen=True)
class Candidate:
    """One possible next token.

    Attributes
    ----------
    text
        Readable text of the token (as :class:`~attn_widget.core.Token` shows it).
    id
        Vocabulary id.
    probability
        The model's probability of it (softmax of the logits, temperature 1).
    """

    text: str
    id: int
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "id": self.id, "probability": self.probability}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Candidate:
        return cls(str(d["text"]), int(d["id"]), float(d["probability"]))


def candidates(items: Sequence[Mapping[str, Any]]) -> tuple[Candidate, ...]:
    return tuple(Candidate.from_dict(c) for c in items)


@dataclass(frozen=True)
class PredictionChange:
    """The next-token prediction after token ``position``, before and after a change to the model's input.

    Attributes
    ----------
    position
        Token index whose next-token distribution is read (the last token by default).
    before, after
        The :data:`TOP_K` most likely next tokens, most likely first.
    token
        The token most likely before (``before[0]``), followed through the change.
    probability_before, probability_after
        Its probability before and after.
    divergence
        Jensen-Shannon divergence (base 2, in [0, 1]) between the two full distributions.
    """

    position: int
    before: tuple[Candidate, ...]
    after: tuple[Candidate, ...]
    token: Candidate
    probability_before: float
    probability_after: float
    divergence: float

    @property
    def change(self) -> float:
        """``probability_after - probability_before`` of :attr:`token`."""
        return self.probability_after - self.probability_before

    @property
    def changed(self) -> bool:
        """True when the most likely next token is no longer the same."""
        return self.after[0].id != self.before[0].id

    def describe(self) -> str:
        """One line: "' Paris' 0.62 → 0.05 (−0.57); now ' London' 0.31; divergence 0.41"."""
        line = (
            f"{self.token.text!r} {self.probability_before:.2f} → {self.probability_after:.2f} "
            f"({self.change:+.2f})"
        )
        if self.changed:
            line += f"; now {self.after[0].text!r} {self.after[0].probability:.2f}"
        return f"{line}; divergence {self.divergence:.3f}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "before": [c.to_dict() for c in self.before],
            "after": [c.to_dict() for c in self.after],
            "token": self.token.to_dict(),
            "probability_before": self.probability_before,
            "probability_after": self.probability_after,
            "divergence": self.divergence,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PredictionChange:
        return cls(
            position=int(d["position"]),
            before=candidates(d["before"]),
            after=candidates(d["after"]),
            token=Candidate.from_dict(d["token"]),
            probability_before=float(d["probability_before"]),
            probability_after=float(d["probability_after"]),
            divergence=float(d["divergence"]),
        )
