"""Re-cluster an analysis with changed options, from what it kept (never running the model).

What can change depends on :attr:`attn_widget.Analysis.kept`: with the raw
attention, everything; a streamed analysis (``keep="summary"``) kept the token
aggregate, so the threshold, method, seed, ``exclude`` and ``unit`` can change,
while another aggregation, measure or lens raises :class:`DroppedData` (run the
model again: :func:`attn_widget.rerun`); an analysis loaded from JSON kept only
its graph (threshold, method, seed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from typing_extensions import Unpack

from ..core import Analysis
from ..core.options import CLUSTER_OPTIONS, ClusterOptions, check_names
from . import validate as _validate
from .pipeline import build, check_choices, lens_option
from .sinks import detect_sinks, sinks_from
from .weights import SINK_NOTICE, resolve_exclude

__all__ = ["DroppedData", "dropped", "recluster"]

_NEEDS_ATTENTION = {"aggregation", "layers", "heads", "measure", "lens_heads"}
"""Options whose change needs the raw attention (or, for a streamed analysis, running the model again)."""
_REPOOL = {"exclude", "unit"}
"""Options whose change needs only the token aggregate."""


class DroppedData(ValueError):
    """``recluster`` was asked for something the analysis did not keep; :attr:`changes` needs a rerun.

    A streamed analysis (``kept == "summary"``) can get it by running the model
    again: :func:`attn_widget.rerun` (the widget offers a button).
    """

    def __init__(self, message: str, changes: dict[str, Any], rerun: bool):
        super().__init__(message)
        self.changes = changes
        self.rerun = rerun


def recluster(
    analysis: Analysis,
    *,
    lens_heads: Sequence[tuple[int, int]] | None = None,
    **changes: Unpack[ClusterOptions],
) -> Analysis:
    """Recompute clusters with changed options, reusing what the analysis kept (no forward pass).

    Accepts the :class:`~attn_widget.core.options.ClusterOptions`: ``threshold`` (a
    number or ``"auto"``), ``threshold_mode``, ``method``, ``seed``; ``exclude``
    and ``unit`` when the token aggregate is kept (not after loading JSON); and
    ``aggregation``, ``layers``, ``heads``, ``measure`` (when its per-head data is
    kept) and ``lens`` (named lenses come resolved as ``lens_heads``) when the raw
    attention is kept. Asking a streamed analysis for one of those raises
    :class:`DroppedData`, which says to run the model again
    (:func:`attn_widget.rerun`). A threshold you set by hand is kept when other
    options change (lowered to the new graph's strongest edge if it is above
    it); ``"auto"`` stays automatic.
    """
    check_names(changes, CLUSTER_OPTIONS, "recluster()")
    new_options: dict[str, Any] = dict(changes)
    opts = analysis.options
    explicit = new_options.pop("threshold", None)
    notices = analysis.notices
    pieces = analysis.model_tokens
    if "exclude" in new_options:
        if analysis.token_weights is None and analysis.attentions is None:
            raise _no_attention("exclude")
        exclude, auto, said = resolve_exclude(
            new_options.pop("exclude"), lambda: _sinks_of(analysis), pieces, opts.model_sinks
        )
        new_options.update(exclude=exclude, exclude_auto=auto)
        notices = (*(x for x in notices if not x.startswith(SINK_NOTICE)), *said)
    if "lens" in new_options:
        new_options["lens"], new_options["lens_heads"] = lens_option(new_options["lens"], lens_heads)
    if "layers" in new_options:
        new_options["layers"] = _validate.as_layers(new_options["layers"])
    if "heads" in new_options:
        new_options["heads"] = _validate.as_heads(new_options["heads"])
    if "seed" in new_options:
        new_options["seed"] = _validate.as_seed(new_options["seed"])
    new = dataclasses.replace(opts, **new_options)
    check_choices(dataclasses.asdict(new))
    reaggregate = any(getattr(new, k) != getattr(opts, k) for k in _NEEDS_ATTENTION)
    repool = reaggregate or any(getattr(new, k) != getattr(opts, k) for k in _REPOOL)
    if reaggregate and analysis.attentions is None:
        changed = {k: changes[k] for k in changes if k in {*_NEEDS_ATTENTION, "lens"}}  # type: ignore[literal-required]
        raise dropped(analysis, changed)
    if repool and analysis.token_weights is None and analysis.attentions is None:
        raise _no_attention("exclude and unit")
    if explicit is not None:
        threshold: Any = explicit
    elif opts.auto_threshold or new.threshold_mode != opts.threshold_mode:
        threshold = "auto"  # a number in the old mode's units means nothing in the new one
    else:
        threshold = analysis.threshold
    same_graph = not repool and all(
        getattr(new, k) == getattr(opts, k) for k in ("method", "seed", "threshold_mode")
    )
    return build(
        text=analysis.text,
        tokens=pieces,
        attentions=analysis.attentions,
        weights=None if repool else analysis.weights,
        options=new,
        threshold=threshold,
        model=analysis.model,
        notices=notices,
        sweep=analysis.sweep if same_graph else None,
        clip_threshold=explicit is None and repool,
        head_data=analysis.head_data,
        token_weights=None if reaggregate else analysis.token_weights,
        keep_token_weights=analysis.token_weights is not None and not reaggregate,
    )


def _sinks_of(analysis: Analysis) -> tuple[int, ...]:
    """The sinks of the raw attention, or of the statistics a streamed analysis kept."""
    if analysis.attentions is not None:
        return detect_sinks(analysis.attentions)
    stats = analysis.head_data.get("sink_received")
    if stats is None:
        raise _no_attention("exclude='auto'")
    return sinks_from(np.asarray(stats))


def dropped(analysis: Analysis, changed: dict[str, Any]) -> DroppedData:
    """The error for ``changed`` options that need per-head attention ``analysis`` did not keep."""
    what = ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "this change"
    if analysis.kept == "summary":
        n = len(analysis.model_tokens)
        return DroppedData(
            f"{what} needs each head's attention, which this analysis did not keep (its {n} tokens were "
            "streamed: keep='summary'); run the model again with attn_widget.rerun(analysis, "
            f"{', '.join(f'{k}={v!r}' for k, v in changed.items())}), or analyse with keep='attention' "
            "if the raw attention fits in memory",
            changed,
            rerun=analysis.model is not None and analysis.options.zoom is None,
        )
    return DroppedData(str(_no_attention("aggregation, layers, heads, measure, lens and exclude")), changed,
                       rerun=False)


def _no_attention(what: str) -> ValueError:
    return ValueError(
        "this analysis has no raw attention (it was saved as .json or made by from_dict, which "
        f"drop it), so {what} cannot change; re-run analyze(), or "
        "save with another suffix (e.g. Analysis.save('x.attn')) to keep the raw attention"
    )
