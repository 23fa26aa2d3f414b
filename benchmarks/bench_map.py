"""Cost of the token map at 128, 512 and 1,024 tokens: UMAP and t-SNE, features included.

Planted attention (12 layers x 12 heads, GPT-2 small's shape, eight groups) so
the sizes are exact and no model is needed; the map's cost depends only on
the number of tokens. Each size and method runs ``--repeat`` times in a fresh
cache and prints every time (the machine is shared: the load average is
printed too, read the minimum). The first UMAP in a process also compiles
UMAP's numba code; that one-off cost is printed on its own line. No assertions.

    python benchmarks/bench_map.py [--sizes 128 512 1024] [--methods umap tsne] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 1024])
    parser.add_argument("--methods", nargs="+", default=["umap", "tsne"])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import attn_widget
    from attn_widget.graph import tokenmap
    from attn_widget.synthetic import planted_attention

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if "umap" in args.methods:
        started = time.perf_counter()
        import umap  # noqa: F401

        warm, _ = planted_attention([20, 20], layers=1, heads=1, seed=0)
        small = attn_widget.analyze_attention(warm, [f"t{i}" for i in range(warm.shape[-1])], exclude=[0])
        attn_widget.token_map(small, "umap")
        print(
            f"umap: import and first-call compilation {time.perf_counter() - started:.1f} s "
            "(once per process)"
        )
    for n in args.sizes:
        att, groups = planted_attention([n // 8] * 7 + [n - 1 - 7 * (n // 8)], layers=12, heads=12, seed=n)
        analysis = attn_widget.analyze_attention(att, [f"t{i}" for i in range(n)], exclude=[0])
        del att
        kept = groups >= 0
        for method in args.methods:
            times = []
            for _ in range(args.repeat):
                tokenmap._CACHE.clear()
                started = time.perf_counter()
                coords = attn_widget.token_map(analysis, method=method, seed=0)
                times.append(time.perf_counter() - started)
            from sklearn.metrics import silhouette_score

            score = silhouette_score(coords[kept], groups[kept])
            runs = ", ".join(f"{t:.2f}" for t in times)
            print(
                f"{n:>5} tokens  {method:<5} {min(times):7.2f} s "
                f"(runs: {runs}; load {os.getloadavg()[0]:.1f})"
                f"  silhouette of the planted groups {score:.2f}"
            )


if __name__ == "__main__":
    main()
