"""What stands out, first: 3–5 plain sentences above the text, each checked against its evidence.

:func:`make_findings` turns the analysis's arcs (:meth:`Analysis.arcs
<attn_widget.core.Analysis.arcs>`), its head report and its partition into
:class:`~attn_widget.core.Finding` s. Each finding is written from a small
evidence dict by one template, then :func:`verify` re-reads every fact the
sentence states (the quoted words and the number of words skipped, from the arc
it names; the head and its role; the share of neighbours grouped together) from
the analysis and its arcs: a finding that does not hold is dropped, never shown.
For an encoder–decoder pair the first findings say which source word a target word
reads most (``'chat' reads 'cat' most (41%).``), from its confident cross arcs with
the largest shares (the share: of the target word's attention to the source).
Words, not pieces: the arcs already name whole words and count the words between
their ends (:attr:`Arc.words_between <attn_widget.core.Arc.words_between>`), so
nothing here segments the text again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core import Analysis, Arc, Finding
from ..core.units import word_label
from ..graph.metrics import contiguity
from ..heads.coref import PRONOUNS
from ..heads.roles import HeadReport

MAX_FINDINGS = 5
CROSS_FINDINGS = 2
"""At most this many "target word reads source word" findings for an encoder–decoder pair."""
PHRASES = 0.8
"""Contiguity from which the groups are called "mostly phrases"."""
ROLE_WORDS = {
    "previous-token": "looks at the word just before",
    "induction": "looks at what followed an earlier copy of the current word",
    "duplicate-token": "looks at earlier copies of the same word",
    "self": "looks at the word itself",
    "first-token sink": "parks its attention on the first token",
}
"""Head roles in a student's words, the most telling first (the finding names the first role some head
has, its clearest head); ``broad`` is not a finding: it is what most heads do."""


def make_findings(
    analysis: Analysis,
    arcs: Sequence[Arc],
    report: HeadReport | None,
    prediction: Mapping[str, Any] | None = None,
) -> tuple[Finding, ...]:
    """The 3–5 findings for the first screen, each verified (:func:`verify`).

    In reading order: cross links (a pair), references, the farthest link, the
    next word (``prediction``: :func:`attn_widget.runs.depends.prediction_evidence`'s
    evidence, for a causal model), a head, the groups. When more than
    :data:`MAX_FINDINGS` hold, the least telling go first: a second reference,
    then the head, then the farthest link.
    """
    drafts: list[tuple[int, Finding]] = []  # (rank: lower is kept first, finding)
    if analysis.source_length is not None:  # a pair: which source words its target words read most
        drafts.extend((0, _cross(arc)) for arc in _telling_cross(arcs)[:CROSS_FINDINGS])
    refs = [a for a in arcs if a.kind == "reference"]
    for k, arc in enumerate(sorted(refs, key=lambda a: (not a.confident, _to_pronoun(a), a.source))[:2]):
        drafts.append((1 if k == 0 else 6, _reference(arc)))
    far = [a for a in arcs if a.kind == "long-range"]
    if far and far[0].words_between is not None:
        drafts.append((4, _long_range(far[0])))
    if prediction is not None:
        drafts.append((2, _prediction(prediction)))
    head = _head(report)
    if head is not None:
        drafts.append((5, head))
    drafts.append((3, _groups(analysis)))
    held = [(rank, k) for k, (rank, f) in enumerate(drafts) if verify(f, analysis, arcs, report)]
    kept = sorted(k for _, k in sorted(held)[:MAX_FINDINGS])
    return tuple(drafts[k][1] for k in kept)


def _to_pronoun(arc: Arc) -> bool:
    """The arc ends on another pronoun: a chain's next link, less telling than a pronoun to a name or noun."""
    return arc.target_text.lower() in PRONOUNS


def _reference(arc: Arc) -> Finding:
    unsure = "" if arc.confident else " (unsure)"
    again = arc.target_text.lower() == arc.source_text.lower()
    target = f"an earlier '{arc.target_text}'" if again else f"'{arc.target_text}'"
    text = f"'{arc.source_text}' looks back to {target}{unsure}."
    evidence = {
        "source": arc.source, "target": arc.target, "source_text": arc.source_text,
        "target_text": arc.target_text, "confident": arc.confident, "confidence": arc.confidence,
        "weight": arc.weight,
    }  # fmt: skip
    return Finding("reference", text, (arc.target, arc.source), evidence)


def _telling_cross(arcs: Sequence[Arc]) -> list[Arc]:
    """The confident cross arcs between two words with a letter or digit, the largest share first."""
    worded = [a for a in arcs if a.kind == "cross" and a.confident and _worded(a.source_text, a.target_text)]
    return sorted(worded, key=lambda a: (-a.weight, a.source))


def _worded(*texts: str) -> bool:
    return all(any(ch.isalnum() for ch in t) for t in texts)


def _cross(arc: Arc) -> Finding:
    """``'chat' reads 'cat' most (41%).``: a target word and the source word it reads most, with that word's
    share of the target word's attention to the source."""
    text = f"'{arc.source_text}' reads '{arc.target_text}' most ({arc.weight:.0%})."
    evidence = {
        "source": arc.source, "target": arc.target, "source_text": arc.source_text,
        "target_text": arc.target_text, "confident": arc.confident, "weight": arc.weight,
    }  # fmt: skip
    return Finding("cross", text, (arc.target, arc.source), evidence)


