"""How low can the cut-test ratio go? A search that picks partitions by real cuts (issue 9).

The lens benchmark (``bench_lenses.py``) finds that no edge measure or lens gives
clusters that beat contiguous chunks of the same sizes on the partition cut test.
This script asks whether *any* partition of those sizes does, and by how much:
starting from the default partition of each text (``analyze(text, model=...)``),
it repeatedly swaps the two tokens of different clusters whose swap moves the
model's output least when attention between clusters is cut
(:class:`~attn_widget.extract.cut.CutRunner`), evaluating every such swap with a
real cut forward pass, for up to ``--steps`` swaps or until no swap helps. Swaps
keep the cluster sizes, so the partition keeps comparing with chunks of the
same sizes (its own contiguous twin: the sizes in its order of first token).

This is not a method (hundreds of forward passes per text, and it optimises the
very number it reports); it bounds what a cheap edge measure could reach. As a
check on optimising the readout it reports, the other readout (causal: the last
position's next-token distribution; encoder: each token's state) is also given
for the searched partition, which the search never looked at.

    HF_HUB_OFFLINE=1 python benchmarks/bench_cut_oracle.py --models smollm2 minilm --texts 12 --steps 6

Prints per text and per model (ratio of mean divergences over texts, as
``bench_lenses.py``), writes JSON to ``--out``. No assertions: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ROOT / "benchmarks" / "data" / "cut_texts.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def swaps(labels: np.ndarray) -> list[np.ndarray]:
    """Every partition one swap away: two kept tokens of different clusters trade labels."""
    kept = np.flatnonzero(labels >= 0)
    out = []
    for a, i in enumerate(kept):
        for j in kept[a + 1 :]:
            if labels[i] != labels[j]:
                moved = labels.copy()
                moved[i], moved[j] = labels[j], labels[i]
                out.append(moved)
    return out


def search(runner: Any, labels: np.ndarray, steps: int) -> tuple[np.ndarray, int, int]:
    """Greedy: take the best swap while it lowers the main divergence.

    Returns the partition, the swaps taken and the partitions cut (each one forward pass).
    """
    current = np.asarray(labels).copy()
    score = runner.divergences([current])[0]["main"]
    cut = 1
    for step in range(steps):
        candidates = swaps(current)
        if not candidates:
            return current, step, cut
        found = [d["main"] for d in runner.divergences(candidates)]
        cut += len(candidates)
        best = int(np.argmin(found))
        if found[best] >= score:
            return current, step, cut
        current, score = candidates[best], found[best]
    return current, steps, cut


def run_text(model: Any, name: str, text: str, steps: int, n_random: int, seed: int) -> dict[str, Any]:
    import attn_widget
    from attn_widget.extract.cut import CutRunner
    from attn_widget.graph.metrics import contiguity, contiguous_like, random_like

    analysis = attn_widget.analyze(text, model=name)
    start = np.asarray(analysis.labels)
    runner = CutRunner(model, [int(t.id) for t in analysis.tokens], batch=16)
    found, taken, cut = search(runner, start, steps)
    twins = [contiguous_like(start), contiguous_like(found)]
    parts = [start, twins[0], found, twins[1], *random_like(start, n_random, seed)]
    d = runner.divergences(parts)
    chance = {r: float(np.mean([x[r] for x in d[4:]])) for r in ("main", "other")}
    return {
        "tokens": len(start),
        "clusters": int(start.max()) + 1,
        "sizes_kept": bool(np.array_equal(np.sort(start), np.sort(found))),
        "swaps": taken,
        "forward_passes": cut,
        "contiguity": {"default": contiguity(start), "searched": contiguity(found)},
        "default": {"partition": d[0], "contiguous": d[1]},
        "searched": {"partition": d[2], "contiguous": d[3]},
        "random": chance,
        "labels": {"default": start.tolist(), "searched": found.tolist()},
        "words": [t.text for t in analysis.tokens],
    }


def ratio(rows: Sequence[dict[str, Any]], which: str, readout: str, vs: str) -> float:
    part = sum(r[which]["partition"][readout] for r in rows)
    base = sum((r[which]["contiguous"] if vs == "contiguous" else r["random"])[readout] for r in rows)
    return float(part / base) if base > 0 else float("nan")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["smollm2", "minilm"], help="names load() knows")
    parser.add_argument("--texts", type=int, default=12, help="cut-test texts (of 32, in order)")
    parser.add_argument("--steps", type=int, default=6, help="greedy swaps at most")
    parser.add_argument("--n-random", type=int, default=5, help="random partitions of the default's sizes")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "bench_cut_oracle.json"))
    args = parser.parse_args(argv)

    import torch

    from attn_widget.extract.loading import load

    torch.set_num_threads(args.threads)
    texts = json.loads(TEXTS.read_text())[: args.texts]
    result: dict[str, Any] = {"options": vars(args), "load_average": os.getloadavg(), "models": {}}
    lines = []
    for name in args.models:
        model = load(name)[0]
        rows = []
        began = time.perf_counter()
        for n, text in enumerate(texts):
            row = run_text(model, name, text, args.steps, args.n_random, seed=n)
            rows.append(row)
            log(
                f"  {name} text {n + 1}/{len(texts)}: {row['tokens']} tokens, {row['swaps']} swaps, "
                f"ratio vs chunks {ratio([row], 'default', 'main', 'contiguous'):.3f} -> "
                f"{ratio([row], 'searched', 'main', 'contiguous'):.3f}, contiguity "
                f"{row['contiguity']['default']:.2f} -> {row['contiguity']['searched']:.2f}, "
                f"{row['forward_passes']} forward passes, {time.perf_counter() - began:.0f}s"
            )
        summary = {
            f"{which}_{readout}_vs_{vs}": ratio(rows, which, readout, vs)
            for which in ("default", "searched")
            for readout in ("main", "other")
            for vs in ("contiguous", "random")
        }
        summary["contiguity_default"] = float(np.mean([r["contiguity"]["default"] for r in rows]))
        summary["contiguity_searched"] = float(np.mean([r["contiguity"]["searched"] for r in rows]))
        summary["forward_passes_median"] = float(np.median([r["forward_passes"] for r in rows]))
        summary["texts_below_0.90"] = sum(ratio([r], "searched", "main", "contiguous") <= 0.90 for r in rows)
        result["models"][name] = {"summary": summary, "rows": rows, "seconds": time.perf_counter() - began}
        s = summary
        lines += [
            f"{name}: {len(rows)} texts, at most {args.steps} swaps; cut / chunks (main readout): default "
            f"{s['default_main_vs_contiguous']:.3f} -> searched {s['searched_main_vs_contiguous']:.3f} "
            f"({s['texts_below_0.90']} texts <= 0.90); cut / random: {s['default_main_vs_random']:.3f} -> "
            f"{s['searched_main_vs_random']:.3f}; other readout (not searched on) cut / chunks "
            f"{s['default_other_vs_contiguous']:.3f} -> {s['searched_other_vs_contiguous']:.3f}; contiguity "
            f"{s['contiguity_default']:.2f} -> {s['contiguity_searched']:.2f}; median "
            f"{s['forward_passes_median']:.0f} cut forward passes per text"
        ]
    print("\n".join(lines))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    log(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
