"""Build the real-text coreference items: the probe's real half and the report set.

    .venv/bin/python benchmarks/make_coref_data.py

Writes

- ``attn_widget/heads/data/coref_real.json``: pronouns from Debian's ``fortunes``
  (``/usr/share/games/fortunes``), labelled by hand in
  ``benchmarks/data/coref_labels_fortunes.txt``; part of the probe the
  coreference heads are chosen on (:mod:`attn_widget.heads.probe_gen` joins them
  with the generated items);
- ``benchmarks/data/coref_report.json``: the report set, never used for any
  choice: sentences written for it below (``HAND``, other words and structures
  than the probe's templates, most with a distracting noun of the same number
  and gender nearer the pronoun) and WordNet usage examples (``wordnet-base``,
  ``/usr/share/wordnet``) labelled in ``benchmarks/data/coref_labels_wordnet.txt``
  (every far one, then near ones in label order until half the set is far).

A label line is ``<source> | <pronoun> <n> | <antecedent> <n> | <distractor> <n> or -``:
the n-th whole-word, case-insensitive occurrence of each word. ``far``: a
distractor is labelled and sits between the antecedent and the pronoun. Every
item keeps its source reference.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
FORTUNES = Path("/usr/share/games/fortunes")
WORDNET = Path("/usr/share/wordnet")

HAND = [  # (text, pronoun, antecedent, distractor or None); the first occurrence of each word
    (
        "The old fisherman sold his boat to a young man from the city, and a week later he missed the sea so "
        "much that he wept.",
        "he",
        "fisherman",
        "man",
    ),
    (
        "The nurse left the report on the desk by the window, and the surgeon read it twice before signing.",
        "it",
        "report",
        "window",
    ),
    (
        "Our village built a new bridge over the river last spring, but the council says it will need "
        "repairs before winter.",
        "it",
        "bridge",
        "river",
    ),
    (
        "Anna lent Clara her bicycle for the summer, and Clara returned it with a flat tyre.",
        "it",
        "bicycle",
        "summer",
    ),
    (
        "The committee rejected the proposal from the students because they found the budget unrealistic.",
        "they",
        "committee",
        "students",
    ),
    (
        "The lawyer questioned the witness for an hour, until he finally admitted that he had lied.",
        "he",
        "witness",
        None,
    ),
    ("The cat chased the mouse across the yard until it disappeared under the shed.", "it", "mouse", None),
    (
        "Because the trophy would not fit into the suitcase, it had to be shipped separately.",
        "it",
        "trophy",
        "suitcase",
    ),
    (
        "The pilot greeted an elderly passenger by the door, and an hour later he announced a short delay "
        "over the speakers.",
        "he",
        "pilot",
        "passenger",
    ),
    (
        "My brother bought a painting from a street artist in Rome, and he hung it above the fireplace in "
        "his study.",
        "he",
        "brother",
        "artist",
    ),
    (
        "The teachers met the parents in the hall, and afterwards they graded the exams late into the night.",
        "they",
        "teachers",
        "parents",
    ),
    (
        "When the queen entered the hall, the duchess curtsied, and then she took her seat on the throne.",
        "she",
        "queen",
        "duchess",
    ),
    (
        "The laptop that my sister gave me last year still works, although its battery is weak.",
        "its",
        "laptop",
        "year",
    ),
    (
        "A farmer in the valley found an old coin in his field, and the museum in town offered to buy it.",
        "it",
        "coin",
        "museum",
    ),
    (
        "The company fired the manager after an audit, and its shares rose the following week.",
        "its",
        "company",
        "audit",
    ),
    (
        "The boy asked his father whether the dog could sleep in his room, but the father said it had to "
        "stay outside.",
        "it",
        "dog",
        "room",
    ),
    ("The singer thanked the audience, and they rose to their feet.", "they", "audience", None),
    (
        "The mechanic looked at the car and told the driver that he would need new brakes.",
        "he",
        "driver",
        None,
    ),
    ("The doctor told the patient that she should rest for a few days.", "she", "patient", None),
    (
        "The hikers reached the summit at noon; the guides had warned them about the weather, but they were "
        "not afraid.",
        "they",
        "hikers",
        "guides",
    ),
    (
        "The mayor met the baker outside the town hall, and the next day he opened a new school.",
        "he",
        "mayor",
        "baker",
    ),
    (
        "The storm damaged the roof of the church, so the parish collected money to repair it.",
        "it",
        "roof",
        "parish",
    ),
    (
        "Maria wrote a long letter to her grandmother, and she posted it the same afternoon.",
        "she",
        "Maria",
        "grandmother",
    ),
    ("The apples in the basket were rotten, so the cook threw them away.", "them", "apples", None),
    (
        "The students handed in their essays late because the printers in the library had stopped working.",
        "their",
        "students",
        None,
    ),
    (
        "After the engineers tested the new engine for a month, the director told them that the results were "
        "excellent.",
        "them",
        "engineers",
        None,
    ),
    ("The woman at the bakery gave the little girl a cookie because she was crying.", "she", "girl", None),
    (
        "The museum bought the statue from a collector in Paris, and it now stands in the main hall.",
        "it",
        "statue",
        "Paris",
    ),
    (
        "The soldiers marched through the villages for three days before they reached the coast.",
        "they",
        "soldiers",
        "days",
    ),
    (
        "The violinist tuned her instrument while the conductor waited, and then she began the solo.",
        "she",
        "violinist",
        "conductor",
    ),
    ("The dog barked at the postman until it was given a bone.", "it", "dog", None),
    (
        "The government promised farmers new loans, but it has not paid a single one.",
        "it",
        "government",
        None,
    ),
    (
        "The child dropped the glass on the kitchen floor, and it shattered into a hundred pieces.",
        "it",
        "glass",
        "floor",
    ),
    ("The ship left the harbour at dawn, and by evening it had crossed the bay.", "it", "ship", "harbour"),
    ("My uncle sold the farm to a developer, who wanted to build houses on it.", "it", "farm", None),
    (
        "The professor praised the thesis that the young student had written, and he recommended it for a "
        "prize.",
        "he",
        "professor",
        "student",
    ),
    (
        "The wolves followed the herd for miles, but they never caught a single deer.",
        "they",
        "wolves",
        "miles",
    ),
    (
        "When the princess met the old witch in the forest, she asked her for a spell to end the winter.",
        "she",
        "princess",
        "witch",
    ),
    ("The bakery on the corner closed last month because its owner retired.", "its", "bakery", "month"),
    (
        "The scientists studied the samples from the volcano for a year before they published anything.",
        "they",
        "scientists",
        "samples",
    ),
    ("The waiter brought the soup to the table, but it was cold.", "it", "soup", "table"),
    ("The king gave the knight a sword, and he carried it into every battle.", "he", "knight", None),
    (
        "The climbers left their tents at the camp and walked towards the glacier; when they came back, the "
        "tents were gone.",
        "they",
        "climbers",
        "tents",
    ),
    ("Before the actor went on stage, the director gave him a final note.", "him", "actor", "director"),
    (
        "The town council approved the plan, although several members said it was too expensive.",
        "it",
        "plan",
        None,
    ),
    (
        "The orchestra played the symphony so slowly that the critics said it had lost its spirit.",
        "it",
        "symphony",
        None,
    ),
    ("The girl found a kitten in the rain and carried it home under her coat.", "it", "kitten", "rain"),
    ("The bank approved my uncle's loan only after it had checked his accounts twice.", "it", "bank", "loan"),
    (
        "The children watched the magician pull a rabbit out of his hat, and they laughed.",
        "they",
        "children",
        None,
    ),
    (
        "The old house on the hill has been empty since its last owner moved to the coast.",
        "its",
        "house",
        "hill",
    ),
    (
        "The farmer's wife sold eggs at the market, and every Sunday she gave the leftovers to the priest.",
        "she",
        "wife",
        None,
    ),
    (
        "The detective questioned the butler and the maid, and then he left the mansion in silence.",
        "he",
        "detective",
        "butler",
    ),
    (
        "The hospital hired twenty nurses last year, but it still cannot fill every shift.",
        "it",
        "hospital",
        "year",
    ),
    ("The professor's car broke down on the highway, so she called a taxi.", "she", "professor", None),
    ("Parents often worry about their children, but they rarely say so.", "they", "Parents", "children"),
    ("Although the river is narrow here, it floods every spring.", "it", "river", None),
]


def occurrence(text: str, word: str, n: int) -> list[int]:
    """Character span of the ``n``-th whole-word, case-insensitive occurrence of ``word``."""
    found = list(re.finditer(rf"(?<![\w']){re.escape(word)}(?![\w-])", text, flags=re.IGNORECASE))
    if len(found) < n:
        raise ValueError(f"{word!r} occurs {len(found)} times, not {n}, in {text!r}")
    return [found[n - 1].start(), found[n - 1].end()]


def item(
    key: str,
    text: str,
    pronoun: tuple[str, int],
    antecedent: tuple[str, int],
    distractor: tuple[str, int] | None,
    source: str,
) -> dict[str, Any]:
    p, a = occurrence(text, *pronoun), occurrence(text, *antecedent)
    d = occurrence(text, *distractor) if distractor else None
    if a[0] >= p[0]:
        raise ValueError(f"{key}: the antecedent {antecedent} comes after the pronoun in {text!r}")
    return {
        "id": key,
        "text": text,
        "pronoun": p,
        "antecedent": a,
        "distractor": d,
        "far": bool(d and a[0] < d[0] < p[0]),
        "pronoun_word": text[p[0] : p[1]],
        "antecedent_word": text[a[0] : a[1]],
        "distractor_word": text[d[0] : d[1]] if d else None,
        "words": len(text.split()),
        "source": source,
    }


def labels(path: Path) -> list[tuple[str, tuple[str, int], tuple[str, int], tuple[str, int] | None]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        src, pron, ante, dist = (part.strip() for part in line.split("|"))

        def pair(s: str) -> tuple[str, int]:
            word, n = s.rsplit(" ", 1)
            return word, int(n)

        out.append((src, pair(pron), pair(ante), None if dist == "-" else pair(dist)))
    return out


def fortune(ref: str) -> str:
    """The text of fortune ``"<file> <k>"``: the k-th of the file, attribution lines dropped."""
    name, k = ref.split()
    body = (FORTUNES / name).read_text(encoding="utf-8", errors="replace").split("\n%\n")[int(k)].strip()
    lines = [line for line in body.split("\n") if not re.match(r"\s*(--|-- |\t\t)", line)]
    return " ".join(" ".join(lines).split())


def wordnet_examples(ref: str) -> list[str]:
    """The quoted usage examples in the gloss of WordNet synset ``"<pos> <offset>"``."""
    pos, offset = ref.split()
    for line in (WORDNET / f"data.{pos}").read_text(encoding="latin-1").splitlines():
        if line.startswith(offset + " "):
            return re.findall(r'"([^"]+)"', line.split("|", 1)[1])
    raise ValueError(f"no synset {ref!r} in WordNet")


def main() -> None:
    real = [
        item(f"f{k:03d}", fortune(src), p, a, d, f"fortunes: {src}")
        for k, (src, p, a, d) in enumerate(labels(DATA / "coref_labels_fortunes.txt"))
    ]
    out = ROOT / "attn_widget" / "heads" / "data" / "coref_real.json"
    out.write_text(json.dumps(real, indent=0) + "\n", encoding="utf-8")
    report = [
        item(f"r{k:03d}", t, (p, 1), (a, 1), (d, 1) if d else None, "written for the report set")
        for k, (t, p, a, d) in enumerate(HAND)
    ]
    examples = []
    for k, (src, p, a, d) in enumerate(labels(DATA / "coref_labels_wordnet.txt")):
        (text,) = [t for t in wordnet_examples(src) if re.search(rf"\b{p[0]}\b", t, re.IGNORECASE)][:1]
        examples.append(
            item(f"w{k:03d}", text, p, a, d, f"wordnet-base: data.{src.replace(' ', ' offset ')}")
        )
    report += [e for e in examples if e["far"]]
    near = 2 * sum(r["far"] for r in report) - len(report)  # near examples that keep the set half far
    report += [e for e in examples if not e["far"]][:near]
    (DATA / "coref_report.json").write_text(json.dumps(report, indent=0) + "\n", encoding="utf-8")
    far = sum(r["far"] for r in report)
    print(f"{len(real)} real probe items; report set {len(report)} items, {far} with the antecedent farther")


if __name__ == "__main__":
    main()
