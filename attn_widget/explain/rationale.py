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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import Analysis, Cluster
from ..extract.loading import is_causal_config
from . import headline
from .claim_makers import make_claims
from .claims import verify
from .cuttest import cut_test
from .evidence import characterize
from .faithfulness import faithfulness
from .heads import HeadReport, analysis_report, induction_probe
from .llm import as_backend, polish
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

    ``report`` is the analysis's :class:`~attn_widget.explain.heads.HeadReport` (or
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

def explain(
    analysis: Analysis,
    backend: Any = None,
    *,
    clusters: Sequence[int] | None = None,
    min_size: int = 1,
    model: Any = None,
    tokenizer: Any = None,
    progress: Callable[[int, int, str], None] | None = None,
    probe: bool = True,
    cut: Mapping[str, Any] | bool | None = None,
    **faithfulness_options: Any,
) -> Analysis:
    """Return a copy of ``analysis`` whose clusters carry evidence, claims, rationale and scores.

    Parameters
    ----------
    analysis
        The analysis to explain.
    backend
        ``None`` for the grounded text only; otherwise a language-model polish
        backend (see :func:`attn_widget.explain.llm.as_backend`), whose text is checked
        and used only when it holds.
    clusters
        Cluster ids to explain (default: all with at least ``min_size`` tokens).
    min_size
        Smallest cluster explained when ``clusters`` is not given.
    model, tokenizer
        When ``model`` is given, faithfulness scores are computed too for the
        chosen clusters of two or more tokens (extra forward passes; see
        :func:`attn_widget.explain.faithfulness.faithfulness`).
    progress
        ``progress(done, total, message)`` callback for the faithfulness passes.
    probe
        With a causal ``model``, also look for induction heads on a repeated
        random-token sequence (one extra forward pass); such roles are marked
        ``measured_on: "probe"``.
    cut
        The partition cut test's result for ``analysis``'s clusters
        (:func:`attn_widget.explain.cuttest.cut_test`), or ``True`` to run it now
        (forward passes; ``model`` or the analysis's own model). The rationale and
        headline then say whether the clusters beat runs of neighbouring words; without it
        they go by contiguity alone.
    **faithfulness_options
        Passed to :func:`attn_widget.explain.faithfulness.faithfulness` (``n_random``, ``seed``, ...).

    Returns
    -------
    Analysis
        ``cluster.scores["complexity"]`` is always filled; ``["faithfulness"]`` with ``model``.
    """
    if faithfulness_options and model is None:
        raise TypeError(f"explain() got faithfulness options {sorted(faithfulness_options)} but no model=")
    chosen = _chosen(analysis, clusters, min_size)
    notices = list(analysis.notices)
    polisher = as_backend(backend)
    if cut is True:
        cut = cut_test(analysis, model, progress=progress)
    elif cut is False:
        cut = None
    report = analysis_report(analysis)
    if report is not None and model is not None and probe:
        report = _with_probe(report, model, notices)
    out = []
    for c in analysis.clusters:
        if c.id not in chosen:
            out.append(c)
            continue
        done = explain_cluster(analysis, c, report, polisher, cut=cut)
        if done.notice:
            notices.append(done.notice)
        scores = {**(c.scores or {}), "complexity": done.evidence["complexity"]}
        out.append(
            dataclasses.replace(
                c, evidence=done.evidence, claims=tuple(done.claims), rationale=done.rationale,
                headline=done.headline, scores=scores,
            )
        )
    result = dataclasses.replace(analysis, clusters=tuple(out), notices=tuple(notices))
    if model is not None:
        scored = sorted(c.id for c in analysis.clusters if c.id in chosen and c.size >= 2)
        result = faithfulness(
            result, model, tokenizer, clusters=scored, progress=progress, **faithfulness_options
        )
    return result


def _with_probe(report: HeadReport, model: Any, notices: list[str]) -> HeadReport:
    if not is_causal_config(model.config):
        return report
    try:
        return report.with_probe(induction_probe(model))
    except ValueError as err:  # e.g. a vocabulary too small for the probe
        notices.append(f"induction probe skipped: {err}")
        return report


def _chosen(analysis: Analysis, clusters: Sequence[int] | None, min_size: int) -> set[int]:
    ids = {c.id for c in analysis.clusters}
    if clusters is None:
        return {c.id for c in analysis.clusters if c.size >= min_size}
    bad = sorted(set(clusters) - ids)
    if bad:
        raise ValueError(f"clusters {bad} do not exist; this analysis has cluster ids {sorted(ids)}")
    return set(clusters)