def _long_range(arc: Arc) -> Finding:
    between = arc.words_between
    words = "word" if between == 1 else "words"
    text = f"'{arc.source_text}' reaches back to '{arc.target_text}' past {between} {words}."
    evidence = {
        "source": arc.source, "target": arc.target, "source_text": arc.source_text,
        "target_text": arc.target_text, "words_between": between, "weight": arc.weight,
        "baseline": arc.baseline,
    }  # fmt: skip
    return Finding("long-range", text, (arc.target, arc.source), evidence)


def _head(report: HeadReport | None) -> Finding | None:
    """The clearest labelled head whose role a student can picture."""
    if report is None:
        return None
    rank = {role: k for k, role in enumerate(ROLE_WORDS)}  # the roles a student learns from first
    best: tuple[int, float, int, int, str] | None = None
    for (layer, head), roles in report.labels.items():
        for role, score in roles:
            key = (-rank.get(role, len(rank)), float(score))
            if role in ROLE_WORDS and (best is None or key > (best[0], best[1])):
                best = (key[0], key[1], layer, head, role)
    if best is None:
        return None
    _, score, layer, head, role = best
    text = f"Head {layer}.{head} {ROLE_WORDS[role]}."
    return Finding("head", text, (), {"layer": layer, "head": head, "role": role, "score": round(score, 3)})


def _percent(p: float) -> str:
    return f"{100 * p:.1f}%"


def rests_on(tried: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Of the knocked-out words, the one whose knockout left the predicted token least likely."""
    return min(tried, key=lambda c: (c["after"], c["node"]))


def _prediction(e: Mapping[str, Any]) -> Finding:
    """What comes next, and what knocking out the word it rests on most does to it."""
    before, after, word = e["probability"], e["after"], e["text"]
    head = f"Next comes '{e['token'].strip()}' ({_percent(before)})"
    fall = before - after
    if fall >= 0.05 or (before > 0 and fall / before >= 0.25):
        tail = f"without '{word}' it falls to {_percent(after)}."
    elif after >= before:
        tail = f"knocking out '{word}' does not lower it ({_percent(after)})."
    else:
        tail = f"knocking out '{word}' barely moves it ({_percent(after)})."
    return Finding("prediction", f"{head}; {tail}", (int(e["node"]), int(e["last"])), dict(e))


def _groups(analysis: Analysis) -> Finding:
    c = contiguity(analysis.labels)
    text = (
        "The groups are mostly phrases: runs of neighbouring words."
        if c >= PHRASES
        else "Some groups join words that are not next to each other."
    )
    return Finding("groups", text, (), {"contiguity": round(c, 3)})


def verify(finding: Finding, analysis: Analysis, arcs: Sequence[Arc], report: HeadReport | None) -> bool:
    """Does every fact ``finding`` states hold on ``analysis``? (its text re-made from the facts re-read)."""
    check = _CHECKS.get(finding.kind)
    return check is not None and check(finding, analysis, arcs, report)


def _arc_holds(f: Finding, analysis: Analysis, arcs: Sequence[Arc], report: HeadReport | None) -> bool:
    e = f.evidence
    ends = (e["source"], e["target"])
    arc = next((a for a in arcs if (a.source, a.target) == ends and a.kind == f.kind), None)
    if arc is None or (arc.source_text, arc.target_text) != (e["source_text"], e["target_text"]):
        return False
    if f.kind == "long-range" and (arc.words_between is None or arc.words_between != e["words_between"]):
        return False
    if f.kind == "cross" and (analysis.source_length is None or not arc.confident):
        return False
    remade = {"reference": _reference, "long-range": _long_range, "cross": _cross}[f.kind](arc)
    return remade.text == f.text


def _head_holds(f: Finding, analysis: Analysis, arcs: Sequence[Arc], report: HeadReport | None) -> bool:
    e = f.evidence
    if report is None:
        return False
    roles = dict(report.labels.get((e["layer"], e["head"]), ()))
    return e["role"] in roles and f.text == f"Head {e['layer']}.{e['head']} {ROLE_WORDS[e['role']]}."


def _groups_hold(f: Finding, analysis: Analysis, arcs: Sequence[Arc], report: HeadReport | None) -> bool:
    c = contiguity(analysis.labels)
    return bool(np.isclose(round(c, 3), f.evidence["contiguity"])) and _groups(analysis).text == f.text


def _prediction_holds(f: Finding, analysis: Analysis, arcs: Sequence[Arc], report: HeadReport | None) -> bool:
    """The words it names are the analysis's, the one named moved the prediction most, the text is its."""
    e = f.evidence
    n = len(analysis.tokens)
    tried = e.get("candidates") or []
    if e.get("last") != n - 1 or not tried:
        return False
    for c in tried:
        if not 0 <= c["node"] < n - 1 or word_label(analysis.tokens[c["node"]].text) != c["text"]:
            return False
    best = rests_on(tried)
    if (best["node"], best["text"], best["after"]) != (e["node"], e["text"], e["after"]):
        return False
    return _prediction(e).text == f.text


_CHECKS: Mapping[str, Callable[[Finding, Analysis, Sequence[Arc], HeadReport | None], bool]] = {
    "prediction": _prediction_holds,
    "reference": _arc_holds,
    "long-range": _arc_holds,
    "cross": _arc_holds,
    "head": _head_holds,
    "groups": _groups_hold,
}


def as_dicts(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """JSON-able findings (the CLI's ``--json`` and the views)."""
    return [f.to_dict() for f in findings]
