"""Find attention sinks: tokens that (almost) every query parks far more attention on than on the rest.

Real models park spare attention on a few tokens (BOS, ``[CLS]``, the first
token of a causal model without BOS, sometimes a full stop). Such a token is
linked to every other token, glues every group to every other through itself,
and hides the structure a clustering should find. With ``exclude="auto"`` (the
default) they are left out of the graph.

In a causal model an early key is visible to more queries, and each early query
spreads over few keys, so raw column sums favour early tokens even under
uniform attention. Each key ``j`` is therefore scored by its attention
*relative to uniform*, per layer:

    r_j = median over the queries i ≠ j that can see j of  mean_heads(a_ij) · n_i

with ``n_i`` the number of keys query ``i`` sees (uniform attention gives
``r_j = 1``). The median makes it a statement about (almost) every query: a
sink is attended from everywhere, a group's popular member only from its group.
The score is the geometric mean over layers of ``r_j`` divided by the layer's
median key (a sink is a sink in most layers; one extreme layer does not
decide). A key scoring at least :data:`FACTOR`, to which the median query
gives at least :data:`MIN_SHARE` of its attention, is a sink; at most
:data:`MAX_SHARE` of the tokens are, never all but two, and a causal key must
be visible to :data:`MIN_COVER` of the queries to be judged (the last tokens
of a causal model are never sinks).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.types import Attention, LayerAttention

FACTOR = 8.0
"""A sink gets at least this many times the typical token's attention relative to uniform."""
MAX_SHARE = 0.25
"""At most this share of a text's tokens are left out as sinks (the strongest first)."""
MIN_COVER = 0.5
"""A causal key is judged only when at least this share of the queries can see it."""
MIN_QUERIES = 2
"""… and at least this many."""
MIN_TOKENS = 6
"""Texts shorter than this are too short to tell a sink from a group: nothing is left out."""
MIN_SHARE = 0.1
"""… and the median query must give it at least this share of its attention (averaged over layers):
a member of a large group is singled out by its group's queries, but with a small share each."""
MAJOR_SHARE = 0.25
"""A key to which the median query gives this share of its attention is a sink whatever the others get
(with only two or three groups, the typical key is itself popular and the ratio says little),
provided that share is at least ``FACTOR / 2`` times a uniform one."""


def is_causal(att: Attention) -> bool:
    """True when no query attends to a later key."""
    upper = np.triu(np.ones(att.shape[-2:], dtype=bool), k=1)
    return bool(np.asarray(att)[..., upper].max(initial=0.0) < 1e-6)


def judged_keys(t: int, causal: bool) -> np.ndarray:
    """``[T]`` bool: the keys seen by enough queries to be judged (every key of an encoder)."""
    count = np.arange(t - 1, -1, -1) if causal else np.full(t, t - 1)  # queries i != j that see key j
    return count >= (max(MIN_QUERIES, MIN_COVER * t) if causal else 1)


def layer_received(layer: LayerAttention, causal: bool) -> np.ndarray:
    """``[2, T]`` for one layer ``[head, T, T]``: the median query's attention to each key,
    relative to uniform (row 0) and as a share (row 1); NaN where a key is not judged.

    The median runs over the queries ``i != j`` that see key ``j`` (``i > j`` in a
    causal model). Each judged key's column is copied into a row whose unseen
    entries are split between ``-inf`` and ``+inf`` so that the seen entries'
    median sits at the same two positions of every row; one partial sort
    (``np.partition``) then finds it.
    """
    t = layer.shape[-1]
    judged = np.flatnonzero(judged_keys(t, causal))
    if not judged.size:
        return np.full((2, t), np.nan)
    share = layer.sum(axis=0, dtype=np.float32) / np.float32(layer.shape[0])  # head mean
    cols = np.ascontiguousarray(share.T[judged])  # [judged key, query]
    del share
    return _received(cols, judged, causal)


def _received(cols: np.ndarray, judged: np.ndarray, causal: bool) -> np.ndarray:
    """:func:`layer_received` from the head mean's judged columns ``[judged key, query]`` (overwritten)."""
    t = cols.shape[1]
    out = np.full((2, t), np.nan)
    query = np.arange(t)
    unseen = query[None, :] <= judged[:, None] if causal else query[None, :] == judged[:, None]
    seen = t - unseen.sum(axis=1)
    centre = (t - 1) // 2
    below = centre - (seen - 1) // 2  # unseen entries sent to -inf: puts the lower median at `centre`
    rank = query[None, :] + 1 if causal else 1  # 1, 2, … along a row's unseen entries (0..j, or j alone)
    low = unseen & (rank <= below[:, None])
    high = unseen & ~low
    upper = centre + (seen % 2 == 0)  # the upper median, one further for an even count
    n_keys = np.arange(1, t + 1, dtype=np.float32) if causal else np.full(t, np.float32(t))
    pick = np.arange(judged.size)
    for k, row in enumerate((cols * n_keys[None, :], cols)):  # relative to uniform, then as it is
        row[low], row[high] = -np.inf, np.inf
        row.partition([centre, centre + 1] if centre + 1 < t else [centre], axis=1)
        out[k, judged] = (row[pick, centre].astype(np.float64) + row[pick, upper]) / 2.0
    return out


