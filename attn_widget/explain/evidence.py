"""Evidence per cluster: spans, attention inside vs outside, strongest edges, heads, lexical facts.

Writes no prose: :func:`characterize` returns a JSON-able dict that
:mod:`attn_widget.explain.rationale` turns into sentences and :mod:`attn_widget.explain.claims`
checks them against. Shares are fractions in [0, 1] rounded to 4 decimals.

Evidence fields (all present; lists may be empty):

``cluster``, ``size``
    The cluster id and its number of tokens.
``tokens``
    ``[{"index", "text", "start", "end"}]`` (character offsets may be ``None``).
``spans``
    Runs of consecutive token indices: ``[{"first", "last", "start", "end", "text"}]``.
``contiguous``, ``positions``
    One run or several; ``[first index, last index]``.
``attention``
    ``{"internal", "self", "external", "inside"}``: where the cluster's tokens
    send their (aggregated, renormalised) attention: to other members, to
    themselves, to the rest of the text; ``inside`` = internal + self (the
    number :meth:`Analysis.table <attn_widget.Analysis.table>` shows).
    With excluded tokens and raw attention kept, also ``sink``: the share of the
    members' attention *before* renormalisation that went to the excluded
    tokens (the other shares leave it out).
``excluded``
    ``[{"index", "text", "special", "position"}]``: the tokens left out of the
    graph (``analysis.options.exclude``), e.g. the first-token attention sink;
    ``position`` is ``"first"``, ``"last"`` or ``"inner"``.
``edges``
    Strongest internal links ``[{"from", "to", "weight"}]``: token ``from`` puts
    a share ``weight`` of its attention on token ``to``.
``outside``
    ``[{"token", "text", "share"}]``: outside tokens receiving the largest share
    of the cluster's attention.
``heads``, ``layers``
    ``[{"layer", "head", "share", "lift", "inside", "roles"}]`` and ``[{"layer", "share"}]``:
    the heads / layers carrying the largest share of the cluster's internal
    attention mass (``lift``: that share times the number of heads, 1 = average;
    ``inside``: share of that head's attention from members that stays inside),
    with the head's roles from :mod:`attn_widget.heads.roles`. Empty without raw attention.
``n_heads``
    Number of heads in the model (layers × heads per layer); 0 without raw attention.
``lexical``
    Token indices per class (``punctuation``, ``stopword``, ``number``,
    ``capitalised``, ``pronoun``, ``repeated``), ``same_word``: groups of
    indices that are sub-word pieces of one word, and ``whole_word``: those of
    them that hold every piece of their word (none in another cluster).
``complexity``
    Entropy (normalised to [0, 1]) and Gini of the cluster's attention mass over
    its tokens and over heads: low entropy / high Gini = a simpler explanation.
``basis``
    ``{"lens", "lens_heads", "measure"}``: what the graph was built from: the lens
    (a name of :data:`attn_widget.heads.lenses.LENSES`, another function's name,
    or ``"custom"`` for a list of heads), how many heads it keeps (``None``: all)
    and the edge measure. With a lens, ``heads`` are ranked among the lens's heads only.
``partition``
    ``{"contiguity"}`` and, when the cut test was measured for this partition,
    ``"cut": {"ratio_contiguous", "ratio_random", "output"}``
    (:func:`attn_widget.evaluate.cuttest.cut_test`): how far the partition the
    cluster belongs to goes beyond runs of neighbouring words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core import Analysis, Cluster
from ..core.cache import LRU
from ..core.lexicon import lexical_classes
from ..core.shares import attention_shares, rounded
from ..core.types import Matrix
from ..graph.aggregate import aggregate, renormalise
from ..graph.metrics import contiguity
from ..graph.topk import has_top, inside_mass
from ..graph.units import pool
from ..heads.roles import HeadReport, analysis_report

TOP_EDGES = 5
TOP_OUTSIDE = 3
TOP_HEADS = 3


def characterize(
    analysis: Analysis,
    cluster: Cluster,
    report: HeadReport | None = None,
    *,
    labels: Any = None,
    cut: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Evidence for one cluster of ``analysis`` (see the module docstring for the fields).

    Parameters
    ----------
    analysis
        The analysis the cluster belongs to.
    cluster
        One of ``analysis.clusters`` (or a group of the partition ``labels``).
    report
        Head roles (from :func:`attn_widget.heads.roles.score_heads`); computed from
        ``analysis.attentions`` when omitted and the raw attention is kept.
    labels
        ``[T]`` the partition the cluster belongs to (default ``analysis.labels``),
        for ``partition.contiguity``.
    cut
        The cut test's result for that partition, when it was measured.
    """
    members = np.asarray(cluster.tokens, dtype=int)
    if members.size == 0:
        raise ValueError(f"cluster {cluster.id} has no tokens")
    if report is None:
        report = analysis_report(analysis)
    w = np.asarray(analysis.weights, dtype=np.float64)
    evidence: dict[str, Any] = {
        "cluster": int(cluster.id),
        "size": int(members.size),
        "tokens": [_token(analysis, i) for i in members.tolist()],
        **_layout(analysis, members),
        "attention": {**attention_shares(w, members), **_sink(analysis, members)},
        "excluded": _excluded(analysis),
        "edges": _edges(w, members),
        "outside": _outside(analysis, w, members),
        "lexical": lexical_classes(analysis.tokens, members.tolist()),
    }
    heads, layers, head_mass = _heads(analysis, members, report)
    evidence["heads"], evidence["layers"] = heads, layers
    evidence["n_heads"] = _n_heads(analysis)
    evidence["complexity"] = _complexity(w, members, head_mass)
    evidence["basis"] = basis(analysis)
    evidence["partition"] = partition(analysis.labels if labels is None else labels, cut)
    return evidence


