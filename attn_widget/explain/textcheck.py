"""The check of free text (a language model's rewording) against a cluster's evidence.

:func:`check_text` accepts a rewording only when every number, quoted token,
head, role and link it states is bound to the fact the evidence holds for it,
and every word comes from the evidence's vocabulary or the input. The typed
claims behind the grounded text are checked separately
(:mod:`attn_widget.explain.claims`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..core.lexicon import STOPWORDS
from ..core.shares import lift1, pct, score2
from ..heads.roles import GLOSSES
from .plain import SHARE_PHRASE, share_range
from .plain import WORDS as HEADLINE_WORDS

_QUOTED = re.compile(r"'([^']{1,40})'|\"([^\"]{1,40})\"|‘([^’]{1,40})’|“([^”]{1,40})”")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent|per cent)")
_DECIMAL = re.compile(r"(?<!\d)(?<!\d\.)(\d+)\.(\d+)(?!\d)(?!\.\d)")  # 5.1 but not 1.2.3
_INTEGER = re.compile(r"(?<!\d)(?<!\d\.)\d+(?!\d)(?!\.\d)(?!%)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_VOCABULARY = frozenset(
    """attention group groups token tokens head heads layer layers link links text word words model
    share strongest internal external inside outside carried carry carries each other rest pattern
    patterns parallel score role roles first sink previous duplicate induction broad self stretch
    scattered pronoun pronouns number numbers punctuation capitalised repeated pieces""".split()  # noqa: SIM905 (a word list reads best as one string)
) | frozenset(  # the partition, the lens and the headline (attn_widget.explain.headline, .wording)
    """across neighbouring neighboring run runs mostly cutting cut changes change output word order tell
    come built weighing weighed size moves depends needs lens measure patterns tie ties pronouns stand
    follows content leaving position track tracks third middle early late chosen set simply sit next
    unbroken held together just before like hardest giving longer reaches ahead back past between holds
    bound above apart alone still standing hurts plain chunks chunk copy copies followed spreads evenly
    looks look others within there join joins such reaching reads read word's gives gets binds bind
    binding stays stands work unbroken keeping hold holds lone many none side stretch one what
    looking""".split()  # noqa: SIM905
)
_ROLE_WORDS = {
    "previous-token": ("previous-token", "previous token"),
    "duplicate-token": ("duplicate-token", "duplicate token"),
    "induction": ("induction",),
    "first-token sink": ("sink head", "first-token sink", "sink role"),
    "self": ("self head", "self-head", "self-token head", "self role"),
    "broad": ("broad", "uniform"),
}
_QUANTITIES = {  # the words that name each share of a group's attention
    "inside": ("stays inside", "stay inside", "inside the group", "inside it", "in total"),
    "internal": ("each other", "one another", "among themselves", "inside", "internal", "within"),
    "self": ("themselves", "itself", "self", "own token", "own tokens"),
    "external": (
        "rest of the text", "outside", "external", "elsewhere", "other tokens", "the rest", "other words",
        "other groups",
    ),
    "sink": ("first token", "left out", "leave out", "leaves out", "excluded", "sink"),
    "contiguity": (
        "neighbouring tokens", "neighbouring words", "neighboring words", "next to each other", "next word",
        "share a group with",
    ),
}
_HEDGES = frozenset("about around roughly nearly almost approximately".split())  # noqa: SIM905
_TARGET_WORDS = frozenset("on to at toward towards onto into".split())  # noqa: SIM905
_SOURCE_WORDS = frozenset("from by".split())  # noqa: SIM905
_REVERSING = re.compile(r"\b(receiv\w*|gets?|got|draws?|attracts?|attended|is looked at)\b")
_PARAPHRASE = frozenset(
    """a an the of to in on at by for with from as and or but is are was were be been that this these
    those which who it its their they them there each every other one two three four five six seven
    eight nine ten all both together group groups cluster clusters belong belongs form forms formed
    make makes made up contain contains include includes including consist consists put puts send
    sends give gives pay pays direct directs spend spends place places focus focuses look looks
    attend attends receive receives get gets go goes stay stays remain remains keep keeps carry
    carries carried handle handles handled mostly via through most more than less per cent percent
    share shares strongest strong link links linked connection connections own whole rest average
    times head heads layer layers pattern patterns role roles score scores act acts serve serves work
    works while whereas also so short summary overall here then just main mainly largely does do
    named called labelled labeled token tokens word words text attention outside inside internal
    external self parallel among another themselves itself most model's group's text's head's draws
    draw leave leaves left out many models no none park parks spare spread stands stand twice single
    first last shares mark marks strongly heavily chiefly primarily especially particularly closely
    tied connected attached pulled pulls then thus meanwhile only before after""".split()  # noqa: SIM905
)
_CONNECTIVES = (  # sentences that may stand without a fact of their own
    re.compile(
        r"^(in short|in summary|overall|to sum up|so)[,:]? (these|the|this) (tokens|words|group) "
        r"(form|make up|is|are) (a|one) (group|unit|cluster)$"
    ),
    re.compile(r"^(this|the) (group|cluster) (is|forms) (one|a single|a) (unit|group|cluster)$"),
)
_QUOTE_MASK = re.compile(r"(?<!\w)(?:" + _QUOTED.pattern.replace("{1,40}", "{1,80}") + ")")  # spans reach 60
_HELD = re.compile(r"\x00(\d+)\x00")
_LIFT_AFTER = re.compile(
    r"(?:\s*(?:,|and|or)\s*(?:about\s+)?\d+\.\d+)*\s*(?:x\b|×|times\b)"
)  # "2.1 and 1.5 times"
_CLAUSE = re.compile(
    r"[;:,()]|\s[–—-]\s|\b(?:and|while|whereas|but)\b(?=\s+(?:about\s+|around\s+|nearly\s+)?\d)"
)


def _mentions(
    clause: str, quoted: list[str], heads: set[Any], shares: Mapping[str, Any]
) -> list[tuple[int, str, Any]]:
    """``(position, kind, value)`` of every token, head, share and 'average' named in ``clause``."""
    out: list[tuple[int, str, Any]] = [
        (m.start(), "token", quoted[int(m.group(1))]) for m in _HELD.finditer(clause)
    ]
    for m in _DECIMAL.finditer(_HELD.sub(lambda h: " " * len(h.group(0)), clause)):
        pair = (int(m.group(1)), int(m.group(2)))
        lift = _LIFT_AFTER.match(clause[m.end() :])
        if pair in heads and not lift and not re.search(r"\bscores?\b\D{0,12}$", clause[: m.start()]):
            out.append((m.start(), "head", pair))
    low, taken = clause.lower(), [False] * len(clause)
    for key, words in _QUANTITIES.items():
        for w in words if key in shares or key == "internal" else ():
            for m in re.finditer(rf"\b{re.escape(w)}\b", low):
                if not any(taken[m.start() : m.end()]):
                    taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                    out.append((m.start(), "share", key))
    out += [(m.start(), "average", None) for m in re.finditer(r"\baverage\b", low)]
    return sorted(out, key=lambda x: x[0])


def _direction(clause: str, toks: list[tuple[int, str, Any]]) -> tuple[str, str] | None:
    """The (source, target) texts of a link between the first two quoted tokens of ``clause``."""
    roles: list[str | None] = []
    for pos, _, _ in toks[:2]:
        before = re.findall(r"[a-z]+", clause[:pos].lower().replace("the token", " "))[-1:]
        after = _HELD.sub("", clause[pos:], count=1)
        if after.startswith("ʼs") or (before and before[0] in _SOURCE_WORDS):
            roles.append("source")
        elif before and before[0] in _TARGET_WORDS:
            roles.append("target")
        else:
            roles.append(None)
    if roles == [None, None]:
        roles = ["target", "source"] if _REVERSING.search(clause.lower()) else ["source", "target"]
    elif None in roles:
        known = roles[0] or roles[1]
        roles = [r or ("target" if known == "source" else "source") for r in roles]
    if roles[0] == roles[1]:
        return None
    a, b = toks[0][2], toks[1][2]
    return (a, b) if roles[0] == "source" else (b, a)


def _shares_said(clause: str) -> Iterator[tuple[str, tuple[float, float], int]]:
    """Each share ``clause`` states: its words, the percentages it may truly stand for, its position.

    A percentage is exact (within a point after "about", "nearly", ...); a share in
    words ("over a third") stands for the range :func:`~.plain.share_range` gives it.
    """
    for m in _PERCENT.finditer(clause):
        value = float(m.group(1))
        slack = 1 if _HEDGES & set(re.findall(r"[a-z]+", clause[: m.start()].lower())[-2:]) else 0
        yield m.group(0), (value - slack, value + slack), m.start()
    for m in SHARE_PHRASE.finditer(clause.lower()):
        yield m.group(0).strip(), share_range(m.group(1), m.group(2)), m.start()


def _share_ok(
    span: tuple[float, float], pos: int, clause: str, facts: Mapping[str, Any], mentions: list[Any]
) -> bool:
    """Whether a share in ``span`` (said at ``pos``) is true of what ``clause`` names nearest to it."""
    toks = [m for m in mentions if m[1] == "token"]
    near = sorted(mentions, key=lambda m: abs(m[0] - pos))
    if near and near[0][1] == "token" and len(toks) == 1 and toks[0][2] not in facts["outside"]:
        near = [m for m in near if m[1] != "token"]  # a member named as the subject of a group share
    if not near:
        return False
    kind, what = near[0][1], near[0][2]
    if kind == "token" and len(toks) >= 2:
        pair = _direction(clause, toks)
        trues = facts["edges"].get(pair, []) if pair else []
        if pair and facts["size"] == 1 and pair[0] in facts["members"]:  # a lone token's share is its group's
            trues = [*trues, *facts["outside"].get(pair[1], [])]
    elif kind == "token":
        trues = facts["outside"].get(what, [])
    elif kind == "head":
        trues = [facts["head_share"][what]]
    elif kind == "share":
        trues = [facts["shares"][what]]
    else:
        trues = [] if facts["average"] is None else [facts["average"]]
    return any(span[0] <= t <= span[1] for t in trues)


def _shares(evidence: Mapping[str, Any]) -> dict[str, float]:
    """The shares a sentence may state: of the group's attention, and the partition's contiguity."""
    part = evidence.get("partition") or {}
    return {**evidence["attention"], **({"contiguity": part["contiguity"]} if "contiguity" in part else {})}


def _facts(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence keyed the way free text names things: by lower-cased token text and head."""
    texts = {int(t["index"]): t["text"].strip().lower() for t in evidence["tokens"]}
    edges: dict[tuple[str, str], list[int]] = {}
    for e in evidence["edges"]:
        edges.setdefault((texts[e["from"]], texts[e["to"]]), []).append(pct(e["weight"]))
    outside: dict[str, list[int]] = {}
    for o in evidence["outside"]:
        outside.setdefault(o["text"].strip().lower(), []).append(pct(o["share"]))
    heads = {(h["layer"], h["head"]): h for h in evidence["heads"]}
    return {
        "edges": edges,
        "outside": outside,
        "shares": {k: pct(v) for k, v in _shares(evidence).items()},
        "head_share": {k: pct(h["share"]) for k, h in heads.items()},
        "lift": {k: lift1(h["lift"]) for k, h in heads.items()},
        "index": {**{o["token"]: o["text"].strip().lower() for o in evidence["outside"]}, **texts},
        "size": int(evidence["size"]),
        "members": set(texts.values()),
        "top_edge": next(((texts[e["from"]], texts[e["to"]]) for e in evidence["edges"][:1]), None),
        "top_lift": max((h["lift"] for h in heads.values()), default=0.0),
        "roles": {k: {r["role"]: score2(r["score"]) for r in h["roles"]} for k, h in heads.items()},
        "average": pct(1 / evidence["n_heads"]) if evidence.get("n_heads") else None,
    }


