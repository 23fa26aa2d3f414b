"""Short plain-English sentences from verified claims (and only from them).

:func:`compose` says at most one sentence per slot of
:data:`attn_widget.explain.claim_makers.SENTENCES`: the group and its shares,
the left-out tokens, a lexical fact, the strongest link, the heads, their roles,
the lens and measure the graph was built under, and how far the partition goes
beyond runs of neighbouring words.
A claim the verifier dropped is simply not said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..heads.roles import GLOSSES
from .claim_makers import show
from .claims import Claim
from .wording import lens_phrase, measure_phrase

HEAD_GLOSS = "a head is one of the model's parallel attention patterns, named layer.head"
LEXICAL_NAMES = {
    "pronoun": ("the pronoun", "the pronouns"),
    "number": ("the number", "the numbers"),
    "punctuation": ("the punctuation mark", "the punctuation marks"),
    "capitalised": ("the capitalised word", "the capitalised words"),
    "repeated": ("the repeated token", "the repeated tokens"),
    "same_word": ("the pieces of one word", "the pieces of one word"),
}


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def sentences(claims: Sequence[Mapping[str, Any]], size: int) -> list[tuple[int, str]]:
    """``(slot, sentence)`` pairs said from verified claims; a dropped claim is simply not said.

    ``slot`` indexes :data:`~.claim_makers.SENTENCES`; slots with nothing left to say are skipped.
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
        _basis_sentence(by),
        _partition_sentence(by),
    )
    return [(slot, text) for slot, text in enumerate(said) if text]


def compose(claims: Sequence[Mapping[str, Any]], size: int) -> str:
    """Short sentences from verified claims (see :data:`~.claim_makers.SENTENCES` for their order)."""
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
        unit = lay.get("unit", "token")  # the positions count the analysis's nodes: tokens, words, sentences
        first, last = lay["first"], lay["last"]
        where = f"{unit}s {first}–{last}" if first != last else f"{unit} {first}"
        if "span" in lay:
            subject = f"The words {show(lay['span'])} ({where})"
        else:
            subject += f" ({where}{'' if lay['contiguous'] or size == 1 else ', scattered'})"
    shares = {c["key"]: c["percent"] for c in by.get("share", [])}
    node = by["layout"][0].get("unit", "token") if "layout" in by else "token"
    if size == 1:
        text = f"{subject} stands on its own"
        if "external" in shares:
            text += f": {shares['external']}% of its attention goes to other {node}s"
        return text + "."
    text = f"{subject} form a group"
    detail = []
    if "internal" in shares:
        detail.append(f"{shares['internal']}% on each other")
    if "self" in shares:
        detail.append(f"{shares['self']}% on each {node} itself")
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


def _basis_sentence(by: Mapping[str, list[Mapping[str, Any]]]) -> str:
    if "basis" not in by:
        return ""
    b = by["basis"][0]
    text = f"The groups here come from {lens_phrase(b['lens'], b.get('lens_heads'))}"
    if b["lens"] != "all":
        text += f" (lens {b['lens']!r})"
    weighed = measure_phrase(b["measure"])
    return text + (f", {weighed} (measure {b['measure']!r})." if weighed else ".")


CUT_SAID = {
    "better": "less than cutting runs of neighbouring words of the same sizes, so they tell more than "
    "word order",
    "barely better": "barely less than cutting runs of neighbouring words of the same sizes",
    "no better": "no less than cutting runs of neighbouring words of the same sizes, so they tell no more "
    "than word order",
}
"""The cut test's verdict (:func:`attn_widget.explain.claims.cut_verdict`) in words."""


def _partition_sentence(by: Mapping[str, list[Mapping[str, Any]]]) -> str:
    parts = []
    if "partition" in by:
        p = by["partition"][0]
        text = f"Across the text, {p['percent']}% of neighbouring tokens share a group"
        parts.append(text + (": the groups are mostly runs of neighbouring words" if p["chunky"] else ""))
    if "cut" in by:
        verdict = CUT_SAID[by["cut"][0]["verdict"]]
        lead = "; cutting" if parts else "Cutting"
        parts.append(f"{lead} attention between the groups changes the model's output {verdict}")
    return "".join(parts) + "." if parts else ""
