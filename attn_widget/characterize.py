"""Evidence per cluster: spans, attention inside vs outside, strongest edges, heads, lexical facts.

Writes no prose: :func:`characterize` returns a JSON-able dict that
:mod:`attn_widget.rationale` turns into sentences and :mod:`attn_widget.claims`
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
    number :meth:`Analysis.table <attn_widget.analysis.Analysis.table>` shows).
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
    with the head's roles from :mod:`attn_widget.heads`. Empty without raw attention.
``n_heads``
    Number of heads in the model (layers × heads per layer); 0 without raw attention.
``lexical``
    Token indices per class (``punctuation``, ``stopword``, ``number``,
    ``capitalised``, ``pronoun``, ``repeated``) and ``same_word``: groups of
    indices that are sub-word pieces of one word.
``complexity``
    Entropy (normalised to [0, 1]) and Gini of the cluster's attention mass over
    its tokens and over heads: low entropy / high Gini = a simpler explanation.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._typing import Matrix
from .aggregate import aggregate
from .analysis import Analysis, Cluster, Token
from .heads import HeadReport, score_heads

TOP_EDGES = 5
TOP_OUTSIDE = 3
TOP_HEADS = 3


def characterize(analysis: Analysis, cluster: Cluster, report: HeadReport | None = None) -> dict[str, Any]:
    """Evidence for one cluster of ``analysis`` (see the module docstring for the fields).

    Parameters
    ----------
    analysis
        The analysis the cluster belongs to.
    cluster
        One of ``analysis.clusters``.
    report
        Head roles (from :func:`attn_widget.heads.score_heads`); computed from
        ``analysis.attentions`` when omitted and the raw attention is kept.
    """
    members = np.asarray(cluster.tokens, dtype=int)
    if members.size == 0:
        raise ValueError(f"cluster {cluster.id} has no tokens")
    if report is None and analysis.attentions is not None:
        report = score_heads(analysis.attentions, analysis.tokens)
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
    evidence["n_heads"] = 0 if analysis.attentions is None else int(np.prod(analysis.attentions.shape[:2]))
    evidence["complexity"] = _complexity(w, members, head_mass)
    return evidence


def _r(x: float) -> float:
    return round(float(x), 4)


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
    }


def attention_shares(weights: Matrix, members: Sequence[int] | np.ndarray) -> dict[str, float]:
    """Where ``members`` send their attention in ``weights`` (``[T, T]``, rows = senders).

    Returns
    -------
    dict
        ``internal`` (to other members), ``self`` (to the token itself),
        ``external`` (to everything else) and ``inside`` (internal + self):
        fractions of the members' total row mass, rounded to 4 decimals.
    """
    members = np.asarray(members, dtype=int)
    rows = weights[members]
    total = max(rows.sum(), 1e-12)
    own = weights[members, members].sum()
    inside = rows[:, members].sum() - own
    return {
        "internal": _r(inside / total),
        "self": _r(own / total),
        "external": _r(1 - (inside + own) / total),
        "inside": _r((inside + own) / total),
    }


_raw_cache: tuple[Any, tuple[Any, ...], Matrix] | None = None
"""(weak reference to the raw attention, aggregation options, aggregated map before exclusion)."""


def raw_weights(analysis: Analysis) -> Matrix | None:
    """The aggregated ``[T, T]`` map *before* excluded tokens are dropped (rows sum to 1).

    ``None`` without raw attention. The last result is cached (explaining every
    cluster of one analysis aggregates once).
    """
    global _raw_cache
    att = analysis.attentions
    if att is None:
        return None
    o = analysis.options
    key = (o.aggregation, o.layers, o.heads)
    hit = _raw_cache
    if hit is not None and hit[0]() is att and hit[1] == key:
        return hit[2]
    raw = aggregate(att, o.aggregation, layers=o.layers, heads=o.heads)
    _raw_cache = (weakref.ref(att), key, raw)
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
    return {"sink": _r(rows[:, excluded].sum() / max(rows.sum(), 1e-12))}


def _edges(w: np.ndarray, members: np.ndarray) -> list[dict[str, Any]]:
    sub = w[np.ix_(members, members)].copy()
    np.fill_diagonal(sub, 0.0)
    order = np.argsort(-sub, axis=None, kind="stable")[:TOP_EDGES]
    out = []
    for flat in order.tolist():
        i, j = divmod(flat, len(members))
        if sub[i, j] <= 0:
            break
        out.append({"from": int(members[i]), "to": int(members[j]), "weight": _r(sub[i, j])})
    return out


def _outside(analysis: Analysis, w: np.ndarray, members: np.ndarray) -> list[dict[str, Any]]:
    received = w[members].sum(axis=0)
    total = max(w[members].sum(), 1e-12)
    received[members] = 0.0
    out = []
    for j in np.argsort(-received, kind="stable")[:TOP_OUTSIDE].tolist():
        if received[j] <= 0:
            break
        out.append({"token": j, "text": analysis.tokens[j].text, "share": _r(received[j] / total)})
    return out


def _heads(
    analysis: Analysis, members: np.ndarray, report: HeadReport | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], np.ndarray | None]:
    att = analysis.attentions
    if att is None or members.size < 2:
        return [], [], None
    sub = att[:, :, members][:, :, :, members].astype(np.float64)  # [L, H, k, k]
    k = members.size
    sub[..., np.arange(k), np.arange(k)] = 0.0
    mass = sub.sum(axis=(-1, -2))  # [L, H] internal (off-diagonal) mass
    total = max(mass.sum(), 1e-12)
    share = mass / total
    n_heads = mass.size
    heads = []
    for flat in np.argsort(-share, axis=None, kind="stable")[:TOP_HEADS].tolist():
        layer, head = divmod(flat, att.shape[1])
        heads.append(
            {
                "layer": layer,
                "head": head,
                "share": _r(share[layer, head]),
                "lift": _r(share[layer, head] * n_heads),
                "inside": _r(mass[layer, head] / k),
                "roles": report.roles(layer, head) if report is not None else [],
            }
        )
    per_layer = share.sum(axis=1)
    layers = [
        {"layer": int(lay), "share": _r(per_layer[lay])}
        for lay in np.argsort(-per_layer, kind="stable")[:TOP_HEADS].tolist()
    ]
    return heads, layers, mass


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
    out: dict[str, Any] = {"token_entropy": _r(entropy(received)), "token_gini": _r(gini(received))}
    if head_mass is not None:
        out["head_entropy"] = _r(entropy(head_mass))
        out["head_gini"] = _r(gini(head_mass))
    return out


STOPWORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from as into onto about over under
    is are was were be been being am do does did have has had will would can could should may might
    must shall this that these those there here not no nor than too very just only also such what
    which who whom whose when where why how all any both each few more most other some own same""".split()  # noqa: SIM905 (a word list reads best as one string)
)
PRONOUNS = frozenset(
    """i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
    it its itself we us our ours ourselves they them their theirs themselves one someone something
    anyone anything everyone everything nobody nothing this that these those who whom whose which""".split()  # noqa: SIM905 (a word list reads best as one string)
)
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)*|\d*\.\d+)(%|st|nd|rd|th)?$")
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve hundred thousand million".split()  # noqa: SIM905 (a word list reads best as one string)
)


