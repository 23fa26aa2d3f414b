"""A streamed analysis (``keep="summary"``): the forward pass that reduces each layer, then the graph.

:func:`analyze_streamed` is what :func:`attn_widget.analyze` and
:func:`attn_widget.rerun` do for a text whose attention is too large to keep:
:func:`attn_widget.runs.stream.stream` aggregates each layer as the model
computes it (and measures sinks, head roles and each head's strongest keys in
the same pass), then the graph layer's pipeline clusters the token aggregate.
:func:`prepared_again` and :func:`options_of` give back what made an analysis,
for running its model again. Does not load a model by name except in
:func:`prepared_again`, and never keeps the per-head attention.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..core import Analysis
from ..extract.forward import Prepared, attention_bytes, reporter
from ..extract.loading import is_causal_config, load
from ..graph import pipeline as _pipeline
from ..graph.pipeline import lens_option, make_options
from ..graph.sinks import sinks_from
from ..graph.weights import SINK_NOTICE, resolve_exclude
from .stream import stream

SHORT_TEXT_NOTICE = "The text is too short to leave out the attention sink; all tokens are clustered."


def named(lens: Any) -> bool:
    """A lens that needs resolving from head roles: a name other than "all", or a function."""
    return (isinstance(lens, str) and lens != "all") or callable(lens)


def own_sinks(sink: Sequence[int], n: int, exclude_sink: bool, notices: list[str]) -> Sequence[int]:
    """The model's own sink tokens to leave out (none when the text is too short to spare them)."""
    sinks: Sequence[int] = sink if exclude_sink else ()
    if sinks and len(set(sinks)) >= n - 1:
        notices.append(SHORT_TEXT_NOTICE)
        return ()
    return sinks


def analyze_streamed(
    prep: Prepared, o: dict[str, Any], roles: Any = None, model_sinks: Sequence[int] | None = None
) -> Analysis:
    """``analyze`` of a streamed text (``keep="summary"``, :mod:`attn_widget.runs.stream`).

    ``roles``: head roles already known (a rerun); ``model_sinks``: the sinks to use instead of the
    model's own.
    """
    n = len(prep.ids)
    if o["measure"] == "gradient":
        raise ValueError(
            f"measure='gradient' runs a backward pass, which holds every layer's attention at once, so it "
            f"cannot be streamed (this text of {n} tokens is analysed with keep='summary'); use "
            "measure='norm' "
            "or 'attention', or keep='attention' on a text short enough for it"
        )
    notices = list(prep.notices)
    sinks = own_sinks(prep.sink, n, o["exclude_sink"], notices) if model_sinks is None else model_sinks
    lens = o["lens"]
    pairs = None if named(lens) or lens == "all" else lens
    base = make_options({**o, "lens": "all" if named(lens) else lens}, n, lens_heads=pairs)
    streamed = stream(
        prep,
        base,
        lens=lens if named(lens) else None,
        report=roles,
        progress=o["progress"],
        max_memory=o.get("max_memory"),
    )
    reporter(o["progress"])("clustering…", 0.8)
    detect = lambda: sinks_from(streamed.head_data["sink_received"])  # noqa: E731
    exclude, auto, said = resolve_exclude(o["exclude"], detect, prep.tokens, sinks)
    if named(lens) and streamed.lens_heads is not None:
        recorded, resolved = lens_option(lens, streamed.lens_heads)
    elif named(lens):  # the lens kept every head (its notice says why): record what the graph is
        recorded, resolved = "all", None
    else:
        recorded, resolved = base.lens, base.lens_heads
    options = dataclasses.replace(
        base,
        lens=recorded,
        lens_heads=resolved,
        exclude=exclude,
        exclude_auto=auto,
        model_sinks=tuple(sorted({int(i) % n for i in sinks})),
    )
    size = attention_bytes(prep.model.config, n) or 0
    notices.append(
        f"Streamed (keep='summary'): the attention of these {n} tokens would take {size / 2**30:.1f} GiB, so "
        "each layer was aggregated as the model ran (a block of queries at a time where the model allows) "
        "and "
        "then dropped. The threshold, method, exclude and "
        "unit can change at once; another aggregation, measure or lens runs the model again."
    )
    return _pipeline.build(
        text=prep.text,
        tokens=prep.tokens,
        attentions=None,
        weights=None,
        options=options,
        threshold=o["threshold"],
        model=prep.name,
        notices=(*notices, *streamed.notices, *said),
        head_data=streamed.head_data,
        token_weights=streamed.token_weights,
    )


REGENERATED = (SINK_NOTICE, "Streamed (keep=", "lens=", "Lens ", "The lens ")
"""Notices an analysis makes afresh; a rerun drops the old ones."""


def prepared_again(analysis: Analysis) -> Prepared:
    """The model input that made ``analysis`` (its model loaded again by name), to run it once more."""
    pieces = analysis.model_tokens
    if not analysis.model or any(t.id is None for t in pieces):
        raise ValueError(
            "rerun() runs the model that made this analysis, and it names none (made from attention arrays); "
            "analyse the text with a model: attn_widget.analyze(text, model=...)"
        )
    model, _ = load(analysis.model)
    kept = tuple(x for x in analysis.notices if not x.startswith(REGENERATED))
    ids = tuple(int(t.id) for t in pieces if t.id is not None)
    return Prepared(analysis.text, model, analysis.model, ids, pieces, is_causal_config(model.config), kept)


def options_of(analysis: Analysis) -> dict[str, Any]:
    """The cluster options that would make ``analysis`` again."""
    o = analysis.options
    return {
        "threshold": "auto" if o.auto_threshold else analysis.threshold,
        "threshold_mode": o.threshold_mode,
        "method": o.method,
        "aggregation": o.aggregation,
        "seed": o.seed,
        "layers": o.layers,
        "heads": o.heads,
        "exclude": "auto" if o.exclude_auto else list(o.exclude),
        "measure": o.measure,
        "lens": o.lens if isinstance(o.lens, str) else list(o.lens),
        "unit": o.unit,
    }
