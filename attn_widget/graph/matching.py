"""Which cluster of one partition is which cluster of another: matching, and following clusters over steps.

Both partitions are read over shared *units* (aligned tokens or words); a
cluster means a cluster of two or more tokens in its own analysis. Two clusters
*share a part* when at least two units lie in both, or all the aligned units
of the smaller one do (so a two-token cluster that keeps one token and gains a
new, unaligned one still continues). From that relation, symmetric in ``a`` and
``b``:

- the same cluster on both sides: a one-to-one matching, largest shared part first
  (then the larger Jaccard index, then the lower ids);
- split: a cluster sharing a part with two or more on the other side; merged: the mirror;
- appeared / vanished: a cluster sharing a part with none on the other side.

:func:`follow` applies this from each generation step to the next (units: the
tokens both steps have) and gives every cluster a track; :func:`colour_slots`
gives tracks alive at the same time different colours. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import Matching
from ..core.generation import NO_TRACK, Event, Track
from ..core.types import EXCLUDED


def clusters_of(labels: np.ndarray) -> frozenset[int]:
    """Ids of the clusters of two or more tokens in ``labels`` (excluded tokens skipped)."""
    ids, sizes = np.unique(labels[labels != EXCLUDED], return_counts=True)
    return frozenset(int(i) for i in ids[sizes > 1])


def unit_labels(labels: np.ndarray, units: np.ndarray, n_units: int) -> np.ndarray:
    """``[n_units]`` label of each unit: the most common label of its tokens (ties: the first token's).

    Units no token maps to, or whose tokens are all excluded, get ``-1``.
    """
    out = np.full(n_units, EXCLUDED, dtype=np.int64)
    for u in range(n_units):
        mine = labels[(units == u) & (labels != EXCLUDED)]
        if mine.size:
            values, counts = np.unique(mine, return_counts=True)
            best = values[counts == counts.max()]
            out[u] = next(int(x) for x in mine if x in best)
    return out


def match(ua: np.ndarray, ub: np.ndarray, big_a: frozenset[int], big_b: frozenset[int]) -> Matching:
    """Match the clusters ``big_a`` / ``big_b`` of two partitions read over the same units.

    ``ua`` / ``ub`` hold each unit's label on each side (``-1``: not in a cluster
    there). See the module docstring for the rules.
    """
    ids_a, ids_b = sorted(big_a), sorted(big_b)
    size_a = {a: int((ua == a).sum()) for a in ids_a}
    size_b = {b: int((ub == b).sum()) for b in ids_b}
    parts: list[tuple[int, int, int]] = []  # (overlap, a, b)
    both = (ua >= 0) & (ub >= 0)
    pairs, counts = np.unique(np.stack([ua[both], ub[both]]), axis=1, return_counts=True)
    for (a, b), o in zip(pairs.T.tolist(), counts.tolist(), strict=True):
        if a in size_a and b in size_b and (o >= 2 or o == min(size_a[a], size_b[b])):
            parts.append((o, a, b))

    def jaccard(o: int, a: int, b: int) -> float:
        return o / (size_a[a] + size_b[b] - o)

    taken_a: set[int] = set()
    taken_b: set[int] = set()
    matched = []
    for _, a, b in sorted(parts, key=lambda p: (-p[0], -jaccard(*p), p[1], p[2])):
        if a not in taken_a and b not in taken_b:
            taken_a.add(a)
            taken_b.add(b)
            matched.append((a, b))
    of_a = {a: tuple(sorted(b for _, x, b in parts if x == a)) for a in ids_a}
    of_b = {b: tuple(sorted(a for _, a, y in parts if y == b)) for b in ids_b}
    return Matching(
        pairs=tuple(sorted(matched)),
        split=tuple((a, bs) for a, bs in of_a.items() if len(bs) > 1),
        merged=tuple((as_, b) for b, as_ in of_b.items() if len(as_) > 1),
        appeared=tuple(b for b, as_ in of_b.items() if not as_),
        vanished=tuple(a for a, bs in of_a.items() if not bs),
    )


def match_labels(
    a_labels: np.ndarray, b_labels: np.ndarray, a_units: np.ndarray, b_units: np.ndarray, n_units: int
) -> tuple[Matching, np.ndarray, np.ndarray]:
    """:func:`match` for two analyses' labels and their tokens' units; also returns both unit labels."""
    ua = unit_labels(np.asarray(a_labels), np.asarray(a_units), n_units)
    ub = unit_labels(np.asarray(b_labels), np.asarray(b_units), n_units)
    return match(ua, ub, clusters_of(np.asarray(a_labels)), clusters_of(np.asarray(b_labels))), ua, ub


class _Tracks:
    """Bookkeeping for :func:`follow`: tracks as mutable rows, then frozen."""

    def __init__(self) -> None:
        self.rows: list[dict[str, int | None]] = []

    def new(self, step: int, parent: int | None = None) -> int:
        self.rows.append({"born": step, "last": step, "parent": parent, "merged_into": None})
        return len(self.rows) - 1

    def freeze(self, slots: Sequence[int]) -> tuple[Track, ...]:
        return tuple(Track(id=i, slot=slots[i], **r) for i, r in enumerate(self.rows))  # type: ignore[arg-type]


def follow(
    partitions: Sequence[np.ndarray],
) -> tuple[list[dict[int, int]], tuple[Track, ...], tuple[Event, ...]]:
    """Follow clusters through labels over a growing sequence (each partition one token longer or more).

    Returns, per step, cluster id → track id (clusters of two or more tokens),
    the tracks (with colour slots) and the events; see the module docstring.
    """
    book = _Tracks()
    events: list[Event] = []
    per_step: list[dict[int, int]] = []
    for step, labels in enumerate(partitions):
        labels = np.asarray(labels)
        big = clusters_of(labels)
        if step == 0:
            per_step.append({c: book.new(0) for c in sorted(big)})
            continue
        prev_labels, prev = np.asarray(partitions[step - 1]), per_step[-1]
        n = prev_labels.size
        m = match(prev_labels.astype(np.int64), labels[:n].astype(np.int64), clusters_of(prev_labels), big)
        now: dict[int, int] = {b: prev[a] for a, b in m.pairs}
        for a, parts in m.split:
            fresh = [b for b in parts if b not in now]
            for b in fresh:
                now[b] = book.new(step, parent=prev[a])
            events.append(Event(step, "split", (prev[a], *(now[b] for b in parts if now[b] != prev[a]))))
        for as_, b in m.merged:
            if b not in now:
                now[b] = book.new(step)
            absorbed = [prev[a] for a in as_ if prev[a] != now[b]]
            events.append(Event(step, "merged", (now[b], *absorbed)))
            for track in absorbed:
                if track not in now.values():
                    book.rows[track]["merged_into"] = now[b]
        for b in sorted(big - set(now)):
            now[b] = book.new(step)
            events.append(Event(step, "formed", (now[b],)))
        for track in now.values():
            book.rows[track]["last"] = step
        alive = set(now.values())
        for a in sorted(prev):
            track = prev[a]
            if (
                track not in alive
                and book.rows[track]["merged_into"] is None
                and not _split_from(events, step, track)
            ):
                events.append(Event(step, "ended", (track,)))
        per_step.append(now)
    tracks = book.freeze(colour_slots([(r["born"], r["last"]) for r in book.rows]))  # type: ignore[misc]
    return per_step, tracks, tuple(events)


def _split_from(events: list[Event], step: int, track: int) -> bool:
    return any(e.step == step and e.kind == "split" and e.tracks[0] == track for e in events)


def colour_slots(spans: Sequence[tuple[int, int]]) -> list[int]:
    """A colour slot per ``(first, last)`` span: the lowest one no overlapping earlier span holds."""
    slots: list[int] = []
    for i, (first, last) in enumerate(spans):
        used = {slots[j] for j in range(i) if spans[j][0] <= last and first <= spans[j][1]}
        slots.append(next(s for s in range(len(spans) + 1) if s not in used))
    return slots


def step_tracks(clusters: Sequence[int], tracks: dict[int, int]) -> tuple[int, ...]:
    """Track id of each cluster id in ``clusters`` (:data:`NO_TRACK` for one-token clusters)."""
    return tuple(tracks.get(c, NO_TRACK) for c in clusters)
