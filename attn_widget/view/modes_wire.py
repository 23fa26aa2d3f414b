"""What the view needs of a generation, a comparison and an ablation, as JSON-able payloads.

The widget sends each as one trait (``generation``, ``comparison``,
``ablation``; :mod:`attn_widget.view.modes`). ``js/src/wire/modes.ts`` declares and
checks the same layouts; ``tests/view/test_golden_modes.py`` writes real
payloads into ``js/tests/fixtures/modes.json`` for vitest to decode, so the two
sides cannot drift apart. Bump :data:`MODES_VERSION` in both on a layout change.

Layouts (``S`` steps; a state is :func:`attn_widget.view.wire.to_state`'s)::

    generation  {version, prompt_length, hidden [i], stop, sample, chat, steps [S] of
                 {token, probability, alternatives [[text, p]], slots [[cluster, slot]],
                  formed [[cluster, step]], events [text], links [[index, text, weight]]}}
    comparison  {version, unit, b (a state), a_units int32 [T_a], b_units int32 [T_b],
                 a_slots [[cluster, slot]], b_slots [[cluster, slot]], moved [unit],
                 modularity [a, b], summary [line], changed [[text, change]], titles [a, b]}
    ablation    {version, id, describe, tokens [i], heads [[layer, head]], notices [text],
                 prediction null | {position, token, before [[text, p]], after [[text, p]],
                                    probability_before, probability_after, divergence, changed},
                 comparison (as above: b is the rerun)}

Colour *slots* say which colour each cluster of two or more tokens wears:
tracks keep theirs across steps, matched clusters share one across a comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import Ablation, Analysis, Candidate, Comparison, Generation
from ..core.generation import NO_TRACK
from .wire import to_state, wire

MODES_VERSION = 1
"""Layout version shared with ``js/src/wire/modes.ts``."""

LINKS_TO_PROMPT = 5
"""Strongest links of a step's new token to the prompt, listed per step."""


def rank_slots(analysis: Analysis) -> dict[int, int]:
    """The view's own colouring: the k-th cluster of two or more tokens (by id) wears slot k."""
    return {c.id: k for k, c in enumerate(c for c in analysis.clusters if c.size > 1)}


def _pairs(mapping: dict[int, int]) -> list[list[int]]:
    return [[int(k), int(v)] for k, v in sorted(mapping.items())]


def _candidates(items: Sequence[Candidate]) -> list[list[Any]]:
    return [[c.text, float(c.probability)] for c in items]


def legend_numbers(analysis: Analysis) -> dict[int, int]:
    """The legend's number for each cluster of 2+ tokens: 1…k in reading order (``text/legend.ts``)."""
    first = sorted((c.tokens[0], c.id) for c in analysis.clusters if c.size > 1)
    return {cid: k + 1 for k, (_, cid) in enumerate(first)}


def _cluster_at(generation: Generation, step: int, track: int) -> int | None:
    """The cluster id track ``track`` has at step ``step`` (``None``: not alive there)."""
    s = generation.steps[step]
    return next((c.id for c, t in zip(s.analysis.clusters, s.tracks, strict=True) if t == track), None)


def _words_of(generation: Generation, step: int, track: int) -> str:
    """The words of track ``track``'s cluster at ``step``, quoted (a group the step after no longer has)."""
    s = generation.steps[step]
    cid = _cluster_at(generation, step, track)
    members = next((c.tokens for c in s.analysis.clusters if c.id == cid), ())
    words = "".join(s.analysis.tokens[i].text for i in members[:6]).strip()
    return f"“{words}{'…' if len(members) > 6 else ''}”"


def event_words(generation: Generation, step: int) -> list[str]:
    """What happened to the clusters at ``step``, in words.

    "cluster N" is always the number that step's legend shows for the cluster
    (:func:`legend_numbers`); a group the step no longer has is named by its
    words, so no line names a cluster that is not on screen (or names one that
    is, for other tokens).
    """
    out = []
    number = legend_numbers(generation.steps[step].analysis)
    for e in generation.events_at(step):
        ids = [_cluster_at(generation, step, t) for t in e.tracks]
        now = [None if c is None else number.get(c) for c in ids]
        if e.kind == "formed":
            out.append(f"cluster {now[0]} formed")
        elif e.kind == "split":
            parts = " and ".join(f"cluster {c}" for c in now[1:] if c is not None)
            if now[0] is not None:
                out.append(f"{parts} broke off cluster {now[0]}")
            else:
                out.append(f"the group {_words_of(generation, step - 1, e.tracks[0])} split into {parts}")
        elif e.kind == "merged":
            gone = " and ".join(
                _words_of(generation, step - 1, t) if n is None else f"cluster {n}"
                for t, n in zip(e.tracks[1:], now[1:], strict=True)
            )
            out.append(f"{gone} joined cluster {now[0]}")
        else:
            out.append(f"the group {_words_of(generation, step - 1, e.tracks[0])} came apart")
    return out


