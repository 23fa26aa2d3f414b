"""The lean graph (symmetrised weights read in blocks of rows) gives the dense numbers and partitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from factories import planted_input

from attn_widget.graph import aggregate, cluster, metrics, sweep, threshold
from attn_widget.graph.blockwise import BlockEdges
from attn_widget.graph.reduce import MeanReducer, feed
from attn_widget.graph.symmetric import Symmetric


def rows_of(n: int, rows: int) -> int:
    """``block_bytes`` that make blocks of ``rows`` rows of ``n`` float64s."""
    return 8 * n * rows


def pruners(weights: np.ndarray, rows: int) -> tuple[np.ndarray, Any, Any]:
    """The dense symmetrised weights, the absolute pruner on them, and it read in blocks of ``rows``."""
    dense = threshold.symmetrise(weights)
    ref = threshold.THRESHOLDS["absolute"](weights, dense)
    lean = threshold.THRESHOLDS["absolute"](
        weights, Symmetric(weights, block_bytes=rows_of(len(weights), rows))
    )
    return dense, ref, lean


def random_weights(n: int, seed: int, *, ties: bool = False, causal: bool = True) -> np.ndarray:
    """A row-stochastic ``[n, n]`` map, token 0 left out; ``ties``: weights on a coarse grid (many equal)."""
    rng = np.random.default_rng(seed)
    w = rng.random((n, n)) ** 4
    if ties:
        w = np.round(w * 8) / 8
    if causal:
        w = np.tril(w)
    w[np.arange(n), np.arange(n)] += 1e-3
    return aggregate.renormalise(w / w.sum(axis=1, keepdims=True), [0])


def planted_weights(sizes: list[int], seed: int, *, compact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The mean aggregate of planted attention (float32 running sums with ``compact``), token 0 left out."""
    data = planted_input(sizes, n_layers=3, n_heads=4, shuffle=True, seed=seed, strength=2.0)
    att = data.attention
    reducer = MeanReducer((att.shape[0], att.shape[1], att.shape[2]), compact=compact)
    return aggregate.renormalise(feed(reducer, att), [0]), data.groups


