"""The graph of an analysis under another lens or measure, from its kept attention (no forward pass).

:func:`weights_under` is what links, arcs and the widget's hover links read;
:func:`lens_under` and :func:`lens_heads` resolve a named lens on an analysis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..core import Analysis
from ..graph import recluster as _recluster
from ..graph import weights as _weights
from ..graph.pipeline import check_choices
from ..heads import lenses as _lenses

__all__ = ["lens_heads", "lens_under", "weights_under"]


def lens_under(analysis: Analysis, lens: Any, measure: str) -> Any:
    """The lens to resolve: ``lens``, or the analysis's own named lens when the measure changes.

    A named lens may keep other heads under another measure (the coreference heads
    are found per measure), so its heads are found again; a list of heads is kept.
    """
    own = analysis.options.lens
    named = isinstance(own, str) and own in _lenses.LENSES and own != "all"  # "all" keeps every head
    if lens is None and named and measure != analysis.options.measure:
        return own
    return lens


def lens_heads(analysis: Analysis, changes: Mapping[str, Any]) -> tuple[Any, tuple[str, ...]]:
    """The heads the named lens ``changes["lens"]`` keeps on ``analysis`` (``None``: all), and notices.

    Under ``changes``' measure, else the analysis's. Needs the raw attention.
    """
    lens = changes["lens"]
    if analysis.attentions is None:
        if analysis.kept == "summary":
            raise _recluster.dropped(analysis, dict(changes))
        raise ValueError(
            f"lens={lens!r} needs the raw attention, and this analysis has none (saved as .json?); "
            "re-run analyze(), or save with another suffix (e.g. 'x.attn') to keep it"
        )
    measure = changes.get("measure", analysis.options.measure)
    return _lenses.resolve(lens, analysis.attentions, analysis.model_tokens, analysis.model, measure)


def weights_under(analysis: Analysis, lens: Any = None, measure: str | None = None) -> Any:
    """``analysis``'s ``[T, T]`` graph weights, or the weights under another ``lens`` / ``measure``.

    The other lens or measure is applied to the kept raw attention and per-head
    data, with the analysis's aggregation and left-out tokens (no forward pass).
    """
    if lens is None and measure is None:
        return analysis.weights
    if analysis.attentions is None and analysis.kept == "summary":
        changed = {k: v for k, v in (("lens", lens), ("measure", measure)) if v is not None}
        raise _recluster.dropped(analysis, changed)
    if analysis.attentions is None:
        raise ValueError(
            "another lens or measure needs the raw attention, and this analysis has none "
            "(saved as .json?); re-run analyze(), or save with another suffix (e.g. 'x.attn')"
        )
    changes: dict[str, Any] = {}
    if measure is not None:
        check_choices({"measure": measure})
        changes["measure"] = measure
    lens = lens_under(analysis, lens, measure or analysis.options.measure)
    if lens is not None:
        heads, _ = _lenses.resolve(
            lens, analysis.attentions, analysis.model_tokens, analysis.model,
            measure or analysis.options.measure,
        )
        changes.update(lens=lens if isinstance(lens, str) else "custom", lens_heads=heads)
    options = dataclasses.replace(analysis.options, **changes)
    raw = _weights.combine_options(analysis.attentions, options, analysis.head_data)
    return _weights.node_weights(raw, options, analysis.units)
