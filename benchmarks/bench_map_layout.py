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


def graph(analysis) -> np.ndarray:
    w = np.asarray(analysis.weights, dtype=np.float64)
    s = (w + w.T) / 2
    np.fill_diagonal(s, 0.0)
    return s


def spectral(analysis, kept: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import SpectralEmbedding

    a = graph(analysis)[np.ix_(kept, kept)]
    a = a + 1e-6 * a.max()  # one connected graph
    return SpectralEmbedding(2, affinity="precomputed", random_state=seed).fit_transform(a)


def umap_graph(analysis, kept: np.ndarray, seed: int) -> np.ndarray:
    import umap

    a = graph(analysis)[np.ix_(kept, kept)]
    d = 1.0 - a / a.max()
    np.fill_diagonal(d, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_components=2, metric="precomputed", random_state=seed,
                            n_neighbors=min(15, len(kept) - 1))
        return reducer.fit_transform(d)


def layouts(analysis, seed: int) -> dict[str, np.ndarray]:
    import attn_widget

    kept = np.array([i for i in range(len(analysis.tokens)) if i not in set(analysis.excluded)])
    out = {}
    for method in ("umap", "tsne"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[f"{method} (profile, shipped)"] = attn_widget.token_map(analysis, method, seed=seed)[kept]
    out["spectral (graph)"] = spectral(analysis, kept, seed)
    out["umap-graph (graph)"] = umap_graph(analysis, kept, seed)
    return {k: (kept, v) for k, v in out.items()}


def planted(sizes: list[int], seeds: list[int], strength: float) -> None:
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    import attn_widget
    from attn_widget.synthetic import planted_attention

    print(f"planted groups (strength {strength}): silhouette of the planted groups on the map "
          "(target >= 0.5, where the clustering recovers them: ARI >= 0.9)")
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
                score = silhouette_score(xy, truth[kept]) if len(set(truth[kept])) > 1 else float("nan")
                row.append(f"{name} {score:.2f}")
            print(f"  {n:4d} tokens seed {seed}: clustering ARI {ari:.2f} | " + " | ".join(row))


def real() -> None:
    from scipy.stats import spearmanr
    from sklearn.metrics import silhouette_score

    import attn_widget

    try:
        a = attn_widget.analyze(PARAGRAPH, model="smollm2", unit="token")
    except Exception as err:  # no SmolLM2 here: say so and go on
        print(f"real paragraph skipped: {err}")
        return
    groups = sum(c.size > 1 for c in a.clusters)
    print(f"real paragraph (SmolLM2, {len(a.tokens)} tokens, {groups} clusters): "
          "Spearman(map distance, text distance) (target < 0.5), silhouette of the clusters on the map")
    for name, (kept, xy) in layouts(a, 0).items():
        i, j = np.triu_indices(len(kept), 1)
        rho = spearmanr(np.linalg.norm(xy[i] - xy[j], axis=1), np.abs(kept[i] - kept[j])).statistic
        labels = np.asarray(a.labels)[kept]
        sil = silhouette_score(xy, labels) if len(set(labels)) > 1 else float("nan")
        print(f"  {name:26s} Spearman {rho:.2f}   silhouette of clusters {sil:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 500])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strength", type=float, default=3.0, help="planted groups' logit bonus")
    parser.add_argument("--no-real", action="store_true")
    args = parser.parse_args()
    planted(args.sizes, args.seeds, args.strength)
    if not args.no_real:
        real()


if __name__ == "__main__":
    main()
