"""Streamed analyses (keep='summary') against the same analysis with the raw attention kept.

A streamed forward pass reduces each layer as the model computes it and drops it;
what it keeps must give the same graph, the same sinks, the same clusters and
the same hover links as aggregating the whole ``[layer, head, T, T]`` tensor.
"""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget import DroppedData

TEXT = (
    "The committee met on Tuesday. Its chair, Dr. Rao, opened the session and read the minutes. "
    "Nobody objected, so the vote went ahead! The motion passed by nine votes to two."
)

AGGREGATIONS = [
    ("mean", {}),
    ("max", {}),
    ("rollout", {}),
    ("layers", {"layers": [1]}),
    ("heads", {"heads": [(0, 1), (1, 0)]}),
]


def both(model_and_tokenizer, **options):
    model, tokenizer = model_and_tokenizer
    full = attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep="attention", **options)
    streamed = attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep="summary", **options)
    return full, streamed


@pytest.mark.parametrize("measure", ["attention", "norm"])
@pytest.mark.parametrize(("aggregation", "extra"), AGGREGATIONS)
def test_streamed_graph_equals_the_materialised_one_on_tiny_gpt2(tiny_gpt2, aggregation, extra, measure):
    full, streamed = both(tiny_gpt2, aggregation=aggregation, measure=measure, **extra)
    assert (full.kept, streamed.kept) == ("attention", "summary")
    assert streamed.attentions is None
    np.testing.assert_allclose(streamed.weights, full.weights, atol=1e-6)
    assert streamed.options.exclude == full.options.exclude
    np.testing.assert_array_equal(streamed.labels, full.labels)
    assert streamed.threshold == pytest.approx(full.threshold)


@pytest.mark.parametrize("measure", ["attention", "norm"])
@pytest.mark.parametrize(("aggregation", "extra"), AGGREGATIONS)
def test_streamed_graph_equals_the_materialised_one_on_smollm2(smollm2, aggregation, extra, measure):
    full, streamed = both(smollm2, aggregation=aggregation, measure=measure, **extra)
    np.testing.assert_allclose(streamed.weights, full.weights, atol=1e-5)
    assert streamed.options.exclude == full.options.exclude
    np.testing.assert_array_equal(streamed.labels, full.labels)


@pytest.mark.parametrize("lens", ["late", "previous-token"])
def test_a_streamed_lens_picks_the_same_heads_and_graph_on_smollm2(smollm2, lens):
    full, streamed = both(smollm2, lens=lens)
    assert streamed.options.lens_heads == full.options.lens_heads
    np.testing.assert_allclose(streamed.weights, full.weights, atol=1e-5)


def test_a_streamed_analysis_hovers_the_same_strongest_links(smollm2):
    full, streamed = both(smollm2)
    for token in (3, 10, len(full.tokens) - 1):
        got = [(link.index, link.direction) for link in streamed.links(token, k=3)]
        want = [(link.index, link.direction) for link in full.links(token, k=3)]
        assert got == want
        np.testing.assert_allclose([x.weight for x in streamed.links(token, k=3)],
                                   [x.weight for x in full.links(token, k=3)], atol=1e-5)  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [{"threshold": 0.05}, {"method": "leiden", "seed": 3}, {"exclude": []}, {"unit": "word"},
     {"unit": "sentence", "exclude": [0]}],
)  # fmt: skip
def test_recluster_of_a_streamed_analysis_matches_the_materialised_one(tiny_gpt2, changes):
    full, streamed = both(tiny_gpt2)
    a, b = full.recluster(**changes), streamed.recluster(**changes)
    assert b.kept == "summary"
    np.testing.assert_allclose(b.weights, a.weights, atol=1e-6)
    np.testing.assert_array_equal(b.labels, a.labels)
    assert [t.text for t in b.tokens] == [t.text for t in a.tokens]


@pytest.mark.parametrize("changes", [{"aggregation": "max"}, {"measure": "norm"}, {"lens": "late"},
                                     {"layers": [0]}])  # fmt: skip
def test_asking_a_streamed_analysis_for_dropped_data_names_it_and_offers_a_rerun(tiny_gpt2, changes):
    _, streamed = both(tiny_gpt2)
    with pytest.raises(DroppedData, match="rerun") as caught:
        streamed.recluster(**changes)
    assert caught.value.rerun is True
    assert caught.value.changes == changes
    assert str(next(iter(changes))) in str(caught.value)


def test_rerun_runs_the_model_again_and_gives_what_recluster_could_not(tiny_gpt2):
    full, streamed = both(tiny_gpt2)
    again = attn_widget.rerun(streamed, aggregation="max", keep="summary")
    assert again.kept == "summary"
    assert again.options.aggregation == "max"
    np.testing.assert_allclose(again.weights, full.recluster(aggregation="max").weights, atol=1e-6)
    short = streamed.rerun(aggregation="rollout")  # keep="auto": this short text keeps its attention
    assert short.kept == "attention"
    np.testing.assert_allclose(short.weights, full.recluster(aggregation="rollout").weights, atol=1e-6)


def test_a_streamed_analysis_saved_and_loaded_can_still_change_its_unit(tiny_gpt2, tmp_path):
    _, streamed = both(tiny_gpt2)
    back = attn_widget.Analysis.load(streamed.save(tmp_path / "long.attn"))
    assert back == streamed
    assert back.kept == "summary"
    assert len(back.recluster(unit="sentence").tokens) < len(back.tokens)


def test_a_graph_loaded_from_json_cannot_change_its_unit_nor_offer_a_rerun(tiny_gpt2, tmp_path):
    _, streamed = both(tiny_gpt2)
    back = attn_widget.Analysis.load(streamed.save(tmp_path / "long.json"))
    assert back.kept == "graph"
    with pytest.raises(ValueError, match="unit"):
        back.recluster(unit="word")
    with pytest.raises(DroppedData) as caught:
        back.recluster(aggregation="max")
    assert caught.value.rerun is False


def test_the_gradient_measure_cannot_be_streamed_and_says_what_to_use(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    with pytest.raises(ValueError, match=r"measure='gradient'.*keep='attention'"):
        attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep="summary", measure="gradient")
