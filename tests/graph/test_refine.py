"""Hand edits of a partition: merge, split, move, pin, unpin, and their refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attn_widget
from attn_widget.graph.metrics import modularity
from attn_widget.graph.threshold import symmetrise
from attn_widget.synthetic import planted_attention


@pytest.fixture(scope="module")
def analysis():
    att, _ = planted_attention([6, 6, 6, 6], layers=2, heads=2, seed=4)
    return attn_widget.analyze_attention(att, [f"w{i}" for i in range(25)], exclude=[0])


def members(a, token):
    return set(np.flatnonzero(a.labels == a.labels[token]).tolist())


def test_merging_two_clusters_joins_their_tokens_and_records_the_modularity_change(analysis):
    a, b = analysis.clusters[0], analysis.clusters[1]
    merged = analysis.refine("merge", clusters=[a.id, b.id])
    assert members(merged, a.tokens[0]) == set(a.tokens) | set(b.tokens)
    edit = merged.partition.edits[-1]
    assert (edit.op, edit.before, edit.after) == ("merge", analysis.modularity, merged.modularity)
    assert edit.delta < 0  # the planted groups were the better partition
    assert merged.modularity == pytest.approx(modularity(symmetrise(analysis.weights), merged.labels))
    assert edit.text == "merged clusters 0 and 1 into one of 12 tokens"
    assert np.array_equal(merged.partition.base, analysis.labels)


def test_splitting_a_merged_cluster_by_reclustering_inside_finds_the_two_groups_again(analysis):
    merged = analysis.refine("merge", clusters=[0, 1])
    split = merged.refine("split", cluster=0)
    assert np.array_equal(split.labels, analysis.labels)
    assert split.modularity == pytest.approx(analysis.modularity)
    assert len(split.partition.edits) == 2


def test_splitting_by_picking_tokens_makes_them_a_cluster_and_leaves_the_rest(analysis):
    c = analysis.clusters[2]
    picked = list(c.tokens[:2])
    split = analysis.refine("split", cluster=c.id, tokens=picked)
    assert members(split, picked[0]) == set(picked)
    assert members(split, c.tokens[3]) == set(c.tokens) - set(picked)


def test_a_cluster_louvain_keeps_whole_is_still_cut_in_two(analysis):
    c = analysis.clusters[0]
    split = analysis.refine("split", cluster=c.id)
    sizes = sorted(len(members(split, t)) for t in {min(members(split, t)) for t in c.tokens})
    assert len(sizes) >= 2
    assert sum(sizes) == c.size


def test_moving_a_token_to_another_cluster_or_to_its_own(analysis):
    token = analysis.clusters[0].tokens[0]
    target = analysis.clusters[3]
    moved = analysis.refine("move", tokens=[token], to=target.id)
    assert members(moved, token) == set(target.tokens) | {token}
    alone = analysis.refine("move", tokens=token, to=None)
    assert members(alone, token) == {token}
    assert alone.partition.edits[-1].tokens == (token,)


def test_pinned_tokens_join_one_cluster_and_every_later_edit_keeps_them_together(analysis):
    a, b = analysis.clusters[0].tokens[0], analysis.clusters[2].tokens[0]
    pinned = analysis.refine("pin", tokens=[a, b])
    assert pinned.labels[a] == pinned.labels[b]
    assert pinned.partition.pins == ((a, b),)
    moved = pinned.refine("move", tokens=[a], to=None)  # the partner comes along
    assert members(moved, a) == {a, b}
    cluster = int(pinned.labels[a])
    split = pinned.refine("split", cluster=cluster)
    assert split.labels[a] == split.labels[b]
    picked = pinned.refine("split", cluster=cluster, tokens=[b])
    assert picked.labels[a] == picked.labels[b]
    freed = pinned.refine("unpin", tokens=[b])
    assert freed.partition.pins == ()
    assert np.array_equal(freed.labels, pinned.labels)
    assert members(freed.refine("move", tokens=[a], to=None), a) == {a}


def test_bad_edits_are_refused_with_the_value_and_the_fix(analysis):
    n = len(analysis.tokens)
    cases = [
        (("merge",), {"clusters": [0]}, "two or more different clusters"),
        (("merge",), {"clusters": [0, 99]}, "cluster 99 does not exist; the clusters are 0..3"),
        (("split",), {"cluster": 0, "tokens": list(analysis.clusters[0].tokens)}, "leaves nothing behind"),
        (("split",), {"cluster": 0, "tokens": [analysis.clusters[1].tokens[0]]}, "not in cluster 0"),
        (("move",), {"tokens": [0], "to": 1}, r"tokens \[0\] are left out of the graph"),
        (("move",), {"tokens": [n], "to": 1}, rf"token indices \[{n}\] are outside this text's 0..{n - 1}"),
        (("move",), {"tokens": [analysis.clusters[1].tokens[0]], "to": 1}, "already in cluster 1"),
        (("move",), {"tokens": [], "to": 1}, "non-empty list of token indices"),
        (("pin",), {"tokens": [3]}, "two or more tokens"),
        (("unpin",), {"tokens": [3]}, "is not pinned"),
        (("fold",), {}, "unknown refinement 'fold'; choose one of 'merge', 'split', 'move', 'pin', 'unpin'"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            analysis.refine(*args, **kwargs)
    with pytest.raises(TypeError, match=r"refine\('merge'\) got the wrong arguments"):
        analysis.refine("merge", cluster=1)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["merge", "split", "move", "pin"]), st.integers(0, 10**6)), max_size=6)
)
def test_any_sequence_of_edits_keeps_every_token_labelled_and_every_pin_whole(analysis, edits):
    a = analysis
    for op, r in edits:
        ids = sorted({c.id for c in a.clusters})
        kept = [i for i in range(len(a.tokens)) if a.labels[i] >= 0]
        args = {
            "merge": {"clusters": [ids[r % len(ids)], ids[(r // 7) % len(ids)]]},
            "split": {"cluster": ids[r % len(ids)]},
            "move": {"tokens": [kept[r % len(kept)]], "to": ids[(r // 11) % len(ids)]},
            "pin": {"tokens": [kept[r % len(kept)], kept[(r // 13) % len(kept)]]},
        }[op]
        try:
            a = a.refine(op, **args)
        except ValueError:
            continue  # a refused edit (same cluster twice, a singleton split) changes nothing
        assert (a.labels[1:] >= 0).all()
        assert a.labels[0] == -1
        assert sorted(t for c in a.clusters for t in c.tokens) == kept
        for group in a.partition.pins:
            assert len({int(a.labels[t]) for t in group}) == 1
        assert a.modularity == pytest.approx(modularity(symmetrise(a.weights), a.labels))
