"""Analyses rebuilt from others: the same options on new attention, every step of a generation re-clustered.

:func:`reanalyze` clusters attention from a rerun of the model (an ablation)
exactly as the original analysis was clustered: the same measure, lens heads,
aggregation, threshold (automatic stays automatic), method, seed and sink
handling. :func:`recluster_steps` applies one change of options to every step of
a :class:`~attn_widget.core.Generation` and follows the clusters again; a
threshold given as a number is kept inside each step's own range, an automatic
one is chosen once, on the final text (:func:`attn_widget.graph.steps.one_ruler`). numpy only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..core import Analysis, Generation
from .pipeline import analyze_attention
from .recluster import recluster
from .steps import build_generation, chat_notices, one_ruler, within
from .weights import SINK_NOTICE


def reanalyze(
    analysis: Analysis, attentions: Any, head_data: Mapping[str, np.ndarray] | None = None
) -> Analysis:
    """Cluster ``attentions`` (of ``analysis``'s tokens) with ``analysis``'s options."""
    o = analysis.options
    return analyze_attention(
        attentions,
        analysis.model_tokens,
        text=analysis.text,
        model=analysis.model,
        notices=tuple(n for n in analysis.notices if not n.startswith(SINK_NOTICE)),
        head_data=head_data,
        lens_heads=o.lens_heads,
        model_sinks=o.model_sinks,
        threshold="auto" if o.auto_threshold else analysis.threshold,
        threshold_mode=o.threshold_mode,
        method=o.method,
        aggregation=o.aggregation,
        seed=o.seed,
        layers=o.layers,
        heads=o.heads,
        exclude="auto" if o.exclude_auto else list(o.exclude),
        measure=o.measure,
        lens=o.lens,
        unit=o.unit,
    )


def recluster_steps(
    generation: Generation, *, lens_heads: Sequence[tuple[int, int]] | None = None, **changes: Any
) -> Generation:
    """Every step re-clustered with ``changes`` (as ``recluster``), and the clusters followed again."""
    threshold = changes.pop("threshold", None)
    extra: dict[str, Any] = {} if lens_heads is None else {"lens_heads": lens_heads}
    analyses = []
    for s in generation.steps:
        a = recluster(s.analysis, **extra, **changes) if changes or extra else s.analysis
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
            a = recluster(a, threshold=within(a, float(threshold)))
        elif threshold is not None:
            a = recluster(a, threshold=threshold)
        fixed = chat_notices(a, frozenset(generation.hidden))
        analyses.append(a if fixed == a.notices else dataclasses.replace(a, notices=fixed))
    return build_generation(
        generation.prompt,
        generation.text,
        one_ruler(analyses),
        [(s.probability, s.alternatives) for s in generation.steps],
        prompt_length=generation.prompt_length,
        model=generation.model,
        settings=dataclasses.asdict(generation.settings),
        hidden=generation.hidden,
        stop=generation.stop,
        notices=generation.notices,
    )
