"""The token graph and the sweep: symmetrising, threshold modes, the grid, modularity, the plateau choice."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.community import modularity as nx_modularity
from sklearn.metrics import adjusted_rand_score

from attn_widget.graph import metrics, sweep, threshold


def random_weights(n: int = 12, seed: int = 0) -> np.ndarray:
    w = np.random.default_rng(seed).random((n, n))
    return w / w.sum(1, keepdims=True)


def test_symmetrise_averages_both_directions_and_drops_self_loops():
    w = np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6], [1.0, 0.0, 0.0]])
    s = threshold.symmetrise(w)
    np.testing.assert_allclose(s, [[0, 0.35, 0.5], [0.35, 0, 0.3], [0.5, 0.3, 0]])


def test_absolute_threshold_keeps_exactly_the_edges_at_or_above_it():
    w = random_weights()
    s = threshold.symmetrise(w)
    adj = threshold.prune(w, s, "absolute", 0.08)
    assert np.array_equal(adj > 0, s >= 0.08)
    np.testing.assert_array_equal(adj[adj > 0], s[s >= 0.08])


def test_mass_threshold_keeps_each_tokens_strongest_edges_until_the_share_is_covered():
    # token 0 gives 60% / 30% / 10% of its (non-self) attention to tokens 1, 2, 3
    w = np.array([[0.0, 0.6, 0.3, 0.1], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=float)
    s = threshold.symmetrise(w)
    assert not threshold.prune(w, s, "mass", 0.0).any()
    kept = threshold.prune(w, s, "mass", 0.5) > 0
    assert kept[0, 1]
    assert kept[0, 2]
    assert kept[0, 3]
    w[1:] = [[0, 0, 0.5, 0.5], [0.5, 0, 0, 0.5], [0.2, 0.8, 0, 0]]
    s = threshold.symmetrise(w)
    half = threshold.prune(w, s, "mass", 0.5) > 0
    assert half[0, 1]
    assert not half[0, 3]
    assert (threshold.prune(w, s, "mass", 1.0) > 0).sum() == (s > 0).sum()


@pytest.mark.parametrize("mode", ["absolute", "mass"])
def test_graphs_of_one_mode_are_nested_and_edge_counts_are_exact(mode):
    w = random_weights(20)
    s = threshold.symmetrise(w)
    pruner = threshold.THRESHOLDS[mode](w, s)
    grid = sweep.threshold_grid(w, s, mode)
    graphs = [pruner.prune(t) > 0 for t in grid]
    for g, t in zip(graphs, grid, strict=False):
        assert pruner.n_edges(t) == g.sum() // 2
    denser_first = sorted(graphs, key=lambda g: -g.sum())
    for big, small in itertools.pairwise(denser_first):
        assert not (small & ~big).any()


def test_absolute_grid_runs_from_every_edge_to_almost_every_token_alone():
    w = random_weights(40)
    s = threshold.symmetrise(w)
    grid = sweep.threshold_grid(w, s, "absolute")
    assert np.all(np.diff(grid) > 0)
    assert len(grid) == sweep.GRID_SIZE
    pruner = threshold.THRESHOLDS["absolute"](w, s)
    counts = np.array([pruner.n_edges(t) for t in grid])
    assert counts[0] == 40 * 39 // 2  # lowest value keeps every edge: everything connected
    assert counts[-1] == 4  # highest keeps 0.1 edges per token: at least 32 of 40 tokens alone
    ratios = counts[:-1] / counts[1:]
    assert ratios.max() < 1.5 * ratios.min()  # geometric: each step thins the graph by a similar factor


def test_mass_grid_runs_from_each_tokens_strongest_edge_to_every_edge():
    w = random_weights(30, seed=2)
    s = threshold.symmetrise(w)
    grid = sweep.threshold_grid(w, s, "mass")
    assert np.all(np.diff(grid) > 0)
    assert grid[0] > 0
    assert grid[-1] == 1.0
    sparsest = threshold.prune(w, s, "mass", grid[0]) > 0
    strongest = np.zeros_like(sparsest)
    off = w - np.diag(np.diag(w))
    strongest[np.arange(30), off.argmax(axis=1)] = True
    np.testing.assert_array_equal(sparsest, strongest | strongest.T)  # only each token's top edge
    assert (threshold.prune(w, s, "mass", grid[-1]) > 0).sum() == (s > 0).sum()


def test_a_graph_without_edges_gets_a_one_value_grid():
    w = np.zeros((3, 3))
    s = threshold.symmetrise(w)
    np.testing.assert_array_equal(sweep.threshold_grid(w, s, "absolute"), [0.0])
    np.testing.assert_array_equal(sweep.threshold_grid(w, s, "mass"), [1.0])


def test_modularity_matches_networkx_and_ignores_excluded_tokens():
    w = random_weights(15, seed=3)
    w[0] = 0
    w[:, 0] = 0
    s = threshold.symmetrise(w)
    labels = np.random.default_rng(1).integers(0, 4, 15)
    labels[0] = -1
    g = nx.from_numpy_array(s)
    g.remove_node(0)
    communities = [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels[1:])]
    assert metrics.modularity(s, labels) == pytest.approx(nx_modularity(g, communities, weight="weight"))


def test_adjusted_rand_matches_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.integers(0, 4, 30), rng.integers(0, 5, 30)
        assert metrics.adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(a, b))
    assert metrics.adjusted_rand(a, a + 7) == 1.0


def test_choose_takes_the_centre_of_the_widest_stable_plateau_among_good_partitions():
    three = np.array([0, 0, 1, 1, 2, 2])
    two = np.array([0, 0, 0, 1, 1, 1])
    six = np.arange(6)
    labels = np.stack([three, two, two, two, two, two, six, six])
    scores = np.array([0.52, 0.51, 0.50, 0.50, 0.50, 0.50, 0.0, 0.0])
    assert sweep.choose(np.arange(8.0), scores, labels) == 3  # plateau 1..5: its centre, not its edge
    scores[0] = 0.9  # a much better lone partition beats the plateau (not within 10%)
    assert sweep.choose(np.arange(8.0), scores, labels) == 0


def test_choose_stays_clear_of_the_weak_end_of_a_plateau():
    """A plateau whose last values already lose modularity (groups fraying) centres on its good part."""
    a, b = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2]), np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 3])
    labels = np.stack([a] * 5 + [b] * 4)
    scores = np.array([0.6] * 5 + [0.45] * 4)  # b is stable next to a (ARI ~0.93) but much worse
    assert metrics.adjusted_rand(a, b) >= sweep.STABLE_ARI
    assert sweep.choose(np.arange(9.0), scores, labels) == 2


def test_one_grid_value_is_its_own_choice():
    assert sweep.choose(np.array([0.1]), np.array([0.3]), np.zeros((1, 4), int)) == 0
