"""Explaining an analysis: the measurements its words need, then the words.

:func:`explain` runs what takes a model (the partition's cut test, the
induction probe, the faithfulness scores: :mod:`attn_widget.evaluate` and
:mod:`attn_widget.heads`) and hands the results to
:func:`attn_widget.explain.rationale.explain_clusters`, which only writes. So
``explain/`` never runs a model, and computing an analysis never enters it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core import Analysis
from ..evaluate.cuttest import cut_test
from ..evaluate.faithfulness import faithfulness
from ..explain.findings import make_findings
from ..explain.llm import as_backend
from ..explain.rationale import chosen_clusters, explain_clusters
from ..extract.loading import is_causal_config
from ..heads.roles import HeadReport, analysis_report, induction_probe
from .arcs import arcs
from .depends import prediction_evidence

__all__ = ["explain"]


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
        :func:`attn_widget.evaluate.faithfulness.faithfulness`).
    progress
        ``progress(done, total, message)`` callback for the faithfulness passes.
    probe
        With a causal ``model``, also look for induction heads on a repeated
        random-token sequence (one extra forward pass); such roles are marked
        ``measured_on: "probe"``.
    cut
        The partition cut test's result for ``analysis``'s clusters
        (:func:`attn_widget.evaluate.cuttest.cut_test`), or ``True`` to run it now
        (forward passes; ``model`` or the analysis's own model). The rationale and
        headline then say whether the clusters beat runs of neighbouring words; without it
        they go by contiguity alone.
    **faithfulness_options
        Passed to :func:`attn_widget.evaluate.faithfulness.faithfulness` (``n_random``, ``seed``, ...).

    Returns
    -------
    Analysis
        ``cluster.scores["complexity"]`` is always filled; ``["faithfulness"]`` with ``model``.
    """
    if faithfulness_options and model is None:
        raise TypeError(f"explain() got faithfulness options {sorted(faithfulness_options)} but no model=")
    chosen = chosen_clusters(analysis, clusters, min_size)
    notices = list(analysis.notices)
    polisher = as_backend(backend)
    if cut is True:
        cut = cut_test(analysis, model, progress=progress)
    elif cut is False:
        cut = None
    report = analysis_report(analysis)
    if report is not None and model is not None and probe:
        report = _with_probe(report, model, notices)
    measured = cut if isinstance(cut, Mapping) else None
    result = explain_clusters(analysis, chosen, report, polisher, cut=measured, notices=notices)
    skipped: list[str] = []
    said = next_word(result, model, tokenizer, skipped)
    found = make_findings(result, arcs(result), report, said)
    result = dataclasses.replace(result, findings=found, notices=(*result.notices, *skipped))
    if model is not None:
        scored = sorted(c.id for c in analysis.clusters if c.id in chosen and c.size >= 2)
        result = faithfulness(
            result, model, tokenizer, clusters=scored, progress=progress, **faithfulness_options
        )
    return result


def next_word(
    analysis: Analysis, model: Any = None, tokenizer: Any = None, notices: list[str] | None = None
) -> dict[str, Any] | None:
    """The next-word finding's evidence (:func:`attn_widget.runs.depends.prediction_evidence`), or
    ``None``; a model that cannot be run for it is said in ``notices``, never raised."""
    try:
        return prediction_evidence(analysis, model, tokenizer)
    except (ValueError, RuntimeError, OSError) as err:  # a model that cannot be loaded or run
        if notices is not None:
            notices.append(f"The next-word finding was left out: {err}")
        return None


def _with_probe(report: HeadReport, model: Any, notices: list[str]) -> HeadReport:
    if not is_causal_config(model.config):
        return report
    try:
        return report.with_probe(induction_probe(model))
    except ValueError as err:  # e.g. a vocabulary too small for the probe
        notices.append(f"induction probe skipped: {err}")
        return report