def basis(analysis: Analysis) -> dict[str, Any]:
    """What the graph was built from: ``{"lens", "lens_heads", "measure"}`` (see the module docstring)."""
    o = analysis.options
    return {
        "lens": o.lens if isinstance(o.lens, str) else "custom",
        "lens_heads": None if o.lens_heads is None else len(o.lens_heads),
        "measure": o.measure,
    }


def partition(labels: Any, cut: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"contiguity"}`` of a partition, and ``"cut"`` when its cut test was measured."""
    out: dict[str, Any] = {"contiguity": rounded(contiguity(np.asarray(labels)))}
    if cut is not None:
        out["cut"] = {
            "ratio_contiguous": rounded(cut["ratio_contiguous"]),
            "ratio_random": rounded(cut["ratio_random"]),
            "output": str(cut["output"]),
        }
    return out


def explain_again(before: Analysis, after: Analysis) -> list[int]:
    """Ids of ``after``'s clusters to explain again after a hand edit turned ``before`` into it.

    The groups the edit made, and, when the labels changed, the old groups whose
    evidence is about the partition before: an edit changes the partition every
    group sits in, and a group's rationale can say how many words here share a
    group with the next one, or how the partition fared on the cut test (which
    was of the partition before). Groups without evidence say nothing: left as they are.
    """
    old = {c.tokens for c in before.clusters}
    moved = not np.array_equal(np.asarray(after.labels), np.asarray(before.labels))
    now = partition(after.labels)

    def stale(c: Cluster) -> bool:
        facts = None if c.evidence is None else c.evidence.get("partition")
        return facts is not None and ("cut" in facts or facts != now)

    return [c.id for c in after.clusters if c.tokens not in old or (moved and stale(c))]


def _n_heads(analysis: Analysis) -> int:
    """Heads that could carry a group: the lens's, or every head when per-head data was kept."""
    shape = analysis.head_shape
    if shape is None or not (analysis.attentions is not None or has_top(analysis.head_data)):
        return 0
    kept = analysis.options.lens_heads
    return int(np.prod(shape)) if kept is None else len(kept)


