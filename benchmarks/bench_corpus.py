"""Throughput of analyze_corpus on Dask against a plain loop of analyze, on real text and SmolLM2.

    .venv/bin/python benchmarks/bench_corpus.py                  # 500 texts, every configuration once
    .venv/bin/python benchmarks/bench_corpus.py --repeat 3       # best of three of each
    .venv/bin/python benchmarks/bench_corpus.py --texts 100 --only engine-2

The texts are Debian's ``fortunes`` quotations (``apt-get install fortunes``)
of 30 to 80 SmolLM2 tokens, the first ``--texts`` of them in file order. The
model is SmolLM2-135M-Instruct (``model="smollm2"``), every option at its default.

Configurations, each in a fresh process (its own torch threads and peak memory):

- ``loop``: ``for text in texts: attn_widget.analyze(text, "smollm2")`` at
  torch's default threads (one per core), after one warm-up text that loads
  the model (its time is the loop's ``start s``);
- ``loop-1t``: the same with ``torch.set_num_threads(1)``;
- ``loop-rows``: a loop doing what a worker does per text (``analyze`` plus the
  per-head role table, :func:`attn_widget.corpus.task.analyze_one`), to tell the
  engine's own overhead from the extra work of the ``heads`` table;
- ``engine-1``: ``analyze_corpus`` on a local cluster of 1 worker (torch
  threads = cores); ``engine-2``: 2 workers (torch threads = cores / 2 each);
- ``engine-1-noroles``: 1 worker without the per-head role table, to show its cost.

Columns: ``texts/s`` end to end (the loop's includes loading the model; the
engine's starting the cluster and loading the model in each worker),
``steady texts/s`` (the loop's without the model load; the engine's from its
first finished batch to the last, i.e. without start-up), ``start s`` (model
load; for the engine, cluster start + first batch), and ``peak MiB`` (the loop's process; the engine's
largest worker). Targets on a 2-core machine: ``engine-1`` within 10% of
``loop``; ``engine-2`` at least 1.6 x ``engine-1``. No assertions: this prints
figures. Run it when the machine is otherwise idle (``uptime``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CONFIGS = ("loop", "loop-1t", "loop-rows", "engine-1", "engine-2", "engine-1-noroles")
MODEL = "smollm2"


def texts(n: int) -> list[dict[str, str]]:
    """The first ``n`` quotations of 30 to 80 SmolLM2 tokens (as analyze tokenizes them)."""
    from transformers import AutoTokenizer

    from attn_widget.corpus import fortunes
    from attn_widget.extract.offline import smollm2_folder

    tokenizer = AutoTokenizer.from_pretrained(smollm2_folder())
    chosen = [q for q in fortunes() if 30 <= len(tokenizer(q["text"])["input_ids"]) <= 80]
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} quotations of 30-80 tokens; ask for fewer with --texts")
    return chosen[:n]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_loop(items: list[dict[str, str]], threads: int | None, rows: bool = False) -> dict[str, Any]:
    import torch

    from attn_widget import analyze
    from attn_widget.corpus.task import RunSpec, analyze_one

    spec = RunSpec(model=MODEL)

    if threads is not None:
        torch.set_num_threads(threads)
    begin = time.perf_counter()
    analyze("A warm-up sentence that is not one of the texts.", MODEL)  # loads the model
    start = time.perf_counter()
    for item in items:
        if rows:
            analyze_one(item["id"], item["text"], spec)
        else:
            analyze(item["text"], MODEL)
    end = time.perf_counter()
    return {"rate": len(items) / (end - begin), "steady": len(items) / (end - start), "start": start - begin,
            "peak": peak_rss_mib(), "threads": torch.get_num_threads()}


def run_engine(items: list[dict[str, str]], workers: int, head_roles: bool) -> dict[str, Any]:
    from attn_widget.corpus import analyze_corpus
    from attn_widget.corpus.cluster import connect

    heard: list[tuple[float, float]] = []
    begin = time.perf_counter()
    with connect(None, workers, None, MODEL) as conn, tempfile.TemporaryDirectory() as out:
        run = analyze_corpus(items, MODEL, out=out, id_column="id", address=conn.client.scheduler.address,
                             head_roles=head_roles,
                             progress=lambda stage, fraction: heard.append((time.perf_counter(), fraction)))
        end = time.perf_counter()
        peaks = conn.client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        threads = conn.client.run(_torch_threads)
        table = run.texts(["seconds_model", "seconds_cluster", "seconds_heads", "seconds"])
    landed = [(t, f) for t, f in heard if f > 0]
    (t0, f0), (t1, f1) = landed[0], landed[-1]
    steady = (f1 - f0) * len(items) / (t1 - t0) if t1 > t0 else float("nan")
    return {"rate": len(items) / (end - begin), "steady": steady, "start": t0 - begin,
            "peak": max(peaks.values()), "threads": sorted(threads.values()),
            "stages": {k: float(table[k].mean()) for k in table.columns if k != "error"}}


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def one(config: str, n: int) -> dict[str, Any]:
    items = texts(n)
    runners = {
        "loop": lambda: run_loop(items, None),
        "loop-1t": lambda: run_loop(items, 1),
        "loop-rows": lambda: run_loop(items, None, rows=True),
        "engine-1": lambda: run_engine(items, 1, True),
        "engine-2": lambda: run_engine(items, 2, True),
        "engine-1-noroles": lambda: run_engine(items, 1, False),
    }
    return runners[config]()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration; the best is shown")
    parser.add_argument("--only", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--one", choices=CONFIGS, help=argparse.SUPPRESS)  # run in a fresh process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.texts)))
        return
    print(f"{args.texts} fortunes of 30-80 tokens, model {MODEL}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'config':>17} {'texts/s':>8} {'steady':>8} {'start s':>8} {'peak MiB':>9}  torch threads")
    best: dict[str, dict[str, Any]] = {}
    for config in args.only:
        for _ in range(args.repeat):
            done = subprocess.run([sys.executable, __file__, "--one", config, "--texts", str(args.texts)],
                                  capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if config not in best or result["steady"] > best[config]["steady"]:
                best[config] = result
        r = best[config]
        print(f"{config:>17} {r['rate']:>8.2f} {r['steady']:>8.2f} {r['start']:>8.1f} {r['peak']:>9.0f}  "
              f"{r['threads']}" + (f"  mean s/text: {_stages(r['stages'])}" if "stages" in r else ""),
              flush=True)
    if {"loop", "engine-1"} <= best.keys():
        ratio = best["engine-1"]["steady"] / best["loop"]["steady"]
        whole = best["engine-1"]["rate"] / best["loop"]["rate"]
        print(f"engine-1 / loop: steady {ratio:.2f}, end to end {whole:.2f} (target >= 0.90)")
    if {"loop-rows", "engine-1"} <= best.keys():
        print(f"engine-1 / loop-rows (the same work per text): steady "
              f"{best['engine-1']['steady'] / best['loop-rows']['steady']:.2f}")
    if {"engine-1", "engine-2"} <= best.keys():
        print(f"engine-2 / engine-1 steady: {best['engine-2']['steady'] / best['engine-1']['steady']:.2f}, "
              f"end to end: {best['engine-2']['rate'] / best['engine-1']['rate']:.2f} (target >= 1.6)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def _stages(stages: dict[str, float]) -> str:
    names = {"seconds_model": "model", "seconds_cluster": "cluster", "seconds_heads": "heads",
             "seconds": "all"}
    return " ".join(f"{names[k]} {v:.3f}" for k, v in stages.items() if k in names and v == v)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
