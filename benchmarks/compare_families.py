"""bench_families' passes in several checkouts loaded side by side in ONE process, for a fair A/B on a loaded
machine: CPU time per pass, and with ``--ops`` the aten ops each pass runs, compared with the first checkout.

    git worktree add /tmp/wt_before 019cb90~1 && git worktree add /tmp/wt_head HEAD
    cd /tmp && .venv/bin/python /work/main/benchmarks/compare_families.py /tmp/wt_before /tmp/wt_head --ops

Each checkout's ``attn_widget`` is imported once and ``sys.modules`` is swapped before each call, so every
checkout runs on the same model objects and the same heap; the passes (see :mod:`bench_families`) alternate
between checkouts in rotating order, ``--repeat`` times each. Printed: best CPU time (``time.process_time``,
which other processes inflate less than wall clock), best wall clock and the load average. ``--ops`` profiles
one pass per checkout (``torch.profiler``, shapes recorded) and lists the top-level ops whose count differs
from the first checkout's, by name, input shapes, dtypes and strides: work added or removed, independent of
load. Run it from outside the checkouts (an editable install of ``attn_widget`` must not win).

No assertions: this prints figures.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_families import load, models

PACKAGE = "attn_widget"


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def import_checkouts(paths: list[str]) -> dict[str, dict[str, Any]]:
    """Each checkout's ``attn_widget`` modules, imported from it (``path`` → ``sys.modules`` entries)."""
    loaded = {}
    for path in paths:
        for name in [n for n in sys.modules if _ours(n)]:
            del sys.modules[name]
        sys.path.insert(0, path)
        for module in ("forward", "hooks", "ablation"):
            importlib.import_module(f"{PACKAGE}.extract.{module}")
        sys.path.remove(path)
        loaded[path] = {n: m for n, m in sys.modules.items() if _ours(n)}
        where = str(loaded[path][PACKAGE].__file__)
        if not where.startswith(str(Path(path).resolve())) and not where.startswith(path):
            raise SystemExit(f"{path}: imported {where} instead; run from outside the checkouts")
    return loaded


def activate(modules: dict[str, Any]) -> None:
    """Make one checkout's modules the ones ``import`` finds (its functions import lazily too)."""
    for name in [n for n in sys.modules if _ours(n)]:
        del sys.modules[name]
    sys.modules.update(modules)


def passes(modules: dict[str, Any], model: Any, ids: list[int], name: str) -> dict[str, Any]:
    """bench_families' three passes, through one checkout's functions."""
    forward = modules[f"{PACKAGE}.extract.forward"]
    hooks = modules[f"{PACKAGE}.extract.hooks"]
    ablation = modules[f"{PACKAGE}.extract.ablation"]
    mask = ablation.allowed(len(ids), [3], (), causal=True)
    run = {"model": model, "ids": ids, "name": name, "causal": True}
    return {
        "forward+norms": lambda: forward.forward_pass(**run),
        "streamed": lambda: hooks.stream_attention(**run, on_layer=lambda *_: None, top_keys=8),
        "ablate": lambda: ablation.rerun(**run, mask=mask, heads=((0, 1),)),
    }


def op_counts(fn: Any) -> collections.Counter[str]:
    """Top-level aten ops of one call of ``fn``, by name, input shapes, dtypes and strides."""
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    return collections.Counter(
        f"{e.name} {e.input_shapes} {e.input_dtypes} {e.structured_input_strides}"
        for e in prof.events()
        if e.cpu_parent is None and not e.name.startswith("[memory]")
    )


def main() -> None:
    import numpy as np
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "checkouts", nargs="+", help="paths of checkouts (git worktrees); the first is the base"
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--ops", action="store_true", help="also compare the ops each pass runs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = import_checkouts(args.checkouts)
    names = [os.path.basename(p.rstrip("/")) for p in args.checkouts]
    print(f"load average {load()}; 1 torch thread; {args.size} tokens; best of {args.repeat}; ms CPU (wall)")
    print(f"{'model':<12} {'pass':<14} " + " ".join(f"{n:>24}" for n in names))
    for model_name, model, _tok in models():
        ids = [int(i) for i in np.random.default_rng(0).integers(100, 20000, args.size)]
        fns = {p: passes(loaded[p], model, ids, model_name) for p in args.checkouts}
        for pass_name in ("forward+norms", "streamed", "ablate"):
            times: dict[str, list[tuple[float, float]]] = {p: [] for p in args.checkouts}
            for path in args.checkouts:  # warm-up (and each checkout's per-model set-up)
                activate(loaded[path])
                fns[path][pass_name]()
            for i in range(args.repeat):
                k = i % len(args.checkouts)
                for path in args.checkouts[k:] + args.checkouts[:k]:
                    activate(loaded[path])
                    cpu, wall = time.process_time(), time.perf_counter()
                    fns[path][pass_name]()
                    times[path].append((time.process_time() - cpu, time.perf_counter() - wall))
            base = 1000 * min(c for c, _ in times[args.checkouts[0]])
            cells = []
            for path in args.checkouts:
                cpu_ms, wall_ms = (1000 * min(t[j] for t in times[path]) for j in (0, 1))
                cells.append(f"{f'{cpu_ms:.0f} {100 * (cpu_ms / base - 1):+.1f}% ({wall_ms:.0f})':>24}")
            print(f"{model_name:<12} {pass_name:<14} " + " ".join(cells) + f"   load {load()}", flush=True)
            if args.ops:
                counts = {}
                for path in args.checkouts:
                    activate(loaded[path])
                    counts[path] = op_counts(fns[path][pass_name])
                first = counts[args.checkouts[0]]
                for path, name in zip(args.checkouts[1:], names[1:], strict=True):
                    now = counts[path]
                    differ = sorted(k for k in set(first) | set(now) if first[k] != now[k])
                    print(
                        f"    ops {names[0]} -> {name}: {sum(first.values())} -> {sum(now.values())}, "
                        f"{len(differ)} signatures differ"
                    )
                    for key in differ:
                        print(f"      {first[key]:>4} -> {now[key]:<4} {key[:160]}")


if __name__ == "__main__":
    main()
