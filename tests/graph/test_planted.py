"""Planted structure: the pipeline finds known groups, and the automatic threshold is near the best one."""

from __future__ import annotations

import numpy as np
import pytest
from factories import planted_input, split_knobs

from attn_widget.graph import metrics, sweep


def ari_kept(labels: np.ndarray, groups: np.ndarray) -> float:
    kept = groups >= 0  # the sink (token 0) is excluded from the graph
    return metrics.adjusted_rand(labels[kept], groups[kept])


def run(sizes, **knobs):
    """The analysis of planted groups of ``sizes`` (3 layers x 4 heads), and the true group of each token."""
    planted, options = split_knobs(knobs)
    data = planted_input(sizes, n_layers=3, n_heads=4, **planted)
    return data.analyze(**options), data.groups


@pytest.mark.parametrize(
    ("n_tokens", "n_groups"), [(16, 2), (16, 4), (64, 2), (64, 8), (128, 4), (256, 2), (256, 8)]
)
@pytest.mark.parametrize("layout", ["blocks", "shuffled", "encoder"])
def test_clusters_recover_planted_groups(n_tokens, n_groups, layout):
    sizes = [n_tokens // n_groups] * n_groups
    result, groups = run(
        sizes, shuffle=layout == "shuffled", causal=layout != "encoder", seed=n_tokens + n_groups
    )
    assert ari_kept(result.labels, groups) > 0.95
    assert result.labels[0] == -1
    assert sum(1 for c in result.clusters if c.size > 1) == n_groups


@pytest.mark.parametrize("mode", ["absolute", "mass"])
@pytest.mark.parametrize(("sizes", "seed"), [([20, 30, 25], 1), ([16] * 6, 2), ([40, 40], 3), ([12] * 8, 4)])
def test_automatic_threshold_lands_near_the_best_grid_value(mode, sizes, seed):
    """Weak, noisy structure: the grid's best partition is not perfect; auto must be close to it."""
    result, groups = run(sizes, strength=1.5, shuffle=True, seed=seed, threshold_mode=mode)
    grid_ari = [ari_kept(lab, groups) for lab in result.sweep.labels]
    auto = ari_kept(result.labels, groups)
    assert auto >= max(grid_ari) - 0.1, (auto, grid_ari)
    assert result.threshold == result.sweep.thresholds[result.sweep.best]
    assert result.modularity == pytest.approx(result.sweep.modularity[result.sweep.best])


@pytest.mark.parametrize("method", ["louvain", "leiden", "infomap", "agglomerative", "dbscan"])
def test_each_method_recovers_planted_groups_with_the_automatic_threshold(method):
    result, groups = run([12, 20, 16, 16], strength=2.5, shuffle=True, seed=7, method=method)
    assert ari_kept(result.labels, groups) > 0.9, result.options.method


def test_warm_started_sweep_is_as_good_as_clustering_every_graph_from_scratch(monkeypatch):
    cases = [([24, 24, 24], 11), ([10] * 8, 12), ([50, 30], 13)]

    def score(sizes, seed):
        result, groups = run(sizes, strength=1.5, seed=seed)
        return ari_kept(result.labels, groups)

    warm = [score(*case) for case in cases]
    monkeypatch.setattr(sweep, "FRESH_DEGREE", np.inf)
    fresh = [score(*case) for case in cases]
    assert np.mean(warm) >= np.mean(fresh) - 0.05, (warm, fresh)


PLATEAU_CASES = [([10, 10, 10], 5), ([20, 30, 25], 1), ([16] * 6, 2), ([64] * 4, 3), ([40, 40], 6)]


@pytest.mark.parametrize("mode", ["absolute", "mass"])
@pytest.mark.parametrize(("sizes", "seed"), PLATEAU_CASES)
def test_the_automatic_threshold_sits_inside_its_plateau_not_at_the_grid_edge(mode, sizes, seed):
    """Where the right partition holds over several grid steps, auto is one of the middle ones.

    So the slider's "auto" mark is not pinned to the left end, and a small move
    either way keeps the partition.
    """
    result, groups = run(sizes, shuffle=True, seed=seed, threshold_mode=mode)
    labels, best = result.sweep.labels, result.sweep.best
    same = [ari_kept(lab, groups) == 1.0 for lab in labels]
    assert sum(same) >= 3  # the planted partition holds over several grid steps
    assert 0 < best < len(labels) - 1
    assert same[best - 1]
    assert same[best]
    assert same[best + 1]
    assert ari_kept(result.labels, groups) == 1.0


@pytest.mark.parametrize(("sizes", "seed"), PLATEAU_CASES)
def test_the_grid_reaches_the_threshold_where_the_planted_groups_fall_apart(sizes, seed):
    """The plot shows the breakdown: at the grid's top almost every token stands alone."""
    result, groups = run(sizes, shuffle=True, seed=seed)
    top = result.sweep.labels[-1]
    _, sizes_at_top = np.unique(top[top >= 0], return_counts=True)
    alone = int((sizes_at_top == 1).sum())
    assert alone >= 0.8 * (len(top) - 1)
    assert ari_kept(top, groups) < 0.2
    assert result.sweep.modularity[-1] < 0.2 * result.sweep.modularity.max()


def test_excluding_the_first_token_sink_is_what_lets_groups_show():
    """The sink draws most attention and glues groups together unless it is left out of the graph."""
    with_sink, groups = run([10, 10, 10], exclude=(), seed=5)
    without, _ = run([10, 10, 10], seed=5)
    assert (with_sink.labels >= 0).all()  # every token, the sink included, gets a cluster
    assert ari_kept(without.labels, groups) > 0.95 > ari_kept(with_sink.labels, groups)


def test_structureless_attention_does_not_invent_groups():
    """Equal attention to every earlier token: no planted groups, so modularity stays near zero."""
    result, _ = run([30], strength=0.0, noise=0.0, seed=0)
    assert result.modularity < 0.1
