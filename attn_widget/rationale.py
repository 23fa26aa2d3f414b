"""Plain-English rationales built only from evidence, through verified claims.

For each cluster: :func:`attn_widget.characterize.characterize` computes the
evidence, :func:`make_claims` turns it into typed claims (each tagged with the
sentence it supports), :func:`attn_widget.claims.verify` re-checks every claim
against the evidence (a failing claim is dropped and logged), and
:func:`compose` writes one or two sentences from the claims that survived.
Numbers are rounded one way everywhere: shares as whole percents, role scores
to two decimals.

An optional language-model ``backend`` may rephrase the text
(:mod:`attn_widget.llm`); its output is checked against the same evidence and
replaced by the grounded text when it mentions anything the evidence does not
hold. ``evidence["rationale_check"]`` records which text is shown and why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .analysis import Analysis, Cluster
from .characterize import characterize
from .claims import Claim, lift1, pct, score2, verify
from .heads import GLOSSES, HeadReport, score_heads

MAX_LISTED = 6
"""Tokens quoted by name in a rationale; the rest are counted."""
MAX_LEXICAL = 4
"""Tokens of a lexical class named in a rationale."""
MAX_SPAN = 60
"""A contiguous cluster up to this many characters is quoted as one stretch of text."""
HEAD_LIFT = 1.2
"""A head is named as carrying a cluster only if it carries this many times an average head's share."""
LEXICAL_NAMES = {
    "pronoun": ("the pronoun", "the pronouns"),
    "number": ("the number", "the numbers"),
    "punctuation": ("the punctuation mark", "the punctuation marks"),
    "capitalised": ("the capitalised word", "the capitalised words"),
    "repeated": ("the repeated token", "the repeated tokens"),
    "same_word": ("the pieces of one word", "the pieces of one word"),
}


def show(text: str) -> str:
    """A token as quoted in prose: stripped of surrounding spaces, escapes for invisible text."""
    bare = text.strip()
    return f"'{bare}'" if bare else repr(text)


def _member_claim(evidence: Mapping[str, Any]) -> Claim:
    toks = evidence["tokens"][:MAX_LISTED]
    return {
        "type": "member",
        "field": "tokens",
        "sentence": 0,
        "tokens": [t["index"] for t in toks],
        "texts": [t["text"] for t in toks],
        "text": "tokens: " + ", ".join(f"{show(t['text'])} (#{t['index']})" for t in toks),
    }


def make_claims(evidence: Mapping[str, Any]) -> list[Claim]:
    """Typed claims for one cluster's evidence, in reading order (see :mod:`attn_widget.claims`)."""
    first, last = evidence["positions"]
    att = evidence["attention"]
    claims: list[Claim] = [
        _member_claim(evidence),
        {
            "type": "layout",
            "field": "contiguous",
            "sentence": 0,
            "contiguous": evidence["contiguous"],
            "first": first,
            "last": last,
            "text": f"tokens {first}-{last}, "
            + ("one stretch of text" if evidence["contiguous"] else "scattered"),
        },
    ]
    span = evidence["spans"][0]["text"]
    if evidence["contiguous"] and evidence["size"] > 1 and span.strip() and len(span) <= MAX_SPAN:
        claims[1]["span"] = span
    for key, what in (
        ("internal", "to each other"),
        ("self", "to each token itself"),
        ("external", "to the rest of the text"),
    ):
        claims.append(
            {
                "type": "share",
                "field": f"attention.{key}",
                "sentence": 0,
                "key": key,
                "percent": pct(att[key]),
                "text": f"{pct(att[key])}% of their attention goes {what}",
            }
        )
    for cls in ("pronoun", "number", "same_word", "capitalised", "punctuation"):
        found = evidence["lexical"][cls]
        idx = [i for g in found for i in g] if cls == "same_word" else list(found)
        if idx and len(idx) < evidence["size"]:  # a class that covers everything says nothing
            idx = idx[:MAX_LEXICAL]  # "includes" stays true for a subset
            texts = [_text(evidence, i) for i in idx]
            claims.append(
                {
                    "type": "lexical",
                    "field": f"lexical.{cls}",
                    "sentence": 0,
                    "class": cls,
                    "tokens": idx,
                    "texts": texts,
                    "text": f"{cls}: " + ", ".join(show(t) for t in texts),
                }
            )
            break
    if evidence["edges"]:
        e = evidence["edges"][0]
        src, dst = _text(evidence, e["from"]), _text(evidence, e["to"])
        claims.append(
            {
                "type": "edge",
                "field": "edges",
                "sentence": 1,
                "from": e["from"],
                "to": e["to"],
                "from_text": src,
                "to_text": dst,
                "percent": pct(e["weight"]),
                "text": f"{show(src)} → {show(dst)}: {pct(e['weight'])}% of {show(src)}'s attention",
            }
        )
    for h in [h for h in evidence["heads"] if h["lift"] >= HEAD_LIFT][:2]:
        name = f"{h['layer']}.{h['head']}"
        claims.append(
            {
                "type": "head",
                "field": "heads",
                "sentence": 1,
                "layer": h["layer"],
                "head": h["head"],
                "percent": pct(h["share"]),
                "lift": lift1(h["lift"]),
                "text": f"head {name} carries {pct(h['share'])}% of the group's internal attention, "
                f"{lift1(h['lift']):.1f} times an average head's share",
            }
        )
        for r in h["roles"][:1]:
            claims.append(
                {
                    "type": "role",
                    "field": "heads.roles",
                    "sentence": 1,
                    "layer": h["layer"],
                    "head": h["head"],
                    "role": r["role"],
                    "score": score2(r["score"]),
                    "measured_on": r.get("measured_on", "input"),
                    "text": f"head {name}: {r['role']} (score {score2(r['score']):.2f}"
                    + (
                        " on repeated random tokens)" if r.get("measured_on") == "probe" else " on this text)"
                    ),
                }
            )
    if evidence["outside"] and not evidence["edges"]:
        o = evidence["outside"][0]
        claims.append(
            {
                "type": "outside",
                "field": "outside",
                "sentence": 1,
                "token": o["token"],
                "text": o["text"],
                "percent": pct(o["share"]),
            }
        )
    return claims


