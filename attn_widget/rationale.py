"""Plain-English rationales built only from evidence, through verified claims.

For each cluster: :func:`attn_widget.characterize.characterize` computes the
evidence, :func:`make_claims` turns it into typed claims (each tagged with the
sentence it supports), :func:`attn_widget.claims.verify` re-checks every claim
against the evidence (a failing claim is dropped and logged), and
:func:`compose` writes short sentences from the claims that survived (at
most one per slot of :data:`SENTENCES`: the group and its shares, the
left-out tokens, a lexical fact, the strongest link, the heads, their roles).
Numbers are rounded one way everywhere: shares as whole percents, role scores
to two decimals.

An optional language-model ``backend`` may rephrase the text
(:mod:`attn_widget.llm`); its output is checked against the same evidence and
replaced by the grounded text when it mentions anything the evidence does not
hold. ``evidence["rationale_check"]`` records which text is shown and why.
"""

from __future__ import annotations

import dataclasses
import re
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
HEAD_LIFT = 2.0
"""A head is named as carrying a cluster only if it carries this many times an average head's share."""
HEAD_GLOSS = "a head is one of the model's parallel attention patterns, named layer.head"
SENTENCES = ("group", "sink", "lexical", "link", "heads", "roles")
"""The rationale's sentences in reading order; each claim's ``sentence`` is first one of these
slots, then (:func:`number_sentences`) the index of the sentence in the text actually shown."""
_SLOT = {name: k for k, name in enumerate(SENTENCES)}
_END_OF_SENTENCE = re.compile(r"[.!?]\s+[A-Z'\"“‘(]")  # how the widget splits a rationale into sentences
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
        "sentence": _SLOT["group"],
        "tokens": [t["index"] for t in toks],
        "texts": [t["text"] for t in toks],
        "text": "tokens: " + ", ".join(f"{show(t['text'])} (#{t['index']})" for t in toks),
    }


def _layout_claim(evidence: Mapping[str, Any]) -> Claim:
    first, last = evidence["positions"]
    claim: Claim = {
        "type": "layout",
        "field": "contiguous",
        "sentence": _SLOT["group"],
        "contiguous": evidence["contiguous"],
        "first": first,
        "last": last,
        "text": f"tokens {first}-{last}, "
        + ("one stretch of text" if evidence["contiguous"] else "scattered"),
    }
    span = evidence["spans"][0]["text"]
    quotable = span.strip() and len(span) <= MAX_SPAN and not _END_OF_SENTENCE.search(span)
    if evidence["contiguous"] and evidence["size"] > 1 and quotable:
        claim["span"] = span
    return claim


def _share_claims(evidence: Mapping[str, Any]) -> list[Claim]:
    att = evidence["attention"]
    said = {
        "inside": "stays inside the group (to each other or to each token itself)",
        "internal": "goes to each other",
        "self": "stays on each token itself",
    }
    if evidence["size"] == 1:
        said = {"external": "goes to other tokens"}
    return [
        {
            "type": "share",
            "field": f"attention.{key}",
            "sentence": _SLOT["group"],
            "key": key,
            "percent": pct(att[key]),
            "text": f"{pct(att[key])}% of their attention {what}",
        }
        for key, what in said.items()
        if key in att
    ]


def _sink_claim(evidence: Mapping[str, Any]) -> list[Claim]:
    excluded = evidence.get("excluded") or []
    if not excluded:
        return []
    claim: Claim = {
        "type": "sink",
        "field": "excluded",
        "sentence": _SLOT["sink"],
        "tokens": [e["index"] for e in excluded],
        "texts": [e["text"] for e in excluded],
        "positions": [e["position"] for e in excluded],
        "gloss": all(e["special"] or e["index"] == 0 for e in excluded),
        "text": "left out of the graph: " + ", ".join(f"{show(e['text'])} (#{e['index']})" for e in excluded),
    }
    if "sink" in evidence["attention"]:
        claim["field"] = "attention.sink"
        claim["percent"] = pct(evidence["attention"]["sink"])
        claim["text"] += f", drawing {claim['percent']}% of the group's attention before it is left out"
    return [claim]