def _check_sentence(
    sentence: str, quoted: list[str], ok: Mapping[str, Any], facts: Mapping[str, Any]
) -> list[str]:
    """Problems with one sentence: each number bound to what it is said of, each role to its head."""
    shown = _HELD.sub(lambda m: repr(quoted[int(m.group(1))]), sentence).strip()
    problems: list[str] = []
    checked = len(_HELD.findall(sentence))
    earlier: list[tuple[int, str, Any]] = []
    pairs = 0
    for clause in _CLAUSE.split(sentence):
        mentions = _mentions(clause, quoted, ok["heads"], facts["shares"])
        toks = [m for m in mentions if m[1] == "token"]
        pairs += len(toks) >= 2
        if len(toks) >= 2 and not _PERCENT.search(clause) and re.search(r"\bstrong", sentence.lower()):
            link = _direction(clause, toks)  # "the strongest link is from 'a' to 'b'": the top link
            if link is None or link != facts["top_edge"]:
                problems.append(f"names a strongest link the evidence does not have ({shown!r})")
        if not mentions and earlier:  # "X, which draws 40%": the subject is the last thing named before
            mentions = [(-1, *earlier[-1][1:])]
        earlier += mentions
        for said, span, pos in _shares_said(clause):
            checked += 1
            if not _share_ok(span, pos, clause, facts, mentions):
                problems.append(f"says {said!r}, which matches no share of what it is said of ({shown!r})")
    plain = _PERCENT.sub(
        lambda m: " " * len(m.group(0)), _HELD.sub(lambda m: " " * len(m.group(0)), sentence)
    )
    named = [m for m in _mentions(sentence, quoted, ok["heads"], facts["shares"]) if m[1] == "head"]
    heads = {m[2] for m in named} or set(facts["lift"])
    for m in _DECIMAL.finditer(plain):
        checked += 1
        value, pair = float(m.group(0)), (int(m.group(1)), int(m.group(2)))
        if _LIFT_AFTER.match(plain[m.end() :]):
            if value not in {facts["lift"][h] for h in heads}:
                problems.append(
                    f"says {m.group(0)} times an average head's share, which no head named carries"
                )
        elif re.search(r"\bscores?\b\D{0,12}$", plain[: m.start()]):
            if value not in {s for h in heads for s in facts["roles"][h].values()}:
                problems.append(f"gives a role score of {m.group(0)}, which no head named has")
        elif pair not in ok["heads"]:
            problems.append(f"names {m.group(0)!r}, which is neither a head carrying this group nor a score")
    for m in _INTEGER.finditer(_DECIMAL.sub(" ", plain)):
        checked += 1
        if int(m.group(0)) not in ok["ints"]:
            problems.append(f"says {m.group(0)!r}, which matches no number in the evidence")
    for m in re.finditer(r"\x00(\d+)\x00\s*\((?:#|token\s+|position\s+)(\d+)\)", sentence):
        said, index = quoted[int(m.group(1))], int(m.group(2))
        if facts["index"].get(index, said) != said and facts["index"].get(index) is not None:
            problems.append(f"calls token {index} {said!r}, but it is {facts['index'][index]!r}")
        elif index not in facts["index"]:
            problems.append(
                f"calls {said!r} token {index}, which is not a token of this group or its evidence"
            )
    for m in re.finditer(r"(?<![\d.#])(?<!token )(?<!tokens )(\d+)\s+(?:more\s+)?(?:tokens|words)\b", plain):
        if int(m.group(1)) > facts["size"]:
            problems.append(f"counts {m.group(0)!r}, but the group has {facts['size']} tokens")
    low = sentence.lower()
    if re.search(r"\b(links?|linked|connections?|connected)\b", low) and not pairs:
        problems.append(f"speaks of a link without naming the two tokens it joins ({shown!r})")
    if re.search(r"\bno (single )?head\b|\bnone (of them )?carries\b", low):
        checked += 1
        if facts["top_lift"] >= 2.0:
            problems.append(
                f"says no head stands out, but a head carries twice an average head's share ({shown!r})"
            )
    for role, words in _ROLE_WORDS.items():
        for m in (m for w in words for m in re.finditer(re.escape(w), low)):
            checked += 1
            near = sorted(named, key=lambda h: abs(h[0] - m.start()))
            owners = [near[0][2]] if near else list(facts["roles"])
            if not any(role in facts["roles"][h] for h in owners):
                who = f"head {owners[0][0]}.{owners[0][1]}" if near else "a head carrying this group"
                problems.append(f"calls {who} {role!r}, which the evidence does not")
    if not checked and not any(c.match(re.sub(r"\s+", " ", low).strip(" .!?")) for c in _CONNECTIVES):
        problems.append(f"adds a sentence with no fact from the evidence ({shown!r})")
    return problems


