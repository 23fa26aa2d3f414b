"""The token map: planted groups land apart, clusters are placed by their links rather than text order,
the same seed gives the same map, sinks have no place."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import attn_widget
from attn_widget.graph import tokenmap
from attn_widget.graph.layout import clusters_layout
from attn_widget.synthetic import planted_attention

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def planted(sizes, seed, **kwargs):
    att, groups = planted_attention(sizes, layers=2, heads=3, seed=seed, **kwargs)
    return attn_widget.analyze_attention(att, [f"t{i}" for i in range(len(groups))], exclude=[0]), groups


def separation(coords: np.ndarray, groups: np.ndarray, seed: int) -> tuple[float, float]:
    """Silhouette of the planted groups on the map, and of the same map with shuffled labels."""
    kept = groups >= 0
    xy, truth = coords[kept], groups[kept]
    shuffled = np.random.default_rng(seed).permutation(truth)
    return (
        float(sklearn_metrics.silhouette_score(xy, truth)),
        float(sklearn_metrics.silhouette_score(xy, shuffled)),
    )


MARGIN = 0.3


@pytest.mark.parametrize("method", ["clusters", "spectral", "tsne", "umap"])
def test_the_map_separates_planted_groups_far_better_than_random_labels(method):
    for sizes, seed, shuffle in (([12, 12, 12], 1, False), ([10, 14, 8, 12], 2, True)):
        analysis, groups = planted(sizes, seed, shuffle=shuffle)
        coords = attn_widget.token_map(analysis, method=method, seed=0)
        real, chance = separation(coords, groups, seed)
        assert real >= chance + MARGIN, (sizes, real, chance)


def test_the_default_map_separates_planted_groups_the_clustering_recovers_by_a_silhouette_of_half():
    for seed in (0, 1, 2):
        att, groups = planted_attention([20, 20, 20], shuffle=True, seed=seed)
        analysis = attn_widget.analyze_attention(att, [f"t{i}" for i in range(len(groups))], seed=seed)
        kept = groups >= 0
        assert sklearn_metrics.adjusted_rand_score(groups[kept], np.asarray(analysis.labels)[kept]) >= 0.9
        real, chance = separation(attn_widget.token_map(analysis), groups, seed)
        assert real >= 0.5 > chance + 0.3, (seed, real, chance)


def runs_graph(linked: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Four runs of 8 words, each word tied to its neighbours; runs ``linked`` also share far links."""
    n = 32
    i, j = np.indices((n, n))
    sym = np.exp(-np.abs(i - j) / 1.5)
    run = np.arange(n) // 8
    sym = sym + 0.3 * (run[:, None] == run[None, :])
    a, b = linked
    sym = sym + 0.25 * (
        ((run[:, None] == a) & (run[None, :] == b)) | ((run[:, None] == b) & (run[None, :] == a))
    )
    np.fill_diagonal(sym, 0.0)
    return sym, run


@pytest.mark.parametrize("linked", [(0, 3), (0, 2), (1, 3)])
def test_clusters_sharing_far_links_are_placed_together_whatever_their_order_in_the_text(linked):
    sym, run = runs_graph(linked)
    xy = clusters_layout(sym, np.arange(len(run)), run)
    centre = np.array([xy[run == c].mean(axis=0) for c in range(4)])
    gap = {(a, b): np.linalg.norm(centre[a] - centre[b]) for a in range(4) for b in range(a + 1, 4)}
    assert gap[linked] == min(gap.values()), gap
    for c in range(4):  # each run its own patch: every member nearer its own centre than any other
        near = np.linalg.norm(xy[run == c][:, None, :] - centre[None, :, :], axis=2).argmin(axis=1)
        assert (near == c).all()


@pytest.mark.parametrize("method", ["clusters", "tsne", "umap"])
def test_the_same_seed_gives_the_same_map_when_computed_again(method):
    analysis, _ = planted([9, 9, 9], seed=3)
    tokenmap._CACHE.clear()
    first = attn_widget.token_map(analysis, method=method, seed=4)
    tokenmap._CACHE.clear()  # computed again, not read back from the cache
    assert np.array_equal(first, attn_widget.token_map(analysis, method=method, seed=4), equal_nan=True)


@pytest.mark.parametrize("method", ["clusters", "spectral", "tsne"])
def test_tokens_left_out_of_the_graph_have_no_place_on_the_map(method):
    analysis, _ = planted([8, 8], seed=5)
    coords = attn_widget.token_map(analysis, method=method)
    assert coords.shape == (len(analysis.tokens), 2)
    assert np.isnan(coords[0]).all()
    assert np.isfinite(coords[1:]).all()


def test_the_clusters_map_draws_the_partition_it_is_given():
    analysis, groups = planted([10, 10, 10], seed=12)
    mine = np.where(np.arange(len(groups)) % 2 == 0, 5, 7)  # two clusters the graph does not have
    xy = attn_widget.token_map(analysis, labels=mine)
    assert separation(xy, np.where(groups >= 0, mine, -1), 0)[0] > 0.5
    assert not np.allclose(xy[1:], attn_widget.token_map(analysis)[1:])


def test_a_short_text_is_placed_by_principal_components_and_still_separates_its_groups():
    analysis, groups = planted([3, 3], seed=6, strength=6.0, noise=0.3, causal=False)
    coords = attn_widget.token_map(analysis, method="umap")  # 6 kept tokens: below MIN_EMBED
    assert np.isfinite(coords[1:]).all()
    real, _ = separation(coords, groups, 0)
    assert real > 0.5
    assert np.array_equal(coords, attn_widget.token_map(analysis, method="tsne"), equal_nan=True)
    one, _ = planted([1], seed=0)
    assert np.array_equal(attn_widget.token_map(one)[1], [0.0, 0.0])


def test_head_features_need_the_raw_attention_and_place_tokens_too(tmp_path):
    analysis, _groups = planted([10, 10, 10], seed=7)
    coords = attn_widget.token_map(analysis, method="tsne", features="heads")
    assert np.isfinite(coords[1:]).all()
    saved = attn_widget.Analysis.load(analysis.save(tmp_path / "a.json"))
    with pytest.raises(ValueError, match="needs the raw attention"):
        attn_widget.token_map(saved, method="tsne", features="heads")


def test_unknown_methods_features_and_bad_seeds_are_refused_with_the_choices():
    analysis, _ = planted([5, 5], seed=8)
    with pytest.raises(
        ValueError, match=r"unknown token map method 'pca'.*'clusters', 'spectral', 'umap', 'tsne'"
    ):
        attn_widget.token_map(analysis, method="pca")
    with pytest.raises(ValueError, match="features='heads' is for the 'umap' and 'tsne' maps"):
        attn_widget.token_map(analysis, method="clusters", features="heads")
    with pytest.raises(
        ValueError, match=r"labels of shape \(3,\).*one whole-number cluster id per unit \(11"
    ):
        attn_widget.token_map(analysis, labels=[0, 1, 1])
    with pytest.raises(ValueError, match="unknown token map feature set 'rows'"):
        attn_widget.token_map(analysis, method="umap", features="rows")
    with pytest.raises(ValueError, match="seed='1' must be a whole number"):
        attn_widget.token_map(analysis, seed="1")


def test_a_missing_umap_names_the_extra_to_install(monkeypatch):
    analysis, _ = planted([10, 10], seed=9)
    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    tokenmap._CACHE.clear()
    with pytest.raises(ImportError, match=r"umap-learn: pip install 'attn_widget\[map\]'"):
        attn_widget.token_map(analysis, method="umap", seed=11)
