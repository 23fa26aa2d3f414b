"""What watching a model write costs: 32 generated steps against one forward pass over the final text.

    .venv/bin/python benchmarks/bench_generation.py                 # SmolLM2, 32 steps, best of 3
    .venv/bin/python benchmarks/bench_generation.py --steps 16 --repeat 5 --threads 1
    .venv/bin/python benchmarks/bench_generation.py --model gpt2-shape  # random weights, GPT-2 small's shapes

Columns (seconds, best of ``--repeat`` runs after one warm-up):

- ``forward``: one forward pass over the final sequence (prompt + generated tokens) with
  ``output_attentions=True``, as :func:`attn_widget.analyze` runs it;
- ``ours``: :func:`attn_widget.extract.generate.generate`: the prompt once, then one
  cached single-token pass per step, each adding its row of attention (the model work of
  :func:`attn_widget.analyze_generation`); ``ours/fwd`` is the figure the target is about
  (32 steps <= 3 x one forward pass);
- ``hf``: ``model.generate`` with the same greedy settings and no attention: the cost of
  generating at all, which no attention-keeping method can go below;
- ``naive``: one full forward pass with attention per step (what the KV cache avoids);
- ``cluster``: clustering every step (:func:`attn_widget.graph.steps.step_analyses`), which
  ``analyze_generation`` adds on top of ``ours``.

The machine is shared: the load average is printed before and after, and every figure
is the best of several runs. No assertions: this prints figures.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "gpt2"
PROMPT = (
    "The committee met on Tuesday to review the budget. After a long debate about schools, roads and "
    "the new library, the members agreed that"
)


def load(name: str) -> tuple[Any, Any]:
    if name == "gpt2-shape":
        import torch
        from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

        torch.manual_seed(0)
        config = GPT2Config.from_pretrained(FIXTURE)
        model = GPT2LMHeadModel(config).eval()
        model.set_attn_implementation("eager")
        return model, AutoTokenizer.from_pretrained(FIXTURE)
    from attn_widget.extract import loading

    return loading.load(name)


def best(repeat: int, fn: Any) -> tuple[float, Any]:
    result = fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--naive", action="store_true", help="also time one full pass per step (slow)")
    args = parser.parse_args()

    import torch

    from attn_widget.extract import loading
    from attn_widget.extract.forward import forward
    from attn_widget.extract.generate import generate
    from attn_widget.graph.steps import step_analyses

    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok = load(args.model)
    print(
        f"model {args.model}, {args.steps} steps, torch threads {torch.get_num_threads()}, "
        f"load average before: {load_average()} on {os.cpu_count()} CPUs"
    )

    t_ours, w = best(args.repeat, lambda: generate(PROMPT, model, tok, max_new_tokens=args.steps))
    ids = w.ids
    t_fwd, _ = best(args.repeat, lambda: forward(model, ids, name=args.model, causal=True))

    def hf() -> Any:
        with torch.inference_mode(), loading.eager_attention(model):
            return model.generate(
                torch.tensor([ids[: w.prompt_length]]),
                max_new_tokens=args.steps,
                do_sample=False,
                pad_token_id=tok.eos_token_id,
            )

    t_hf, out = best(args.repeat, hf)
    same = out[0].tolist() == ids
    t_cluster, _ = best(
        1,
        lambda: step_analyses(
            w.attentions, w.tokens, w.text, w.prompt_length, model=args.model, sinks=w.sink
        ),
    )
    print(
        f"prompt {w.prompt_length} tokens, final sequence {len(ids)} tokens; "
        f"same tokens as model.generate: {same}"
    )
    heads = ("forward", "ours", "ours/fwd", "hf", "hf/fwd", "ours/hf", "cluster")
    print(" ".join(f"{h:>10}" for h in heads))
    print(
        f"{t_fwd:10.3f} {t_ours:10.3f} {t_ours / t_fwd:10.2f} {t_hf:10.3f} {t_hf / t_fwd:10.2f} "
        f"{t_ours / t_hf:10.2f} {t_cluster:10.3f}"
    )
    if args.naive:
        p = w.prompt_length

        def naive() -> None:
            for k in range(1, len(ids) - p + 1):
                forward(model, ids[: p + k], name=args.model, causal=True)

        t_naive, _ = best(1, naive)
        print(f"naive (one full pass per step): {t_naive:.3f} s = {t_naive / t_fwd:.1f} x forward")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
