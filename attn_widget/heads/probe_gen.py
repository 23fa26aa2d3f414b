"""The coreference probe: pronoun items generated from templates, plus hand-labelled real text.

    .venv/bin/python -m attn_widget.heads.probe_gen      # rewrites data/coref_probe.json

The generated items vary what the issue asks of a probe that represents real
text: the pronoun (he, she, it, they, his, her, its, their, him, them), the
antecedent's kind (names, kinship and occupation nouns, objects, animals,
groups), the distance and what stands between (an adverbial of 0-3 phrases, a
clause, a sentence boundary), a distracting noun of the same number and gender
nearer the pronoun (the reading then rests on syntax or meaning), and the syntax
(subject, object, possessive, passive, relative clause, quotation). Each family
makes items in both orders where it can (antecedent nearer, antecedent farther).
The real half (``data/coref_real.json``, made by ``benchmarks/make_coref_data.py``
from Debian ``fortunes``, each item with its source) is appended as it is.
Deterministic: ``SEED``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

SEED = 22
PER_FAMILY = 40

MEN = ["James", "Omar", "Hiroshi", "Lucas", "Viktor", "Samuel", "Mateo", "Ivan"]
WOMEN = ["Emma", "Leila", "Priya", "Hannah", "Olga", "Nadia", "Ingrid", "Lucia"]
MALE = ["uncle", "grandfather", "prince", "monk", "nephew", "husband", "gentleman", "landlord"]
FEMALE = ["aunt", "grandmother", "princess", "nun", "niece", "bride", "lady", "landlady"]
PEOPLE = ["carpenter", "librarian", "banker", "tailor", "plumber", "chemist", "cashier", "sculptor"]
THINGS = ["lamp", "kettle", "ladder", "clock", "umbrella", "wallet", "jacket", "violin", "tent", "radio"]
ANIMALS = ["horse", "goat", "owl", "rabbit", "fox", "donkey", "parrot", "pony"]
GROUPS = ["sailors", "tourists", "miners", "farmers", "players", "villagers", "cousins", "builders"]
OBJECTS = ["boxes", "letters", "tickets", "chairs", "blankets", "candles", "barrels", "maps"]
PLACES = ["the market", "the station", "the harbour", "the old mill", "the square", "the chapel"]
FILLER = [
    "",
    "on Monday",
    "after a long walk through the town",
    "during the storm in March",
    "in the little cafe beside the post office",
    "while the rain kept falling on the roofs",
]
SUBJ = {"m": "he", "f": "she", "n": "it", "p": "they"}
OBJ = {"m": "him", "f": "her", "n": "it", "p": "them"}
POSS = {"m": "his", "f": "her", "n": "its", "p": "their"}

Item = tuple[str, str, str, str | None]  # text, pronoun, antecedent, distractor (first occurrences)


def _person(r: random.Random, gender: str) -> tuple[str, str]:
    """A name or a definite noun of ``gender``: (text as written, the word to mark)."""
    if r.random() < 0.5:
        name = r.choice(MEN if gender == "m" else WOMEN)
        return name, name
    noun = r.choice(MALE if gender == "m" else FEMALE)
    return f"the {noun}", noun


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _fill(r: random.Random) -> str:
    f = r.choice(FILLER)
    return f" {f}" if f else ""


def gender_cue(r: random.Random) -> Item:
    """Subject or object antecedent, told apart from the other person by gender; any pronoun case."""
    g = r.choice("mf")
    (a, aw), (d, dw) = _person(r, g), _person(r, "f" if g == "m" else "m")
    first, second = (a, d) if r.random() < 0.5 else (d, a)  # antecedent farther or nearer
    verb = r.choice(["thanked", "visited", "called", "greeted", "followed"])
    case = r.choice(["subj", "obj", "poss"])
    tail = {
        "subj": f"{SUBJ[g]} {r.choice(['felt tired', 'was late', 'laughed', 'sat down'])}",
        "obj": f"a stranger {r.choice(['asked', 'warned', 'helped'])} {OBJ[g]}",
        "poss": f"{POSS[g]} {r.choice(['coat', 'dog', 'car', 'phone'])} was missing",
    }[case]
    text = f"{first[0].upper()}{first[1:]} {verb} {second}{_fill(r)}, and later {tail}."
    word = tail.split()[0] if case != "obj" else OBJ[g]
    return text, word, aw, dw


def number_cue(r: random.Random) -> Item:
    """A group against one person or thing: they / them / their, or he / it, by number."""
    group, thing = r.choice(GROUPS), r.choice(THINGS)
    if r.random() < 0.5:
        text = (
            f"The {group} carried the {thing} to {r.choice(PLACES)}{_fill(r)}"
            f" because they {r.choice(['were strong', 'had time', 'were asked to'])}."
        )
        return text, "they", group, thing
    text = (
        f"The {thing} that the {group}"
        f" found{_fill(r)} was old, so they sold {OBJ['n']} at {r.choice(PLACES)}."
    )
    return text, "it", thing, group


def meaning_cue(r: random.Random) -> Item:
    """Same number and gender on both sides: the verb's meaning picks the antecedent (Winograd-like)."""
    g = r.choice("mf")
    (a, aw), (d, dw) = _person(r, g), _person(r, g)
    while dw == aw:
        d, dw = _person(r, g)
    giver_wins = r.random() < 0.5
    adj = r.choice(["generous", "rich", "kind"]) if giver_wins else r.choice(["poor", "hungry", "grateful"])
    thing = r.choice(["a coin", "some bread", "a warm coat", "a book"])
    text = f"{a[0].upper()}{a[1:]} gave {d} {thing}{_fill(r)} because {SUBJ[g]} was {adj}."
    return (text, SUBJ[g], aw, dw) if giver_wins else (text, SUBJ[g], dw, aw)


