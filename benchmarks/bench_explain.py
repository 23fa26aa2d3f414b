"""Cost of explanations per cluster at 128 and 512 tokens: rationale (evidence, claims, text) and scores.

Uses GPT-2 small's real tokenizer and config with random weights (no download),
from ``tests/fixtures/gpt2``. Prints one line per size; no assertions.

    HF_HUB_OFFLINE=1 python benchmarks/bench_explain.py [--sizes 128 512] [--n-random 5] [--real]

``--real`` adds SmolLM2-135M-Instruct (real weights): for a few texts, the share
of position-matched random token sets each attention cluster beats.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PARAGRAPH = (
    "The committee met on Tuesday to discuss the new library. Maria argued that the old building "
    "should be kept, because it was cheaper and the children loved it. John disagreed: he said the roof "
    "leaked and the books were getting wet. After two hours they voted, and the new library won by 7 votes."
)


def text_of(tok, n: int) -> str:
    words, text = PARAGRAPH.split(), ""
    i = 0
    while len(tok(text)["input_ids"]) < n - 1:
        text += (" " if text else "") + words[i % len(words)]
        i += 1
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--n-random", type=int, default=5)
    parser.add_argument(
        "--real", action="store_true", help="also score SmolLM2's clusters against random sets"
    )
    parser.add_argument(
        "--fixture", default=str(Path(__file__).resolve().parents[1] / "tests/fixtures/gpt2")
    )
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    import attn_widget
    from attn_widget.evaluate.faithfulness import clear_cache, faithfulness
    from attn_widget.heads.roles import score_heads

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(args.fixture)
    model = GPT2LMHeadModel(GPT2Config.from_pretrained(args.fixture)).eval()
    model.set_attn_implementation("eager")
    print(f"torch threads: {torch.get_num_threads()}; GPT-2 small shapes, random weights")
    print(
        f"{'tokens':>6} {'clusters':>8} {'heads s':>8} {'explain s':>9} {'per cluster ms':>14} "
        f"{'faith s':>8} {'per cluster s':>13} {'passes':>6}"
    )
    for n in args.sizes:
        a = attn_widget.analyze(text_of(tok, n), model=model, tokenizer=tok)
        big = [c for c in a.clusters if c.size >= 2]
        t0 = time.perf_counter()
        score_heads(a.attentions, a.tokens)
        t_heads = time.perf_counter() - t0
        t0 = time.perf_counter()
        a.explain(min_size=2)
        t_explain = time.perf_counter() - t0
        clear_cache()
        passes: list[int] = []
        handle = model.register_forward_hook(lambda *_, seen=passes: seen.append(1))
        t0 = time.perf_counter()
        faithfulness(a, model, tok, n_random=args.n_random)
        t_faith = time.perf_counter() - t0
        handle.remove()
        k = max(len(big), 1)
        per = 1000 * t_explain / k
        print(
            f"{len(a.tokens):>6} {len(big):>8} {t_heads:>8.2f} {t_explain:>9.2f} {per:>14.0f} "
            f"{t_faith:>8.1f} {t_faith / k:>13.2f} {len(passes):>6}"
        )
    if args.real:
        real_weights(args.n_random)


TEXTS = (
    "Anna's code is 4827 and Tom's code is 5163. Anna's code is 48",
    "The cat sat on the mat because it was tired, and the dog slept by the door all day long.",
    "When Mary and John went to the store, John gave a drink to",
)


def real_weights(n_random: int) -> None:
    """SmolLM2 and MiniLM (real weights): how often do attention clusters beat random token sets?"""
    for model, title in (("smollm2", "SmolLM2-135M-Instruct"), ("minilm", "all-MiniLM-L6-v2 (encoder)")):
        beats_random(model, title, n_random)


def beats_random(model: str, title: str, n_random: int) -> None:
    import attn_widget
    from attn_widget.evaluate.faithfulness import METRICS, faithfulness

    beats: dict[str, list[float]] = {m: [] for m in METRICS}
    print(f"\n{title}, real weights: share of random sets each cluster beats")
    for text in TEXTS:
        a = attn_widget.analyze(text, model=model)
        out = faithfulness(a, n_random=n_random)
        for c in out.clusters:
            f = (c.scores or {}).get("faithfulness")
            if not f or not f["n_random"]:
                continue
            row = {m: f[m]["beats"] for m in METRICS}
            for m in METRICS:
                beats[m].append(row[m])
            words = " ".join(a.tokens[i].text for i in c.tokens)[:50]
            print(f"  {c.size:>3} tokens  {row}  {words!r}")
    for m in METRICS:
        vals = [v for v in beats[m] if v is not None]
        most = sum(v > 0.5 for v in vals)
        print(
            f"{m:>18}: clusters beating most random sets {most}/{len(vals)}, mean share beaten "
            f"{sum(vals) / max(len(vals), 1):.2f}"
        )


if __name__ == "__main__":
    main()