def _lexical_claim(evidence: Mapping[str, Any]) -> list[Claim]:
    for cls in ("pronoun", "number", "same_word", "capitalised", "punctuation"):
        found = evidence["lexical"][cls]
        idx = [i for g in found for i in g] if cls == "same_word" else list(found)
        if idx and len(idx) < evidence["size"]:  # a class that covers everything says nothing
            idx = idx[:MAX_LEXICAL]  # "includes" stays true for a subset
            texts = [_text(evidence, i) for i in idx]
            return [
                {
                    "type": "lexical",
                    "field": f"lexical.{cls}",
                    "sentence": _SLOT["lexical"],
                    "class": cls,
                    "tokens": idx,
                    "texts": texts,
                    "text": f"{cls}: " + ", ".join(show(t) for t in texts),
                }
            ]
    return []


def _link_claim(evidence: Mapping[str, Any]) -> list[Claim]:
    if evidence["edges"]:
        e = evidence["edges"][0]
        src, dst = _text(evidence, e["from"]), _text(evidence, e["to"])
        return [
            {
                "type": "edge",
                "field": "edges",
                "sentence": _SLOT["link"],
                "from": e["from"],
                "to": e["to"],
                "from_text": src,
                "to_text": dst,
                "percent": pct(e["weight"]),
                "text": f"{show(src)} → {show(dst)}: {pct(e['weight'])}% of {show(src)}'s attention",
            }
        ]
    if evidence["outside"]:
        o = evidence["outside"][0]
        return [
            {
                "type": "outside",
                "field": "outside",
                "sentence": _SLOT["link"],
                "token": o["token"],
                "text": o["text"],
                "percent": pct(o["share"]),
            }
        ]
    return []