def _bare(text: str) -> str:
    return text.strip().removeprefix("##").strip("\u0120\u2581 ")


def word_ids(tokens: Sequence[Token]) -> list[int]:
    """Word number of each token: pieces of one word (no space between them) share a number.

    Uses character offsets when known, else the text: a piece that starts with
    a space, ``Ġ`` or ``▁`` begins a word; ``##`` continues one. Punctuation is
    its own word.
    """
    out: list[int] = []
    word = -1
    prev: Token | None = None
    for t in tokens:
        bare = _bare(t.text)
        joined = (
            prev is not None
            and not t.special
            and not prev.special
            and bare.isalnum()
            and (_bare(prev.text).isalnum())
        )
        if joined and prev is not None:
            if t.start is not None and prev.end is not None:
                joined = t.start == prev.end and not t.text[:1].isspace()
            else:
                joined = t.text.startswith("##") or not (t.text[:1].isspace() or t.text[:1] in "\u0120\u2581")
        word = word if joined else word + 1
        out.append(word)
        prev = t
    return out


def lexical_classes(tokens: Sequence[Token], members: Sequence[int]) -> dict[str, Any]:
    """Token indices of ``members`` per lexical class, computed from the text alone.

    Classes: ``punctuation``, ``stopword``, ``number``, ``capitalised``,
    ``pronoun``, ``repeated`` (the same text twice or more in the cluster),
    ``same_word`` (lists of indices that are pieces of one word).
    """
    out: dict[str, Any] = {k: [] for k in ("punctuation", "stopword", "number", "capitalised", "pronoun")}
    seen: dict[str, list[int]] = {}
    for i in members:
        bare = _bare(tokens[i].text)
        low = bare.lower()
        if bare and all(not c.isalnum() for c in bare):
            out["punctuation"].append(i)
        if low in STOPWORDS:
            out["stopword"].append(i)
        if _NUMBER.match(bare) or low in _NUMBER_WORDS:
            out["number"].append(i)
        if bare[:1].isupper():
            out["capitalised"].append(i)
        if low in PRONOUNS:
            out["pronoun"].append(i)
        if bare:
            seen.setdefault(low, []).append(i)
    out["repeated"] = sorted(i for group in seen.values() if len(group) > 1 for i in group)
    words = word_ids(tokens)
    by_word: dict[int, list[int]] = {}
    for i in members:
        by_word.setdefault(words[i], []).append(i)
    out["same_word"] = [group for group in by_word.values() if len(group) > 1]
    return out