def _token(analysis: Analysis, i: int) -> dict[str, Any]:
    t = analysis.tokens[i]
    return {"index": i, "text": t.text, "start": t.start, "end": t.end}


def _layout(analysis: Analysis, members: np.ndarray) -> dict[str, Any]:
    runs = np.split(members, np.flatnonzero(np.diff(members) != 1) + 1)
    spans = []
    for run in runs:
        first, last = int(run[0]), int(run[-1])
        start, end = analysis.tokens[first].start, analysis.tokens[last].end
        known = start is not None and end is not None and analysis.text
        text = analysis.text[start:end] if known else "".join(analysis.tokens[i].text for i in run)
        spans.append({"first": first, "last": last, "start": start, "end": end, "text": text})
    return {
        "spans": spans,
        "contiguous": len(runs) == 1,
        "positions": [int(members[0]), int(members[-1])],
        "unit": analysis.options.unit,  # what the positions count: tokens, words or sentences
    }


_RAW: LRU[tuple[Any, ...], tuple[Any, Matrix]] = LRU(size=1)
"""The last aggregated map before exclusion, keyed by where the raw attention lives and the options."""


def raw_weights(analysis: Analysis) -> Matrix | None:
    """The aggregated ``[node, node]`` map *before* excluded tokens are dropped (rows sum to 1).

    From the raw attention, or the token aggregate a streamed analysis kept,
    pooled into the analysis's units; ``None`` with neither. The last result is
    cached (explaining every cluster of one analysis aggregates once).
    """
    att = analysis.attentions if analysis.attentions is not None else analysis.token_weights
    if att is None:
        return None
    o = analysis.options
    key = (id(att), o.aggregation, o.layers, o.heads, o.unit, len(analysis.tokens))
    hit = _RAW.get(key)
    if hit is not None and hit[0] is att:
        return hit[1]
    if analysis.attentions is not None:
        raw = aggregate(analysis.attentions, o.aggregation, layers=o.layers, heads=o.heads)
    else:
        raw = renormalise(np.asarray(analysis.token_weights, dtype=np.float64))
    if o.unit != "token":
        raw = pool(raw, analysis.units)
    _RAW.put(key, (att, raw))  # the entry keeps ``att`` alive, so its id cannot be reused meanwhile
    return raw


def _excluded(analysis: Analysis) -> list[dict[str, Any]]:
    last = len(analysis.tokens) - 1
    return [
        {
            "index": i,
            "text": analysis.tokens[i].text,
            "special": analysis.tokens[i].special,
            "position": "first" if i == 0 else "last" if i == last else "inner",
        }
        for i in sorted(analysis.options.exclude)
    ]


def _sink(analysis: Analysis, members: np.ndarray) -> dict[str, float]:
    excluded = sorted(analysis.options.exclude)
    raw = raw_weights(analysis) if excluded else None
    if raw is None:
        return {}
    rows = raw[members]
    return {"sink": rounded(rows[:, excluded].sum() / max(rows.sum(), 1e-12))}


def _edges(w: np.ndarray, members: np.ndarray) -> list[dict[str, Any]]:
    sub = w[np.ix_(members, members)].copy()
    np.fill_diagonal(sub, 0.0)
    order = np.argsort(-sub, axis=None, kind="stable")[:TOP_EDGES]
    out = []
    for flat in order.tolist():
        i, j = divmod(flat, len(members))
        if sub[i, j] <= 0:
            break
        out.append({"from": int(members[i]), "to": int(members[j]), "weight": rounded(sub[i, j])})
    return out


def _outside(analysis: Analysis, w: np.ndarray, members: np.ndarray) -> list[dict[str, Any]]:
    received = w[members].sum(axis=0)
    total = max(w[members].sum(), 1e-12)
    received[members] = 0.0
    out = []
    for j in np.argsort(-received, kind="stable")[:TOP_OUTSIDE].tolist():
        if received[j] <= 0:
            break
        out.append({"token": j, "text": analysis.tokens[j].text, "share": rounded(received[j] / total)})
    return out


