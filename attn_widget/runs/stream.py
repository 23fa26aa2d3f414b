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

Memory is therefore ``O(T²)`` for the aggregate plus one block of a layer's
attention: where the family allows it (:func:`attn_widget.extract.blocks.unsupported`),
the weights are computed a block of queries at a time
(:mod:`attn_widget.extract.blocks`, block size from ``max_memory``) and every
reducer above adds each block into its rows; the aggregate is kept in float32
(``compact``). A family that cannot be computed in blocks runs whole layers, as
before, and a notice says so.
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
from ..extract import blocks as _blocks
from ..extract.forward import Prepared, Progress, reporter
from ..extract.hooks import TOP_KEYS, release_freed, stream_attention
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
    max_memory: Any = None,
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
    max_memory
        Memory the pass may take besides the model (bytes, or ``"2GB"``): picks the block size
        (:func:`attn_widget.extract.blocks.plan`, which refuses a text that cannot fit).
    """
    say = reporter(progress)
    layers, heads, n = prep.shape
    reason = _blocks.unsupported(prep.model)
    plan = _blocks.plan(heads, n, max_memory=max_memory, reason=reason)
    notices: list[str] = []
    if reason:
        notices.append(
            f"The attention of {prep.name!r} was computed a whole layer at a time ({heads} heads × {n}² "
            f"floats, {_blocks.size_text(heads * n * n * 4)} per layer), not in blocks of queries: {reason}."
        )
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
            sinks = SinkStats(layers, prep.causal, n)
            kept = _run(prep, [_scoring(scored), _scoring(sinks)], top_keys, plan.rows)
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
    reducer = make_reducer(options, (layers, heads, n), compact=True)

    def aggregate(index: int, start: int, attention: LayerAttention, norm: np.ndarray | None) -> None:
        data = {} if norm is None else {"value_norm": norm}
        reducer.layer(index, layer_weights(attention, options.measure, data, start=start))

    steps: list[Callable[..., None]] = [aggregate]
    scoring: tuple[Any, SinkStats] | None = None
    if not kept:
        scorer = _heads.scorer(prep.tokens, (layers, heads, n), prep.causal)
        scoring = (scorer, SinkStats(layers, prep.causal, n))
        steps += [_scoring(part) for part in scoring]
    how = "each layer" if plan.rows is None or plan.rows >= n else f"each block of {plan.rows} queries"
    say(f"running the model on {n} tokens, aggregating {how} as it is computed…", 0.5 if passes else 0.3)
    data = _run(prep, steps, top_keys if not kept else 0, plan.rows)
    release_freed()  # the pass's freed blocks, before the clustering allocates its T² arrays
    passes += 1
    if scoring is not None:
        data.update(_heads.report_arrays(_heads.report(scoring[0])), sink_received=scoring[1].received())
    data = {**data, **kept}
    return Streamed(reducer.result(), data, lens_heads, tuple(notices), passes)


def _run(
    prep: Prepared, steps: list[Callable[..., None]], top_keys: int, rows: int | None
) -> dict[str, np.ndarray]:
    def on_block(index: int, start: int, attention: LayerAttention, norm: np.ndarray | None) -> None:
        for step in steps:
            step(index, start, attention, norm)

    return stream_attention(
        prep.model,
        prep.ids,
        name=prep.name,
        causal=prep.causal,
        on_block=on_block,
        top_keys=top_keys,
        block_rows=rows,
    )


def _scoring(reducer: Any) -> Callable[..., None]:
    """A step for a reducer told only the attention's blocks (no value norms)."""
    return lambda index, start, attention, _norm: reducer.block(index, start, attention)


def _name(lens: Any) -> str:
    return repr(lens) if isinstance(lens, str) else getattr(lens, "__name__", "a function")
