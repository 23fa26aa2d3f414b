"""Plain-English rationales built only from evidence, through verified claims.

For each cluster: :func:`attn_widget.explain.evidence.characterize` computes the
evidence, :func:`make_claims` turns it into typed claims (each tagged with the
sentence it supports), :func:`attn_widget.explain.claims.verify` re-checks every claim
against the evidence (a failing claim is dropped and logged), and
:func:`compose` writes short sentences from the claims that survived (at
most one per slot of :data:`~.claim_makers.SENTENCES`: the group and its shares, the
left-out tokens, a lexical fact, the strongest link, the heads, their roles,
the lens, how far the partition beats runs of neighbouring words), and
:func:`attn_widget.explain.headline.compose` one plain sentence from the same
claims: what binds the group and the single strongest reason (``Cluster.headline``).
Numbers are rounded one way everywhere: shares as whole percents, role scores
to two decimals.

An optional language-model ``backend`` may rephrase the text and the headline
(:mod:`attn_widget.explain.llm`); its output is checked against the same evidence and
replaced by the grounded text when it mentions anything the evidence does not
hold (a headline also when it breaks the headline's limits).
``evidence["rationale_check"]`` and ``evidence["headline_check"]`` record which text
is shown and why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import Analysis, Cluster
from ..heads.roles import HeadReport
from . import headline
from .claim_makers import make_claims
from .claims import verify
from .evidence import characterize
from .llm import polish
from .prose import compose, number_sentences


@dataclass(frozen=True)
class Explained:
    """One cluster explained: its evidence, verified claims, texts and a notice for the user."""

    evidence: dict[str, Any]
    claims: list[Any]
    rationale: str
    headline: str
    notice: str | None = None


def explain_cluster(
    analysis: Analysis,
    cluster: Cluster,
    report: HeadReport | None = None,
    polisher: Any = None,
    *,
    labels: Any = None,
    cut: Mapping[str, Any] | None = None,
) -> Explained:
    """Evidence, verified claims, rationale, headline and an optional notice for one cluster.

    ``report`` is the analysis's :class:`~attn_widget.heads.roles.HeadReport` (or
    ``None``); ``polisher`` a backend from :func:`attn_widget.explain.llm.as_backend`;
    ``labels`` and ``cut`` the partition the cluster belongs to and its cut test, when
    not ``analysis.labels`` and unmeasured (see :func:`~attn_widget.explain.evidence.characterize`).
    The evidence gets ``rationale_check`` and ``headline_check`` entries saying where
    each text came from; claims the headline says carry ``"headline": True``.
    """
    evidence = characterize(analysis, cluster, report, labels=labels, cut=cut)
    kept, dropped = verify(make_claims(evidence), evidence)
    text = compose(kept, cluster.size)
    head = headline.compose(kept, cluster.size, variant=cluster.id)
    line = head.text
    marked = {id(c) for c in head.claims}
    kept = number_sentences([{**c, "headline": True} if id(c) in marked else c for c in kept], cluster.size)
    check: dict[str, Any] = {"source": "grounded", "dropped_claims": [d["reason"] for d in dropped]}
    line_check: dict[str, Any] = {"source": "grounded", "reason": head.reason}
    notices = []
    if polisher is not None and cluster.size >= 2:  # a lone token needs no rephrasing
        text, check, notice = polish(polisher, text, kept, evidence, analysis, check)
        facts = [c for c in kept if c.get("headline")] or kept
        line, line_check, line_notice = polish(
            polisher, line, facts, evidence, analysis, line_check, headline=True
        )
        notices = [n for n in (notice, line_notice) if n]
    evidence["rationale_check"] = check
    evidence["headline_check"] = line_check
    return Explained(evidence, kept, text, line, "; ".join(notices) or None)

def explain_clusters(
    analysis: Analysis,
    chosen: set[int],
    report: HeadReport | None,
    polisher: Any = None,
    *,
    cut: Mapping[str, Any] | None = None,
    notices: Sequence[str] = (),
) -> Analysis:
    """A copy of ``analysis`` whose clusters ``chosen`` carry evidence, claims, rationale and headline.

    Words only: the head ``report``, the partition's ``cut`` test and any
    measured scores come from the caller (:func:`attn_widget.runs.explaining.explain`
    runs them); ``polisher`` is a backend from :func:`attn_widget.explain.llm.as_backend`.
    ``cluster.scores["complexity"]`` is filled for each explained cluster.
    """
    notes = list(notices)
    out = []
    for c in analysis.clusters:
        if c.id not in chosen:
            out.append(c)
            continue
        done = explain_cluster(analysis, c, report, polisher, cut=cut)
        if done.notice:
            notes.append(done.notice)
        scores = {**(c.scores or {}), "complexity": done.evidence["complexity"]}
        out.append(
            dataclasses.replace(
                c, evidence=done.evidence, claims=tuple(done.claims), rationale=done.rationale,
                headline=done.headline, scores=scores,
            )
        )
    return dataclasses.replace(analysis, clusters=tuple(out), notices=tuple(notes))


def chosen_clusters(analysis: Analysis, clusters: Sequence[int] | None, min_size: int) -> set[int]:
    """The cluster ids to explain: ``clusters`` (checked), else those with at least ``min_size`` tokens."""
    ids = {c.id for c in analysis.clusters}
    if clusters is None:
        return {c.id for c in analysis.clusters if c.size >= min_size}
    bad = sorted(set(clusters) - ids)
    if bad:
        raise ValueError(f"clusters {bad} do not exist; this analysis has cluster ids {sorted(ids)}")
    return set(clusters)
