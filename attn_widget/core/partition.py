"""A partition refined by hand: its labels, the clustering it started from, its edits and pins.

:class:`Partition` is what :func:`attn_widget.refine` records on an
:class:`~attn_widget.core.Analysis` (``analysis.partition``) and what the
widget's ``w.partition`` returns. It is a result like any other: frozen, saved
with the analysis, exported, and usable as a "human grouping" for the
plausibility metrics (:mod:`attn_widget.evaluate`) through :meth:`Partition.groups`.
The edits themselves are computed in :mod:`attn_widget.graph.refine`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .serialize import fields_equal, readonly, to_jsonable
from .types import EXCLUDED, Labels

if TYPE_CHECKING:
    from .analysis import Analysis


@dataclass(frozen=True)
class Edit:
    """One hand edit of a partition.

    Attributes
    ----------
    op
        ``"merge"``, ``"split"``, ``"move"``, ``"pin"`` or ``"unpin"`` (a key of
        :data:`attn_widget.graph.refine.EDITS`).
    args
        The edit's arguments as given (cluster ids refer to the partition before it).
    tokens
        The tokens whose cluster the edit changed (for ``pin``/``unpin``: the pinned tokens).
    text
        What the edit did, in words ("merged clusters 1 and 4 into one of 6 tokens").
    before, after
        Modularity of the partition before and after, on the unthresholded graph.
    """

    op: str
    args: Mapping[str, Any]
    tokens: tuple[int, ...]
    text: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        """Change of modularity the edit made (``after - before``)."""
        return self.after - self.before

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Edit:
        return cls(
            op=str(d["op"]),
            args=dict(d["args"]),
            tokens=tuple(int(i) for i in d["tokens"]),
            text=str(d["text"]),
            before=float(d["before"]),
            after=float(d["after"]),
        )


@dataclass(frozen=True, eq=False)
class Partition:
    """A partition of the tokens with the history of the hand edits that made it.

    Attributes
    ----------
    labels
        ``[T]`` int32 cluster id per token (``-1`` excluded), numbered by first token.
    base
        ``[T]`` int32 labels of the clustering the edits started from.
    modularity
        Modularity of ``labels`` on the unthresholded symmetrised graph.
    edits
        The edits in the order they were made.
    pins
        Groups of tokens pinned together: every edit keeps each group in one cluster.
    """

    labels: Labels
    base: Labels
    modularity: float
    edits: tuple[Edit, ...] = ()
    pins: tuple[tuple[int, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("labels", "base"):
            object.__setattr__(self, name, readonly(np.asarray(getattr(self, name), dtype=np.int32)))

    @classmethod
    def start(cls, analysis: Analysis) -> Partition:
        """The partition of ``analysis`` as it is (its own, or its clustering with no edits)."""
        if analysis.partition is not None:
            return analysis.partition
        return cls(labels=analysis.labels, base=analysis.labels, modularity=float(analysis.modularity))

    def groups(self, min_size: int = 2) -> list[frozenset[int]]:
        """The clusters as token-index sets (those of at least ``min_size`` tokens), by first token.

        The form :func:`attn_widget.evaluate.iou_f1` and ``token_f1`` take as
        predicted or human groups.
        """
        labels = np.asarray(self.labels)
        out = []
        for lab in np.unique(labels[labels != EXCLUDED]):
            members = np.flatnonzero(labels == lab)
            if members.size >= min_size:
                out.append(frozenset(int(i) for i in members))
        return sorted(out, key=min)

    @property
    def edited(self) -> bool:
        """Whether any edit was made."""
        return bool(self.edits)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Partition) and fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; :meth:`from_dict` inverts it."""
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Partition:
        return cls(
            labels=np.asarray(d["labels"], dtype=np.int32),
            base=np.asarray(d["base"], dtype=np.int32),
            modularity=float(d["modularity"]),
            edits=tuple(Edit.from_dict(e) for e in d["edits"]),
            pins=tuple(tuple(int(i) for i in p) for p in d["pins"]),
        )
