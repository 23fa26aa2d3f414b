"""Hand edits of a partition: merge, split, move, pin, unpin (the registry :data:`EDITS`).

Each edit takes the labels on screen, the unthresholded symmetrised graph and
the pinned groups, checks its arguments (every refusal names the value and
what to do), and returns an :class:`Outcome`: the new labels, numbered by
first token as every partition is, the tokens that changed cluster, a
sentence saying what happened, the pins afterwards and the cluster to show
next. Pinned groups stay whole under every edit: a split never cuts one, and
moving or picking one of its tokens takes the whole group along.

Building the refined :class:`~attn_widget.core.Analysis` (modularity, cluster
records, re-explained clusters) is :func:`attn_widget.refine`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.registry import Registry
from ..core.types import EXCLUDED, Labels, Matrix
from .cluster import canonical
from .methods import louvain

Pins = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Outcome:
    """What an edit did: see the module docstring."""

    labels: Labels
    tokens: tuple[int, ...]
    text: str
    pins: Pins
    focus: int | None


@dataclass(frozen=True)
class Scene:
    """What every edit reads: labels, the graph, the pins and the token texts (for sentences)."""

    labels: Labels
    sym: Matrix
    pins: Pins
    words: Sequence[str]

    def members(self, cluster: Any) -> np.ndarray:
        ids = sorted(set(self.labels[self.labels != EXCLUDED].tolist()))
        if isinstance(cluster, bool) or not isinstance(cluster, (int, np.integer)) or cluster not in ids:
            raise ValueError(f"cluster {cluster!r} does not exist; the clusters are {_span(ids)}")
        return np.flatnonzero(self.labels == cluster)

    def tokens(self, tokens: Any, what: str = "tokens") -> list[int]:
        """``tokens`` checked (indices of kept tokens) and widened to whole pinned groups."""
        n = len(self.labels)
        if isinstance(tokens, (int, np.integer)) and not isinstance(tokens, bool):
            tokens = [tokens]
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence) or not tokens:
            raise ValueError(f"{what}={tokens!r}: give a non-empty list of token indices")
        bad = [t for t in tokens if isinstance(t, bool) or not isinstance(t, (int, np.integer))]
        if bad:
            raise ValueError(f"{what}={tokens!r}: {bad} are not token indices (whole numbers)")
        outside = sorted({int(t) for t in tokens if not 0 <= t < n})
        if outside:
            raise ValueError(f"{what}: token indices {outside} are outside this text's 0..{n - 1}")
        left_out = sorted({int(t) for t in tokens if self.labels[t] == EXCLUDED})
        if left_out:
            raise ValueError(
                f"{what}: tokens {left_out} are left out of the graph (sinks) and belong to no cluster; "
                "re-run with exclude=[] to cluster them"
            )
        chosen = {int(t) for t in tokens}
        for group in self.pins:
            if chosen & set(group):
                chosen |= set(group)
        return sorted(chosen)

    def say(self, tokens: Sequence[int]) -> str:
        shown = ", ".join(repr(self.words[i].strip() or self.words[i]) for i in tokens[:4])
        more = f" and {len(tokens) - 4} more" if len(tokens) > 4 else ""
        return f"{shown}{more}"


Edit = Callable[..., Outcome]
EDITS: Registry[Edit] = Registry("refinement")
"""Name → ``edit(scene, **args) -> Outcome``: ``merge``, ``split``, ``move``, ``pin``, ``unpin``."""


def apply(op: str, labels: Labels, sym: Matrix, pins: Pins, words: Sequence[str], **args: Any) -> Outcome:
    """Run edit ``op`` (a key of :data:`EDITS`) with ``args`` on ``labels``."""
    edit = EDITS[op]
    try:
        return edit(Scene(np.asarray(labels), sym, tuple(pins), words), **args)
    except TypeError as err:
        raise TypeError(
            f"refine({op!r}) got the wrong arguments ({err}); see help(attn_widget.refine)"
        ) from None


def _finish(
    new: np.ndarray, scene: Scene, pins: Pins, text: str, moved: Sequence[int], anchor: int | None
) -> Outcome:
    out = canonical(new)
    changed = tuple(sorted(set(moved)))
    return Outcome(out, changed, text, _tidy(pins), None if anchor is None else int(out[anchor]))


def _tidy(pins: Sequence[Sequence[int]]) -> Pins:
    return tuple(sorted(tuple(sorted(set(p))) for p in pins if len(set(p)) > 1))


def _span(ids: Sequence[int]) -> str:
    if not ids:
        return "none (every token is left out)"
    return f"{ids[0]}..{ids[-1]}" if list(ids) == list(range(ids[0], ids[-1] + 1)) else str(list(ids))


def _fresh(labels: np.ndarray) -> int:
    return int(labels.max()) + 1


@EDITS.register("merge")
def merge(scene: Scene, clusters: Sequence[int]) -> Outcome:
    """Join the ``clusters`` (two or more ids) into one."""
    ids = sorted({int(c) for c in clusters}) if isinstance(clusters, Sequence) else []
    if len(ids) < 2:
        raise ValueError(f"merge needs two or more different clusters, got clusters={clusters!r}")
    members = np.concatenate([scene.members(c) for c in ids])
    new = scene.labels.copy()
    new[members] = ids[0]
    moved = [int(i) for i in members if scene.labels[i] != ids[0]]
    text = f"merged clusters {', '.join(map(str, ids[:-1]))} and {ids[-1]} into one of {members.size} tokens"
    return _finish(new, scene, scene.pins, text, moved, int(members.min()))


@EDITS.register("split")
def split(scene: Scene, cluster: int, tokens: Sequence[int] | None = None, seed: int = 0) -> Outcome:
    """Split ``cluster``: the picked ``tokens`` leave as a new cluster, or (no tokens) re-cluster inside it.

    Re-clustering runs Louvain on the cluster's part of the unthresholded graph
    (pinned groups as single nodes); when Louvain keeps it whole, the cluster is
    cut in two along its weakest direction (the sign of the graph Laplacian's
    Fiedler vector), so a split always splits.
    """
    members = scene.members(cluster)
    new = scene.labels.copy()
    if tokens is not None:
        picked = scene.tokens(tokens)
        strays = sorted(set(picked) - set(members.tolist()))
        if strays:
            raise ValueError(
                f"tokens {strays} are not in cluster {cluster} (or are pinned to tokens outside it); "
                f"pick tokens of cluster {cluster}"
            )
        if len(picked) == members.size:
            raise ValueError(
                f"picking every token of cluster {cluster} leaves nothing behind; pick fewer tokens "
                "(pinned tokens come along with the ones you pick)"
            )
        new[picked] = _fresh(scene.labels)
        text = f"split {scene.say(picked)} off cluster {cluster}"
        return _finish(new, scene, scene.pins, text, picked, picked[0])
    nodes = _nodes(members, scene.pins)
    if len(nodes) < 2:
        why = "has one token" if members.size < 2 else "is one pinned group (unpin tokens first)"
        raise ValueError(f"cluster {cluster} cannot be split: it {why}")
    parts = _bisect(scene.sym, nodes, seed)
    base = _fresh(scene.labels)
    for node, part in zip(nodes, parts, strict=True):
        new[list(node)] = base + int(part)
    counts = sorted(
        (sum(len(n) for n, q in zip(nodes, parts, strict=True) if q == p) for p in np.unique(parts)),
        reverse=True,
    )
    text = f"split cluster {cluster} into {len(counts)} clusters of {', '.join(map(str, counts))} tokens"
    moved = [int(i) for i in members]
    return _finish(new, scene, scene.pins, text, moved, int(members.min()))


def _nodes(members: np.ndarray, pins: Pins) -> list[tuple[int, ...]]:
    """The cluster's tokens with each pinned group as one node, in order of first token."""
    left = set(members.tolist())
    nodes = []
    for group in pins:
        if set(group) <= left:
            nodes.append(tuple(sorted(group)))
            left -= set(group)
    nodes += [(i,) for i in left]
    return sorted(nodes)


