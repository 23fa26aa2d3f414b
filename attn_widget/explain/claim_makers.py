"""Typed claims made from a cluster's evidence, each tagged with the sentence that will say it.

:func:`make_claims` reads the evidence of
:func:`attn_widget.explain.evidence.characterize` and writes the claims that
:mod:`attn_widget.explain.claims` re-checks and :mod:`attn_widget.explain.prose`
turns into sentences. Numbers are rounded one way everywhere
(:mod:`attn_widget.core.shares`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.shares import lift1, pct, score2
from .claims import CHUNKY, Claim, cut_verdict

MAX_LISTED = 6
"""Tokens quoted by name in a rationale; the rest are counted."""
MAX_LEXICAL = 4
"""Tokens of a lexical class named in a rationale."""
MAX_SPAN = 60
"""A contiguous cluster up to this many characters is quoted as one stretch of text."""
HEAD_LIFT = 2.0
"""A head is named as carrying a cluster only if it carries this many times an average head's share."""
SENTENCES = ("group", "sink", "lexical", "link", "heads", "roles", "basis", "partition")
"""The rationale's sentences in reading order; each claim's ``sentence`` is first one of these
slots, then (:func:`attn_widget.explain.prose.number_sentences`) the index of the sentence in the
text actually shown."""
SLOT = {name: k for k, name in enumerate(SENTENCES)}
_END_OF_SENTENCE = re.compile(r"[.!?]\s+[A-Z'\"“‘(]")  # how the widget splits a rationale into sentences


def show(text: str) -> str:
    """A token as quoted in prose: stripped of surrounding spaces, escapes for invisible text."""
    bare = text.strip()
    return f"'{bare}'" if bare else repr(text)


def token_text(evidence: Mapping[str, Any], index: int) -> str:
    return next(t["text"] for t in evidence["tokens"] if t["index"] == index)


def _member_claim(evidence: Mapping[str, Any]) -> Claim:
    toks = evidence["tokens"][:MAX_LISTED]
    return {
        "type": "member",
        "field": "tokens",
        "sentence": SLOT["group"],
        "tokens": [t["index"] for t in toks],
        "texts": [t["text"] for t in toks],
        "text": "tokens: " + ", ".join(f"{show(t['text'])} (#{t['index']})" for t in toks),
    }


def _layout_claim(evidence: Mapping[str, Any]) -> Claim:
    first, last = evidence["positions"]
    claim: Claim = {
        "type": "layout",
        "field": "contiguous",
        "sentence": SLOT["group"],
        "contiguous": evidence["contiguous"],
        "first": first,
        "last": last,
        "first_text": token_text(evidence, first),
        "last_text": token_text(evidence, last),
        "unit": evidence.get("unit", "token"),
        "text": f"{evidence.get('unit', 'token')}s {first}-{last}, "
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
            "sentence": SLOT["group"],
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
        "sentence": SLOT["sink"],
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
        idx = list(found[0]) if cls == "same_word" and found else list(found)  # one word's pieces
        whole = evidence["lexical"].get("whole_word", [])  # evidence saved before it: never one word
        one_word = cls == "same_word" and bool(found) and found[0] in whole  # every piece of one word
        if idx and (len(idx) < evidence["size"] or cls == "same_word"):  # a class covering all says nothing
            listed = idx[:MAX_LEXICAL]  # "includes" stays true for a subset
            texts = [token_text(evidence, i) for i in listed]
            claim: Claim = {
                "type": "lexical",
                "field": f"lexical.{cls}",
                "sentence": SLOT["lexical"],
                "class": cls,
                "tokens": listed,
                "texts": texts,
                "text": f"{cls}: " + ", ".join(show(t) for t in texts),
            }
            if one_word:  # every piece of the word, the first few quoted
                claim.update(tokens=idx, one_word=True)
            return [claim]
    return []


def _link_claim(evidence: Mapping[str, Any]) -> list[Claim]:
    if evidence["edges"]:
        e = evidence["edges"][0]
        src, dst = token_text(evidence, e["from"]), token_text(evidence, e["to"])
        return [
            {
                "type": "edge",
                "field": "edges",
                "sentence": SLOT["link"],
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
                "sentence": SLOT["link"],
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
                "sentence": SLOT["heads"],
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
                "sentence": SLOT["heads"],
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
                    "sentence": SLOT["roles"],
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


def _basis_claim(evidence: Mapping[str, Any]) -> list[Claim]:
    basis = evidence.get("basis")
    if not basis or (basis["lens"] == "all" and basis["measure"] == "attention"):
        return []  # the default says nothing worth a sentence
    return [
        {
            "type": "basis",
            "field": "basis",
            "sentence": SLOT["basis"],
            "lens": basis["lens"],
            "lens_heads": basis["lens_heads"],
            "measure": basis["measure"],
            "text": f"built under lens {basis['lens']!r} ("
            + ("every head" if basis["lens_heads"] is None else f"{basis['lens_heads']} heads")
            + f"), measure {basis['measure']!r}",
        }
    ]


def _partition_claims(evidence: Mapping[str, Any]) -> list[Claim]:
    part = evidence.get("partition")
    if not part:
        return []
    share = part["contiguity"]
    claims: list[Claim] = [
        {
            "type": "partition",
            "field": "partition.contiguity",
            "sentence": SLOT["partition"],
            "percent": pct(share),
            "chunky": share >= CHUNKY,
            "text": f"{pct(share)}% of neighbouring tokens share a cluster"
            + (" (mostly runs of neighbouring words)" if share >= CHUNKY else ""),
        }
    ]
    cut = part.get("cut")
    if cut is not None:
        ratio = cut["ratio_contiguous"]
        claims.append(
            {
                "type": "cut",
                "field": "partition.cut",
                "sentence": SLOT["partition"],
                "ratio": score2(ratio),
                "verdict": cut_verdict(ratio),
                "text": f"cutting the links between the groups changes the model's output "
                f"{score2(ratio):.2f} times as much as cutting between runs of neighbouring words of the "
                "same sizes: "
                f"{cut_verdict(ratio)} than runs of neighbouring words",
            }
        )
    return claims


def make_claims(evidence: Mapping[str, Any]) -> list[Claim]:
    """Typed claims for one cluster's evidence, in reading order (see :mod:`attn_widget.explain.claims`).

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
        *_basis_claim(evidence),
        *_partition_claims(evidence),
    ]
