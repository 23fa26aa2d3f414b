"""Does the token map show the graph the clusters come from? Silhouette of planted groups, text-order bias.

Issue 24's targets for the token map, measured for the shipped layouts
(UMAP and t-SNE on each token's attention profile, ``attn_widget.token_map``)
and for two layouts built from the clustering's own graph (the symmetrised
co-attention ``analysis.weights``) that are not shipped:

``spectral``
    scikit-learn's ``SpectralEmbedding`` with the graph as its affinity.
``umap-graph``
    UMAP on the distance ``1 - w / max(w)`` between tokens (``metric="precomputed"``).

Planted groups (3 groups, shuffled in the text, 4 layers x 4 heads) at 60 and
500 tokens, seeds 0-2 (``--strength``: how strongly each group attends inside;
500 tokens need a stronger one than 60 for the clustering to find the groups):
the clustering's ARI against the planted groups, then the
silhouette of the planted groups on each map (target >= 0.5). A real paragraph
on SmolLM2 (when installed): the Spearman correlation of map distance with
distance in the text over all pairs (target < 0.5) and the silhouette of the
clusters on the map. Prints a table; no assertions.

    python benchmarks/bench_map_layout.py [--sizes 60 500] [--seeds 0 1 2] [--no-real]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

PARAGRAPH = (
    "The old lighthouse keeper climbed the stairs every night to light the lamp. Storms battered the rocky "
    "coast, and ships waited offshore for the signal that meant the harbour was safe. His daughter kept the "
    "logbook, writing down every ship that passed and every storm that came. When the keeper grew too old "
    "to climb, she took the lamp herself, and the ships never knew the difference."
)


def layouts(analysis, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every token map method (the widget's choices), plus the graph-only spectral of the residual graph."""
    import attn_widget
    from attn_widget.graph.layout import residual, spectral_layout
    from attn_widget.graph.threshold import symmetrise
    from attn_widget.graph.tokenmap import methods

    kept = np.array([i for i in range(len(analysis.tokens)) if i not in set(analysis.excluded)])
    out = {}
    for method in methods():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[method] = attn_widget.token_map(analysis, method, seed=seed)[kept]
    sym = symmetrise(np.asarray(analysis.weights, dtype=np.float64))[np.ix_(kept, kept)]
    out["spectral of residual (not shipped)"] = spectral_layout(residual(sym, kept))
    return {k: (kept, v) for k, v in out.items()}


def planted(sizes: list[int], seeds: list[int], strength: float) -> None:
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    import attn_widget
    from attn_widget.synthetic import planted_attention

    print(
        f"planted groups (strength {strength}): silhouette of the planted groups on the map "
        "(target >= 0.5, where the clustering recovers them: ARI >= 0.9)"
    )
    for n in sizes:
        for seed in seeds:
            third = n // 3
            att, truth = planted_attention(
                [third, third, n - 2 * third], shuffle=True, seed=seed, strength=strength
            )
            a = attn_widget.analyze_attention(att, [f"t{i}" for i in range(att.shape[-1])], seed=seed)
            kept_truth = truth >= 0
            ari = adjusted_rand_score(truth[kept_truth], np.asarray(a.labels)[kept_truth])
            row = []
            for name, (kept, xy) in layouts(a, seed).items():
                grouped = truth[kept] >= 0  # the planted groups only (a sink the analysis kept is none)
                score = silhouette_score(xy[grouped], truth[kept][grouped])
                row.append(f"{name} {score:.2f}")
            print(f"  {n:4d} tokens seed {seed}: clustering ARI {ari:.2f} | " + " | ".join(row))


def texts(which: str) -> dict[str, str]:
    """Real texts: ``tuning`` (where the default was chosen) or ``report`` (nothing chosen on it)."""
    from pathlib import Path

    from attn_widget.corpus.fortunes import fortunes

    if which == "tuning":
        themes, seed, out = ["literature", "wisdom", "science"], 0, {"lighthouse": PARAGRAPH}
    else:
        themes, seed = ["people", "politics", "work", "love"], 1
        long = Path(__file__).resolve().parents[1] / "tests" / "ui" / "data" / "first_screen_500.txt"
        out = {"first_screen_500": long.read_text(encoding="utf-8")}
    try:
        records = fortunes(themes, min_chars=350, max_chars=700)
    except FileNotFoundError as err:
        print(f"fortunes skipped: {err}")
        return out
    rng = np.random.default_rng(seed)
    for r in (records[i] for i in rng.choice(len(records), 4, replace=False)):
        out[r["id"]] = " ".join(r["text"].split())
    return out


def membership_floor(kept: np.ndarray, labels: np.ndarray) -> float:
    """Spearman of text distance with a map that shows only membership (0 inside a cluster, 1 across)."""
    from scipy.stats import spearmanr

    i, j = np.triu_indices(len(kept), 1)
    return float(spearmanr((labels[i] != labels[j]).astype(float), np.abs(kept[i] - kept[j])).statistic)