def _bisect(sym: Matrix, nodes: list[tuple[int, ...]], seed: int) -> np.ndarray:
    """Part index per node: Louvain on the nodes' graph, else the Fiedler cut."""
    k = len(nodes)
    adj = np.zeros((k, k))
    for a, na in enumerate(nodes):
        for b, nb in enumerate(nodes):
            if a != b:
                adj[a, b] = sym[np.ix_(na, nb)].sum()
    if k > 2 and adj.any():
        parts = np.unique(np.asarray(louvain(adj, seed=int(seed))), return_inverse=True)[1]
        if parts.max() > 0:
            return parts
    if k == 2:
        return np.array([0, 1])
    laplacian = np.diag(adj.sum(axis=1)) - adj
    _, vecs = np.linalg.eigh(laplacian)
    fiedler = vecs[:, 1]
    cut = fiedler > np.median(fiedler)
    if cut.all() or not cut.any():  # a flat vector (no edges): halve in reading order
        cut = np.arange(k) >= k // 2
    return cut.astype(int)


@EDITS.register("move")
def move(scene: Scene, tokens: Sequence[int] | int, to: int | None = None) -> Outcome:
    """Move ``tokens`` (with their pinned partners) to cluster ``to``, or to a cluster of their own."""
    chosen = scene.tokens(tokens)
    new = scene.labels.copy()
    if to is None:
        alone = scene.members(scene.labels[chosen[0]]).size == len(chosen)
        if len(set(scene.labels[chosen].tolist())) == 1 and alone:
            raise ValueError(f"{scene.say(chosen)} already form a cluster of their own")
        new[chosen] = _fresh(scene.labels)
        where = "a cluster of their own" if len(chosen) > 1 else "a cluster of its own"
    else:
        scene.members(to)
        if all(scene.labels[i] == to for i in chosen):
            verb = "are" if len(chosen) > 1 else "is"
            raise ValueError(f"{scene.say(chosen)} {verb} already in cluster {to}")
        new[chosen] = to
        where = f"cluster {to}"
    moved = [i for i in chosen if new[i] != scene.labels[i]]
    return _finish(new, scene, scene.pins, f"moved {scene.say(chosen)} to {where}", moved, chosen[0])


