"""An encoder–decoder model on a source and a target: one graph over both texts.

:func:`analyze_pair` is what :func:`attn_widget.analyze` does for a T5, BART or
Marian model (``analyze(source, model=..., target=...)``): the extract layer
(:mod:`attn_widget.extract.seq2seq`) tokenizes the two texts (or lets the model
write the target) and runs one pass; the joint ``[layer, head, S + T, S + T]``
attention (source rows: encoder self-attention; target rows: half decoder
self-attention, half cross-attention) is clustered as one graph, so a cluster can
hold source and target words. The analysis's text is ``source + SEPARATOR +
target``; ``options.pair`` records where the source ends
(:attr:`attn_widget.core.Analysis.source_length`, ``.source_text``, ``.target_text``).
The raw attention kept is the joint one: its blocks are the three kinds
(``attentions[..., :S, :S]`` the encoder's, ``2 * attentions[..., S:, :S]`` the
cross-attention, ``2 * attentions[..., S:, S:]`` the decoder's, for ``S`` source tokens).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..core import Analysis
from ..core.options import CLUSTER_OPTIONS
from ..extract.forward import reporter
from ..extract.seq2seq import check_pair_options, prepare_pair, run_pair
from ..graph import pipeline as _pipeline
from .streamed import own_sinks


def analyze_pair(source: str, target: str | None, model: Any, tokenizer: Any, o: dict[str, Any]) -> Analysis:
    """``analyze`` of an encoder–decoder model: ``o`` holds every option (:data:`DEFAULTS` filled in)."""
    report = reporter(o["progress"])
    report(f"loading model {model if isinstance(model, str) else type(model).__name__}…", 0.0)
    prep = prepare_pair(source, target, model, tokenizer, overlength=o["overlength"], report=report)
    check_pair_options(o, prep.name)
    report(f"running the model on {prep.source_tokens} source and {len(prep.target_ids)} target tokens…", 0.3)
    joint, _ = run_pair(prep)
    notices = list(prep.notices)
    sinks = own_sinks(prep.sink, len(prep.tokens), o["exclude_sink"], notices)
    report("clustering…", 0.7)
    result = _pipeline.analyze_attention(
        joint, prep.tokens, text=prep.text, model=prep.name, notices=tuple(notices),
        model_sinks=sinks, **{k: o[k] for k in CLUSTER_OPTIONS},
    )  # fmt: skip
    report("done", 1.0)
    pair = (prep.source_tokens, prep.source_chars)
    return dataclasses.replace(result, options=dataclasses.replace(result.options, pair=pair))


def refuse_pair(analysis: Analysis, what: str) -> None:
    """Refuse ``what`` (a rerun, an ablation) on an encoder–decoder analysis, saying why."""
    if analysis.options.pair is not None:
        raise ValueError(
            f"{what} runs the model again on one text, and this analysis reads a source and a target "
            f"through encoder–decoder model {analysis.model!r}; run attn_widget.analyze(source, model=..., "
            "target=...) again with the changed options instead"
        )


def cross_share(analysis: Analysis) -> np.ndarray:
    """``[T_target, S]``: each target node's attention to the source nodes, as shares summing to 1.

    Read off the analysis's graph (under its aggregation, measure and lens); a row with no
    attention to the source is all zeros.
    """
    s = analysis.source_length
    if s is None:
        raise ValueError("this analysis reads one text: it has no cross-attention")
    rows = np.asarray(analysis.weights, dtype=np.float64)[s:, :s].copy()
    rows[:, list(i for i in analysis.excluded if i < s)] = 0.0
    total = rows.sum(axis=1, keepdims=True)
    return np.divide(rows, total, out=np.zeros_like(rows), where=total > 0)
