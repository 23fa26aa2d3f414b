"""The verifier: every injected false claim is caught, no true claim is ever rejected."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterator

import numpy as np
import pytest
from factories import make_analysis
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_widget.core import Token
from attn_widget.core.shares import lift1, pct, score2
from attn_widget.explain.claim_makers import make_claims
from attn_widget.explain.claims import CHUNKY, check, cut_verdict, verify
from attn_widget.explain.evidence import characterize
from attn_widget.explain.prose import compose
from attn_widget.explain.textcheck import check_text, input_words
from attn_widget.heads.roles import ROLES

SENTENCE = "Mary gave John the red book , then she walked home with 3 friends and they sang 2 songs"
WORDS = (SENTENCE + " about the sea while it rained on Paris").split(" ")
VOCABULARY = input_words(Token(w) for w in WORDS)
"""The content words of the input, which free text may mention."""


def planted_cases(smallest_group: int):
    """Hypothesis cases: a seed, 2-4 planted groups of ``smallest_group`` to 8 tokens, shuffled or not."""
    sizes = st.lists(st.integers(smallest_group, 8), min_size=2, max_size=4)
    cases = given(seed=st.integers(0, 1000), sizes=sizes, shuffle=st.booleans())
    return lambda test: settings(max_examples=20, deadline=None)(cases(test))


def evidences(sizes=(5, 6, 7), shuffle=False, seed=0) -> list[dict]:
    a = make_analysis(sizes, words=(WORDS * 3)[: sum(sizes)], shuffle=shuffle, seed=seed)
    out = []
    for c in a.clusters:
        ev = characterize(a, c)
        if ev["heads"]:  # give the top head a role, so role claims have something to be true about
            ev["heads"][0]["roles"] = [{"role": "induction", "score": 0.8123, "gloss": "..."}]
        out.append(ev)
    return out


def grounded_texts(sizes, shuffle, seed) -> Iterator[tuple[dict, str]]:
    """Each cluster's evidence with the grounded text composed from its verified claims."""
    for ev in evidences(sizes, shuffle, seed):
        kept, _ = verify(make_claims(ev), ev)
        yield ev, compose(kept, ev["size"])


def all_claims(ev: dict) -> list[dict]:
    """A true claim of every type for every fact in the evidence."""
    toks = ev["tokens"]
    claims = [
        {"type": "member", "tokens": [t["index"] for t in toks], "texts": [t["text"] for t in toks]},
        {
            "type": "layout",
            "contiguous": ev["contiguous"],
            "first": ev["positions"][0],
            "last": ev["positions"][1],
        },
    ]
    claims += [{"type": "share", "key": k, "percent": pct(v)} for k, v in ev["attention"].items()]
    text = {t["index"]: t["text"] for t in toks}
    claims += [
        {
            "type": "edge",
            "from": e["from"],
            "to": e["to"],
            "from_text": text[e["from"]],
            "to_text": text[e["to"]],
            "percent": pct(e["weight"]),
        }
        for e in ev["edges"]
    ]
    claims += [
        {"type": "outside", "token": o["token"], "text": o["text"], "percent": pct(o["share"])}
        for o in ev["outside"]
    ]
    for h in ev["heads"]:
        claims.append(
            {
                "type": "head",
                "layer": h["layer"],
                "head": h["head"],
                "percent": pct(h["share"]),
                "lift": lift1(h["lift"]),
            }
        )
        claims += [
            {
                "type": "role",
                "layer": h["layer"],
                "head": h["head"],
                "role": r["role"],
                "score": score2(r["score"]),
            }
            for r in h["roles"]
        ]
    for cls, idx in ev["lexical"].items():
        for some in idx if cls in ("same_word", "whole_word") else [idx]:  # pieces of one word each
            if some:
                texts = [text[i] for i in some]
                claims.append({"type": "lexical", "class": cls, "tokens": some, "texts": texts})
    for word in ev["lexical"]["whole_word"]:
        texts = [text[i] for i in word]
        claims.append({"type": "lexical", "class": "same_word", "tokens": word, "texts": texts})
        claims[-1]["one_word"] = True  # every piece of the word is in the group
    ex = ev["excluded"]
    claims.append(
        {
            "type": "sink",
            "tokens": [e["index"] for e in ex],
            "texts": [e["text"] for e in ex],
            "positions": [e["position"] for e in ex],
            "percent": pct(ev["attention"]["sink"]),
        }
    )
    if max(h["lift"] for h in ev["heads"]) < 2.0:
        claims.append({"type": "spread", "below": 2.0})
    claims.append({"type": "basis", "lens": ev["basis"]["lens"], "measure": ev["basis"]["measure"]})
    share = ev["partition"]["contiguity"]
    claims.append({"type": "partition", "percent": pct(share), "chunky": share >= CHUNKY})
    if "cut" in ev["partition"]:
        ratio = ev["partition"]["cut"]["ratio_contiguous"]
        claims.append({"type": "cut", "ratio": score2(ratio), "verdict": cut_verdict(ratio)})
    return claims