def _text(evidence: Mapping[str, Any], index: int) -> str:
    return next(t["text"] for t in evidence["tokens"] if t["index"] == index)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def compose(claims: Sequence[Mapping[str, Any]], size: int) -> str:
    """One or two sentences from verified claims (a claim that was dropped simply is not said)."""
    by: dict[str, list[Mapping[str, Any]]] = {}
    for c in claims:
        by.setdefault(c["type"], []).append(c)
    s0, s1 = _first_sentence(by, size), _second_sentence(by)
    return " ".join(s for s in (s0, s1) if s)


def _first_sentence(by: Mapping[str, list[Mapping[str, Any]]], size: int) -> str:
    if "member" not in by:
        return ""
    m = by["member"][0]
    names = [show(t) for t in m["texts"]]
    if size > len(names):
        names.append(f"{size - len(names)} more")
    subject = _join(names)
    if "layout" in by:
        lay = by["layout"][0]
        where = (
            f"tokens {lay['first']}–{lay['last']}" if lay["first"] != lay["last"] else f"token {lay['first']}"
        )
        if "span" in lay:
            subject = f"The words {show(lay['span'])} ({where})"
        else:
            subject += f" ({where}{'' if lay['contiguous'] or size == 1 else ', scattered'})"
    shares = {c["key"]: c["percent"] for c in by.get("share", [])}
    if size == 1:
        text = f"{subject} stands on its own"
        if "external" in shares:
            text += f": {shares['external']}% of its attention goes to other tokens"
    else:
        text = f"{subject} form a group"
        parts = []
        if "internal" in shares:
            parts.append(f"{shares['internal']}% of their attention goes to each other")
        if "self" in shares:
            parts.append(f"{shares['self']}% stays on each token itself")
        if "external" in shares:
            parts.append(f"{shares['external']}% goes to the rest of the text")
        if parts:
            text += ": " + _join(parts)
    for lex in by.get("lexical", [])[:1]:
        singular, plural = LEXICAL_NAMES[lex["class"]]
        label = singular if len(lex["texts"]) == 1 else plural
        text += f"; it includes {label} {_join([show(t) for t in lex['texts']])}"
    return text + "."


def _second_sentence(by: Mapping[str, list[Mapping[str, Any]]]) -> str:
    text = ""
    if "edge" in by:
        e = by["edge"][0]
        text = (
            f"The strongest link: {show(e['from_text'])} puts {e['percent']}% of its attention on "
            f"{show(e['to_text'])}"
        )
    elif "outside" in by:
        o = by["outside"][0]
        text = f"Outside the group, it looks most at {show(o['text'])} ({o['percent']}% of its attention)"
    heads = by.get("head", [])
    if heads:
        names = [f"{h['layer']}.{h['head']}" for h in heads]
        lifts = _join([f"{h['lift']:.1f}" for h in heads])
        lead = ", carried most by " if text else "This group is carried most by "
        plural = len(heads) > 1
        text += (
            f"{lead}head{'s' if plural else ''} {_join(names)} (a head is one of the model's "
            f"parallel attention patterns, named layer.head), which carr{'y' if plural else 'ies'} "
            f"{lifts} times the share of an average head"
        )
        by_role: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for r in by.get("role", []):
            by_role.setdefault((r["role"], r.get("measured_on", "input")), []).append(r)
        for (role, where), rs in by_role.items():
            who = _join([f"{r['layer']}.{r['head']}" for r in rs])
            scores = _join([f"{r['score']:.2f}" for r in rs])
            test = " on a test with repeated random tokens" if where == "probe" else ""
            if len(rs) == 1:
                text += (
                    f"; {who} acts as {_article(role)} {role} head ({GLOSSES[role]}; score {scores}{test})"
                )
            else:
                text += f"; {who} act as {role} heads (each {GLOSSES[role]}; scores {scores}{test})"
    return text + "." if text else ""