def _allowed(evidence: Mapping[str, Any]) -> dict[str, set[Any]]:
    toks = [t["text"] for t in evidence["tokens"]] + [o["text"] for o in evidence["outside"]]
    toks += [s["text"] for s in evidence["spans"]]
    percents = {pct(v) for v in _shares(evidence).values()}
    percents |= {pct(e["weight"]) for e in evidence["edges"]}
    percents |= {pct(h["share"]) for h in evidence["heads"]} | {pct(o["share"]) for o in evidence["outside"]}
    if evidence.get("n_heads"):
        percents.add(pct(1 / evidence["n_heads"]))
    heads = {(h["layer"], h["head"]) for h in evidence["heads"]}
    scores = {score2(r["score"]) for h in evidence["heads"] for r in h["roles"]}
    scores |= {lift1(h["lift"]) for h in evidence["heads"]}
    ints = {t["index"] for t in evidence["tokens"]} | {o["token"] for o in evidence["outside"]}
    ints |= {*range(evidence["size"] + 1), *evidence["positions"], *(x for hd in heads for x in hd)}
    return {
        "texts": {t.strip().lower() for t in toks if t.strip()},
        "percents": percents,
        "heads": heads,
        "scores": scores,
        "ints": ints,
        "roles": {r["role"] for h in evidence["heads"] for r in h["roles"]},
    }


