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

from ..core.types import Attention

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


def received(att: Attention, relative: bool = True) -> np.ndarray:
    """``[layer, T]``: the median query's attention to each key, relative to uniform (NaN where not judged).

    ``relative=False``: the median query's share of attention on the key, as it is.
    """
    att = np.asarray(att)
    t = att.shape[-1]
    causal = is_causal(att)
    n_keys = np.arange(1, t + 1, dtype=np.float64) if causal else np.full(t, float(t))
    visible = np.tril(np.ones((t, t), dtype=bool)) if causal else np.ones((t, t), dtype=bool)
    np.fill_diagonal(visible, False)
    count = visible.sum(axis=0)
    judged = count >= (max(MIN_QUERIES, MIN_COVER * t) if causal else 1)
    out = np.full((att.shape[0], t), np.nan)
    if not judged.any():
        return out
    for layer in range(att.shape[0]):
        share = att[layer].mean(axis=0, dtype=np.float64)
        if relative:
            share = share * n_keys[:, None]
        out[layer, judged] = np.nanmedian(np.where(visible, share, np.nan)[:, judged], axis=0)
    return out


def sink_scores(att: Attention) -> np.ndarray:
    """``[T]``: geometric mean over layers of the received attention over the layer's median key."""
    r = received(att)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a layer whose keys are all unjudged
        ratio = r / np.nanmedian(r, axis=1, keepdims=True)
        return np.exp(np.log(np.clip(ratio, 1e-6, None)).mean(axis=0))


def detect_sinks(att: Attention) -> tuple[int, ...]:
    """Token indices that act as attention sinks in ``att`` (``[layer, head, T, T]``), ascending."""
    score = sink_scores(att)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # keys that are never judged are all-NaN columns
        share = np.nanmean(received(att, relative=False), axis=0)
    score, share = np.nan_to_num(score, nan=0.0), np.nan_to_num(share, nan=0.0)
    n = att.shape[-1]
    if n < MIN_TOKENS:
        return ()
    major = (share >= MAJOR_SHARE) & (share * n >= FACTOR / 2)  # and far above a uniform share
    strong = ((score >= FACTOR) & (share >= MIN_SHARE)) | major
    candidates = np.flatnonzero(strong)
    cap = max(min(int(np.floor(MAX_SHARE * score.size)), score.size - 2), 0)
    strongest = candidates[np.argsort(-score[candidates], kind="stable")][:cap]
    return tuple(sorted(int(i) for i in strongest))