def received(att: Attention, relative: bool = True) -> np.ndarray:
    """``[layer, T]``: the median query's attention to each key, relative to uniform (NaN where not judged).

    ``relative=False``: the median query's share of attention on the key, as it is.
    """
    att = np.asarray(att)
    causal = is_causal(att)
    row = 0 if relative else 1
    return np.stack([layer_received(att[layer], causal)[row] for layer in range(att.shape[0])])


class SinkStats:
    """Collects :func:`layer_received` layer by layer (a streaming pass) and finds the sinks at the end.

    With ``n`` (the text's tokens), a layer may also come as blocks of queries
    (:meth:`block`): the head mean of its judged keys is gathered, ``[judged key, T]``
    float32, and reduced when the last block is in.
    """

    def __init__(self, n_layers: int, causal: bool, n: int | None = None):
        self.causal, self.n = causal, n
        self.stats: list[np.ndarray] = [np.empty(0)] * n_layers
        self.cols: np.ndarray | None = None

    def layer(self, index: int, attention: LayerAttention) -> None:
        self.stats[index] = layer_received(attention, self.causal)

    def block(self, index: int, start: int, attention: LayerAttention) -> None:
        """The queries ``start…`` of layer ``index`` (``[head, rows, width]``, later keys zero)."""
        n = self.n if self.n is not None else attention.shape[-1]
        rows, width = attention.shape[1], attention.shape[2]
        if start == 0 and rows == n and width == n:
            self.layer(index, attention)
            return
        judged = np.flatnonzero(judged_keys(n, self.causal))
        if start == 0:
            self.cols = np.zeros((judged.size, n), dtype=np.float32)
        assert self.cols is not None, "blocks of a layer arrive from its first query on"
        seen = judged[judged < width]
        share = attention.sum(axis=0, dtype=np.float32) / np.float32(attention.shape[0])
        self.cols[: seen.size, start : start + rows] = share[:, seen].T
        if start + rows >= n:
            self.stats[index] = (
                _received(self.cols, judged, self.causal) if judged.size else np.full((2, n), np.nan)
            )
            self.cols = None

    def received(self) -> np.ndarray:
        """``[2, layer, T]``: relative and absolute received attention per layer."""
        return np.stack(self.stats, axis=1)


def sink_scores(att: Attention) -> np.ndarray:
    """``[T]``: geometric mean over layers of the received attention over the layer's median key."""
    return _scores(received(att))


def _scores(r: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a layer whose keys are all unjudged
        ratio = r / np.nanmedian(r, axis=1, keepdims=True)
        return np.exp(np.log(np.clip(ratio, 1e-6, None)).mean(axis=0))


def detect_sinks(att: Attention) -> tuple[int, ...]:
    """Token indices that act as attention sinks in ``att`` (``[layer, head, T, T]``), ascending."""
    att = np.asarray(att)
    causal = is_causal(att)
    return sinks_from(np.stack([layer_received(att[layer], causal) for layer in range(att.shape[0])], axis=1))


def sinks_from(stats: np.ndarray) -> tuple[int, ...]:
    """The sinks from ``[2, layer, T]`` received attention (:meth:`SinkStats.received`), ascending."""
    score = _scores(stats[0])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # keys that are never judged are all-NaN columns
        share = np.nanmean(stats[1], axis=0)
    score, share = np.nan_to_num(score, nan=0.0), np.nan_to_num(share, nan=0.0)
    n = stats.shape[-1]
    if n < MIN_TOKENS:
        return ()
    major = (share >= MAJOR_SHARE) & (share * n >= FACTOR / 2)  # and far above a uniform share
    strong = ((score >= FACTOR) & (share >= MIN_SHARE)) | major
    candidates = np.flatnonzero(strong)
    cap = max(min(int(np.floor(MAX_SHARE * score.size)), score.size - 2), 0)
    strongest = candidates[np.argsort(-score[candidates], kind="stable")][:cap]
    return tuple(sorted(int(i) for i in strongest))
