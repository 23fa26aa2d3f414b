"""The partition cut test: how far the output moves when attention between clusters is cut."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import attn_widget
from attn_widget.evaluate.cuttest import cut_test
from attn_widget.extract.cut import CutRunner, partition_mask
from attn_widget.graph.metrics import contiguity, contiguous_like, random_like

TEXT = "The cat sat on the mat because it was tired, and the dog slept by the door all day."


def test_contiguity_counts_neighbouring_tokens_that_share_a_cluster():
    assert contiguity(np.array([-1, 0, 0, 1, 1])) == pytest.approx(2 / 3)
    assert contiguity(np.array([0, -1, 0, 1])) == pytest.approx(1 / 2)
    assert contiguity(np.array([0, 1, 0, 1])) == 0.0


def test_the_twins_keep_the_sizes_and_the_left_out_tokens():
    labels = np.array([-1, 2, 0, 2, 1, 0, 2])
    chunks = contiguous_like(labels)
    np.testing.assert_array_equal(chunks, [-1, 0, 0, 0, 1, 1, 2])  # clusters in order of first token
    for shuffled in random_like(labels, 5, seed=1):
        assert shuffled[0] == -1
        assert sorted(np.bincount(shuffled[1:])) == sorted(np.bincount(labels[1:]))


def test_a_partition_mask_keeps_each_cluster_and_the_left_out_tokens_connected():
    mask = partition_mask(np.array([-1, 0, 0, 1]), causal=True)
    np.testing.assert_array_equal(
        mask,
        [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 1]],
    )


@pytest.fixture(scope="module")
def analysis(tiny_gpt2):
    return attn_widget.analyze(TEXT, *tiny_gpt2)


def test_one_cluster_cuts_nothing_and_chunks_compare_as_equal(analysis, tiny_gpt2):
    model, _ = tiny_gpt2
    n = len(analysis.tokens)
    one = np.where(np.arange(n) == 0, -1, 0).astype(np.int32)
    whole = cut_test(dataclasses.replace(analysis, labels=one), model)
    assert whole["divergence"] == pytest.approx(0.0, abs=1e-12)
    chunky = contiguous_like(analysis.labels)
    same = cut_test(dataclasses.replace(analysis, labels=chunky), model)
    assert same["ratio_contiguous"] == pytest.approx(1.0)
    assert same["contiguity"] == pytest.approx(contiguity(chunky))


def test_the_result_compares_with_chunks_and_random_partitions_and_is_cached(analysis, tiny_gpt2):
    model, _ = tiny_gpt2
    calls = []
    result = cut_test(analysis, model, n_random=4, progress=lambda d, t, m: calls.append((d, t)))
    runner = CutRunner(model, [t.id for t in analysis.tokens])
    own, chunks, *chance = runner.divergences([analysis.labels, contiguous_like(analysis.labels),
                                               *random_like(analysis.labels, 4, seed=0)])
    assert result["divergence"] == pytest.approx(own["main"])
    assert result["ratio_contiguous"] == pytest.approx(own["main"] / chunks["main"])
    assert result["ratio_random"] == pytest.approx(own["main"] / np.mean([c["main"] for c in chance]))
    assert result["output"] == "next-token distributions (JS divergence)"
    assert calls
    assert calls[-1][0] == calls[-1][1]
    again = []
    assert cut_test(analysis, model, n_random=4, progress=lambda d, t, m: again.append(m)) is result
    assert again == ["measured before"]


def test_words_and_sentences_are_cut_piece_by_piece_with_their_twins_made_of_whole_units(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    sentences = attn_widget.analyze("The cat sat on the mat. It was tired. Then it slept.", model, tokenizer,
                                    unit="sentence", threshold=0.0)
    sizes = np.diff(sentences.unit_starts)
    assert (sizes > 1).any()  # a sentence holds several of the model's tokens
    result = cut_test(sentences, model, n_random=3)
    runner = CutRunner(model, [t.id for t in sentences.model_tokens])
    labels = sentences.labels
    own, chunks, *chance = runner.divergences(
        [np.repeat(p, sizes) for p in [labels, contiguous_like(labels), *random_like(labels, 3, seed=0)]]
    )
    assert result["divergence"] == pytest.approx(own["main"])
    assert result["contiguous"] == pytest.approx(chunks["main"])
    assert result["random"] == pytest.approx(np.mean([c["main"] for c in chance]))


def test_an_analysis_without_token_ids_or_model_cannot_be_cut(analysis):
    tokens = tuple(dataclasses.replace(t, id=None) for t in analysis.tokens)
    no_ids = dataclasses.replace(analysis, tokens=tokens)
    with pytest.raises(ValueError, match="has none \\(made from token strings\\)"):
        cut_test(no_ids)
    with pytest.raises(ValueError, match="the cut test needs the model"):
        cut_test(dataclasses.replace(analysis, model=None))
