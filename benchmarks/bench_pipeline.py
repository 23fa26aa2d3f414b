"""Time and memory of the analysis pipeline at 16, 128, 512 and 1,024 tokens.

    .venv/bin/python benchmarks/bench_pipeline.py            # all sizes, model + planted attention
    .venv/bin/python benchmarks/bench_pipeline.py --sizes 128 512 --repeat 5
    .venv/bin/python benchmarks/bench_pipeline.py --quality   # auto threshold vs best, planted data

Attention comes from a random-weight model with GPT-2 small's exact shapes
(``GPT2Config`` and the real tokenizer from ``tests/fixtures/gpt2``, eager
attention), and, at the same sizes, from :func:`attn_widget.synthetic.planted_attention`
with GPT-2's 12 layers x 12 heads (random weights give near-uniform attention;
planted groups give the structured graphs real text gives).

Each size runs in a fresh process so its peak memory is its own. Columns
(milliseconds, best of ``--repeat`` runs after one warm-up):

- ``forward``: the model's forward pass with ``output_attentions=True``;
- ``aggregate``: validation of the attention + mean over layers and heads;
- ``graph+sweep``: symmetrising, the threshold grid, pruning, clustering at
  every grid value, modularity scoring and the plateau choice;
- ``(cluster)``: the part of ``graph+sweep`` spent inside the clustering method;
- ``result``: per-cluster facts and the frozen :class:`Analysis`;
- ``after``: ``analyze_attention`` end to end (everything after the forward pass),
  and ``after/fwd`` its ratio to the forward pass (target <= 0.5 at 128 and 512);
- ``rss fwd`` / ``rss end``: the process's peak resident memory after the
  forward pass and at the end (target at 1,024: end <= 1.5 x fwd).

No assertions: this prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "gpt2"
TEXT = (
    "The committee met on Tuesday to review the budget. After a long debate about schools, roads and "
    "the new library, the members agreed that the city would borrow less next year. "
)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(repeat: int, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run once to warm up, then ``repeat`` times; return (best seconds, last result)."""
    result = fn(*args, **kwargs)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times), result


def model_attention(n_tokens: int, repeat: int):  # type: ignore[no-untyped-def]
    """(forward seconds, attention tuple, token strings) from random GPT-2-small-shaped weights."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(FIXTURE)
    config = GPT2Config.from_pretrained(FIXTURE)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).eval()
    ids = tokenizer(TEXT * (n_tokens // 20 + 1))["input_ids"][:n_tokens]
    inputs = torch.tensor([ids])

    def forward():  # type: ignore[no-untyped-def]
        with torch.no_grad():
            return model(inputs, output_attentions=True).attentions

    seconds, attentions = best_of(repeat, forward)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    return seconds, attentions, tokens


def planted(n_tokens: int):  # type: ignore[no-untyped-def]
    from attn_widget.synthetic import planted_attention

    groups = max(2, min(8, n_tokens // 16))
    sizes = [n_tokens // groups] * groups
    sizes[-1] += n_tokens - 1 - sum(sizes)  # one sink token + groups = n_tokens
    att, _ = planted_attention(sizes, layers=12, heads=12, strength=2.0, seed=0)
    return att, [f"t{i}" for i in range(att.shape[2])]


def stages(attentions, tokens, repeat: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Milliseconds per stage, best of ``repeat``."""
    from attn_widget.core import Options, Sweep
    from attn_widget.graph import aggregate, cluster, pipeline, validate
    from attn_widget.graph import sweep as sweep_module

    exclude = (0,)
    clustering = [0.0]
    inner = cluster.METHODS["louvain"]

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            clustering[0] += time.perf_counter() - start

    def run_aggregate():  # type: ignore[no-untyped-def]
        att = validate.as_attention(attentions)
        return aggregate.aggregate(att, "mean", exclude=exclude)

    t_agg, weights = best_of(repeat, run_aggregate)

    def run_sweep():  # type: ignore[no-untyped-def]
        clustering[0] = 0.0
        return sweep_module.sweep(weights, "absolute", "louvain", exclude=exclude)

    cluster.METHODS._items["louvain"] = timed  # count time inside the method only
    try:
        t_sweep, swept = best_of(repeat, run_sweep)
        t_cluster = clustering[0]
    finally:
        cluster.METHODS._items["louvain"] = inner
    sweep = Sweep("absolute", *swept)
    options = Options(exclude=exclude)
    toks = validate.as_tokens(tokens, len(tokens))
    t_result, _ = best_of(
        repeat,
        pipeline.build,
        text="",
        tokens=toks,
        attentions=None,
        weights=weights,
        options=options,
        threshold="auto",
        sweep=sweep,
    )
    t_after, result = best_of(repeat, pipeline.analyze_attention, attentions, tokens, exclude=exclude)
    return {
        "aggregate": t_agg * 1e3,
        "graph+sweep": t_sweep * 1e3,
        "(cluster)": t_cluster * 1e3,
        "result": t_result * 1e3,
        "after": t_after * 1e3,
        "clusters": sum(1 for c in result.clusters if c.size > 1),
        "threshold": result.threshold,
    }


