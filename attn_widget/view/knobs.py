"""The widget's knobs: trait values for an analysis, and what to re-cluster when traits change.

The widget keeps one synced trait per clustering option; :func:`trait_values`
gives the values that show an analysis, and :func:`changes` the options to pass
to :func:`attn_widget.recluster` when the traits no longer match it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..core import Analysis

KNOBS = ("threshold", "threshold_mode", "method", "aggregation", "layers", "heads", "measure", "lens", "unit")
"""Traits that re-cluster when they change (from Python or from the view)."""
SAME_GRAPH_UNLESS = frozenset({"method", "aggregation", "layers", "heads", "measure", "lens", "unit"})
"""Knobs that change the graph or partition, so the automatic threshold changes with them."""


def lens_trait(lens: Any) -> Any:
    """An analysis's lens as the ``lens`` trait holds it: a name, or a list of ``[layer, head]``."""
    return lens if isinstance(lens, str) else [list(pair) for pair in lens]


def trait_values(analysis: Analysis) -> dict[str, Any]:
    """The knob traits that show ``analysis``."""
    o = analysis.options
    return {
        "threshold": float(analysis.threshold),
        "threshold_mode": o.threshold_mode,
        "method": o.method,
        "aggregation": o.aggregation,
        "layers": None if o.layers is None else list(o.layers),
        "heads": None if o.heads is None else [list(h) for h in o.heads],
        "measure": o.measure,
        "lens": lens_trait(o.lens),
        "unit": o.unit,
    }


def changes(analysis: Analysis, traits: Mapping[str, Any], only: set[str] | None = None) -> dict[str, Any]:
    """The options whose trait differs from ``analysis`` (only those named in ``only``)."""
    o = analysis.options
    out: dict[str, Any] = {}
    for name in ("threshold_mode", "method", "aggregation", "measure", "unit"):
        if traits[name] != getattr(o, name):
            out[name] = traits[name]
    if traits["lens"] != lens_trait(o.lens):
        lens = traits["lens"]
        out["lens"] = lens if isinstance(lens, str) else [tuple(int(v) for v in pair) for pair in lens]
    layers = None if traits["layers"] is None else tuple(traits["layers"])
    if layers != o.layers:
        out["layers"] = layers
    heads = None if traits["heads"] is None else tuple(tuple(int(v) for v in h) for h in traits["heads"])
    if heads != o.heads:
        out["heads"] = heads
    value = traits["threshold"]
    if (
        value is not None
        and (only is None or "threshold" in only)
        and "threshold_mode" not in out
        and not math.isclose(value, analysis.threshold, abs_tol=1e-12)
    ):
        auto = analysis.sweep.auto_threshold
        same_graph = not (SAME_GRAPH_UNLESS & set(out))
        out["threshold"] = "auto" if same_graph and math.isclose(value, auto, abs_tol=1e-12) else value
    return out if only is None else {k: v for k, v in out.items() if k in only}
