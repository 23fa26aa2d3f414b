"""The token map: planted groups land apart, the same seed gives the same map, sinks have no place."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import attn_widget
from attn_widget.graph import tokenmap
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


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_the_map_separates_planted_groups_far_better_than_random_labels(method):
    for sizes, seed, shuffle in (([12, 12, 12], 1, False), ([10, 14, 8, 12], 2, True)):
        analysis, groups = planted(sizes, seed, shuffle=shuffle)
        coords = attn_widget.token_map(analysis, method=method, seed=0)
        real, chance = separation(coords, groups, seed)
        assert real >= chance + MARGIN, (sizes, real, chance)


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_the_same_seed_gives_the_same_map_when_computed_again(method):
    analysis, _ = planted([9, 9, 9], seed=3)
    tokenmap._CACHE.clear()
    first = attn_widget.token_map(analysis, method=method, seed=4)
    tokenmap._CACHE.clear()  # computed again, not read back from the cache
    assert np.array_equal(first, attn_widget.token_map(analysis, method=method, seed=4), equal_nan=True)


def test_tokens_left_out_of_the_graph_have_no_place_on_the_map():
    analysis, _ = planted([8, 8], seed=5)
    coords = attn_widget.token_map(analysis, method="tsne")
    assert coords.shape == (len(analysis.tokens), 2)
    assert np.isnan(coords[0]).all()
    assert np.isfinite(coords[1:]).all()


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
    with pytest.raises(ValueError, match=r"unknown token map method 'pca'.*'umap', 'tsne'"):
        attn_widget.token_map(analysis, method="pca")
    with pytest.raises(ValueError, match="unknown token map feature set 'rows'"):
        attn_widget.token_map(analysis, features="rows")
    with pytest.raises(ValueError, match="seed='1' must be a whole number"):
        attn_widget.token_map(analysis, seed="1")


def test_a_missing_umap_names_the_extra_to_install(monkeypatch):
    analysis, _ = planted([10, 10], seed=9)
    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    tokenmap._CACHE.clear()
    with pytest.raises(ImportError, match=r"umap-learn: pip install 'attn_widget\[map\]'"):
        attn_widget.token_map(analysis, method="umap", seed=11)
