"""Language-model polish: used only when it holds against the evidence, else a visible fallback."""

from __future__ import annotations

import json
import re
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from factories import make_analysis

import attn_widget
from attn_widget.core import Analysis
from attn_widget.core.shares import pct
from attn_widget.explain.llm import OpenAIBackend, as_backend, complete_sentences, make_prompt
from attn_widget.explain.textcheck import check_text, input_words

TEXT = "Alice met Bob in Paris and she gave him twelve old books about the sea"
GROUNDED = "grounded"
HEADLINE_ASK = "as one plain sentence"
REJECTED = "grounded (language-model text rejected)"


# three planted groups over the words of TEXT
analysis = partial(make_analysis, [5, 5, len(TEXT.split()) - 10], words_of=TEXT, strength=4.0)


def explanation_in(prompt: str) -> str:
    return prompt.split("Explanation:\n", 1)[1].split("\n\nRewrite", 1)[0]


def honest(prompt: str) -> str:
    """A faithful rephrasing: the grounded text with friendlier openings."""
    return explanation_in(prompt).replace("The strongest link:", "Most strongly,")


LIES = {
    "wrong token": lambda p: "'Paris' and 'dog' form a group.",
    "wrong number": lambda p: re.sub(r"\d+%", "93%", explanation_in(p), count=1),
    "wrong head": lambda p: "This group is carried by head 3.11.",
    "wrong role": lambda p: explanation_in(p) + " Its heads are induction heads.",
    "word from elsewhere in the text": lambda p: "These tokens are all about Alice and the books.",
}


def test_an_honest_backend_is_used_and_marked() -> None:
    a = analysis().explain(backend=honest)
    grounded = analysis().explain()
    for c, g in zip(a.clusters, grounded.clusters, strict=True):
        check = c.evidence["rationale_check"]
        assert check["source"] == "language model", check["problems"]
        assert c.rationale == g.rationale.replace("The strongest link:", "Most strongly,")
        assert check["llm_text"] == c.rationale
    assert a.notices == ()


@pytest.mark.parametrize("kind", sorted(LIES))
def test_every_kind_of_lie_falls_back_to_the_grounded_text_visibly(kind: str) -> None:
    grounded = analysis().explain()
    a = analysis().explain(backend=LIES[kind])
    for c, g in zip(a.clusters, grounded.clusters, strict=True):
        check = c.evidence["rationale_check"]
        assert check["source"] == REJECTED, (kind, check)
        assert check["problems"]
        assert c.rationale == g.rationale
    assert len(a.notices) == len(a.clusters)
    assert all("rejected" in n and "showing the text built from the evidence" in n for n in a.notices)


def test_a_backend_that_sometimes_lies() -> None:
    calls = []

    def sometimes(prompt: str) -> str:
        if HEADLINE_ASK in prompt:  # the headlines are rephrased honestly; this test is about rationales
            return honest(prompt)
        calls.append(prompt)
        return honest(prompt) if len(calls) % 2 else LIES["wrong number"](prompt)

    a = analysis().explain(backend=sometimes)
    sources = [c.evidence["rationale_check"]["source"] for c in a.clusters]
    assert sources == ["language model", REJECTED, "language model"]
    assert len(a.notices) == 1
    assert "cluster 1" in a.notices[0]
    assert "93%" not in " ".join(c.rationale for c in a.clusters)


def test_the_headline_is_polished_under_the_same_checks_and_its_own_limits() -> None:
    grounded = analysis().explain()

    def friendly(prompt: str) -> str:
        text = explanation_in(prompt)
        return text if HEADLINE_ASK not in prompt else "In short, " + text[:1].lower() + text[1:]

    a = analysis().explain(backend=friendly)
    for c, g in zip(a.clusters, grounded.clusters, strict=True):
        check = c.evidence["headline_check"]
        assert check["source"] == "language model", check["problems"]
        assert c.headline == "In short, " + g.headline[:1].lower() + g.headline[1:]
        assert check["reason"] == g.evidence["headline_check"]["reason"]

    def wordy(prompt: str) -> str:
        text = explanation_in(prompt)
        if HEADLINE_ASK not in prompt:
            return text
        return text.rstrip(".") + ", and so these tokens form a cluster that head attention binds together."

    b = analysis().explain(backend=wordy)
    for c, g in zip(b.clusters, grounded.clusters, strict=True):
        check = c.evidence["headline_check"]
        assert check["source"] == REJECTED
        assert any("words" in p or "look up" in p for p in check["problems"]), check["problems"]
        assert c.headline == g.headline
        assert c.evidence["rationale_check"]["source"] == "language model"
    assert all("headline was rejected" in n for n in b.notices)


