"""Typed claims about a cluster, and the verifier that re-checks each one against the evidence.

A claim is a JSON-able dict with a ``type`` (a key of :data:`CHECKS`), the
values it asserts, the evidence ``field`` it comes from, and a short ``text``
(one line of the evidence list the widget shows on hover). Numbers are stored
as they are displayed: shares as whole percents (:func:`pct`), role scores to
two decimals (:func:`score2`), so a claim is true exactly when what the reader
sees is true.

Types: ``member`` (these token indices with these texts are in the cluster),
``layout`` (contiguous or not, first and last index, optionally the ``span`` text), ``share`` (a share of the
cluster's attention: ``internal``, ``self`` or ``external``), ``edge`` (token
``from`` puts ``percent`` of its attention on token ``to``), ``outside`` (an
outside token receives ``percent`` of the cluster's attention), ``head`` (head
``layer.head`` carries ``percent`` of the cluster's internal attention,
``lift`` times an average head's share),
``role`` (that head has a role with a score), ``lexical`` (these tokens are in
a lexical class), ``sink`` (the shares leave out exactly these excluded tokens,
which draw ``percent`` of the cluster's attention before renormalisation),
``spread`` (no head carries ``below`` times an average head's share or more),
``basis`` (the graph was built under this ``lens`` and edge ``measure``),
``partition`` (``percent`` of neighbouring tokens share a cluster in the partition the
cluster belongs to, and ``chunky``: at least :data:`CHUNKY` of them, i.e. the clusters
are mostly runs of neighbouring words), ``cut`` (the cut test's ``ratio`` to
contiguous chunks, two decimals, and its ``verdict``: see :func:`cut_verdict`).
``layout`` may also name its ``first_text`` and ``last_text`` (the texts of its first and last token);
a ``same_word`` ``lexical`` claim lists pieces of one word; with ``one_word``, every piece of it
(and the word has no piece outside the cluster: ``lexical.whole_word``).

:func:`verify` keeps the claims that hold and drops (and logs, on the
``attn_widget.claims`` logger) those that do not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.registry import Registry
from ..core.shares import lift1, pct, score2

log = logging.getLogger("attn_widget.claims")

CHUNKY = 0.8
"""A partition whose neighbouring tokens share a cluster at least this often is mostly runs of words
(the widget's partition line says so at the same share, js/src/controls/partview.ts)."""
CUT_VERDICTS = ((0.9, "better"), (1.0, "barely better"))
"""Cut test ratio to contiguous chunks → verdict: at most 0.9 "better", below 1.0 "barely better",
else "no better" (as the widget's cut test line words it)."""


def cut_verdict(ratio: float) -> str:
    """``"better"``, ``"barely better"`` or ``"no better"`` than runs of neighbouring words."""
    if ratio <= CUT_VERDICTS[0][0]:
        return CUT_VERDICTS[0][1]
    return CUT_VERDICTS[1][1] if ratio < CUT_VERDICTS[1][0] else "no better"


Claim = dict[str, Any]
Check = Callable[[Mapping[str, Any], Mapping[str, Any]], "str | None"]
CHECKS: Registry[Check] = Registry("claim type")
"""Claim type → ``check(claim, evidence)`` returning ``None`` when true, else the reason."""


def _texts(evidence: Mapping[str, Any]) -> dict[int, str]:
    return {int(t["index"]): t["text"] for t in evidence["tokens"]}


def _head(evidence: Mapping[str, Any], claim: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next(
        (h for h in evidence["heads"] if h["layer"] == claim["layer"] and h["head"] == claim["head"]),
        None,
    )


@CHECKS.register("member")
def _member(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    texts = _texts(evidence)
    if len(claim["tokens"]) != len(claim["texts"]):
        return "tokens and texts differ in length"
    for i, text in zip(claim["tokens"], claim["texts"], strict=True):
        if i not in texts:
            return f"token {i} ({text!r}) is not in cluster {evidence['cluster']}"
        if texts[i] != text:
            return f"token {i} is {texts[i]!r}, not {text!r}"
    return None


@CHECKS.register("layout")
def _layout(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    first, last = evidence["positions"]
    if "span" in claim and claim["span"] not in [s["text"] for s in evidence["spans"]]:
        return f"{claim['span']!r} is not a stretch of text covered by the cluster"
    if claim["contiguous"] != evidence["contiguous"]:
        return f"contiguous is {evidence['contiguous']}, not {claim['contiguous']}"
    if (claim["first"], claim["last"]) != (first, last):
        return f"the cluster spans tokens {first}-{last}, not {claim['first']}-{claim['last']}"
    texts = _texts(evidence)
    for end, index in (("first_text", first), ("last_text", last)):
        if end in claim and claim[end] != texts[index]:
            return f"token {index} is {texts[index]!r}, not {claim[end]!r}"
    return None


@CHECKS.register("share")
def _share(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    key = claim["key"]
    if key not in evidence["attention"]:
        return f"no attention share {key!r}"
    true = pct(evidence["attention"][key])
    return None if claim["percent"] == true else f"{key} share is {true}%, not {claim['percent']}%"


@CHECKS.register("edge")
def _edge(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    texts = _texts(evidence)
    for end in ("from", "to"):
        if texts.get(claim[end]) != claim[f"{end}_text"]:
            return f"token {claim[end]} is not {claim[f'{end}_text']!r} in this cluster"
    edge = next((e for e in evidence["edges"] if (e["from"], e["to"]) == (claim["from"], claim["to"])), None)
    if edge is None:
        return f"{claim['from']}→{claim['to']} is not among the cluster's strongest links"
    true = pct(edge["weight"])
    return None if claim["percent"] == true else f"link weight is {true}%, not {claim['percent']}%"


@CHECKS.register("outside")
def _outside(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    hit = next((o for o in evidence["outside"] if o["token"] == claim["token"]), None)
    if hit is None or hit["text"] != claim["text"]:
        return f"token {claim['token']} ({claim['text']!r}) is not among the outside tokens attended most"
    true = pct(hit["share"])
    return None if claim["percent"] == true else f"outside share is {true}%, not {claim['percent']}%"


@CHECKS.register("head")
def _head_claim(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    head = _head(evidence, claim)
    if head is None:
        return f"head {claim['layer']}.{claim['head']} is not among the heads carrying this cluster"
    true = pct(head["share"])
    if claim["percent"] != true:
        return f"head share is {true}%, not {claim['percent']}%"
    if "lift" in claim and claim["lift"] != lift1(head["lift"]):
        return f"head carries {lift1(head['lift'])} times an average head's share, not {claim['lift']}"
    return None


@CHECKS.register("role")
def _role(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    head = _head(evidence, claim)
    if head is None:
        return f"head {claim['layer']}.{claim['head']} is not among the heads carrying this cluster"
    role = next((r for r in head["roles"] if r["role"] == claim["role"]), None)
    if role is None:
        found = ", ".join(r["role"] for r in head["roles"]) or "none"
        return f"head {claim['layer']}.{claim['head']} is not labelled {claim['role']!r} (roles: {found})"
    true = score2(role["score"])
    if claim["score"] != true:
        return f"role score is {true}, not {claim['score']}"
    where = role.get("measured_on", "input")
    if claim.get("measured_on", "input") != where:
        return f"the {claim['role']} role was measured on the {where}, not the {claim['measured_on']}"
    return None


@CHECKS.register("sink")
def _sink(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    true = [(e["index"], e["text"], e["position"]) for e in evidence.get("excluded", [])]
    said = list(zip(claim["tokens"], claim["texts"], claim["positions"], strict=True))
    if said != true:
        return f"the tokens left out are {true}, not {said}"
    if claim.get("gloss") and not all(e["special"] or e["index"] == 0 for e in evidence["excluded"]):
        return "a left-out token is neither special nor the first, so it is not where models park attention"
    if "percent" in claim:
        share = evidence["attention"].get("sink")
        if share is None:
            return "the evidence has no share for the left-out tokens (no raw attention)"
        if claim["percent"] != pct(share):
            return f"the left-out tokens draw {pct(share)}%, not {claim['percent']}%"
    return None


@CHECKS.register("spread")
def _spread(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    if not evidence["heads"]:
        return "the evidence has no heads (no raw attention)"
    top = max(evidence["heads"], key=lambda h: h["lift"])
    if top["lift"] >= claim["below"]:
        return (
            f"head {top['layer']}.{top['head']} carries {lift1(top['lift'])} times an average head's "
            f"share, not less than {claim['below']}"
        )
    return None


@CHECKS.register("lexical")
def _lexical(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    members = evidence["lexical"].get(claim["class"])
    if members is None:
        return f"no lexical class {claim['class']!r}"
    grouped = claim["class"] in ("same_word", "whole_word")  # lists of one word's pieces
    flat = {i for g in members for i in g} if grouped else set(members)
    wrong = [i for i in claim["tokens"] if i not in flat]
    if wrong:
        return f"tokens {wrong} are not {claim['class']}"
    if grouped and not any(set(claim["tokens"]) <= set(g) for g in members):
        return "the tokens are not pieces of one word"
    whole = [list(g) for g in evidence["lexical"].get("whole_word", [])]
    if claim.get("one_word") and (not grouped or list(claim["tokens"]) not in whole):
        return "the tokens are not all the pieces of one word"  # every piece, and none outside the group
    quoted = claim["tokens"][: len(claim["texts"])]  # a whole word's pieces: the first few are quoted
    return _member({"tokens": quoted, "texts": claim["texts"]}, evidence)


@CHECKS.register("basis")
def _basis(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    true = evidence["basis"]
    for key in ("lens", "measure"):
        if claim[key] != true[key]:
            return f"the graph was built with {key} {true[key]!r}, not {claim[key]!r}"
    return None


@CHECKS.register("partition")
def _partition(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    share = evidence["partition"]["contiguity"]
    if claim["percent"] != pct(share):
        return f"{pct(share)}% of neighbouring tokens share a cluster, not {claim['percent']}%"
    if bool(claim["chunky"]) != (share >= CHUNKY):
        said = "mostly" if claim["chunky"] else "not mostly"
        return f"the clusters are {said} runs of neighbouring words only if {pct(CHUNKY)}% or more share one"
    return None


@CHECKS.register("cut")
def _cut(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    cut = evidence["partition"].get("cut")
    if cut is None:
        return "the cut test was not measured for this partition"
    ratio = cut["ratio_contiguous"]
    if claim["ratio"] != score2(ratio):
        return f"the cut test ratio to chunks is {score2(ratio)}, not {claim['ratio']}"
    if claim["verdict"] != cut_verdict(ratio):
        return f"the cut test says {cut_verdict(ratio)!r} than chunks, not {claim['verdict']!r}"
    return None


def check(claim: Mapping[str, Any], evidence: Mapping[str, Any]) -> str | None:
    """``None`` when ``claim`` holds against ``evidence``, else the reason it fails.

    A malformed claim (unknown type, missing field) fails with a reason instead of raising.
    """
    kind = claim.get("type")
    if not isinstance(kind, str) or kind not in CHECKS:
        return f"unknown claim type {kind!r}"
    try:
        return CHECKS[kind](claim, evidence)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        return f"malformed {kind} claim ({type(err).__name__}: {err})"


def verify(
    claims: Iterable[Mapping[str, Any]], evidence: Mapping[str, Any]
) -> tuple[list[Claim], list[Claim]]:
    """Split ``claims`` into those that hold and those that do not.

    Each dropped claim is logged at WARNING level on ``attn_widget.claims`` and
    returned with a ``"reason"`` key.
    """
    kept, dropped = [], []
    for claim in claims:
        reason = check(claim, evidence)
        if reason is None:
            kept.append(dict(claim))
        else:
            log.warning("dropped claim about cluster %s: %s (%r)", evidence.get("cluster"), reason, claim)
            dropped.append({**claim, "reason": reason})
    return kept, dropped
