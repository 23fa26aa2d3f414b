"""Why a group holds together, in plain words: the reasons a headline may give, strongest first.

Each reason of :data:`REASONS` reads the verified claims of one cluster (:class:`Facts`)
and returns a :class:`Draft` (a body and optional tails, each with the claims it says)
when those claims support it; :func:`attn_widget.explain.headline.compose` tries them in
order and keeps the first. See :mod:`attn_widget.explain.headline` for what each reason
says and the limits a headline keeps. Writes no fact of its own: every number and quoted
word comes from a claim.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.registry import Registry
from .claim_makers import show
from .plain import share_words
from .wording import PLAIN_ROLES

SHORT_SPAN = 4
"""A stretch of text of at most this many words is quoted whole; a longer one by its two ends."""
Said = list[Any]
"""The claims a part of a headline says (``None`` entries are skipped)."""


@dataclass
class Draft:
    """A headline's body, optional tails (best first, each with the claims it says), and its claims."""

    body: str
    tails: list[tuple[str, Said]] = field(default_factory=list)
    used: Said = field(default_factory=list)


@dataclass(frozen=True)
class Subject:
    """The group named in a headline: the words, whether they take a plural verb, the claims quoted."""

    text: str
    plural: bool
    used: Said

    def verb(self, one: str, many: str) -> str:
        return many if self.plural else one


def quote(text: str) -> str:
    """A token or stretch as quoted in a headline: stripped, in double quotes when it holds a ``'``."""
    bare = text.strip()
    if not bare:
        return show(text)
    return f'"{bare}"' if "'" in bare else f"'{bare}'"


class Facts:
    """The verified claims of one cluster, by type, and what the phrasing may vary with."""

    def __init__(self, claims: Sequence[Mapping[str, Any]], size: int, variant: int) -> None:
        self.by: dict[str, list[Mapping[str, Any]]] = {}
        for c in claims:
            self.by.setdefault(c["type"], []).append(c)
        self.size, self.variant = size, variant

    def first(self, kind: str) -> Mapping[str, Any] | None:
        found = self.by.get(kind)
        return found[0] if found else None

    def share(self, key: str) -> Mapping[str, Any] | None:
        return next((s for s in self.by.get("share", []) if s["key"] == key), None)

    def pick(self, *options: Any) -> Any:
        """One of phrasings that say the same thing, rotating with the cluster id."""
        return options[self.variant % len(options)]

    def subject(self) -> Subject:
        """The group as a noun phrase: a quoted stretch, its two ends, or its first words (not marks)."""
        lay, mem = self.first("layout"), self.first("member")
        if self.size == 1 and mem:
            return Subject(quote(mem["texts"][0]), False, [mem])
        if lay and lay["contiguous"]:
            span = lay.get("span")
            if span and len(span.split()) <= SHORT_SPAN:
                return Subject(quote(span), False, [lay])
            if "first_text" in lay:
                ends = f"{quote(lay['first_text'])} to {quote(lay['last_text'])}"
                return Subject(f"the stretch from {ends}", False, [lay])
        if mem is None:
            return Subject("these words", True, [])
        wordy = [t for t in mem["texts"] if any(ch.isalnum() for ch in t)]  # a word reads better than ','
        named = 3 if self.size <= 3 else 2  # all of three, or two and "N more"
        names = [quote(t) for t in (wordy if len(wordy) >= min(named, self.size) else mem["texts"])[:3]]
        if self.size > len(names):
            names = [*names[:2], f"{self.size - 2} more"]
        return Subject(_join(names), True, [mem])


Reason = Callable[[Facts], "Draft | None"]
REASONS: Registry[Reason] = Registry("headline reason")
"""Reason name → a draft when the verified claims support it; tried in registration order."""


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pieces(f: Facts) -> Mapping[str, Any] | None:
    lex = f.first("lexical")
    return lex if lex and lex["class"] == "same_word" and len(lex["texts"]) > 1 else None