def lies(claim: dict, ev: dict, rng: np.random.Generator) -> list[dict]:
    """False versions of a true claim: wrong token, wrong number, wrong head, wrong role."""
    inside = {t["index"] for t in ev["tokens"]}
    outside = [i for i in range(1, 40) if i not in inside]
    other_text = "zebra"
    out = []
    kind = claim["type"]
    if kind == "member":
        out.append({**claim, "tokens": [*claim["tokens"][:-1], int(rng.choice(outside))]})
        out.append({**claim, "texts": [*claim["texts"][:-1], other_text]})
    if kind == "layout":
        out.append({**claim, "contiguous": not claim["contiguous"]})
        out.append({**claim, "last": claim["last"] + 1})
    if "percent" in claim:
        delta = int(rng.choice([-1, 1])) * int(rng.integers(1, 30))
        out.append({**claim, "percent": claim["percent"] + delta})
    if kind in ("edge",):
        out.append({**claim, "to": int(rng.choice(outside))})
        out.append({**claim, "from_text": other_text})
    if kind == "outside":
        out.append({**claim, "token": int(rng.choice(sorted(inside)))})
    if kind in ("head", "role"):
        taken = {(h["layer"], h["head"]) for h in ev["heads"]}
        free = [(la, h) for la in range(4) for h in range(4) if (la, h) not in taken]
        layer, head = free[int(rng.integers(len(free)))]
        out.append({**claim, "layer": layer, "head": head})
    if kind == "head":
        out.append({**claim, "lift": round(claim["lift"] + 0.5, 1)})
    if kind == "role":
        out.append({**claim, "role": next(r for r in ROLES if r != claim["role"])})
        out.append({**claim, "score": round(claim["score"] + 0.05, 2)})
        out.append({**claim, "measured_on": "probe"})
    if kind == "sink":  # hide a left-out token, name another, misplace it
        out.append({**claim, "tokens": [], "texts": [], "positions": []})
        more = {"tokens": [*claim["tokens"], 5], "texts": [*claim["texts"], "x"]}
        out.append({**claim, **more, "positions": [*claim["positions"], "inner"]})
        out.append({**claim, "positions": ["last" for _ in claim["positions"]]})
    if kind == "spread":  # "no head stands out" when one carries this much
        top = max(h["lift"] for h in ev["heads"])
        out.append({**claim, "below": round(top - 0.05, 2)})
    if kind == "basis":  # another lens or measure than the graph was built with
        out.append({**claim, "lens": "coreference" if claim["lens"] != "coreference" else "all"})
        out.append({**claim, "measure": "gradient" if claim["measure"] != "gradient" else "norm"})
    if kind == "partition":  # "mostly runs of words" when they are not, or the other way round
        out.append({**claim, "chunky": not claim["chunky"]})
    if kind == "cut":
        out.append({**claim, "ratio": round(claim["ratio"] + 0.1, 2)})
        out.append({**claim, "verdict": "better" if claim["verdict"] != "better" else "no better"})
    if kind == "lexical":
        non = [i for i in inside if i not in claim["tokens"]]
        partial = claim["tokens"] not in ev["lexical"]["whole_word"]
        if claim["class"] == "same_word" and partial:  # some pieces called all of them
            out.append({**claim, "one_word": True})
        if claim["class"] == "same_word" and non:  # a word from elsewhere added to the pieces
            text = {t["index"]: t["text"] for t in ev["tokens"]}
            out.append(
                {**claim, "tokens": [*claim["tokens"], non[0]], "texts": [*claim["texts"], text[non[0]]]}
            )
        if non and claim["class"] not in ("same_word", "whole_word"):
            text = {t["index"]: t["text"] for t in ev["tokens"]}
            out.append(
                {**claim, "tokens": [*claim["tokens"], non[0]], "texts": [*claim["texts"], text[non[0]]]}
            )
    return out


@planted_cases(smallest_group=2)
def test_true_claims_are_never_rejected_and_every_lie_is_caught(seed, sizes, shuffle) -> None:
    rng = np.random.default_rng(seed)
    for ev in evidences(sizes, shuffle, seed):
        truths = all_claims(ev) + make_claims(ev)
        kept, dropped = verify(truths, ev)
        assert dropped == [], dropped
        false = [lie for c in truths for lie in lies(c, ev, rng)]
        assert false
        kept, dropped = verify(false, ev)
        assert kept == [], f"lies accepted: {kept}"
        assert all(d["reason"] for d in dropped)


