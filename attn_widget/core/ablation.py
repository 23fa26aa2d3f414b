"""The frozen result of asking "what if": :class:`Ablation`, an analysis rerun with attention knocked out.

:meth:`Analysis.ablate <attn_widget.core.Analysis.ablate>` (through
:func:`attn_widget.ablate`) makes it: the model runs again with some attention
edges removed or some heads' outputs zeroed, and the result holds the new
analysis (re-clustered with the same options), the change in the next-token
prediction, and a :class:`~attn_widget.core.comparison.Comparison` of the
clusters before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from . import archive
from .analysis import Analysis
from .comparison import Comparison, analysis_arrays
from .prediction import PredictionChange
from .result import Result
from .serialize import fields_equal

FORMAT_VERSION = 1
"""Version of :meth:`Ablation.to_dict`."""

Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True, eq=False)
class Ablation(Result):
    """Result of :func:`attn_widget.ablate`. Immutable; see the module docstring.

    Attributes
    ----------
    before, after
        The analysis as given, and the analysis of the rerun (same options, re-clustered).
    tokens
        Tokens nobody else may attend to in the rerun (every edge to them knocked out, in every
        layer and head; each still attends to itself).
    heads
        ``(layer, head)`` pairs whose outputs were zeroed.
    edges
        ``(query, key)`` pairs knocked out in every layer and head.
    prediction
        The next-token prediction after ``prediction.position``, before and after
        (``None`` for an encoder, which predicts no next token).
    comparison
        ``compare(before, after)``: which clusters split, merged, appeared or vanished.
    notices
        Things the user should know.
    """

    before: Analysis
    after: Analysis
    tokens: tuple[int, ...]
    heads: Pairs
    edges: Pairs
    prediction: PredictionChange | None
    comparison: Comparison
    notices: tuple[str, ...] = ()

    KIND: ClassVar[str] = "ablation"

    @property
    def analysis(self) -> Analysis:
        """The analysis of the rerun (``after``)."""
        return self.after

    def describe(self) -> str:
        """What was knocked out, in words."""
        parts = []
        if self.tokens:
            words = ", ".join(repr(self.before.tokens[i].text) for i in self.tokens[:6])
            more = f" and {len(self.tokens) - 6} more" if len(self.tokens) > 6 else ""
            parts.append(f"every edge to {words}{more}")
        if self.edges:
            parts.append(f"{len(self.edges)} edge{'s' * (len(self.edges) != 1)}")
        if self.heads:
            parts.append("heads " + " ".join(f"{layer}.{head}" for layer, head in self.heads))
        return "knocked out " + "; ".join(parts) if parts else "nothing knocked out"

    def summary(self) -> str:
        """What was removed, how the prediction moved and how the clusters changed."""
        what = self.describe()
        lines = [what[:1].upper() + what[1:] + "."]
        if self.prediction is not None:
            lines.append(f"Next token after token {self.prediction.position}: {self.prediction.describe()}.")
        lines.append(self.comparison.summary())
        return "\n".join(lines)

    def __repr__(self) -> str:
        change = "" if self.prediction is None else f", {self.prediction.describe()}"
        return f"Ablation({self.describe()}{change})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ablation) and fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    # ----------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the analyses without their raw attention)."""
        return {
            "format_version": FORMAT_VERSION,
            "tokens": list(self.tokens),
            "heads": [list(h) for h in self.heads],
            "edges": [list(e) for e in self.edges],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "comparison": self.comparison.to_dict(),
            "notices": list(self.notices),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> Ablation:
        """Inverse of :meth:`to_dict`; ``arrays`` (as ``save`` writes them) give the raw attention back."""
        archive.check_version(d, "ablation", (FORMAT_VERSION,))
        comparison = Comparison.from_dict(d["comparison"], arrays)
        return cls(
            before=comparison.a,
            after=comparison.b,
            tokens=tuple(int(i) for i in d["tokens"]),
            heads=tuple((int(a), int(b)) for a, b in d["heads"]),
            edges=tuple((int(a), int(b)) for a, b in d["edges"]),
            prediction=None if d["prediction"] is None else PredictionChange.from_dict(d["prediction"]),
            comparison=comparison,
            notices=tuple(d["notices"]),
        )

    def arrays(self) -> dict[str, Any]:
        """Both analyses' raw attention and per-head data."""
        return analysis_arrays({"a": self.before, "b": self.after})
