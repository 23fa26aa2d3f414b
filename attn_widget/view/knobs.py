"""The widget's knobs: trait values for an analysis, and what to re-cluster when traits change.

The widget keeps one synced trait per clustering option; :func:`trait_values`
gives the values that show an analysis, :func:`changes` the options to pass
to :func:`attn_widget.recluster` when the traits no longer match it, and
:func:`check` (through the widget's :class:`KnobChecks`) refuses a bad value before it
is set, so before it reaches the view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from traitlets import TraitError, validate

from ..core import Analysis
from ..core.units import UNITS
from ..graph.aggregate import AGGREGATIONS
from ..graph.cluster import METHODS
from ..graph.measures import MEASURES
from ..graph.symmetric import Symmetric
from ..graph.threshold import THRESHOLDS, threshold_range
from ..heads.lenses import LENSES

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


_NAMED = {"method": METHODS, "aggregation": AGGREGATIONS, "measure": MEASURES, "threshold_mode": THRESHOLDS}


def check(
    proposal: Mapping[str, Any], analysis: Analysis | None, traits: Mapping[str, Any], locked: Any
) -> Any:
    """A traitlets proposal's value if the knob can take it; else a :class:`TraitError` naming it and the fix.

    Names are checked against their registries; a threshold must be a finite number in the
    range of ``traits["threshold_mode"]`` (for an absolute threshold, the strongest edge of
    the graph on screen, when the other knobs still match ``analysis``; a value from the
    view (a name in ``locked``, the widget's property lock) is one of the slider's own and
    only checked for being a number).
    """
    name, value = proposal["trait"].name, proposal["value"]
    try:
        if name in _NAMED:
            _NAMED[name][value]  # raises "unknown clustering method 'x'; choose one of ..."
        elif name == "unit" and value not in UNITS:
            raise ValueError(f"unknown unit {value!r}; choose one of {', '.join(repr(u) for u in UNITS)}")
        elif name == "lens" and isinstance(value, str):
            LENSES[value]
        elif name == "lens" and any(len(pair) != 2 for pair in value):
            raise ValueError(f"lens={value!r}: give a lens name or [layer, head] pairs, e.g. [[5, 1]]")
        elif name == "threshold" and value is not None:
            _check_threshold(float(value), analysis, traits, from_view=name in locked)
    except ValueError as exc:
        raise TraitError(str(exc)) from None
    return value


def _check_threshold(
    value: float, analysis: Analysis | None, traits: Mapping[str, Any], from_view: bool
) -> None:
    mode = traits["threshold_mode"]
    lo, hi = 0.0, 1.0 if mode == "mass" else math.inf
    same_graph = analysis is not None and not changes(analysis, {**traits, "threshold": None})
    if same_graph and not from_view and analysis is not None:
        lo, hi = threshold_range(Symmetric(analysis.weights), mode)  # no T x T copy
    if math.isfinite(value) and lo <= value <= hi:
        return
    what = "a share of each token's attention" if mode == "mass" else "an edge weight"
    span = f"[{lo:g}, {hi:g}]" if math.isfinite(hi) else f"[{lo:g}, the strongest edge]"
    fix = f"give a value in {span} for threshold_mode={mode!r} ({what})"
    if same_graph and analysis is not None:
        fix += f"; the automatic choice is {analysis.sweep.auto_threshold:g}"
    problem = "is out of range" if math.isfinite(value) else "is not a finite number"
    raise ValueError(f"threshold={value!r} {problem}: {fix}")


class KnobChecks:
    """Mixin for the widget: a bad knob value is refused on the line that sets it, before the view sees it."""

    analysis: Analysis | None
    _updating: bool
    _property_lock: dict[str, Any]

    def _knob_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in KNOBS}

    @validate(*KNOBS)
    def _check_knob(self, proposal: Any) -> Any:
        if self._updating:  # the values of an analysis being shown
            return proposal["value"]
        return check(proposal, self.analysis, self._knob_values(), self._property_lock)


def refusal(changes: Mapping[str, Any], exc: Exception) -> str:
    """Why ``changes`` were not applied, each value said once (the library's errors often name it)."""
    shown = {k: repr(list(v) if isinstance(v, tuple) else v) for k, v in changes.items()}
    why = str(exc)
    for k, v in shown.items():
        why = why.removeprefix(f"{k}={v}: ")
    if all(f"{k}={v}" in why or f"{k} {v}" in why for k, v in shown.items()):
        return f"Not applied: {why}"
    return f"Could not apply {', '.join(f'{k}={v}' for k, v in shown.items())}: {why}"
