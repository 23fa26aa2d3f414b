"""Clustering methods behind one interface: recovery, connectedness, numbering, seeds, extras."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from attn_widget.graph import aggregate, cluster, metrics, threshold
from attn_widget.synthetic import planted_attention

ALL_METHODS = ["louvain", "leiden", "infomap", "agglomerative", "dbscan"]


@pytest.fixture(scope="module")
def planted_graph():
    att, groups = planted_attention([10, 14, 8, 12], layers=3, heads=3, strength=2.0, seed=4)
    weights = aggregate.aggregate(att, "mean", exclude=[0])
    sym = threshold.symmetrise(weights)
    edges = sym[np.triu_indices_from(sym, 1)]
    adj = threshold.prune(weights, sym, "absolute", float(np.quantile(edges[edges > 0], 0.7)))
    return adj, sym, groups


def test_every_method_is_registered():
    assert cluster.METHODS.names() == ALL_METHODS


@pytest.mark.parametrize("method", ALL_METHODS)
def test_each_method_recovers_planted_groups_on_a_thresholded_graph(planted_graph, method):
    adj, sym, groups = planted_graph
    labels = cluster.cluster(adj, method, exclude=[0], profile=sym)
    assert labels[0] == -1
    assert metrics.adjusted_rand(labels[1:], groups[1:]) > 0.9


@pytest.mark.parametrize("method", ALL_METHODS)
def test_each_method_is_deterministic_for_a_seed_and_returns_connected_clusters(planted_graph, method):
    adj, sym, _ = planted_graph
    first = cluster.cluster(adj, method, seed=3, exclude=[0], profile=sym)
    assert np.array_equal(first, cluster.cluster(adj, method, seed=3, exclude=[0], profile=sym))
    for lab in np.unique(first[first >= 0]):
        idx = np.flatnonzero(first == lab)
        assert cluster.components(adj[np.ix_(idx, idx)]).max() == 0, f"cluster {lab} is not connected"


def test_a_method_registered_by_the_user_gets_the_same_wrapping(monkeypatch):
    """A new method only returns raw labels; exclusion, splitting and numbering come from cluster()."""
    monkeypatch.setattr(cluster.METHODS, "_items", dict(cluster.METHODS._items))  # undone after the test

    @cluster.METHODS.register("lump")
    def lump(adj, **_):
        return np.full(len(adj), 7)  # everything in one community

    adj = np.zeros((7, 7))
    for a, b in [(1, 2), (2, 3), (4, 5)]:
        adj[a, b] = adj[b, a] = 1.0
    np.testing.assert_array_equal(cluster.cluster(adj, "lump", exclude=[0]), [-1, 0, 0, 0, 1, 1, 2])
    assert cluster.METHODS.names()[-1] == "lump"


def test_a_community_in_two_pieces_is_split():
    adj = np.zeros((5, 5))
    adj[0, 1] = adj[1, 0] = adj[3, 4] = adj[4, 3] = 1.0
    np.testing.assert_array_equal(cluster.connected_split(adj, np.zeros(5, int)), [0, 0, 1, 2, 2])


def test_labels_are_numbered_by_first_token_and_excluded_stay_minus_one():
    np.testing.assert_array_equal(cluster.canonical([-1, 7, 3, 7, -1, 9, 3]), [-1, 0, 1, 0, -1, 2, 1])


def test_tokens_without_edges_are_singletons_and_an_empty_graph_gives_all_singletons():
    adj = np.zeros((6, 6))
    adj[1, 2] = adj[2, 1] = adj[2, 3] = adj[3, 2] = 0.5
    labels = cluster.cluster(adj, "louvain")
    assert labels[1] == labels[2] == labels[3]
    assert len({labels[0], labels[4], labels[5], labels[1]}) == 4
    np.testing.assert_array_equal(cluster.cluster(np.zeros((4, 4)), "leiden"), [0, 1, 2, 3])


@pytest.mark.parametrize("method", sorted(cluster.GRAPH_METHODS))
def test_a_warm_start_only_merges_the_finer_partition(planted_graph, method):
    adj, sym, groups = planted_graph
    finer = cluster.cluster(adj, method, exclude=[0])
    edges = sym[np.triu_indices_from(sym, 1)]
    denser = np.where(sym >= np.quantile(edges[edges > 0], 0.5), sym, 0.0)
    assert (denser >= adj).all()
    coarse = cluster.cluster_coarse(denser, finer, method, exclude=[0])
    for lab in np.unique(finer[finer >= 0]):
        assert len(np.unique(coarse[finer == lab])) == 1
    assert metrics.adjusted_rand(coarse[1:], groups[1:]) > 0.9


def test_profile_methods_cannot_warm_start():
    with pytest.raises(ValueError, match=r"method 'dbscan' cannot warm-start"):
        cluster.cluster_coarse(np.zeros((3, 3)), np.arange(3), "dbscan")


def test_an_unknown_method_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown clustering method 'kmeans'; choose one of 'louvain'"):
        cluster.cluster(np.zeros((3, 3)), "kmeans")


@pytest.mark.parametrize(("method", "module"), [("leiden", "leidenalg"), ("infomap", "infomap"),
                                                ("agglomerative", "sklearn.cluster")])
def test_a_missing_optional_dependency_names_the_extra(planted_graph, method, module, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    adj, sym, _ = planted_graph
    message = rf"needs the '{module}' package; .*pip install 'attn_widget\[cluster\]'"
    with pytest.raises(ImportError, match=message):
        cluster.cluster(adj, method, exclude=[0], profile=sym)