def why(analysis, kept: np.ndarray, labels: np.ndarray, xy: np.ndarray) -> tuple[float, float]:
    """Why the clusters map follows the text: (1) Spearman, over pairs of clusters, of their residual affinity
    (the excess links between them, the MDS's input) with their distance in the text (negative: neighbours in
    the text share more); (2) the map's Spearman with the patches shuffled among the clusters (mean of 20)."""
    from scipy.stats import spearmanr

    from attn_widget.graph.layout import residual
    from attn_widget.graph.threshold import symmetrise

    sym = symmetrise(np.asarray(analysis.weights, dtype=np.float64))[np.ix_(kept, kept)]
    excess = residual(sym, kept)
    ids = np.unique(labels)
    member = [labels == c for c in ids]
    where = np.array([kept[m].mean() for m in member])
    a, b = np.triu_indices(len(ids), 1)
    affinity = np.array([excess[np.ix_(member[p], member[q])].mean() for p, q in zip(a, b, strict=True)])
    rho_affinity = (
        spearmanr(affinity, np.abs(where[a] - where[b])).statistic if len(ids) > 2 else float("nan")
    )
    centre = np.array([xy[m].mean(axis=0) for m in member])
    rng = np.random.default_rng(0)
    i, j = np.triu_indices(len(kept), 1)
    shuffled = []
    for _ in range(20):
        moved = xy.copy()
        for c, target in zip(range(len(ids)), rng.permutation(len(ids)), strict=True):
            moved[member[c]] += centre[target] - centre[c]
        dist = np.linalg.norm(moved[i] - moved[j], axis=1)
        shuffled.append(spearmanr(dist, np.abs(kept[i] - kept[j])).statistic)
    return float(rho_affinity), float(np.mean(shuffled))


def real(which: str, units: list[str]) -> None:
    from scipy.stats import spearmanr
    from sklearn.metrics import silhouette_score

    import attn_widget

    print(
        f"real texts ({which} set), SmolLM2: Spearman(map distance, text distance) (target < 0.5) / "
        "silhouette of the clusters on the map; 'floor': a map showing cluster membership only; "
        "'affinity~text' and 'patches shuffled': see why()"
    )
    for name, text in texts(which).items():
        for unit in units:
            try:
                a = attn_widget.analyze(text, model="smollm2", unit=unit)
            except Exception as err:  # no SmolLM2 here: say so and go on
                print(f"real texts skipped: {err}")
                return
            kept_all = np.array([i for i in range(len(a.tokens)) if i not in set(a.excluded)])
            labels = np.asarray(a.labels)[kept_all]
            sizes = sorted(np.bincount(labels - labels.min()).tolist(), reverse=True)
            row = [f"floor {membership_floor(kept_all, labels):.2f}"]
            maps = layouts(a, 0)
            affinity, shuffled = why(a, kept_all, labels, maps["clusters"][1])
            row.append(f"affinity~text {affinity:+.2f}, patches shuffled {shuffled:.2f}")
            for method, (kept, xy) in maps.items():
                i, j = np.triu_indices(len(kept), 1)
                rho = spearmanr(np.linalg.norm(xy[i] - xy[j], axis=1), np.abs(kept[i] - kept[j])).statistic
                sil = silhouette_score(xy, labels) if len(set(labels)) > 1 else float("nan")
                row.append(
                    f"{method.split(' ')[0] if 'not' not in method else 'spec-resid'} {rho:.2f}/{sil:.2f}"
                )
            print(
                f"  {name[:18]:18s} {unit:5s} {len(kept_all):3d} units, clusters {sizes[:6]}: "
                + " | ".join(row)
            )


FIRST = """
import time, warnings, numpy as np
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import attn_widget
from attn_widget.synthetic import planted_attention
att, _ = planted_attention([100, 100, 100], shuffle=True, seed=0)
a = attn_widget.analyze_attention(att, [f"t{{i}}" for i in range(att.shape[-1])])
t1 = time.perf_counter()
attn_widget.token_map(a, {method!r})
t2 = time.perf_counter()
attn_widget.token_map(a, {method!r}, seed=1)
print(f"{{t2 - t1:.2f}} {{time.perf_counter() - t2:.2f}}")
"""


def first_map() -> None:
    """Seconds for the first map in a fresh interpreter (compiling included), then for a second one."""
    import os
    import subprocess
    import sys

    from attn_widget.graph.tokenmap import methods

    print(
        f"first map in a fresh kernel, 301 planted tokens (load {os.getloadavg()[0]:.1f}): first s / second s"
    )
    for method in methods():
        done = subprocess.run(
            [sys.executable, "-c", FIRST.format(method=method)], capture_output=True, text=True
        )
        print(f"  {method:9s} {done.stdout.strip() or done.stderr.strip().splitlines()[-1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 500])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strength", type=float, default=3.0, help="planted groups' logit bonus")
    parser.add_argument(
        "--real",
        nargs="*",
        default=["tuning", "report"],
        choices=["tuning", "report"],
        help="real text sets to measure (none: --real with no value)",
    )
    parser.add_argument("--units", nargs="+", default=["word", "token"])
    parser.add_argument("--no-planted", action="store_true")
    parser.add_argument("--first", action="store_true", help="time the first map in a fresh interpreter")
    args = parser.parse_args()
    if not args.no_planted:
        planted(args.sizes, args.seeds, args.strength)
    for which in args.real:
        real(which, args.units)
    if args.first:
        first_map()


if __name__ == "__main__":
    main()
