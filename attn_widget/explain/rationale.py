"""Plain-English rationales built only from evidence, through verified claims.

For each cluster: :func:`attn_widget.explain.evidence.characterize` computes the
evidence, :func:`make_claims` turns it into typed claims (each tagged with the
sentence it supports), :func:`attn_widget.explain.claims.verify` re-checks every claim
against the evidence (a failing claim is dropped and logged), and
:func:`compose` writes short sentences from the claims that survived (at
most one per slot of :data:`~.claim_makers.SENTENCES`: the group and its shares, the
left-out tokens, a lexical fact, the strongest link, the heads, their roles).
Numbers are rounded one way everywhere: shares as whole percents, role scores
to two decimals.

An optional language-model ``backend`` may rephrase the text
(:mod:`attn_widget.explain.llm`); its output is checked against the same evidence and
replaced by the grounded text when it mentions anything the evidence does not
hold. ``evidence["rationale_check"]`` records which text is shown and why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from ..core import Analysis, Cluster
from ..extract.loading import is_causal_config
from .claim_makers import make_claims
from .claims import verify
from .evidence import characterize
from .faithfulness import faithfulness
from .heads import HeadReport, induction_probe, score_heads
from .llm import as_backend, polish
from .prose import compose, number_sentences


def explain_cluster(
    analysis: Analysis, cluster: Cluster, report: HeadReport | None = None, polisher: Any = None
) -> tuple[dict[str, Any], list[Any], str, str | None]:
    """Evidence, verified claims, rationale text and an optional notice for one cluster.

    ``report`` is the analysis's :class:`~attn_widget.explain.heads.HeadReport` (or
    ``None``); ``polisher`` a backend from :func:`attn_widget.explain.llm.as_backend`.
    The evidence gets a ``rationale_check`` entry saying where the text came from.
    """
    evidence = characterize(analysis, cluster, report)
    kept, dropped = verify(make_claims(evidence), evidence)
    text = compose(kept, cluster.size)
    kept = number_sentences(kept, cluster.size)
    check: dict[str, Any] = {"source": "grounded", "dropped_claims": [d["reason"] for d in dropped]}
    notice = None
    if polisher is not None and cluster.size >= 2:  # a lone token needs no rephrasing
        text, check, notice = polish(polisher, text, kept, evidence, analysis, check)
    evidence["rationale_check"] = check
    return evidence, kept, text, notice

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
    report = score_heads(analysis.attentions, analysis.tokens) if analysis.attentions is not None else None
    if report is not None and model is not None and probe:
        report = _with_probe(report, model, notices)
    out = []
    for c in analysis.clusters:
        if c.id not in chosen:
            out.append(c)
            continue
        evidence, kept, text, notice = explain_cluster(analysis, c, report, polisher)
        if notice:
            notices.append(notice)
        scores = {**(c.scores or {}), "complexity": evidence["complexity"]}
        out.append(
            dataclasses.replace(c, evidence=evidence, claims=tuple(kept), rationale=text, scores=scores)
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