CASES = [
    pytest.param(random_weights(61, 1), id="random-61"),
    pytest.param(random_weights(97, 2, causal=False), id="random-encoder-97"),
    pytest.param(random_weights(50, 3, ties=True), id="ties-50"),
    pytest.param(planted_weights([12, 20, 16, 16], 7)[0], id="planted-65"),
    pytest.param(planted_weights([30, 30, 40], 8)[0], id="planted-101"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("n", "rows"), [(1, 1), (7, 3), (64, 64), (65, 8), (100, 7)])
def test_symmetric_rows_are_symmetrise_bit_for_bit_whatever_the_block(n, rows, dtype):
    w = np.random.default_rng(n).random((n, n)).astype(dtype)
    sym = Symmetric(w, block_bytes=rows_of(n, rows))
    dense = threshold.symmetrise(w)
    assert sym.toarray().dtype == dense.dtype
    np.testing.assert_array_equal(sym.toarray(), dense)
    assert sym.max() == (float(dense.max()) if n else 0.0)
    np.testing.assert_array_equal(sym.linked(), (dense > 0).any(axis=1))


@pytest.mark.parametrize("weights", CASES)
@pytest.mark.parametrize("rows", [1, 5, 16, 1000])
def test_block_pruner_counts_and_thresholds_equal_the_dense_one(weights, rows):
    n = len(weights)
    dense, ref, lean = pruners(weights, rows)
    assert (lean.total, lean.fewest) == (ref.total, ref.fewest)
    counts = np.unique(np.r_[1, 2, 3, np.geomspace(1, ref.total, 25).round().astype(int), ref.total])
    np.testing.assert_array_equal(lean.for_edges(counts), ref.for_edges(counts))
    upper = np.sort(dense[np.triu_indices(n, 1)])
    # every distinct edge weight (ties at the threshold), values between them, and the ends of the range
    tried = np.r_[np.unique(upper), (upper[1:] + upper[:-1]) / 2, 0.0, -1.0, dense.max() * 1.01, 1e-300]
    for t in tried[:: max(1, tried.size // 300)]:
        assert lean.n_edges(t) == ref.n_edges(t), t


@pytest.mark.parametrize("weights", CASES)
def test_block_edges_are_the_dense_edges_above_the_threshold(weights):
    n = len(weights)
    _, ref, lean = pruners(weights, 6)
    for t in ref.for_edges(np.array([1, n // 3, n, 3 * n, ref.total])):
        got = lean.edges(t)
        assert isinstance(got, BlockEdges)
        assert got.count == ref.n_edges(t)
        listed = got.edges()
        want = ref.edges(t)
        assert set(zip(listed.src.tolist(), listed.dst.tolist(), listed.weight.tolist(), strict=True)) == set(
            zip(want.src.tolist(), want.dst.tolist(), want.weight.tolist(), strict=True)
        )
        assert listed.src.dtype == np.int32
        assert len(listed.src) == got.count


@pytest.mark.parametrize("weights", CASES)
@pytest.mark.parametrize("rows", [3, 32])
def test_the_lean_sweep_gives_the_dense_sweeps_thresholds_partitions_and_scores(weights, rows):
    n = len(weights)
    ref = sweep.sweep(weights, "absolute", exclude=[0], sym=threshold.symmetrise(weights))
    got = sweep.sweep(weights, "absolute", exclude=[0], sym=Symmetric(weights, block_bytes=rows_of(n, rows)))
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_array_equal(a, b)  # thresholds, modularity, counts, stability, labels, best
    assert len(np.unique(ref[0])) > 3  # a real grid, not one threshold


@pytest.mark.parametrize("weights", CASES)
def test_warm_start_on_block_edges_equals_the_edge_list(weights):
    """cluster_coarse reads a BlockEdges graph in blocks: the same partition as from its edge list."""
    dense, ref, lean = pruners(weights, 7)
    grid = sweep.threshold_grid(weights, dense, "absolute", pruner=ref)[::-1]  # sparsest graph first
    finer = cluster.cluster(ref.edges(grid[0]), exclude=[0])
    for t in grid[1:]:
        want = cluster.cluster_coarse(ref.edges(t), finer, exclude=[0])
        got = cluster.cluster_coarse(lean.edges(t), finer, exclude=[0])
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(
            cluster.cluster(lean.edges(t), exclude=[0]), cluster.cluster(ref.edges(t), exclude=[0])
        )
        finer = want


@pytest.mark.parametrize("weights", CASES)
def test_community_terms_in_blocks_are_the_dense_sums_bit_for_bit(weights):
    n = len(weights)
    rng = np.random.default_rng(n)
    partitions = [rng.integers(0, k, n) for k in (1, 3, n // 2, n)]
    for p in partitions:
        p[0] = -1
    dense = threshold.symmetrise(weights)
    many = metrics.community_terms_many(Symmetric(weights, block_bytes=rows_of(n, 9)), partitions)
    for p, got in zip(partitions, many, strict=True):
        for a, b in zip(metrics.community_terms(dense, p), got, strict=True):
            np.testing.assert_array_equal(a, b)
    assert metrics.modularities(Symmetric(weights), partitions) == [
        metrics.modularity(dense, p) for p in partitions
    ]


def test_adjusted_rand_counts_only_the_non_empty_cells():
    def dense_table(a: np.ndarray, b: np.ndarray) -> float:
        _, ia = np.unique(a, return_inverse=True)
        _, ib = np.unique(b, return_inverse=True)
        table = np.zeros((ia.max() + 1, ib.max() + 1))
        np.add.at(table, (ia, ib), 1)
        pairs = lambda x: float((x * (x - 1) / 2).sum())  # noqa: E731
        total = len(a) * (len(a) - 1) / 2
        index, sa, sb = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
        expected = sa * sb / total if total else 0.0
        top = (sa + sb) / 2
        return 1.0 if top == expected else (index - expected) / (top - expected)

    rng = np.random.default_rng(0)
    for n in (2, 5, 40, 500):
        for k in (1, 2, n // 2 + 1, n):
            a, b = rng.integers(-1, k, n), rng.integers(-1, max(1, k // 2), n)
            assert metrics.adjusted_rand(a, b) == dense_table(a, b)
            assert metrics.adjusted_rand(a, a) == 1.0


@pytest.mark.parametrize(("sizes", "seed"), [([12, 20, 16, 16], 7), ([30, 30, 40], 8), ([10] * 9, 9)])
def test_float32_aggregate_keeps_the_labels_of_planted_groups(sizes, seed):
    """A streamed pass keeps the aggregate in float32 (compact): the sweep's partitions do not change."""
    wide, groups = planted_weights(sizes, seed)
    compact, _ = planted_weights(sizes, seed, compact=True)
    assert np.abs(wide - compact).max() < 1e-6
    assert not np.array_equal(wide, compact)  # float32 sums: other numbers
    a = sweep.sweep(wide, "absolute", exclude=[0], sym=Symmetric(wide))
    b = sweep.sweep(compact, "absolute", exclude=[0], sym=Symmetric(compact))
    np.testing.assert_array_equal(a[4][a[5]], b[4][b[5]])  # the automatic partition
    kept = groups >= 0
    assert metrics.adjusted_rand(b[4][b[5]][kept], groups[kept]) > 0.9
