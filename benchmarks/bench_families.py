"""Time of the model passes the family table steers: the forward pass with value norms, the streamed pass,
an ablation rerun, on GPT-2 small's shapes (random weights) and SmolLM2 (real weights, if installed).

    .venv/bin/python benchmarks/bench_families.py                  # 128 and 512 tokens, best of 5
    .venv/bin/python benchmarks/bench_families.py --sizes 256 --repeat 9

To compare two versions, run it in a checkout of each (an editable install wins over ``PYTHONPATH``).

Columns (milliseconds, best of ``--repeat`` after one warm-up; wall clock, then the process's CPU time,
``time.process_time``, which other processes on a loaded machine inflate less):

- ``forward+norms``: :func:`attn_widget.extract.forward.forward_pass` (attention kept, value norms measured);
- ``streamed``: :func:`attn_widget.extract.hooks.stream_attention` with value norms and 8 top keys per query;
- ``ablate``: :func:`attn_widget.extract.ablation.rerun` with one token and one head knocked out.

The load average is printed before and after: say it next to any figure.

No assertions: this prints figures.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "gpt2"


def best_ms(repeat: int, fn: Any) -> tuple[float, float]:
    """Best wall-clock and best CPU time of ``repeat`` runs of ``fn()`` after one warm-up, in milliseconds."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1000 * min(wall), 1000 * min(cpu)


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def models() -> list[tuple[str, Any, Any]]:
    """``(name, model, tokenizer)``: GPT-2 small's shapes with random weights, and SmolLM2 when installed."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config.from_pretrained(FIXTURE)
    config._attn_implementation = "eager"
    out = [("gpt2-shapes", GPT2LMHeadModel(config).eval(), AutoTokenizer.from_pretrained(FIXTURE))]
    try:
        from attn_widget.extract import loading

        model, tok = loading.load("smollm2")
        out.append(("smollm2", model, tok))
    except Exception as err:  # an optional model: say why it is missing, keep going
        print(f"smollm2 left out: {err}")
    return out


def main() -> None:
    import numpy as np
    import torch

    from attn_widget.extract import ablation
    from attn_widget.extract.forward import forward_pass
    from attn_widget.extract.hooks import stream_attention

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"load average {load()}; {torch.get_num_threads()} torch thread(s); ms wall (cpu)")
    print(f"{'model':<12} {'tokens':>6} {'forward+norms':>16} {'streamed':>16} {'ablate':>16}")
    for name, model, _tok in models():
        for n in args.sizes:
            ids = [int(i) for i in np.random.default_rng(0).integers(100, 20000, n)]
            mask = ablation.allowed(n, [3], (), causal=True)
            run = {"model": model, "ids": ids, "name": name, "causal": True}
            fwd = best_ms(args.repeat, lambda run=run: forward_pass(**run))
            streamed = best_ms(
                args.repeat, lambda run=run: stream_attention(**run, on_layer=lambda *_: None, top_keys=8)
            )
            abl = best_ms(
                args.repeat, lambda run=run, mask=mask: ablation.rerun(**run, mask=mask, heads=((0, 1),))
            )
            cells = " ".join(f"{f'{w:.1f} ({c:.1f})':>16}" for w, c in (fwd, streamed, abl))
            print(f"{name:<12} {n:>6} {cells}", flush=True)
    print(f"load average {load()}")


if __name__ == "__main__":
    main()
