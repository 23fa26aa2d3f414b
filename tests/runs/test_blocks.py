"""A streamed analysis computing attention a block of queries at a time equals the whole-layer one.

Block attention (:mod:`attn_widget.extract.blocks`) recomputes each layer's
weights from its queries and keys, so these tests run tiny models of several
families (grouped-query + rotary Llama, soft-capped Gemma-2, GPT-2's Conv1D,
multi-query Falcon, BERT and ModernBERT encoders) both ways, with blocks of a
few queries, and compare everything the pass keeps; the block size a budget
picks and the refusal of a text that does not fit are checked on the plan.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from tiny_families import build

import attn_widget
from attn_widget.extract import blocks

TEXT = (
    "The committee met on Tuesday. Its chair, Dr. Rao, opened the session and read the minutes. "
    "Nobody objected, so the vote went ahead! The motion passed by nine votes to two. "
) * 2

FAMILIES = ["llama", "gemma2", "gpt2", "falcon", "bert", "modernbert"]


@pytest.fixture
def spied(monkeypatch):
    """Counts the block attention's calls and the blocks it hands over; blocks of 5 queries at least."""
    calls = {"layers": 0}
    real = blocks.block_attention_forward

    def spy(*args, **kwargs):
        calls["layers"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(blocks, "block_attention_forward", spy)
    monkeypatch.setattr(blocks, "MIN_ROWS", 5)
    return calls


def whole_layers(model, tokenizer, monkeypatch, **options):
    """Today's streamed path: the family refused, so every layer is computed whole."""
    with monkeypatch.context() as m:
        m.setattr(blocks, "unsupported", lambda model: "a test asks for whole layers")
        return attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep="summary", **options)


def budget_for(n: int, heads: int, rows: int) -> int:
    return blocks.square_bytes(n) + rows * blocks.row_bytes(heads, n)


def assert_same_pass(block, whole, full):
    np.testing.assert_allclose(block.weights, whole.weights, atol=1e-6)
    np.testing.assert_array_equal(block.labels, whole.labels)
    assert block.options.exclude == whole.options.exclude
    for key in ("value_norm", "sink_received", "role_scores"):
        np.testing.assert_allclose(
            block.head_data[key], whole.head_data[key], atol=1e-5, rtol=1e-4, err_msg=key
        )
    np.testing.assert_array_equal(block.head_data["role_names"], whole.head_data["role_names"])
    top_w = block.head_data["top_weight"].astype(np.float32)
    np.testing.assert_allclose(top_w, whole.head_data["top_weight"].astype(np.float32), atol=2e-3)
    index = block.head_data["top_index"].astype(np.int64)
    picked = np.take_along_axis(
        full.attentions, index, axis=-1
    )  # each kept key's weight in the raw attention
    np.testing.assert_allclose(picked, top_w, atol=2e-3)
    for i in (5, 20, 40):
        mine, theirs = block.links(i, 3), whole.links(i, 3)
        assert [(x.index, x.direction) for x in mine] == [(x.index, x.direction) for x in theirs]
        np.testing.assert_allclose([x.weight for x in mine], [x.weight for x in theirs], rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_blocks_of_queries_give_what_whole_layers_give(family, gpt2_tokenizer, monkeypatch, spied):
    model = build(family)
    full = attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer, keep="attention", measure="norm")
    n, heads = full.attentions.shape[-1], full.attentions.shape[1]
    whole = whole_layers(model, gpt2_tokenizer, monkeypatch, measure="norm")
    assert spied["layers"] == 0
    block = attn_widget.analyze(
        TEXT,
        model,
        tokenizer=gpt2_tokenizer,
        keep="summary",
        measure="norm",
        max_memory=budget_for(n, heads, 7),
    )
    assert spied["layers"] == full.attentions.shape[0], "every layer ran through the block attention"
    assert not any("whole layer at a time" in x for x in block.notices)
    assert any("whole layer at a time" in x and "a test asks" in x for x in whole.notices)
    assert_same_pass(block, whole, full)
    np.testing.assert_allclose(block.weights, full.weights, atol=1e-5)  # and the kept attention's graph