def test_a_headline_rewording_with_a_wrong_number_is_rejected() -> None:
    def liar(prompt: str) -> str:
        text = explanation_in(prompt)
        return re.sub(r"\d+%", "93%", text, count=1) if HEADLINE_ASK in prompt else text

    a = analysis().explain(backend=liar)
    for c in a.clusters:
        if re.search(r"\d+%", c.headline) and "93%" not in c.headline:
            assert c.evidence["headline_check"]["source"] == REJECTED
        assert "93%" not in c.headline


def test_a_failing_backend_never_breaks_the_explanation() -> None:
    def broken(prompt: str) -> str:
        raise ConnectionError("no route to host")

    a = analysis().explain(backend=broken)
    assert all(c.evidence["rationale_check"]["source"] == REJECTED for c in a.clusters)
    assert "ConnectionError" in a.notices[0]


def test_a_cut_off_generation_is_trimmed_to_whole_sentences_before_the_check() -> None:
    assert complete_sentences("Heads 5.1 matter. The rest is carried by 1.2") == "Heads 5.1 matter."
    assert complete_sentences("no full stop") == "no full stop"

    def rambling(prompt: str) -> str:
        return honest(prompt) + " The weakest link: 'Alice"

    a = analysis().explain(backend=rambling)
    assert all(c.evidence["rationale_check"]["source"] == "language model" for c in a.clusters)
    assert all("weakest" not in c.rationale for c in a.clusters)


def test_prompt_lists_the_verified_facts() -> None:
    c = analysis().explain().clusters[0]
    prompt = make_prompt(c.rationale, c.claims)
    for claim in c.claims:
        assert f"- {claim['text']}" in prompt
    assert c.rationale in prompt


