"""A streamed analysis's forward pass: every layer reduced as the model runs, then dropped.

Where a long text's attention (``layers × heads × T²`` floats) would not fit,
:func:`stream` runs the model once (:func:`attn_widget.extract.hooks.stream_attention`)
and hands each layer to the per-layer reducers of the layers below, which keep
only what the analysis needs afterwards:

- the aggregation the options ask for (mean, max, chosen layers or heads,
  rollout; the ``attention`` or ``norm`` measure; the lens's heads), from
  :mod:`attn_widget.graph.reduce`: ``[T, T]``;
- the sink statistics ``exclude="auto"`` reads (:class:`attn_widget.graph.sinks.SinkStats`):
  ``[2, layer, T]``;
- the head roles (:mod:`attn_widget.heads.stats`): ``[layer, head, T]`` while
  running, ``[role, 3, layer, head]`` kept;
- each head's strongest keys per query (``top_index``/``top_weight``), for a
  cluster's heads and the drill-down.

Memory is therefore ``O(T²)`` for the aggregate plus one layer's attention.
A lens that picks heads by their roles on this input (``"content"``, the role
lenses, a function of the report) needs the roles before aggregating: the model
then runs twice, once to score the heads and once to aggregate their attention.
This module composes the layers (extract's hooks, graph's and explain's reducers);
it computes nothing itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import Options
from ..core.types import LayerAttention, Matrix
from ..extract.forward import Prepared, Progress, reporter
from ..extract.hooks import TOP_KEYS, stream_attention
from ..graph.measures import layer_weights
from ..graph.sinks import SinkStats
from ..graph.weights import make_reducer
from ..heads import lenses as _lenses
from ..heads import roles as _heads


@dataclass(frozen=True, eq=False)
class Streamed:
    """What a streaming pass kept: the token aggregate, the per-head data and the lens it resolved."""

    token_weights: Matrix
    head_data: dict[str, np.ndarray]
    lens_heads: tuple[tuple[int, int], ...] | None
    notices: tuple[str, ...] = field(default=())
    passes: int = 1


def stream(
    prep: Prepared,
    options: Options,
    *,
    lens: Any = None,
    report: _heads.HeadReport | None = None,
    progress: Progress | None = None,
    top_keys: int = TOP_KEYS,
) -> Streamed:
    """Run ``prep``'s model once (twice for a role lens), reducing each layer as it is computed.

    Parameters
    ----------
    prep
        The model and tokenized text (:func:`attn_widget.extract.forward.prepare`).
    options
        The aggregation, measure, layers and heads (``lens_heads`` when already resolved).
    lens
        A lens still to resolve (a name or function); ``None`` to use ``options.lens_heads``.
    report
        Head roles already known (a rerun of a streamed analysis): a role lens needs no extra pass.
    progress
        ``progress(stage, fraction)``, told each pass.
    top_keys
        Strongest keys kept per head and query.
    """
    say = reporter(progress)
    layers, heads, n = prep.shape
    notices: list[str] = []
    lens_heads = options.lens_heads
    kept: dict[str, np.ndarray] = {}
    passes = 0
    if lens is not None:
        try:
            lens_heads, said = _lenses.resolve(
                lens, None, prep.tokens, prep.name, options.measure, report=report, shape=(layers, heads)
            )
        except _lenses.NeedsReport:
            say(f"scoring the heads' roles on {n} tokens (a first pass, for lens={_name(lens)})…", 0.3)
            scored = _heads.scorer(prep.tokens, (layers, heads, n), prep.causal)
            sinks = SinkStats(layers, prep.causal)
            kept = _run(prep, [_scoring(scored), _scoring(sinks)], top_keys)
            report = _heads.report(scored)
            kept.update(_heads.report_arrays(report), sink_received=sinks.received())
            passes += 1
            lens_heads, said = _lenses.resolve(
                lens, None, prep.tokens, prep.name, options.measure, report=report, shape=(layers, heads)
            )
            notices.append(
                f"lens={_name(lens)} picks heads by their roles on this text, which was streamed: "
                "the model ran twice (once to score the heads, once to aggregate them)."
            )
        notices.extend(said)
    options = dataclasses.replace(options, lens_heads=lens_heads)
    reducer = make_reducer(options, (layers, heads, n))

    def aggregate(index: int, attention: LayerAttention, norm: np.ndarray | None) -> None:
        data = {} if norm is None else {"value_norm": norm}
        reducer.layer(index, layer_weights(attention, options.measure, data))

    steps: list[Callable[..., None]] = [aggregate]
    scoring: tuple[Any, SinkStats] | None = None
    if not kept:
        scorer = _heads.scorer(prep.tokens, (layers, heads, n), prep.causal)
        scoring = (scorer, SinkStats(layers, prep.causal))
        steps += [_scoring(part) for part in scoring]
    say(f"running the model on {n} tokens, aggregating each layer as it is computed…", 0.5 if passes else 0.3)
    data = _run(prep, steps, top_keys if not kept else 0)
    passes += 1
    if scoring is not None:
        data.update(_heads.report_arrays(_heads.report(scoring[0])), sink_received=scoring[1].received())
    data = {**data, **kept}
    return Streamed(reducer.result(), data, lens_heads, tuple(notices), passes)


def _run(prep: Prepared, steps: list[Callable[..., None]], top_keys: int) -> dict[str, np.ndarray]:
    def on_layer(index: int, attention: LayerAttention, norm: np.ndarray | None) -> None:
        for step in steps:
            step(index, attention, norm)

    return stream_attention(
        prep.model, prep.ids, name=prep.name, causal=prep.causal, on_layer=on_layer, top_keys=top_keys
    )


def _scoring(reducer: Any) -> Callable[..., None]:
    """A step for a reducer told only the layer's attention (no value norms)."""
    return lambda index, attention, _norm: reducer.layer(index, attention)


def _name(lens: Any) -> str:
    return repr(lens) if isinstance(lens, str) else getattr(lens, "__name__", "a function")