@REASONS.register("word")
def _word(f: Facts) -> Draft | None:
    lex, lay = _pieces(f), f.first("layout")
    if lex is None or not lex.get("one_word") or not lay or "span" not in lay or not lay["contiguous"]:
        return None
    if len(lex["texts"]) == f.size:
        pieces = f"in pieces: {_join([quote(t) for t in lex['texts']])}"
    elif len(lex["tokens"]) == f.size:  # more pieces than are quoted
        pieces = f"in {f.size} pieces"
    else:
        return None
    inside = f.share("inside")
    body = f"{quote(lay['span'])} is one word that the model reads {pieces}"
    stays = f"; {share_words(inside['percent'])} of their attention stays inside the group" if inside else ""
    tails = [(stays, [inside])] if inside else []
    return Draft(body, tails, [lex, lay])


@REASONS.register("chunk")
def _chunk(f: Facts) -> Draft | None:
    lay, part, cut = f.first("layout"), f.first("partition"), f.first("cut")
    if f.size < 2 or not lay or not lay["contiguous"]:
        return None
    no_better = cut is not None and cut["verdict"] != "better"
    if not no_better and (cut is not None or not part or not part["chunky"]):
        return None
    s = f.subject()
    role = _top_role(f)
    inside = f.share("inside")
    if role is not None and role["role"] == "previous-token":  # what holds the run, from the evidence
        extra = [(", each word looking at the one before it", [role])]
    elif inside is not None and inside["percent"] >= 60:
        extra = [(f", keeping {share_words(inside['percent'])} of its attention inside the group", [inside])]
    else:
        extra = []
    if no_better and cut is not None:  # the cut test is the reason: it is said in the body
        said = "no more" if cut["verdict"] == "no better" else "barely less"
        body = _cap(s.text) + f.pick(" is just a run of words", " is simply words side by side")
        body += f": cutting between groups hurts the model {said} than cutting plain chunks"
        return Draft(body, extra, [*s.used, cut])
    if part is None:
        return None
    body = f.pick(
        f"{_cap(s.text)} is just a run of neighbouring words, like most groups here",
        f"Like most groups here, {s.text} is simply words side by side",
        f"As with most groups here, {s.text} is one unbroken run of words",
        f"{_cap(share_words(part['percent']))} of words here share a group with the next word, "
        f"and {s.text} is one such run",
    )
    return Draft(body, extra, [*s.used, part])


def _edge(f: Facts) -> Mapping[str, Any] | None:
    return f.first("edge")


def _where(e: Mapping[str, Any]) -> str:
    return {-1: ", the word just before", 1: ", the next word"}.get(e["to"] - e["from"], "")


def _way(e: Mapping[str, Any]) -> str:
    return "back" if e["to"] < e["from"] else "ahead"


@REASONS.register("pronoun")
def _pronoun(f: Facts) -> Draft | None:
    e, lex, basis = _edge(f), f.first("lexical"), f.first("basis")
    pronouns = set(lex["tokens"]) if lex and lex["class"] == "pronoun" else set()
    if e is None or e["from"] not in pronouns or e["to"] in pronouns:
        return None
    p, n = quote(e["from_text"]), quote(e["to_text"])
    share = share_words(e["percent"])
    if basis is not None and basis["lens"] == "coreference":  # the lens is named before it (headline)
        return Draft(f"{p} looks {_way(e)} to {n} with {share} of its attention", [], [e, lex])
    gives = f"{p} gives {share} of its attention to {n}"
    body = f.pick(f"The pronoun {gives}", f"In this group, the pronoun {gives}")
    return Draft(body, [(", its strongest tie here", [])], [e, lex])


@REASONS.register("far")
def _far(f: Facts) -> Draft | None:
    e = _edge(f)
    if e is None or abs(e["to"] - e["from"]) < 2:
        return None
    a, b = quote(e["from_text"]), quote(e["to_text"])
    way, share = _way(e), share_words(e["percent"])
    body = f.pick(
        f"{a} skips {way} past the words between to {b} with {share} of its attention",
        f"{a} looks {way} past the words between to {b} with {share} of its attention",
        f"{_cap(share)} of the attention of {a} goes {way} to {b}, past the words between",
    )
    s = f.subject()
    if s.plural:  # a list of members after the link would read as a second link
        return Draft(body, [(", the tie that holds this group together", [])], [e])
    return Draft(body, [(f", the tie that holds {s.text} together", s.used)], [e])


