"""The frozen result of comparing two analyses: :class:`Comparison`, with its :class:`Matching` of clusters.

:func:`attn_widget.compare` makes it (the alignment and the matching live in
:mod:`attn_widget.graph.compare`). Tokens are aligned into *units*: one token
each when both analyses tokenize alike, else one word each; every token maps
to the unit it belongs to, or to ``-1`` where the texts differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from . import archive
from .analysis import Analysis
from .result import Result
from .serialize import fields_equal, readonly

FORMAT_VERSION = 1

VISIBLE_CHANGE = 0.005
"""Smallest link change listed: anything less shows as 0.00 and is no change a reader can see."""
"""Version of :meth:`Comparison.to_dict`."""

Pairs = tuple[tuple[int, int], ...]


def _ints(values: Sequence[Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def said(text: str) -> str:
    """A token as a person reads it: ``' said'`` -> ``'said'``; a space or newline stays visible."""
    bare = text.strip()
    return repr(text) if not bare else (f'"{bare}"' if "'" in bare else f"'{bare}'")


@dataclass(frozen=True)
class Matching:
    """How the clusters (of two or more tokens) of one partition correspond to another's.

    Two clusters *share a part* when at least two aligned units, or all of the
    smaller one's, lie in both (:func:`attn_widget.graph.matching.match`).

    Attributes
    ----------
    pairs
        ``(a id, b id)``: the same cluster on both sides (one to one; the largest shared part wins).
    split
        ``(a id, (b ids…))``: a cluster whose parts went to two or more clusters.
    merged
        ``((a ids…), b id)``: two or more clusters that came together.
    appeared
        b clusters that share a part with no a cluster.
    vanished
        a clusters that share a part with no b cluster.
    """

    pairs: Pairs = ()
    split: tuple[tuple[int, tuple[int, ...]], ...] = ()
    merged: tuple[tuple[tuple[int, ...], int], ...] = ()
    appeared: tuple[int, ...] = ()
    vanished: tuple[int, ...] = ()

    @property
    def unchanged(self) -> bool:
        """No cluster split, merged, appeared or vanished."""
        return not (self.split or self.merged or self.appeared or self.vanished)

    def partner(self, a: int) -> int | None:
        """The b cluster matched to a cluster ``a`` (``None``: none)."""
        return next((b for x, b in self.pairs if x == a), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": [list(p) for p in self.pairs],
            "split": [[a, list(bs)] for a, bs in self.split],
            "merged": [[list(as_), b] for as_, b in self.merged],
            "appeared": list(self.appeared),
            "vanished": list(self.vanished),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Matching:
        return cls(
            pairs=tuple((int(a), int(b)) for a, b in d["pairs"]),
            split=tuple((int(a), _ints(bs)) for a, bs in d["split"]),
            merged=tuple((_ints(as_), int(b)) for as_, b in d["merged"]),
            appeared=_ints(d["appeared"]),
            vanished=_ints(d["vanished"]),
        )


@dataclass(frozen=True)
class LinkChange:
    """How much one aligned unit's links changed.

    Attributes
    ----------
    unit
        Unit index; ``a_token`` / ``b_token`` its first token on each side.
    text
        The unit's text (as in ``a``).
    change
        Half the summed absolute difference of its symmetrised links to the other aligned
        units (0: the same links; 1: entirely different).
    gained, lost
        Text of the unit it gained, or lost, the most link weight to (``None``: none).
    """

    unit: int
    a_token: int
    b_token: int
    text: str
    change: float
    gained: str | None = None
    lost: str | None = None


@dataclass(frozen=True, eq=False)
class Comparison(Result):
    """Result of :func:`attn_widget.compare`. Immutable; see the module docstring.

    Attributes
    ----------
    a, b
        The two analyses.
    unit
        ``"token"`` or ``"word"``: what the alignment pairs.
    a_units, b_units
        ``[T_a]`` / ``[T_b]`` int32 unit of each token (``-1``: not aligned, the texts differ there).
    unit_text
        Text of each unit.
    matching
        How the clusters correspond.
    modularity_change
        ``b.modularity - a.modularity``.
    moved
        Units whose cluster mates (among the aligned units) are not the same on both sides.
    changed
        The units whose links changed most, most first (changes under
        :data:`VISIBLE_CHANGE`, which read as 0.00, are not listed).
    why_same
        When the clusters match: why they must, or that they happen to (``""``: they differ).
    """

    a: Analysis
    b: Analysis
    unit: str
    a_units: np.ndarray
    b_units: np.ndarray
    unit_text: tuple[str, ...]
    matching: Matching
    modularity_change: float
    moved: tuple[int, ...]
    changed: tuple[LinkChange, ...]
    why_same: str = ""

    KIND: ClassVar[str] = "comparison"

    def __post_init__(self) -> None:
        for name in ("a_units", "b_units"):
            object.__setattr__(self, name, readonly(np.asarray(getattr(self, name), dtype=np.int32)))

    @property
    def identical(self) -> bool:
        """Every token aligned, the same clusters, no link or modularity change."""
        return (
            bool((self.a_units >= 0).all() and (self.b_units >= 0).all())
            and self.matching.unchanged
            and not self.moved
            and self.modularity_change == 0.0
            and all(c.change == 0.0 for c in self.changed)
        )

    def summary(self) -> str:
        """A few plain lines: what split, merged, appeared or vanished, and what changed most."""
        m = self.matching
        if self.identical:
            return "Identical: the same tokens, clusters and links."
        gone, new = int((self.a_units < 0).sum()), int((self.b_units < 0).sum())
        if gone or new:
            first = (
                f"{gone} of {self.a_units.size} tokens of a and {new} of {self.b_units.size} of b differ "
                f"in text; the rest aligned by {self.unit}."
            )
        else:
            first = f"The same text; aligned by {self.unit}."
        lines = [
            first,
            f"Modularity {self.a.modularity:.3f} → {self.b.modularity:.3f} ({self.modularity_change:+.3f}).",
        ]
        lines += [f"Cluster {a} split into {', '.join(map(str, bs))}." for a, bs in m.split]
        lines += [f"Clusters {', '.join(map(str, as_))} merged into {b}." for as_, b in m.merged]
        lines += [f"Cluster {b} appeared." for b in m.appeared]
        lines += [f"Cluster {a} vanished." for a in m.vanished]
        if self.why_same:
            lines.append(self.why_same)
        if self.moved:
            words = ", ".join(said(self.unit_text[u]) for u in self.moved[:8])
            lines.append(f"{len(self.moved)} aligned {self.unit}s changed cluster mates: {words}.")
        lines += [f"Links of {said(c.text)} changed by {c.change:.3f}." for c in self.changed[:3]]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Comparison(unit={self.unit!r}, identical={self.identical}, {self.matching!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Comparison) and fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    # ----------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the analyses without their raw attention)."""
        return {
            "format_version": FORMAT_VERSION,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "unit": self.unit,
            "a_units": self.a_units.tolist(),
            "b_units": self.b_units.tolist(),
            "unit_text": list(self.unit_text),
            "matching": self.matching.to_dict(),
            "modularity_change": self.modularity_change,
            "moved": list(self.moved),
            "changed": [dict(c.__dict__) for c in self.changed],
            "why_same": self.why_same,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None) -> Comparison:
        """Inverse of :meth:`to_dict`; ``arrays`` (as ``save`` writes them) give the raw attention back."""
        archive.check_version(d, "comparison", (FORMAT_VERSION,))
        arrays = arrays or {}

        def side(key: str) -> Analysis:
            data = {k.split("/", 2)[2]: v for k, v in arrays.items() if k.startswith(f"{key}/head_data/")}
            return Analysis.from_dict(d[key], attentions=arrays.get(f"{key}/attentions"), head_data=data)

        return cls(
            a=side("a"),
            b=side("b"),
            unit=str(d["unit"]),
            a_units=np.asarray(d["a_units"], dtype=np.int32),
            b_units=np.asarray(d["b_units"], dtype=np.int32),
            unit_text=tuple(d["unit_text"]),
            matching=Matching.from_dict(d["matching"]),
            modularity_change=float(d["modularity_change"]),
            moved=_ints(d["moved"]),
            changed=tuple(LinkChange(**c) for c in d["changed"]),
            why_same=str(d.get("why_same", "")),
        )

    def arrays(self) -> dict[str, Any]:
        """Both analyses' raw attention and per-head data."""
        return analysis_arrays({"a": self.a, "b": self.b})


def analysis_arrays(analyses: Mapping[str, Analysis]) -> dict[str, Any]:
    """The raw attention and per-head data of each named analysis, keyed ``NAME/attentions`` and so on."""
    out: dict[str, Any] = {}
    for key, a in analyses.items():
        out[f"{key}/attentions"] = a.attentions
        out.update({f"{key}/head_data/{k}": v for k, v in a.head_data.items()})
    return out