def explain_cluster(
    analysis: Analysis, cluster: Cluster, report: HeadReport | None = None, polisher: Any = None
) -> tuple[dict[str, Any], list[Any], str, str | None]:
    """Evidence, verified claims, rationale text and an optional notice for one cluster.

    ``report`` is the analysis's :class:`~attn_widget.heads.HeadReport` (or
    ``None``); ``polisher`` a backend from :func:`attn_widget.llm.as_backend`.
    The evidence gets a ``rationale_check`` entry saying where the text came from.
    """
    from .llm import polish

    evidence = characterize(analysis, cluster, report)
    kept, dropped = verify(make_claims(evidence), evidence)
    text = compose(kept, cluster.size)
    check: dict[str, Any] = {"source": "grounded", "dropped_claims": [d["reason"] for d in dropped]}
    notice = None
    if polisher is not None and cluster.size >= 2:  # a lone token needs no rephrasing
        text, check, notice = polish(polisher, text, kept, evidence, analysis, check)
    evidence["rationale_check"] = check
    return evidence, kept, text, notice

def explain(
    analysis: Analysis,
    backend: Any = None,
    *,
    clusters: Sequence[int] | None = None,
    min_size: int = 1,
    model: Any = None,
    tokenizer: Any = None,
    progress: Callable[[int, int, str], None] | None = None,
    probe: bool = True,
    **faithfulness_options: Any,
) -> Analysis:
    """Return a copy of ``analysis`` whose clusters carry evidence, claims, rationale and scores.

    Parameters
    ----------
    analysis
        The analysis to explain.
    backend
        ``None`` for the grounded text only; otherwise a language-model polish
        backend (see :func:`attn_widget.llm.as_backend`), whose text is checked
        and used only when it holds.
    clusters
        Cluster ids to explain (default: all with at least ``min_size`` tokens).
    min_size
        Smallest cluster explained when ``clusters`` is not given.
    model, tokenizer
        When ``model`` is given, faithfulness scores are computed too for the
        chosen clusters of two or more tokens (extra forward passes; see
        :func:`attn_widget.faithfulness.faithfulness`).
    progress
        ``progress(done, total, message)`` callback for the faithfulness passes.
    probe
        With a causal ``model``, also look for induction heads on a repeated
        random-token sequence (one extra forward pass); such roles are marked
        ``measured_on: "probe"``.
    **faithfulness_options
        Passed to :func:`attn_widget.faithfulness.faithfulness` (``n_random``, ``seed``, ...).

    Returns
    -------
    Analysis
        ``cluster.scores["complexity"]`` is always filled; ``["faithfulness"]`` with ``model``.
    """
    if faithfulness_options and model is None:
        raise TypeError(f"explain() got faithfulness options {sorted(faithfulness_options)} but no model=")
    from .llm import as_backend

    chosen = _chosen(analysis, clusters, min_size)
    notices = list(analysis.notices)
    polisher = as_backend(backend)
    report = score_heads(analysis.attentions, analysis.tokens) if analysis.attentions is not None else None
    if report is not None and model is not None and probe:
        report = _with_probe(report, model, notices)
    out = []
    for c in analysis.clusters:
        if c.id not in chosen:
            out.append(c)
            continue
        evidence, kept, text, notice = explain_cluster(analysis, c, report, polisher)
        if notice:
            notices.append(notice)
        scores = {**(c.scores or {}), "complexity": evidence["complexity"]}
        out.append(
            dataclasses.replace(c, evidence=evidence, claims=tuple(kept), rationale=text, scores=scores)
        )
    result = dataclasses.replace(analysis, clusters=tuple(out), notices=tuple(notices))
    if model is not None:
        from .faithfulness import faithfulness

        scored = sorted(c.id for c in analysis.clusters if c.id in chosen and c.size >= 2)
        result = faithfulness(
            result, model, tokenizer, clusters=scored, progress=progress, **faithfulness_options
        )
    return result


def _with_probe(report: HeadReport, model: Any, notices: list[str]) -> HeadReport:
    from .heads import induction_probe
    from .models import is_causal_config

    if not is_causal_config(model.config):
        return report
    try:
        return report.with_probe(induction_probe(model))
    except ValueError as err:  # e.g. a vocabulary too small for the probe
        notices.append(f"induction probe skipped: {err}")
        return report


def _chosen(analysis: Analysis, clusters: Sequence[int] | None, min_size: int) -> set[int]:
    ids = {c.id for c in analysis.clusters}
    if clusters is None:
        return {c.id for c in analysis.clusters if c.size >= min_size}
    bad = sorted(set(clusters) - ids)
    if bad:
        raise ValueError(f"clusters {bad} do not exist; this analysis has cluster ids {sorted(ids)}")
    return set(clusters)
