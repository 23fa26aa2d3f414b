"""Same clusters, links, head roles and slider data as another checkout, on real SmolLM2 attention.

Writes what a streamed analysis shows (``keep="summary"``, the path long texts take) of
two 1,024-token cuts of :mod:`bench_long`'s text (its start, and from its middle) to an
``.npz``: the labels, every sweep partition and threshold (the slider's grid), the
slider's range, each kept token's three strongest links, the sinks left out and each
head's role. Run it once per checkout and compare::

    PYTHONPATH=/tmp/old .venv/bin/python benchmarks/equiv_long.py --out /tmp/old.npz
    .venv/bin/python benchmarks/equiv_long.py --out /tmp/new.npz
    .venv/bin/python benchmarks/equiv_long.py --compare /tmp/old.npz /tmp/new.npz

``--compare`` prints the adjusted Rand index of the labels and, per field, whether it is
equal (floats: the largest difference). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def texts(tokenizer: Any, n: int) -> dict[str, str]:
    """The start of the text and a cut from its middle, each ``n`` tokens with the BOS."""
    from bench_long import real_text

    full = real_text()

    def cut(text: str) -> str:
        enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
        return text[: enc["offset_mapping"][n - 2][1]]

    middle = full.index("\n\n", len(full) // 2) + 2
    return {"start": cut(full), "middle": cut(full[middle:])}


def record(n: int) -> dict[str, np.ndarray]:
    import attn_widget
    from attn_widget.extract import loading
    from attn_widget.view.wire import to_state, unwire

    model, tokenizer = loading.load("smollm2")
    out: dict[str, np.ndarray] = {}
    for name, text in texts(tokenizer, n).items():
        t = time.perf_counter()
        a = attn_widget.analyze(text, model, tokenizer=tokenizer, keep="summary")
        state = to_state(a)
        links = [
            [(link.index, link.direction) for link in a.links(i, 3)] if a.labels[i] >= 0 else []
            for i in range(len(a.tokens))
        ]
        flat = np.array([(i, j, d == "out") for i, row in enumerate(links) for j, d in row], dtype=np.int64)
        roles = a.head_data.get("role_scores")
        fields = {
            "labels": a.labels,
            "sweep_labels": a.sweep.labels,
            "thresholds": a.sweep.thresholds,
            "modularity": a.sweep.modularity,
            "threshold": np.array([a.threshold]),
            "exclude": np.array(a.options.exclude, dtype=np.int64),
            "range": np.array(state["range"], dtype=np.float64),
            "facts": unwire(state["sweep"]["facts"]),
            "links": flat.reshape(-1, 3),
            "role_scores": np.zeros(0) if roles is None else np.asarray(roles),
            "weights": np.asarray(a.weights, dtype=np.float64),
        }
        out.update({f"{name}/{k}": v for k, v in fields.items()})
        print(f"{name}: {len(a.tokens)} tokens, {len(a.clusters)} clusters, {time.perf_counter() - t:.0f} s",
              file=sys.stderr)  # fmt: skip
    return out


def compare(a_path: str, b_path: str) -> None:
    from attn_widget.graph.metrics import adjusted_rand

    a, b = np.load(a_path), np.load(b_path)
    for key in sorted(set(a.files) | set(b.files)):
        if key not in a.files or key not in b.files:
            print(f"{key:24} only in one file")
            continue
        x, y = a[key], b[key]
        floats = x.dtype.kind == "f"
        same = x.shape == y.shape and np.array_equal(x, y, equal_nan=floats)  # a role score may be NaN
        extra = ""
        if floats and x.shape == y.shape and x.size:
            extra = f" (largest difference {float(np.nanmax(np.abs(x - y))):.3g})"
        if key.endswith("/labels"):
            extra = f" (ARI {adjusted_rand(x, y):.6f})"
        print(f"{key:24} {'equal' if same else 'DIFFERENT'}{extra}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--out", help="where to write this checkout's record (.npz)")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = parser.parse_args(argv)
    if args.compare:
        compare(*args.compare)
        return
    if not args.out:
        parser.error("give --out FILE.npz (or --compare A B)")
    import attn_widget

    print(
        f"attn_widget from {Path(attn_widget.__file__).parent}; load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    np.savez(args.out, **record(args.tokens))


if __name__ == "__main__":
    main()