def _head_claims(evidence: Mapping[str, Any]) -> list[Claim]:
    if not evidence["heads"]:
        return []
    standing_out = [h for h in evidence["heads"] if h["lift"] >= HEAD_LIFT][:2]
    if not standing_out:
        return [
            {
                "type": "spread",
                "field": "heads",
                "sentence": _SLOT["heads"],
                "below": HEAD_LIFT,
                "text": f"no head carries {HEAD_LIFT:g} times an average head's share of the group",
            }
        ]
    claims: list[Claim] = []
    for h in standing_out:
        name = f"{h['layer']}.{h['head']}"
        claims.append(
            {
                "type": "head",
                "field": "heads",
                "sentence": _SLOT["heads"],
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
                    "sentence": _SLOT["roles"],
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
    return claims


def make_claims(evidence: Mapping[str, Any]) -> list[Claim]:
    """Typed claims for one cluster's evidence, in reading order (see :mod:`attn_widget.claims`).

    Each claim's ``sentence`` names its slot in :data:`SENTENCES` (an index into it).
    """
    return [
        _member_claim(evidence),
        _layout_claim(evidence),
        *_share_claims(evidence),
        *_sink_claim(evidence),
        *_lexical_claim(evidence),
        *_link_claim(evidence),
        *_head_claims(evidence),
    ]


def _text(evidence: Mapping[str, Any], index: int) -> str:
    return next(t["text"] for t in evidence["tokens"] if t["index"] == index)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def sentences(claims: Sequence[Mapping[str, Any]], size: int) -> list[tuple[int, str]]:
    """``(slot, sentence)`` pairs said from verified claims; a dropped claim is simply not said.

    ``slot`` indexes :data:`SENTENCES`; slots with nothing left to say are skipped.
    """
    by: dict[str, list[Mapping[str, Any]]] = {}
    for c in claims:
        by.setdefault(c["type"], []).append(c)
    said = (
        _group_sentence(by, size),
        _sink_sentence(by, size),
        _lexical_sentence(by),
        _link_sentence(by, size),
        _heads_sentence(by),
        _roles_sentence(by),
    )
    return [(slot, text) for slot, text in enumerate(said) if text]


def compose(claims: Sequence[Mapping[str, Any]], size: int) -> str:
    """Short sentences from verified claims (see :data:`SENTENCES` for their order)."""
    return " ".join(text for _, text in sentences(claims, size))


def number_sentences(claims: Sequence[Mapping[str, Any]], size: int) -> list[Claim]:
    """Copies of ``claims`` whose ``sentence`` is the index of the sentence of
    :func:`compose`'s text that says them (``None`` for a claim no sentence says)."""
    shown = {slot: k for k, (slot, _) in enumerate(sentences(claims, size))}
    return [{**c, "sentence": shown.get(c["sentence"])} for c in claims]


def _group_sentence(by: Mapping[str, list[Mapping[str, Any]]], size: int) -> str:
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
        return text + "."
    text = f"{subject} form a group"
    detail = []
    if "internal" in shares:
        detail.append(f"{shares['internal']}% on each other")
    if "self" in shares:
        detail.append(f"{shares['self']}% on each token itself")
    if "inside" in shares:
        text += f": {shares['inside']}% of their attention stays inside it"
        text += f" ({_join(detail)})" if detail else ""
    elif detail:
        text += ": of their attention, " + _join(detail)
    return text + "."


def _sink_sentence(by: Mapping[str, list[Mapping[str, Any]]], size: int) -> str:
    if "sink" not in by:
        return ""
    s = by["sink"][0]
    where = [f"the {p} token" for p in ("first", "last") if p in s["positions"]]
    inner = s["positions"].count("inner")
    if inner:
        where.append("other left-out tokens" if inner > 1 or where else "a left-out token")
    many = len(s["tokens"]) > 1
    text = f"All shares here leave out {_join(where)}"
    if "percent" in s:
        whose = "its" if size == 1 else "the group's"
        text += f", which draw{'' if many else 's'} {s['percent']}% of {whose} attention"
    if s.get("gloss"):
        text += " (models park spare attention there)"
    return text + "."


def _lexical_sentence(by: Mapping[str, list[Mapping[str, Any]]]) -> str:
    for lex in by.get("lexical", [])[:1]:
        singular, plural = LEXICAL_NAMES[lex["class"]]
        label = singular if len(lex["texts"]) == 1 else plural
        return f"The group includes {label} {_join([show(t) for t in lex['texts']])}."
    return ""


def _link_sentence(by: Mapping[str, list[Mapping[str, Any]]], size: int) -> str:
    if "edge" in by:
        e = by["edge"][0]
        return (
            f"The strongest link: {show(e['from_text'])} puts {e['percent']}% of its attention on "
            f"{show(e['to_text'])}."
        )
    if "outside" in by:
        o = by["outside"][0]
        where = "It looks most at" if size == 1 else "Outside the group, it looks most at"
        return f"{where} {show(o['text'])} ({o['percent']}% of its attention)."
    return ""


def _heads_sentence(by: Mapping[str, list[Mapping[str, Any]]]) -> str:
    heads = by.get("head", [])
    if not heads:
        if "spread" not in by:
            return ""
        below = by["spread"][0]["below"]
        times = "twice" if below == 2 else f"{below:g} times"
        return (
            f"The group is spread over many heads: none carries {times} the share of an average head "
            f"({HEAD_GLOSS})."
        )
    names = _join([f"{h['layer']}.{h['head']}" for h in heads])
    lifts = list(dict.fromkeys(f"{h['lift']:.1f}" for h in heads))  # "4.3 times ... each" when equal
    each = " each" if len(heads) > 1 and len(lifts) == 1 else ""
    lead = f"Head {names} carries it most" if len(heads) == 1 else f"Heads {names} carry it most"
    return f"{lead}: {_join(lifts)} times the share of an average head{each} ({HEAD_GLOSS})."


def _roles_sentence(by: Mapping[str, list[Mapping[str, Any]]]) -> str:
    by_role: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in by.get("role", []):
        by_role.setdefault((r["role"], r.get("measured_on", "input")), []).append(r)
    parts = []
    for (role, where), rs in by_role.items():
        who = _join([f"{r['layer']}.{r['head']}" for r in rs])
        scores = _join([f"{r['score']:.2f}" for r in rs])
        test = " on a test with repeated random tokens" if where == "probe" else ""
        if len(rs) == 1:
            role_head = f"{_article(role)} {role} head"
            parts.append(f"head {who} acts as {role_head} ({GLOSSES[role]}; score {scores}{test})")
        else:
            parts.append(f"heads {who} act as {role} heads (each {GLOSSES[role]}; scores {scores}{test})")
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


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
    kept = number_sentences(kept, cluster.size)
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