def prompt_links(generation: Generation, step: int, k: int = LINKS_TO_PROMPT) -> list[list[Any]]:
    """The new token's ``k`` strongest links to the prompt: what it attends to there, strongest first."""
    s = generation.steps[step]
    a = s.analysis
    row = np.array(a.weights[s.position, : generation.prompt_length], dtype=np.float64)
    row[[i for i in (*generation.hidden, *a.excluded) if i < row.size]] = 0.0
    order = [int(i) for i in np.argsort(-row, kind="stable")[:k] if row[i] > 0]
    return [[i, a.tokens[i].text, float(row[i])] for i in order]


def generation_payload(generation: Generation) -> dict[str, Any]:
    """The ``generation`` trait (see the module docstring)."""
    steps = []
    for s in generation.steps:
        tracked = [(c.id, t) for c, t in zip(s.analysis.clusters, s.tracks, strict=True) if t != NO_TRACK]
        steps.append(
            {
                "token": s.token.text,
                "probability": float(s.probability),
                "alternatives": _candidates(s.alternatives),
                "slots": _pairs(step_slots(generation, s.index)),
                "formed": [[cid, generation.tracks[t].born] for cid, t in tracked],
                "events": event_words(generation, s.index),
                "links": prompt_links(generation, s.index),
            }
        )
    return {
        "version": MODES_VERSION,
        "prompt_length": generation.prompt_length,
        "hidden": list(generation.hidden),
        "stop": generation.stop,
        "sample": generation.settings.sample,
        "chat": generation.settings.chat,
        "steps": steps,
    }


def matched_slots(
    comparison: Comparison, a_slots: dict[int, int] | None = None
) -> tuple[dict[int, int], dict[int, int]]:
    """Slots for both sides: ``a`` as the view colours it (``a_slots``, else by rank), matched ``b``
    clusters the same, the rest fresh."""
    a_slots = rank_slots(comparison.a) if a_slots is None else a_slots
    b_slots = {b: a_slots[a] for a, b in comparison.matching.pairs if a in a_slots}
    used = set(a_slots.values())
    fresh = (s for s in range(max(used, default=0) + len(comparison.b.clusters) + 2) if s not in used)
    for c in comparison.b.clusters:
        if c.size > 1 and c.id not in b_slots:
            b_slots[c.id] = next(fresh)
    return a_slots, b_slots


def _title(a: Analysis, b: Analysis) -> list[str]:
    if a.model != b.model:
        return [f"a: {a.model}", f"b: {b.model}"]
    return ["a", "b"]


def comparison_payload(
    comparison: Comparison, titles: Sequence[str] | None = None, a_slots: dict[int, int] | None = None
) -> dict[str, Any]:
    """The ``comparison`` trait; ``a_slots``: the first text's colours if not by rank."""
    a_slots, b_slots = matched_slots(comparison, a_slots)
    return {
        "version": MODES_VERSION,
        "unit": comparison.unit,
        "b": to_state(comparison.b),
        "a_units": wire(comparison.a_units, "int32"),
        "b_units": wire(comparison.b_units, "int32"),
        "a_slots": _pairs(a_slots),
        "b_slots": _pairs(b_slots),
        "moved": list(comparison.moved),
        "modularity": [float(comparison.a.modularity), float(comparison.b.modularity)],
        "summary": comparison.summary().splitlines(),
        "changed": [[c.text, float(c.change)] for c in comparison.changed],
        "titles": list(titles) if titles is not None else _title(comparison.a, comparison.b),
    }


def step_slots(generation: Generation, step: int) -> dict[int, int]:
    """Colour slot of each cluster (of two or more tokens) of step ``step``: its track's."""
    s = generation.steps[step]
    tracked = zip(s.analysis.clusters, s.tracks, strict=True)
    return {c.id: generation.tracks[t].slot for c, t in tracked if t != NO_TRACK}


def ablation_payload(
    ablation: Ablation, request: int | None = None, a_slots: dict[int, int] | None = None
) -> dict[str, Any]:
    """The ``ablation`` trait (see the module docstring); ``request`` is the view's request id,
    ``a_slots`` the colours of the text on screen (a generation step's), if not by rank."""
    p = ablation.prediction
    return {
        "version": MODES_VERSION,
        "id": request,
        "describe": ablation.describe(),
        "tokens": list(ablation.tokens),
        "heads": [list(h) for h in ablation.heads],
        "notices": list(ablation.notices),
        "prediction": None
        if p is None
        else {
            "position": p.position,
            "token": p.token.text,
            "before": _candidates(p.before),
            "after": _candidates(p.after),
            "probability_before": p.probability_before,
            "probability_after": p.probability_after,
            "divergence": p.divergence,
            "changed": p.changed,
        },
        "comparison": comparison_payload(ablation.comparison, titles=["before", "after"], a_slots=a_slots),
    }
