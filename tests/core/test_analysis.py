"""The frozen Analysis: recluster without a forward pass, persistence, and errors on bad input."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from factories import Planted, planted_input

from attn_widget import Analysis, analyze_attention
from attn_widget.graph.threshold import symmetrise


@pytest.fixture(scope="module")
def planted() -> Planted:
    return planted_input([8, 12, 10], n_layers=3, n_heads=4, seed=2)


@pytest.fixture(scope="module")
def result(planted):
    return planted.analyze(text="some text")


def test_the_result_is_frozen_and_its_arrays_read_only_while_the_callers_stay_writable(planted, result):
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.threshold = 0.5  # type: ignore[misc]
    for array in (result.labels, result.weights, result.attentions, result.sweep.labels):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    assert planted.attention.flags.writeable


def test_recluster_at_a_new_threshold_reuses_the_attention_and_the_sweep(result):
    t = float(result.sweep.thresholds[-3])
    new = result.recluster(threshold=t)
    assert new.threshold == t
    assert not new.options.auto_threshold
    assert new.sweep is result.sweep
    assert np.shares_memory(new.attentions, result.attentions)
    np.testing.assert_array_equal(new.labels, result.sweep.labels[len(result.sweep.thresholds) - 3])
    back = new.recluster(threshold="auto")
    assert back == result


def test_recluster_off_the_grid_and_with_another_method_or_mode(result):
    lo, hi = result.sweep.thresholds[0], result.sweep.thresholds[1]
    between = result.recluster(threshold=float((lo + hi) / 2))
    assert between.labels.shape == result.labels.shape
    assert between.threshold == float((lo + hi) / 2)
    leiden = result.recluster(method="leiden")
    assert leiden.options.method == "leiden"
    assert leiden.sweep is not result.sweep
    mass = result.recluster(threshold_mode="mass")
    assert mass.options.auto_threshold
    assert 0 < mass.threshold < 1


def test_recluster_can_change_the_aggregation_only_while_raw_attention_is_kept(result, tmp_path):
    rolled = result.recluster(aggregation="rollout")
    assert rolled.options.aggregation == "rollout"
    assert not np.allclose(rolled.weights, result.weights)
    from_json = Analysis.load(result.save(tmp_path / "a.json"))
    assert from_json.recluster(threshold=result.sweep.thresholds[2]).threshold == result.sweep.thresholds[2]
    with pytest.raises(ValueError, match=r"has no raw attention .* re-run analyze"):
        from_json.recluster(aggregation="max")
    with pytest.raises(TypeError, match=r"recluster\(\) got unexpected keyword arguments \['treshold'\]"):
        result.recluster(treshold=0.1)


def test_to_dict_is_json_and_round_trips_exactly(result, tmp_path):
    d = json.loads(json.dumps(result.to_dict()))
    again = Analysis.from_dict(d)
    assert again.to_dict() == result.to_dict()
    assert Analysis.from_dict(d, attentions=result.attentions) == result
    zipped = Analysis.load(result.save(tmp_path / "a.attn"))
    assert zipped == result
    assert zipped.attentions.dtype == np.float32


def test_loading_bad_files_says_what_is_wrong(result, tmp_path):
    with pytest.raises(FileNotFoundError, match="no analysis file at"):
        Analysis.load(tmp_path / "missing.attn")
    (tmp_path / "junk.attn").write_text("not a zip")
    with pytest.raises(ValueError, match=r"is not an analysis file written by Analysis\.save"):
        Analysis.load(tmp_path / "junk.attn")
    old = {**result.to_dict(), "format_version": 0}
    with pytest.raises(ValueError, match="format_version 0 is not supported"):
        Analysis.from_dict(old)


def test_hugging_face_attention_tuples_give_the_same_result_as_the_array(planted, result):
    att = planted.attention
    hf = tuple(torch.from_numpy(att[i][None]) for i in range(att.shape[0]))
    assert analyze_attention(hf, planted.tokens, exclude=[0], text="some text") == result


def test_a_threshold_outside_the_sliders_range_is_refused_at_both_ends(result):
    strongest = float(symmetrise(result.weights).max())
    for bad in (-1.0, strongest * 1.5, 2.0):
        with pytest.raises(ValueError, match=rf"outside \[0, {strongest:g}\] for threshold_mode='absolute'"):
            result.recluster(threshold=bad)
    top = result.recluster(threshold=strongest)  # the top of the range keeps only the strongest edge
    assert sum(c.size > 1 for c in top.clusters) == 1
    assert top.labels[0] == -1


def test_the_table_lists_clusters_with_their_tokens(result):
    lines = result.table().splitlines()
    assert lines[0].split() == ["id", "size", "modularity", "inside", "tokens"]
    assert len(lines) == 1 + len(result.clusters)
    assert "'w1'" in lines[1]


def good(n=5):
    att = np.full((2, 2, n, n), 1.0 / n, dtype=np.float32)
    return att, [f"t{i}" for i in range(n)]


def with_value(value, where=(0, 1, 2, 3)):
    att, tokens = good()
    att[where] = value
    return att, tokens


def rows_off():
    att, tokens = good()
    att[1, 0, 3] *= 2
    return att, tokens


BAD_INPUTS = [
    ((np.ones((2, 5, 5)), ["a"] * 5), {}, r"has shape \(2, 5, 5\); expected \[layers, heads, T, T\]"),
    ((np.ones((1, 1, 5, 4)), ["a"] * 5), {}, r"shape \(1, 1, 5, 4\)"),
    (with_value(np.nan), {}, r"NaN or inf \(first at \[layer, head, query, key\] = \[0, 1, 2, 3\]\)"),
    (with_value(np.inf), {}, r"NaN or inf"),
    (with_value(-0.1), {}, r"negative weights .* pass softmax probabilities, not logits"),
    (rows_off(), {}, r"row 3 of layer 1, head 0 sums to 2\.0000\. Pass post-softmax attention"),
    ((good()[0], ["a"] * 4), {}, r"got 4 tokens but the attention covers 5"),
    ((good()[0], "hello"), {}, r"tokens='hello' is one string; pass one string per token"),
    (good(), {"method": "kmeans"}, r"unknown clustering method 'kmeans'; choose one of 'louvain'"),
    (good(), {"aggregation": "median"}, r"unknown aggregation 'median'; choose one of"),
    (good(), {"threshold_mode": "relative"}, r"unknown threshold mode 'relative'; choose one of 'absolute'"),
    (good(), {"threshold": "best"}, r"threshold='best': give a number or 'auto'"),
    (good(), {"threshold": True}, r"threshold=True: give a number or 'auto'"),
    (good(), {"threshold": -0.1}, r"threshold=-0.1 is outside \[0, 0\.2\] for threshold_mode='absolute'"),
    (good(), {"threshold": float("nan")}, r"threshold=nan is outside \[0, 0\.2\]"),
    (good(), {"threshold": 1.5, "threshold_mode": "mass"},
     r"outside \[0, 1\] for threshold_mode='mass' \(a share of each token's attention\)"),
    (good(), {"exclude": [0, 1, 2, 3, 4]}, r"leaves no token to cluster"),
    (good(), {"exclude": [9]}, r"exclude index 9 is out of range for 5 tokens"),
    (good(), {"exclude": ["a"]}, r"exclude=\['a'\] must be a list of token indices, e\.g\. exclude=\[0\]"),
    (good(), {"exclude": 0}, r"exclude=0 must be a list of token indices"),
    (good(), {"seed": -1}, r"seed=-1 must be in \[0, 2\*\*31\)"),
    (good(), {"seed": "zero"}, r"seed='zero' must be an integer"),
    (good(), {"layers": 1}, r"layers=1 must be a list of layer indices"),
    (good(), {"heads": [(0, 1, 2)]}, r"head \(0, 1, 2\) is not a \(layer, head\) pair"),
    (good(), {"heads": [(0, 1)]}, r"aggregation='mean' does not use heads"),
    (((), ["a"]), {}, r"attentions is empty: .* attn_implementation='eager'"),
]


@pytest.mark.parametrize(("args", "kwargs", "message"), BAD_INPUTS)
def test_bad_input_raises_a_message_naming_the_value_and_the_fix(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        analyze_attention(*args, **kwargs)


def test_batched_hugging_face_attention_asks_for_one_sequence():
    att, tokens = good()
    batch = tuple(torch.from_numpy(np.stack([a, a])) for a in att)
    with pytest.raises(ValueError, match="a batch of 2 sequences; analyse one sequence at a time"):
        analyze_attention(batch, tokens)


def test_tokens_from_pieces_give_offsets_into_the_text_they_spell():
    from attn_widget import Token
    from attn_widget.synthetic import tokens_from_pieces

    text, tokens = tokens_from_pieces(["The", " cat", " sat", "."])
    assert text == "The cat sat."
    assert tokens[0].special
    assert tokens[0].start is None
    assert [text[t.start : t.end] for t in tokens[1:]] == ["The", " cat", " sat", "."]
    assert tokens_from_pieces(["a"], bos=None)[1] == [Token("a", 0, 1)]