def check_text(
    text: str, evidence: Mapping[str, Any], input_words: Iterable[str] = (), reference: str = ""
) -> list[str]:
    """Problems with free ``text`` (e.g. a language model's) about one cluster; empty when it holds.

    Every sentence must be supported by the evidence:

    - every quoted token is a token of the cluster, an outside token in the
      evidence, or one of its spans; no word of the input text
      (``input_words``) appears that is not one of those;
    - every word outside quotes is one of the grounded text (``reference``),
      the role glosses, the tokens, or a short vocabulary for talking about
      attention (so an unsupported claim such as "refers to" fails);
    - every percentage is the share of the thing named nearest to it in its
      clause: an attention share (``each other`` / ``itself`` / ``the rest of
      the text``), a link between two quoted tokens in the right direction
      ("'a' puts 30% on 'b'" vs "'b' receives 30% of 'a''s attention"; a lone
      token's link to an outside token is its group's share to it), an
      outside token, a head, or an average head; exact, or ±1 point after
      "about", "around", "nearly"...;
    - every ``layer.head`` is a head carrying the cluster, a number before
      "times" is the lift and a number after "score" a role score of a head
      named in the sentence; other whole numbers are token indices, counts up
      to the size, layers or heads in the evidence;
    - a quoted token's ``(token N)`` is its own index; a count of tokens is at most the size;
    - a sentence that speaks of a link names its two tokens; an unnumbered "strongest link"
      is the top link, in its direction;
    - a role is named next to a head that has it (or, with no head named, some head has it);
    - a sentence with none of these facts is one of a few connective phrasings
      ("In short, these tokens form a group.");
    - the text ends a sentence (a cut-off generation fails).
    """
    if not text or not text.strip():
        return ["the text is empty"]
    ok, facts = _allowed(evidence), _facts(evidence)
    problems: list[str] = []
    if not re.search(r"[.!?][\"'”’)]*\s*$", text):
        problems.append("the text is cut off (it does not end a sentence)")
    allowed_words = {w for t in ok["texts"] for w in _WORD.findall(t.lower())} | _VOCABULARY | HEADLINE_WORDS
    allowed_words |= {w.lower() for w in _WORD.findall(reference + " " + " ".join(GLOSSES.values()))}
    allowed_words |= {w for r, ws in _ROLE_WORDS.items() for w in _WORD.findall(" ".join((r, *ws)))}
    quoted: list[str] = []

    def hold(m: re.Match[str]) -> str:
        quoted.append(next(g for g in m.groups() if g).strip().lower())
        return f"\x00{len(quoted) - 1}\x00"

    masked = _QUOTE_MASK.sub(hold, re.sub(r"(?<=['’])['’]s\b", "ʼs", text))
    for q in quoted:
        if q and q not in ok["texts"] and not all(w in allowed_words for w in _WORD.findall(q)):
            problems.append(f"mentions {q!r}, which is not a token of this group or its evidence")
    words = {w.lower() for w in _WORD.findall(_HELD.sub(" ", masked))}
    foreign = {w.lower() for w in input_words} - allowed_words
    for word in sorted(words & foreign):
        problems.append(f"mentions {word!r} from the text, which is not in this group")
    for word in sorted(words - foreign - allowed_words - _PARAPHRASE - _HEDGES):
        problems.append(f"uses the word {word!r}, which no fact in the evidence supports")
    for sentence in re.split(r"(?<=[.!?])[\"'”’)]*\s+", masked.strip()):
        if sentence.strip():
            problems += _check_sentence(sentence, quoted, ok, facts)
    return problems


def input_words(tokens: Iterable[Any]) -> set[str]:
    """Content words of the input (for :func:`check_text`): alphabetic, 3+ letters, not stopwords."""
    words = {w.lower() for t in tokens for w in _WORD.findall(getattr(t, "text", str(t)))}
    return {w for w in words if len(w) >= 3 and w not in STOPWORDS}