def test_catch_rate_by_kind_of_lie() -> None:
    rng = np.random.default_rng(0)
    caught: dict[str, list[bool]] = {}
    for seed in range(5):
        for ev in evidences(seed=seed):
            if seed % 2:  # half of them with a cut test measured
                cut = {"ratio_contiguous": 0.8 + 0.1 * seed, "ratio_random": 0.5, "output": "x"}
                ev["partition"]["cut"] = cut
            for claim in all_claims(ev):
                for lie in lies(claim, ev, rng):
                    caught.setdefault(claim["type"], []).append(check(lie, ev) is not None)
    kinds = {"member", "share", "edge", "head", "role", "lexical", "layout", "outside", "sink", "spread"}
    kinds |= {"basis", "partition", "cut"}
    assert kinds <= set(caught)
    assert all(all(v) for v in caught.values()), {k: float(np.mean(v)) for k, v in caught.items()}


def test_dropped_claims_are_logged_and_malformed_ones_do_not_raise(caplog) -> None:
    ev = evidences()[0]
    with caplog.at_level(logging.WARNING, logger="attn_widget.claims"):
        kept, dropped = verify(
            [{"type": "share", "key": "internal", "percent": 101}, {"type": "gossip"}, {"type": "edge"}], ev
        )
    assert kept == []
    assert len(dropped) == 3
    assert "internal share is" in dropped[0]["reason"]
    assert "unknown claim type 'gossip'" in dropped[1]["reason"]
    assert "malformed edge claim" in dropped[2]["reason"]
    assert len([r for r in caplog.records if "dropped claim" in r.getMessage()]) == 3


@planted_cases(smallest_group=1)
def test_grounded_text_passes_the_free_text_check(seed, sizes, shuffle) -> None:
    for ev, text in grounded_texts(sizes, shuffle, seed):
        assert check_text(text, ev, VOCABULARY) == [], text


@pytest.mark.parametrize(
    ("lie", "problem"),
    [
        ("'zebra' and the rest form a group.", "mentions 'zebra'"),
        ("These tokens talk about Paris and rain.", "mentions 'paris' from the text"),
        ("They keep 97% of their attention inside.", "matches no share"),
        ("Head 3.9 does the work.", "neither a head"),
        ("Token 77 is the centre.", "'77'"),
        ("This is carried by a previous-token head.", "previous-token"),
        ("", "empty"),
        ("The words form a group: 53% of their attention goes to", "cut off"),
    ],
)
def test_free_text_lies_are_caught(lie: str, problem: str) -> None:
    ev = next(e for e in evidences() if not any(t["text"].strip() == "Paris" for t in e["tokens"]))
    ev = copy.deepcopy(ev)
    for h in ev["heads"]:
        h["roles"] = []
    problems = check_text(lie, ev, VOCABULARY)
    assert any(problem in p for p in problems), problems


def test_free_text_accepts_true_numbers_with_rounding_slack() -> None:
    ev = evidences()[0]
    internal = pct(ev["attention"]["internal"])
    h = ev["heads"][0]
    first = re.sub(r"^\s+", "", ev["tokens"][0]["text"])
    text = (
        f"'{first}' sends about {internal + 1}% of its attention inside, via head {h['layer']}.{h['head']}."
    )
    assert check_text(text, ev) == []


@planted_cases(smallest_group=2)
def test_grounded_text_with_two_numbers_swapped_is_rejected(seed, sizes, shuffle) -> None:
    """Each percentage is bound to what it is said of: the same numbers in other places fail."""
    for ev, text in grounded_texts(sizes, shuffle, seed):
        found = list(re.finditer(r"\d+%", text))
        pairs = [(a, b) for k, a in enumerate(found) for b in found[k + 1 :] if a.group() != b.group()]
        for a, b in pairs[:3]:
            swapped = text[: a.start()] + b.group() + text[a.end() : b.start()] + a.group() + text[b.end() :]
            assert check_text(swapped, ev, VOCABULARY, reference=text), swapped


def test_free_text_link_direction_and_hedges() -> None:
    ev = evidences()[0]
    text = {t["index"]: t["text"].strip() for t in ev["tokens"]}
    e = ev["edges"][0]
    src, dst, w = text[e["from"]], text[e["to"]], pct(e["weight"])
    assert check_text(f"'{src}' puts {w}% of its attention on '{dst}'.", ev) == []
    assert check_text(f"'{dst}' gets {w}% of the attention of '{src}'.", ev) == []
    assert check_text(f"'{src}' puts about {w + 1}% of its attention on '{dst}'.", ev) == []
    assert check_text(f"'{src}' puts {w + 1}% of its attention on '{dst}'.", ev)  # no hedge: exact
    assert check_text(f"'{dst}' puts {w}% of its attention on '{src}'.", ev)