def animacy_cue(r: random.Random) -> Item:
    """An animal against an object (both it, or both they): what the verb says fits only one."""
    animal, thing = r.choice(ANIMALS), r.choice(THINGS)
    if r.random() < 0.5:
        text = (
            f"The {animal} knocked over the {thing}{_fill(r)}"
            f" because it was {r.choice(['frightened', 'hungry', 'restless'])}."
        )
        return text, "it", animal, thing
    text = (
        f"The {animal} slept next to the {thing}{_fill(r)}"
        f" until it {r.choice(['broke', 'fell over', 'stopped working'])}."
    )
    return text, "it", thing, animal


def passive(r: random.Random) -> Item:
    """A passive clause: the antecedent is the subject or the agent (by-phrase), gender tells."""
    g = r.choice("mf")
    (a, aw), (d, dw) = _person(r, g), _person(r, "f" if g == "m" else "m")
    if r.random() < 0.5:
        text = (
            f"{a[0].upper()}{a[1:]} was {r.choice(['invited', 'interviewed', 'photographed'])}"
            f" by {d}{_fill(r)}, and {SUBJ[g]} seemed pleased."
        )
    else:
        text = (
            f"{d[0].upper()}{d[1:]} was {r.choice(['invited', 'interviewed', 'photographed'])}"
            f" by {a}{_fill(r)}, and then {SUBJ[g]} left."
        )
    return text, SUBJ[g], aw, dw


def relative(r: random.Random) -> Item:
    """A relative clause between the antecedent and its verb; the distractor inside it."""
    kind = r.random()
    if kind < 0.5:
        g = r.choice("mf")
        noun = r.choice(PEOPLE)
        (d, dw) = _person(r, "f" if g == "m" else "m")
        text = (
            f"The {noun} who {r.choice(['met', 'helped', 'hired'])}"
            f" {d}{_fill(r)} said that {SUBJ[g]} {r.choice(['would return', 'was busy', 'felt better'])}."
        )
        return text, SUBJ[g], noun, dw
    thing, group = r.choice(THINGS), r.choice(GROUPS)
    text = (
        f"The {thing} which the {group} {r.choice(['repaired', 'painted', 'borrowed'])}{_fill(r)}"
        f" lost {POSS['n']} {r.choice(['handle', 'colour', 'shine'])}."
    )
    return text, "its", thing, group


def boundary(r: random.Random) -> Item:
    """The pronoun in the next sentence; one to three sentences of distance, a distractor between."""
    g = r.choice("mfnp")
    if g in "mf":
        (a, aw), (d, dw) = _person(r, g), _person(r, "f" if g == "m" else "m")
        first = f"{a[0].upper()}{a[1:]} waited for {d} at {r.choice(PLACES)}."
    elif g == "n":
        aw, dw = r.choice(ANIMALS), r.choice(GROUPS)
        first = f"The {aw} walked past the {dw} near {r.choice(PLACES)}."
    else:
        aw, dw = r.choice(GROUPS), r.choice(THINGS)
        first = f"The {aw} found {_a(dw)} {dw} at {r.choice(PLACES)}."
    middle = r.choice(
        ["", " It was getting dark.", " Nobody said a word for a while.", " The bells rang twice."]
    )
    case = r.choice(["subj", "poss"])
    word = SUBJ[g] if case == "subj" else POSS[g]
    rest = {"subj": "was cold", "poss": "breath made small clouds"}[case]
    if g == "p" and case == "subj":
        rest = "were cold"
    text = f"{first}{middle} Then {word} {rest}."
    return text, word, aw, dw


def quotation(r: random.Random) -> Item:
    """A quotation between antecedent and pronoun, or the pronoun inside the quoted words' frame."""
    g = r.choice("mf")
    (a, aw), (d, dw) = _person(r, g), _person(r, "f" if g == "m" else "m")
    thing = r.choice(THINGS)
    if r.random() < 0.5:
        text = f'{a[0].upper()}{a[1:]} said to {d}, "The {thing} is ready," and {SUBJ[g]} smiled.'
        return text, SUBJ[g], aw, dw
    text = f'"Where is the {thing}?" asked {a}, and {d} showed {OBJ[g]} the shelf.'
    return text, OBJ[g], aw, dw