@EDITS.register("pin")
def pin(scene: Scene, tokens: Sequence[int]) -> Outcome:
    """Pin ``tokens`` together: they join one cluster (the one most of them are in) and stay together."""
    chosen = scene.tokens(tokens)
    if len(chosen) < 2:
        raise ValueError(f"pin needs two or more tokens, got tokens={tokens!r}")
    held = scene.labels[chosen]
    ids, counts = np.unique(held, return_counts=True)
    best = ids[counts == counts.max()]
    target = next(int(held[k]) for k in range(len(chosen)) if held[k] in best)  # ties: the earliest token's
    new = scene.labels.copy()
    new[chosen] = target
    moved = [i for i in chosen if scene.labels[i] != target]
    kept = [p for p in scene.pins if not set(p) & set(chosen)]
    text = f"pinned {scene.say(chosen)} together in cluster {target}"
    if moved:
        text += f" (moving {scene.say(moved)})"
    return _finish(new, scene, (*kept, tuple(chosen)), text, chosen, chosen[0])


@EDITS.register("unpin")
def unpin(scene: Scene, tokens: Sequence[int]) -> Outcome:
    """Release the pinned groups that hold any of ``tokens`` (no token changes cluster)."""
    chosen = scene.tokens(tokens)
    released = [p for p in scene.pins if set(p) & set(chosen)]
    if not released:
        raise ValueError(f"{scene.say(chosen)} {'are' if len(chosen) > 1 else 'is'} not pinned")
    kept = [p for p in scene.pins if p not in released]
    freed = sorted({i for p in released for i in p})
    return _finish(scene.labels.copy(), scene, tuple(kept), f"unpinned {scene.say(freed)}", freed, freed[0])