class _Chat(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []
    reply = ""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        text = type(self).reply or honest(body["messages"][-1]["content"])
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_server():
    _Chat.requests, _Chat.reply = [], ""
    server = HTTPServer(("127.0.0.1", 0), _Chat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_endpoint(chat_server: str) -> None:
    backend = ("openai", {"base_url": chat_server, "model": "tiny", "api_key": "k"})
    a = analysis().explain(backend=backend)
    assert len(_Chat.requests) == 2 * len(a.clusters)  # the rationale and the headline of each
    asked = [r["messages"][-1]["content"] for r in _Chat.requests]
    assert sum(HEADLINE_ASK in x for x in asked) == len(a.clusters)
    first = _Chat.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["model"] == "tiny"
    assert first["auth"] == "Bearer k"
    assert first["messages"][0]["role"] == "system"
    assert all(c.evidence["rationale_check"]["source"] == "language model" for c in a.clusters)
    assert all(c.evidence["headline_check"]["source"] == "language model" for c in a.clusters)
    assert a.clusters[0].evidence["rationale_check"]["backend"] == "openai"
    _Chat.reply = "The group is about Paris, 88% of it."
    b = analysis().explain(backend=OpenAIBackend(chat_server))
    assert all(c.evidence["rationale_check"]["source"] == REJECTED for c in b.clusters)


def test_no_request_unless_configured(chat_server: str) -> None:
    analysis().explain()
    assert _Chat.requests == []
    with pytest.raises(ValueError, match="needs options"):
        as_backend("openai")
    with pytest.raises(ValueError, match="base_url='localhost:8000'"):
        OpenAIBackend("localhost:8000")
    with pytest.raises(TypeError, match="backend=42"):
        as_backend(42)
    with pytest.raises(ValueError, match="unknown language-model backend 'gpt9'"):
        as_backend("gpt9")


# ------------------------------------------------- paraphrases: what the stricter check lets through
def role_evidence() -> tuple[Analysis, dict, str]:
    """Cluster 1 ('and she gave him twelve') with an induction role on its top head, and its grounded text."""
    from attn_widget.explain.claim_makers import make_claims
    from attn_widget.explain.claims import verify
    from attn_widget.explain.evidence import characterize
    from attn_widget.explain.prose import compose
    from attn_widget.heads.roles import GLOSSES

    a = analysis()
    ev = characterize(a, a.clusters[1])
    ev["heads"][0]["roles"] = [
        {"role": "induction", "score": 0.8123, "gloss": GLOSSES["induction"], "measured_on": "input"}
    ]
    kept, _ = verify(make_claims(ev), ev)
    return a, ev, compose(kept, ev["size"])


def paraphrases(ev: dict) -> tuple[dict[str, str], dict[str, str]]:
    """(good, bad): honest rewrites that keep every number on its thing, and realistic wrong ones."""
    share = {k: pct(v) for k, v in ev["attention"].items()}
    text = {t["index"]: t["text"].strip() for t in ev["tokens"]}
    e0, e2 = ev["edges"][0], ev["edges"][2]
    src, dst, w0 = text[e0["from"]], text[e0["to"]], pct(e0["weight"])
    h0, h1 = ev["heads"][0], ev["heads"][1]
    n0, n1 = f"{h0['layer']}.{h0['head']}", f"{h1['layer']}.{h1['head']}"
    lift0, out0 = f"{round(h0['lift'], 1):.1f}", ev["outside"][0]
    good = {
        "link, active": f"'{src}' puts {w0}% of its attention on '{dst}'.",
        "link, passive": f"'{dst}' receives {w0}% of the attention from '{src}'.",
        "link, possessive": f"{w0}% of '{src}''s attention goes to '{dst}'.",
        "shares": f"These tokens send {share['internal']}% of their attention to each other "
        f"and {share['self']}% to themselves.",
        "hedged share": f"Only about {share['external'] + 1}% goes to the rest of the text.",
        "head, lift and role": f"Head {n0} carries it most, {lift0} times an average head's share, "
        "and it acts as an induction head (score 0.81).",
        "head share": f"Head {n0} carries {pct(h0['share'])}% of the group's internal attention.",
        "outside token": f"Outside the group, it looks most at '{out0['text'].strip()}' "
        f"({pct(out0['share'])}% of its attention).",
        "connective": "In short, these tokens form a group.",
        "strongest link, no number": f"The strongest link goes from '{src}' to '{dst}'.",
        "count and index": f"These {ev['size']} tokens form a group, and '{src}' (token {e0['from']}) "
        "is one of them.",
    }
    if "inside" in share:  # internal + self, as the table shows it
        good["inside"] = f"They keep {share['inside']}% of their attention inside the group."
    if "sink" in share:  # the share of the excluded first token, before renormalisation
        good["left-out token"] = (
            f"The first token draws {share['sink']}% of the group's attention before it is left out."
        )
    bad = {
        "garbled (audit)": f"The sentence is made up of {share['internal']}% of the attention goes to the "
        f"other {share['self']}% of the attention. The other {share['self']}% of the attention.",
        "reversed link": f"'{dst}' puts {w0}% of its attention on '{src}'.",
        "reversed link, passive": f"'{src}' receives {w0}% of the attention from '{dst}'.",
        "link share on another pair": f"'{text[e2['from']]}' puts {w0}% of its attention on "
        f"'{text[e2['to']]}'.",
        "misplaced share": f"{share['internal']}% of their attention stays on each token itself.",
        "share of the wrong quantity": f"{share['self']}% of their attention goes to the rest of the text.",
        "off by one, unhedged (audit: 35%)": f"{share['internal'] + 1}% of their attention goes to "
        "each other.",
        "off by some": f"About {share['internal'] + 3}% of their attention goes to each other.",
        "group share put on a head": f"Head {n0} carries {share['internal']}% of the group's "
        "internal attention.",
        "role on the wrong head": f"Head {n1} acts as an induction head.",
        "self head (audit)": f"Head {n0} acts as a self head.",
        "invented coreference (audit)": f"'she' refers to '{text[e0['to']]}'.",
        "invented relation": "'him' is the object of 'gave'.",
        "true text plus an invented claim": f"'{src}' puts {w0}% of its attention on '{dst}'. "
        "'she' refers to 'him'.",
        "token not in the group": "'dog' and 'she' form a group.",
        "word from elsewhere in the text": "These tokens are all about Alice and the books.",
        "head not carrying the group": "This group is carried by head 3.11.",
        "wrong lift": f"Head {n0} carries {float(lift0) + 1:.1f} times an average head's share.",
        "wrong role score": f"Head {n0} acts as an induction head (score 0.95).",
        "sentence with no fact": "This group is the heart of the sentence.",
        "vague claim": "Most of their attention goes to the rest of the text.",
        "cut off": f"'{src}' puts {w0}% of its attention on",
        "strongest link reversed, no number": f"The strongest link goes from '{dst}' to '{src}'.",
        "token given another's index": f"'{src}' (token {e0['to']}) puts {w0}% of its attention on '{dst}'.",
        "wrong count": f"These {ev['size'] + 2} tokens form a group.",
        "link with no tokens (SmolLM2)": "The group includes the pronoun 'she' and the strongest link is the "
        "head of the model's parallel attention pattern.",
    }
    return good, bad


def test_catch_rate_of_bad_paraphrases_and_acceptance_of_good_ones() -> None:
    a, ev, grounded = role_evidence()
    good, bad = paraphrases(ev)
    words = input_words(a.tokens)
    accepted = {k: check_text(t, ev, words, reference=grounded) for k, t in good.items()}
    caught = {k: check_text(t, ev, words, reference=grounded) for k, t in bad.items()}
    catch_rate = sum(bool(p) for p in caught.values()) / len(caught)
    accept_rate = sum(not p for p in accepted.values()) / len(accepted)
    print(f"caught {catch_rate:.0%} of {len(caught)} bad paraphrases;", end=" ")
    print(f"accepted {accept_rate:.0%} of {len(accepted)} good ones")
    assert len(bad) >= 15
    assert len(good) >= 8
    assert accept_rate == 1.0, {k: p for k, p in accepted.items() if p}
    assert catch_rate == 1.0, [k for k, p in caught.items() if not p]
    assert check_text(grounded, ev, words) == [], grounded


@pytest.mark.parametrize(
    "kind",
    [
        "garbled (audit)",
        "reversed link",
        "misplaced share",
        "role on the wrong head",
        "self head (audit)",
        "invented coreference (audit)",
        "off by one, unhedged (audit: 35%)",
        "off by some",
    ],
)
def test_audit_paraphrases_fall_back_to_the_grounded_text_visibly(kind: str) -> None:
    from attn_widget.explain.llm import polish

    a, ev, grounded = role_evidence()
    _, bad = paraphrases(ev)
    shown, record, notice = polish(as_backend(lambda p: bad[kind]), grounded, [], ev, a, {"source": GROUNDED})
    assert shown == grounded
    assert record["source"] == REJECTED
    assert record["problems"]
    assert record["llm_text"] == bad[kind]
    assert notice is not None
    assert "rejected" in notice
    assert "showing the text built from the evidence" in notice


@pytest.mark.slow
def test_smollm2_polish_is_checked() -> None:
    """The audit's case on real SmolLM2: what is shown is the grounded text or passes the stricter check."""
    text = "The cat sat on the mat because it was tired."
    a = attn_widget.analyze(text, model="smollm2")
    grounded = a.explain()
    polished = a.explain(backend="smollm2")
    words = input_words(a.tokens)
    outcomes = []
    for c, g in zip(polished.clusters, grounded.clusters, strict=True):
        check = c.evidence["rationale_check"]
        outcomes.append((check["source"], check.get("llm_text"), check.get("problems")))
        assert c.rationale == g.rationale or check_text(c.rationale, c.evidence, words, g.rationale) == []
        if c.rationale != g.rationale:
            assert check["source"] == "language model"
    print("SmolLM2 outcomes:", *outcomes, sep="\n")
