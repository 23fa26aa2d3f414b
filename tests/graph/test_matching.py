"""Matching clusters of two partitions, and following clusters from one generation step to the next."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_widget.graph.matching import clusters_of, colour_slots, follow, match, unit_labels


def matched(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return match(a, b, clusters_of(a), clusters_of(b))


partitions = st.lists(st.integers(-1, 4), min_size=2, max_size=14)


def test_the_same_partition_matches_every_cluster_to_itself_with_nothing_else_to_report():
    m = matched([-1, 0, 0, 1, 1, 1, 2], [-1, 0, 0, 1, 1, 1, 2])
    assert m.pairs == ((0, 0), (1, 1))  # cluster 2 has one token: not a cluster
    assert m.unchanged


def test_a_cluster_that_comes_apart_is_a_split_and_its_mirror_a_merge():
    before, after = [0, 0, 0, 0, 1, 1], [0, 0, 2, 2, 1, 1]
    m = matched(before, after)
    assert m.split == ((0, (0, 2)),)
    assert m.pairs == ((0, 0), (1, 1)) or m.pairs == ((0, 2), (1, 1))
    back = matched(after, before)
    assert back.merged == (((0, 2), 0),)


def test_one_token_leaving_for_another_group_is_not_a_split():
    m = matched([0, 0, 0, 0, 0, -1, 3], [0, 0, 0, 0, 7, 7, 3])
    assert m.pairs == ((0, 0),)
    assert m.split == ()
    assert m.appeared == (7,)


def test_groups_with_no_shared_part_appear_and_vanish():
    m = matched([0, 0, 1, 2, 3], [4, 5, 6, 6, 6])
    assert m.vanished == (0,)
    assert m.appeared == (6,)
    assert m.pairs == ()


@settings(max_examples=200, deadline=None)
@given(partitions, st.data())
def test_split_and_merge_are_mirror_images(a, data):
    b = data.draw(st.lists(st.integers(-1, 4), min_size=len(a), max_size=len(a)))
    forward, backward = matched(a, b), matched(b, a)
    assert sorted(forward.split) == sorted((x, ys) for ys, x in backward.merged)
    assert sorted(forward.appeared) == sorted(backward.vanished)
    assert sorted(forward.pairs) == sorted((y, x) for x, y in backward.pairs)


@settings(max_examples=200, deadline=None)
@given(partitions, st.permutations(range(5)))
def test_renaming_clusters_renames_the_matching_and_changes_nothing_else(a, perm):
    a = np.asarray(a)
    renamed = np.where(a >= 0, np.asarray(perm)[np.maximum(a, 0)], -1)
    m = matched(a, renamed)
    assert m.unchanged
    assert set(m.pairs) == {(x, int(perm[x])) for x in clusters_of(a)}


def test_a_words_label_is_its_tokens_most_common_one():
    labels = np.array([0, 0, 1, 1, 1, -1, 2])
    units = np.array([0, 0, 1, 1, 2, 3, -1])
    assert unit_labels(labels, units, 4).tolist() == [0, 1, 1, -1]


def test_a_growing_cluster_keeps_its_track_and_a_new_one_forms_at_its_step():
    steps = [[-1, 0, 0, 1, 1], [-1, 0, 0, 1, 1, 1], [-1, 0, 0, 1, 1, 1, 2], [-1, 0, 0, 1, 1, 1, 2, 2]]
    per_step, tracks, events = follow([np.array(s) for s in steps])
    assert [p[1] for p in per_step] == [1, 1, 1, 1]  # cluster 1 grew and kept track 1
    assert per_step[3][2] == 2
    assert tracks[2].born == 3
    assert tracks[2].parent is None
    assert [(e.step, e.kind, e.tracks) for e in events] == [(3, "formed", (2,))]
    assert tracks[0].last == tracks[1].last == 3


def test_a_split_starts_a_child_track_and_a_merge_ends_the_absorbed_one():
    steps = [[0, 0, 0, 0, 1, 1], [0, 0, 2, 2, 1, 1, 3], [0, 0, 0, 0, 0, 0, 3]]
    per_step, tracks, events = follow([np.array(s) for s in steps])
    split = next(e for e in events if e.kind == "split")
    assert split.step == 1
    assert split.tracks[0] == per_step[0][0]
    child = per_step[1][2] if per_step[1][0] == per_step[0][0] else per_step[1][0]
    assert tracks[child].parent == per_step[0][0]
    merged = next(e for e in events if e.kind == "merged")
    assert merged.step == 2
    assert merged.tracks[0] == per_step[2][0]
    gone = [t for t in merged.tracks[1:]]
    assert gone
    assert all(tracks[t].merged_into == per_step[2][0] and tracks[t].last == 1 for t in gone)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 6)), min_size=1, max_size=25))
def test_tracks_alive_at_the_same_step_never_share_a_colour(raw):
    spans = [(first, first + length) for first, length in raw]
    slots = colour_slots(spans)
    for i, (f1, l1) in enumerate(spans):
        for j in range(i):
            f2, l2 = spans[j]
            if f1 <= l2 and f2 <= l1:
                assert slots[i] != slots[j]
