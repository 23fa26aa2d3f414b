"""Per-item coreference features of the probe and the report set, for the confidence study (issues 21, 22).

    .venv/bin/python benchmarks/coref_features.py --models smollm2 minilm

The package's probe run (:func:`attn_widget.heads.coref.probe_runs`: padded
batches, attention and every row's value norms) on the probe and on the report
set, so each item gets its :class:`attn_widget.heads.coref_fit.Features` rows
under both the ``attention`` and the ``norm`` edge measure, plus the pronoun's
token index and the token texts.
Pickled to ``test-artifacts/coref_features-<model>.pkl`` for
``benchmarks/bench_coref_confidence.py``; nothing is chosen here.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "data" / "coref_report.json"
OUT = ROOT / "test-artifacts"


def extract(name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The package's probe run on ``items`` (both measures) and each item's pronoun index and token texts."""
    from attn_widget.extract.loading import is_causal_config, load
    from attn_widget.heads import coref

    model, tokenizer = load(name)
    own, cross = coref.probe_runs(model, tokenizer, name, "attention", items)
    causal = is_causal_config(model.config)
    meta = []
    for item, (_ids, tokens) in zip(items, coref.probe_tokens(items, tokenizer, name, causal), strict=True):
        p = coref.span_tokens(tokens, item["pronoun"])[0]
        meta.append(
            {"p": p, "tokens": [t.text for t in tokens], "source": item.get("source", ""), "id": item["id"]}
        )
    return {"attention": own, "norm": cross, "meta": meta}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["smollm2", "minilm"])
    args = parser.parse_args()
    import torch

    from attn_widget.heads import coref

    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    for name in args.models:
        start = time.perf_counter()
        data = {
            "probe": extract(name, coref.probe_items()),
            "report": extract(name, json.loads(REPORT.read_text())),
        }
        (OUT / f"coref_features-{name}.pkl").write_bytes(pickle.dumps(data))
        print(
            f"{name}: {time.perf_counter() - start:.0f} s wall, load {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