@REASONS.register("pieces")
def _some_pieces(f: Facts) -> Draft | None:
    lex = _pieces(f)
    if lex is None:
        return None
    some = "all the pieces" if lex.get("one_word") and len(lex["texts"]) == len(lex["tokens"]) else "pieces"
    body = f"This group holds {some} of one word, {_join([quote(t) for t in lex['texts']])}"
    rest = f.size - len(lex["texts"])
    others = f", and {rest} other {'word' if rest == 1 else 'words'}"
    return Draft(body, [(others, [])] if rest > 0 else [], [lex])


def _top_role(f: Facts) -> Mapping[str, Any] | None:
    heads = f.by.get("head", [])
    if not heads:
        return None
    top = heads[0]
    same = (top["layer"], top["head"])
    return next((r for r in f.by.get("role", []) if (r["layer"], r["head"]) == same), None)


@REASONS.register("role")
def _role(f: Facts) -> Draft | None:
    role = _top_role(f)
    if role is None or role["role"] not in PLAIN_ROLES:
        return None
    head = f.by["head"][0]
    s = f.subject()
    does = PLAIN_ROLES[role["role"]]
    body = f.pick(
        f"Above all, an attention pattern that {does} binds {s.text}",
        f"{_cap(s.text)} {s.verb('is', 'are')} bound above all by an attention pattern that {does}",
        f"The attention pattern that binds {s.text} most {does}" if not s.plural
        else f"What binds {s.text} most is an attention pattern that {does}",
    )
    carrying = f", carrying {head['lift']:.1f} times an average pattern's share"
    tails = [(carrying, [head])] if head["lift"] >= 3 else []
    return Draft(body, tails, [*s.used, role])


@REASONS.register("link")
def _link(f: Facts) -> Draft | None:
    e = _edge(f)
    if e is None:
        return None
    a, b = quote(e["from_text"]), quote(e["to_text"])
    s = f.subject()
    body = f"{a} gives {share_words(e['percent'])} of its attention to {b}{_where(e)}"
    within = "this group" if s.plural else s.text  # a list of members would read as a second link
    tail = f.pick(f": the strongest tie within {within}", f": the strongest link inside {within}")
    return Draft(body, [(tail, [] if s.plural else s.used)], [e])


@REASONS.register("inside")
def _inside(f: Facts) -> Draft | None:
    share = f.share("inside")
    if share is None or f.size < 2:
        return None
    s = f.subject()
    keeps, its = s.verb("keeps", "keep"), s.verb("its", "their")
    body = f"{_cap(s.text)} {keeps} {share_words(share['percent'])} of {its} attention inside the group"
    return Draft(body, [], [*s.used, share])


@REASONS.register("spread")
def _spread(f: Facts) -> Draft | None:
    spread = f.first("spread")
    if spread is None:
        return None
    s = f.subject()
    return Draft(f"Many attention patterns share the work of binding {s.text}, and none stands out", [],
                 [*s.used, spread])


@REASONS.register("apart")
def _apart(f: Facts) -> Draft | None:
    if f.size != 1:
        return None
    s = f.subject()
    out = f.first("outside")
    if out is not None:
        gives = f"gives {share_words(out['percent'])} of its attention to {quote(out['text'])}"
        body = f"{_cap(s.text)} stands apart and {gives}"
        return Draft(body, [(", outside its group", [])], [*s.used, out])
    ext = f.share("external")
    if ext is None:
        return None
    goes = f"{share_words(ext['percent'])} of its attention goes to other words"
    return Draft(f"{_cap(s.text)} stands alone: {goes}", [], [*s.used, ext])


@REASONS.register("members")
def _members(f: Facts) -> Draft | None:
    if f.first("member") is None and f.first("layout") is None:
        return None
    s = f.subject()
    verb = "stands on its own" if f.size == 1 else s.verb("is one group", "form a group")
    return Draft(f"{_cap(s.text)} {verb}", [], s.used)