def one(n_tokens: int, kind: str, repeat: int) -> dict[str, float]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np

    sys.path.insert(0, str(ROOT))
    import attn_widget.graph.pipeline  # noqa: F401  (import cost not counted)

    row: dict[str, float] = {"tokens": n_tokens}
    if kind == "model":
        row["forward"], attentions, tokens = model_attention(n_tokens, repeat)
        row["forward"] *= 1e3
    else:
        attentions, tokens = planted(n_tokens)
    row["rss fwd"] = peak_rss_mib()
    row.update(stages(attentions, tokens, repeat))
    row["rss end"] = peak_rss_mib()
    del np
    return row


def quality() -> None:
    """How close the automatic threshold lands to the grid's best partition, on planted groups.

    Columns: mean adjusted Rand index (ARI) with the planted groups of the automatic
    choice (``auto``), of the grid's best partition (``best``) and of the highest-modularity
    one (``max-Q``); the largest ``best - auto`` over the cases (``worst gap``); the mean ARI
    of the grid's worst partition (``floor``: low means the grid reaches the point where the
    groups fall apart); where auto sits on the grid, 0 = first value, 1 = last
    (``position``); and the share of cases where auto is the grid's first value (``at 1st``).
    """
    import itertools

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from attn_widget import analyze_attention
    from attn_widget.graph.metrics import adjusted_rand
    from attn_widget.synthetic import planted_attention

    print("automatic threshold vs the grid's best, mean adjusted Rand index over 48 planted cases per mode")
    cols = ["mode", "auto", "best", "max-Q", "worst gap", "floor", "position", "at 1st", "grid"]
    print(" ".join(f"{c:>9}" for c in cols))
    for mode in ("absolute", "mass"):
        auto, best, max_q, floor, position, size = [], [], [], [], [], []
        for n, groups, strength, shuffle in itertools.product(
            [48, 128, 256], [2, 3, 5, 8], [1.0, 1.5], [False, True]
        ):
            att, truth = planted_attention(
                [n // groups] * groups, layers=4, heads=4, strength=strength, shuffle=shuffle,
                seed=n + groups + int(strength * 10),
            )
            tokens = [str(i) for i in range(len(truth))]
            result = analyze_attention(att, tokens, exclude=[0], threshold_mode=mode)
            kept = truth >= 0
            aris = np.array([adjusted_rand(lab[kept], truth[kept]) for lab in result.sweep.labels])
            auto.append(aris[result.sweep.best])
            best.append(aris.max())
            max_q.append(aris[int(np.argmax(result.sweep.modularity))])
            floor.append(aris.min())
            position.append(result.sweep.best / max(len(aris) - 1, 1))
            size.append(len(aris))
        gap = float(np.max(np.array(best) - np.array(auto)))
        first = float(np.mean(np.array(position) == 0))
        cells = [np.mean(auto), np.mean(best), np.mean(max_q), gap, np.mean(floor), np.mean(position), first]
        print(f"{mode:>9} " + " ".join(f"{v:9.3f}" for v in cells) + f" {np.mean(size):9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 128, 512, 1024])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quality", action="store_true", help="only the automatic-threshold quality table")
    parser.add_argument("--one", nargs=2, metavar=("TOKENS", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quality:
        quality()
        return
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.repeat)))
        return
    if not FIXTURE.is_dir():
        sys.exit(f"GPT-2 fixture folder {FIXTURE} is missing (it holds GPT-2 small's config and tokenizer)")
    cols = ["tokens", "forward", "aggregate", "graph+sweep", "(cluster)", "result", "after", "after/fwd",
            "rss fwd", "rss end", "end/fwd", "clusters"]
    forward: dict[int, float] = {}
    for kind in ("model", "planted"):
        print(f"\n{kind} attention (GPT-2 small shapes: 12 layers x 12 heads); times in ms, memory in MiB")
        print(" ".join(f"{c:>11}" for c in cols))
        for n in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), kind, "--repeat", str(args.repeat)],
                capture_output=True, text=True, check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            if kind == "model":
                forward[n] = row["forward"]
            fwd = forward.get(n, float("nan"))
            row["forward"] = row.get("forward", fwd)
            row["after/fwd"] = row["after"] / fwd
            row["end/fwd"] = row["rss end"] / row["rss fwd"]
            cells = (f"{row[c]:>11.2f}" if isinstance(row[c], float) else f"{row[c]:>11}" for c in cols)
            print(" ".join(cells))
    print("\nplanted rows divide by the model's forward time at the same size; targets: after/fwd <= 0.5 "
          "at 128 and 512 tokens, end/fwd <= 1.5 at 1,024 (model rows)")


if __name__ == "__main__":
    main()
