"""Cluster every step of a generation and follow the clusters: from written tokens to a :class:`Generation`.

Step ``k`` sees the prompt and the tokens generated up to and including the
``k``-th: its raw attention is the leading block of the final array (a view,
not a copy), its per-head data the matching prefix, its text the readable text
up to its last token. Each step is clustered with the same options
(:func:`attn_widget.graph.pipeline.analyze_attention`; a named lens comes
resolved once, on the whole text, so every step reads the same heads) at one
threshold for the whole generation (:func:`one_ruler`: the automatic choice
is made once, on the final text, so a group changes only because of the new
token), then
:func:`attn_widget.graph.matching.follow` matches each step's clusters to the
previous step's. The chat template's tokens (``hidden``) are left out of the
graph with the model's sinks when ``exclude="auto"``. numpy only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core import Analysis, Candidate, Generation, Settings, Step, Token
from ..core.generation import PREFIX_DATA
from ..core.types import Attention
from .matching import follow, step_tracks
from .pipeline import analyze_attention
from .recluster import recluster
from .symmetric import Symmetric
from .threshold import threshold_range
from .weights import SINK_NOTICE


def prefix_text(text: str, tokens: Sequence[Token]) -> str:
    """``text`` up to the end of the last of ``tokens`` that has a place in it."""
    ends = [t.end for t in tokens if t.end is not None]
    return text[: max(ends)] if ends else ""


def chat_notices(analysis: Analysis, hidden: frozenset[int]) -> tuple[str, ...]:
    """The analysis's notices, with the sink notice naming the chat template's tokens as one group."""
    if not hidden:
        return analysis.notices
    kept = [n for n in analysis.notices if not n.startswith(SINK_NOTICE)]
    left = [i for i in analysis.excluded if i not in hidden]
    gone = len(hidden & set(analysis.excluded))
    if len(kept) == len(analysis.notices) or not gone:
        return analysis.notices
    named = ", ".join(
        f"{analysis.tokens[i].text.strip() or repr(analysis.tokens[i].text)!r} (token {i})" for i in left
    )
    said = f"{SINK_NOTICE} (exclude='auto'): the chat template's {gone} tokens (not shown)"
    said += f" and {named}" if named else ""
    return (*kept, said + ". Pass exclude=[] to keep every token, or a list of token indices.")


def within(analysis: Analysis, threshold: float) -> float:
    """``threshold`` moved inside ``analysis``'s graph's range (a short prefix may have weaker edges)."""
    lo, hi = threshold_range(Symmetric(analysis.weights), analysis.options.threshold_mode)  # no T x T copy
    return float(min(max(threshold, lo), hi))


def one_ruler(analyses: Sequence[Analysis]) -> list[Analysis]:
    """Every step clustered at the final text's automatic threshold, still marked automatic.

    ``analyses`` are the steps clustered with ``threshold="auto"`` (each its own
    choice). The last step's choice is kept for all (inside each step's range),
    and each step's sweep marks its grid value nearest to it as the automatic one,
    so the slider's "(auto)" and the plot's dashed line sit where the steps are
    drawn. Steps whose threshold was set by hand are returned unchanged.
    """
    if not analyses or not all(a.options.auto_threshold for a in analyses):
        return list(analyses)
    ruler = analyses[-1].threshold
    out = []
    for a in analyses:
        value = within(a, ruler)
        b = a if value == a.threshold else recluster(a, threshold=value)
        grid = np.asarray(b.sweep.thresholds, dtype=np.float64)
        best = int(np.argmin(np.abs(grid - value)))
        out.append(
            dataclasses.replace(
                b,
                options=dataclasses.replace(b.options, auto_threshold=True),
                sweep=dataclasses.replace(b.sweep, best=best),
            )
        )
    return out


def step_analyses(
    attentions: Attention,
    tokens: Sequence[Token],
    text: str,
    prompt_length: int,
    *,
    model: str,
    notices: Sequence[str] = (),
    head_data: Mapping[str, np.ndarray] | None = None,
    sinks: Sequence[int] = (),
    hidden: Sequence[int] = (),
    lens_heads: Sequence[tuple[int, int]] | None = None,
    progress: Callable[[int, int], Any] | None = None,
    **options: Any,
) -> list[Analysis]:
    """One analysis per generated token (see the module docstring)."""
    n = attentions.shape[-1]
    unknown = sorted(set(head_data or {}) - PREFIX_DATA)
    if unknown:
        raise ValueError(
            f"per-head data {unknown} is measured over the whole text at once and cannot be read step by "
            f"step; generation supports the measures that need none or only {sorted(PREFIX_DATA)}"
        )
    hide = frozenset(hidden)
    threshold = options.pop("threshold", "auto")
    out = []
    for k, t in enumerate(range(prompt_length + 1, n + 1)):
        if progress is not None:
            progress(k, n - prompt_length)
        mine = tuple(tokens[:t])
        analysis = analyze_attention(
            attentions[:, :, :t, :t],
            mine,
            text=prefix_text(text, mine),
            model=model,
            notices=tuple(notices),
            head_data={key: v[..., :t] for key, v in (head_data or {}).items()},
            lens_heads=lens_heads,
            model_sinks=(*sinks, *hide),
            threshold="auto",  # a number is applied below, inside each step's range
            **options,
        )
        fixed = chat_notices(analysis, hide)
        if fixed != analysis.notices:
            analysis = dataclasses.replace(analysis, notices=fixed)
        out.append(analysis)
    if isinstance(threshold, str):
        return one_ruler(out)
    recluster(out[-1], threshold=threshold)  # one the final text's graph cannot take fails, naming the range
    return [recluster(a, threshold=within(a, float(threshold))) for a in out]


def build_generation(
    prompt: str,
    reply: str,
    analyses: Sequence[Analysis],
    choices: Sequence[tuple[float, tuple[Candidate, ...]]],
    *,
    prompt_length: int,
    model: str,
    settings: Mapping[str, Any],
    hidden: Sequence[int] = (),
    stop: str = "length",
    notices: Sequence[str] = (),
) -> Generation:
    """The :class:`Generation`: each step's analysis and choice, and the clusters followed across steps."""
    per_step, tracks, events = follow([a.labels for a in analyses])
    steps = tuple(
        Step(
            k,
            prompt_length + k,
            probability,
            alternatives,
            a,
            step_tracks([c.id for c in a.clusters], per_step[k]),
        )
        for k, (a, (probability, alternatives)) in enumerate(zip(analyses, choices, strict=True))
    )
    return Generation(
        prompt=prompt,
        text=reply,
        steps=steps,
        tracks=tracks,
        events=events,
        model=model,
        settings=Settings(**settings),
        prompt_length=prompt_length,
        hidden=tuple(hidden),
        stop=stop,
        notices=tuple(notices),
    )