def _heads(
    analysis: Analysis, members: np.ndarray, report: HeadReport | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], np.ndarray | None]:
    """The heads and layers that hold the cluster together, by the attention between its tokens.

    From the raw attention, or (a streamed analysis) from each head's strongest
    links per token, which count only the links that made a head's top list.
    """
    pieces = analysis.units.pieces(members)
    if members.size < 2 and pieces.size < 2:
        return [], [], None
    if analysis.attentions is not None:
        att = analysis.attentions
        sub = att[:, :, pieces][:, :, :, pieces].astype(np.float64)  # [L, H, k, k]
        sub[..., np.arange(pieces.size), np.arange(pieces.size)] = 0.0
        mass = sub.sum(axis=(-1, -2))  # [L, H] internal (off-diagonal) mass
    elif has_top(analysis.head_data):
        mass = inside_mass(analysis.head_data, pieces)
    else:
        return [], [], None
    k = pieces.size
    kept = analysis.options.lens_heads
    if kept is not None:  # a lens: the heads that built the graph are the ones that can carry a group
        in_lens = np.zeros(mass.shape, dtype=bool)
        in_lens[tuple(np.asarray(kept, dtype=int).T)] = True
        mass = np.where(in_lens, mass, 0.0)
    total = max(mass.sum(), 1e-12)
    share = mass / total
    n_heads = mass.size if kept is None else len(kept)
    heads = []
    for flat in np.argsort(-share, axis=None, kind="stable")[:TOP_HEADS].tolist():
        layer, head = divmod(flat, mass.shape[1])
        if kept is not None and not in_lens[layer, head]:
            break  # a lens of fewer heads than are listed
        heads.append(
            {
                "layer": layer,
                "head": head,
                "share": rounded(share[layer, head]),
                "lift": rounded(share[layer, head] * n_heads),
                "inside": rounded(mass[layer, head] / k),
                "roles": report.roles(layer, head) if report is not None else [],
            }
        )
    per_layer = share.sum(axis=1)
    layers = [
        {"layer": int(lay), "share": rounded(per_layer[lay])}
        for lay in np.argsort(-per_layer, kind="stable")[:TOP_HEADS].tolist()
    ]
    return heads, layers, (mass if kept is None else mass[in_lens])


def entropy(p: np.ndarray) -> float:
    """Shannon entropy of ``p`` (normalised to sum 1) divided by ``log(len(p))``; 0 for one item."""
    p = np.asarray(p, dtype=np.float64).ravel()
    if p.size < 2 or p.sum() <= 0:
        return 0.0
    p = p / p.sum()
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / np.log(p.size))


def gini(p: np.ndarray) -> float:
    """Gini coefficient of ``p``: 0 when spread evenly, near 1 when one item holds everything."""
    x = np.sort(np.asarray(p, dtype=np.float64).ravel())
    if x.size < 2 or x.sum() <= 0:
        return 0.0
    ranks = np.arange(1, x.size + 1)
    return float((2 * (ranks * x).sum() / (x.size * x.sum())) - (x.size + 1) / x.size)


def _complexity(w: np.ndarray, members: np.ndarray, head_mass: np.ndarray | None) -> dict[str, Any]:
    sub = w[np.ix_(members, members)].copy()
    np.fill_diagonal(sub, 0.0)
    received = sub.sum(axis=0)  # attention each member receives from the rest of the cluster
    out: dict[str, Any] = {"token_entropy": rounded(entropy(received)), "token_gini": rounded(gini(received))}
    if head_mass is not None:
        out["head_entropy"] = rounded(entropy(head_mass))
        out["head_gini"] = rounded(gini(head_mass))
    return out