@pytest.mark.parametrize(
    ("aggregation", "extra"), [("max", {}), ("rollout", {}), ("heads", {"heads": [(0, 1), (1, 3)]})]
)
def test_every_streamable_aggregation_adds_up_its_blocks(
    aggregation, extra, gpt2_tokenizer, monkeypatch, spied
):
    model = build("llama")
    options = {"tokenizer": gpt2_tokenizer, "aggregation": aggregation, **extra}
    full = attn_widget.analyze(TEXT, model, keep="attention", **options)
    n = full.attentions.shape[-1]
    block = attn_widget.analyze(TEXT, model, keep="summary", max_memory=budget_for(n, 4, 6), **options)
    assert spied["layers"] == 2
    np.testing.assert_allclose(block.weights, full.weights, atol=1e-5)
    np.testing.assert_array_equal(block.labels, full.labels)


def test_a_family_with_attention_code_of_its_own_runs_whole_layers_and_says_so(gpt2_tokenizer, spied):
    model = build("bloom")  # ALiBi added in Bloom's own attention code
    full = attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer, keep="attention")
    streamed = attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer, keep="summary")
    assert spied["layers"] == 0
    said = [x for x in streamed.notices if "whole layer at a time" in x]
    assert said
    assert "'bloom' computes its attention with code of its own" in said[0]
    np.testing.assert_allclose(streamed.weights, full.weights, atol=1e-5)


def test_the_block_size_is_the_largest_that_fits_the_budget():
    heads, n = 9, 8192
    for extra in (2**26, 2**28, 2**30):
        budget = blocks.square_bytes(n) + extra
        plan = blocks.plan(heads, n, max_memory=budget)
        assert plan.need <= budget
        assert budget < plan.need + blocks.row_bytes(heads, n)
        assert plan.rows == (budget - blocks.square_bytes(n)) // blocks.row_bytes(heads, n)
    assert blocks.plan(heads, n, max_memory="5GiB") == blocks.plan(heads, n, max_memory=5 * 2**30)
    default = blocks.plan(heads, n)
    assert default.rows == blocks.BLOCK_BYTES // (4 * heads * n)
    assert blocks.plan(heads, 100, max_memory="1GB").rows == 100, "a short text is one block"
    whole = blocks.plan(heads, n, reason="code of its own")
    assert whole.rows is None
    assert whole.need == blocks.square_bytes(n) + n * blocks.row_bytes(heads, n)


def test_a_text_that_does_not_fit_is_refused_naming_the_budget_and_the_length_that_would():
    heads, n, budget = 9, 8192, 500 * 2**20
    with pytest.raises(ValueError, match="too small for 8192 tokens") as err:
        blocks.plan(heads, n, max_memory="500MB")
    said = str(err.value)
    size = re.search(r"Pass max_memory='([^']+)'", said).group(1)
    fits = int(re.search(r"shorten the text to about (\d+) tokens", said).group(1))
    assert blocks.plan(heads, n, max_memory=size).rows >= blocks.MIN_ROWS, "the size named fits"
    assert blocks.plan(heads, fits, max_memory=budget).rows >= blocks.MIN_ROWS, "the length named fits"
    with pytest.raises(ValueError, match=f"too small for {fits + 50} tokens"):
        blocks.plan(heads, fits + 50, max_memory=budget)
    with pytest.raises(ValueError, match=r"whole layers \(code of its own\)"):
        blocks.plan(heads, 4096, max_memory="1GB", reason="code of its own")


def test_analyze_refuses_before_running_the_model(gpt2_tokenizer, spied):
    model = build("llama")
    with pytest.raises(
        ValueError, match=r"max_memory='20KB' \(20 KiB\) is too small for \d+ tokens.*Pass max_memory="
    ):
        attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer, keep="summary", max_memory="20KB")
    assert spied["layers"] == 0


@pytest.mark.parametrize(
    ("given", "size"), [(1000, 1000), ("2GB", 2 * 2**30), ("1.5 GiB", 3 * 2**29), ("800mb", 800 * 2**20)]
)
def test_memory_sizes_are_read_in_binary_units(given, size):
    assert blocks.parse_bytes(given) == size


@pytest.mark.parametrize("bad", ["lots", "-1GB", 0, True, "2 PB"])
def test_a_size_that_is_not_one_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match=re.escape(f"max_memory={bad!r}")):
        blocks.parse_bytes(bad)