def object_pronoun(r: random.Random) -> Item:
    """An object pronoun (it, them) for a thing bought, found or lost; a place or person between."""
    (p, _), plural = _person(r, r.choice("mf")), r.random() < 0.5
    thing = r.choice(OBJECTS if plural else THINGS)
    art = "some" if plural else _a(thing)
    text = (
        f"{p[0].upper()}{p[1:]} bought {art} {thing} from a {r.choice(PEOPLE)}"
        f" at {r.choice(PLACES)}{_fill(r)} and carried {OBJ['p' if plural else 'n']} home."
    )
    return text, OBJ["p" if plural else "n"], thing, None


def distance(r: random.Random) -> Item:
    """Two sentence boundaries between antecedent and pronoun, a distractor of the same number between."""
    g = r.choice("mfnp")
    if g in "mf":
        (a, aw), (d, dw) = _person(r, g), _person(r, "f" if g == "m" else "m")
        text = (
            f"{a[0].upper()}{a[1:]} moved to a small town near the coast{_fill(r)}. {d[0].upper()}{d[1:]} "
            f"lived in the house next door. Every evening a neighbour brought {OBJ[g]} fresh bread."
        )
        return text, OBJ[g], aw, dw
    if g == "p":
        group, objects = r.choice(GROUPS), r.choice(OBJECTS)
        text = (
            f"The {group} stayed at an inn{_fill(r)}. The {objects} in the hall were dusty. "
            f"In the morning the owner gave {OBJ['p']} breakfast."
        )
        return text, OBJ["p"], group, objects
    animal, thing = r.choice(ANIMALS), r.choice(THINGS)
    text = (
        f"The {animal} escaped from the farm{_fill(r)}, knocking over {_a(thing)} {thing}. Nobody noticed "
        f"for an hour. Later a shepherd found {OBJ['n']} near the river."
    )
    return text, OBJ["n"], animal, thing


FAMILIES: dict[str, Callable[[random.Random], Item]] = {
    "gender": gender_cue,
    "number": number_cue,
    "meaning": meaning_cue,
    "animacy": animacy_cue,
    "passive": passive,
    "relative": relative,
    "boundary": boundary,
    "quotation": quotation,
    "object": object_pronoun, "distance": distance,
}


def _span(text: str, word: str, before: int | None = None) -> list[int]:
    """The first whole-word occurrence of ``word`` (the last before ``before`` when given)."""
    found = [m for m in re.finditer(rf"\b{re.escape(word)}\b", text) if before is None or m.start() < before]
    if not found:
        raise ValueError(f"{word!r} not in {text!r}")
    m = found[-1] if before is not None else found[0]
    return [m.start(), m.end()]


def _last_span(text: str, word: str) -> list[int]:
    m = list(re.finditer(rf"\b{re.escape(word)}\b", text))[-1]
    return [m.start(), m.end()]


def generate(seed: int = SEED, per_family: int = PER_FAMILY) -> list[dict[str, Any]]:
    """``per_family`` distinct items of each family, with character spans, ``far`` and the family name."""
    r = random.Random(seed)
    out: list[dict[str, Any]] = []
    for family, make in FAMILIES.items():
        seen: set[str] = set()
        while len(seen) < per_family:
            text, pron, ante, dist = make(r)
            if text in seen:
                continue
            seen.add(text)
            p = _last_span(text, pron)
            a = _span(text, ante, before=p[0])
            d = _span(text, dist, before=p[0]) if dist else None
            out.append(
                {
                    "id": f"g{len(out):03d}",
                    "text": text,
                    "pronoun": p,
                    "antecedent": a,
                    "distractor": d,
                    "far": bool(d and a[0] < d[0] < p[0]),
                    "pronoun_word": pron,
                    "antecedent_word": ante,
                    "distractor_word": dist,
                    "words": len(text.split()),
                    "source": f"template: {family}",
                }
            )
    return out


def real_items() -> list[dict[str, Any]]:
    """The hand-labelled real half (Debian ``fortunes``)."""
    raw = (
        resources.files(__package__).joinpath("data").joinpath("coref_real.json").read_text(encoding="utf-8")
    )
    return json.loads(raw)


def main() -> None:
    items = generate() + real_items()
    path = Path(str(resources.files(__package__).joinpath("data").joinpath("coref_probe.json")))
    path.write_text(json.dumps(items, indent=0) + "\n", encoding="utf-8")
    far = sum(i["far"] for i in items)
    print(f"{len(items)} probe items ({far} with a distractor nearer the pronoun) -> {path}")


if __name__ == "__main__":
    main()
