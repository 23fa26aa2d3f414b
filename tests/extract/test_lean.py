"""The memory-lean eager attention of streamed passes gives the eager attention's outputs and weights.

Checked on a tiny random Llama with grouped-query attention (with and without
padding in the mask), on SmolLM2's real weights, on the function itself against
transformers' ``eager_attention_forward``, and end to end: a streamed analysis
is the same with the lean attention as with the eager one.
"""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget.extract import lean
from attn_widget.extract.hooks import stream_attention
from attn_widget.extract.loading import eager_attention

TEXT = "The river rose overnight, so the ferry waited at the pier until the water fell again."


@pytest.fixture(scope="module")
def tiny_llama():
    """A 2-layer random Llama with 4 query heads sharing 2 key/value heads (grouped-query attention)."""
    import torch
    from transformers import LlamaConfig, LlamaModel

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    return LlamaModel(config).eval()


def run(model, ids, mask, *, use_lean):
    import torch

    context = lean.lean_attention(model) if use_lean else eager_attention(model)
    with torch.inference_mode(), context:
        out = model(input_ids=ids, attention_mask=mask, output_attentions=True, use_cache=False)
    return out.last_hidden_state, out.attentions


def assert_same(model, ids, mask):
    hidden, weights = run(model, ids, mask, use_lean=False)
    lean_hidden, lean_weights = run(model, ids, mask, use_lean=True)
    assert len(lean_weights) == len(weights) == model.config.num_hidden_layers
    np.testing.assert_allclose(lean_hidden.numpy(), hidden.numpy(), atol=1e-6)
    for got, want in zip(lean_weights, weights, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)


def test_lean_attention_equals_eager_on_a_tiny_grouped_query_llama(tiny_llama):
    import torch

    ids = torch.randint(0, 97, (1, 23), generator=torch.Generator().manual_seed(1))
    assert_same(tiny_llama, ids, torch.ones_like(ids))
    assert_same(tiny_llama, ids, None)


def test_lean_attention_equals_eager_with_padding_in_the_mask(tiny_llama):
    import torch

    ids = torch.randint(0, 97, (2, 17), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, :5] = 0  # left padding on the second sequence
    mask[0, -3:] = 0  # right padding on the first
    assert_same(tiny_llama, ids, mask)


def test_lean_attention_equals_eager_on_smollm2(smollm2):
    import torch

    model, tokenizer = smollm2
    ids = torch.tensor([tokenizer(TEXT)["input_ids"]])
    assert_same(model.base_model, ids, torch.ones_like(ids))


@pytest.mark.parametrize("masked", [False, True])
def test_the_lean_function_equals_transformers_eager_function(masked):
    import torch
    from transformers.models.llama.modeling_llama import eager_attention_forward

    class Module(torch.nn.Module):
        num_key_value_groups = 3

    g = torch.Generator().manual_seed(3)
    query = torch.randn(1, 9, 11, 8, generator=g)
    key = torch.randn(1, 3, 11, 8, generator=g)
    value = torch.randn(1, 3, 11, 8, generator=g)
    mask = None
    if masked:
        mask = torch.triu(torch.full((11, 11), torch.finfo(torch.float32).min), diagonal=1)[None, None]
    module = Module().eval()
    want = eager_attention_forward(module, query, key, value, mask, 8**-0.5)
    got = lean.lean_eager_attention(module, query, key, value, mask, 8**-0.5)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    if masked:
        assert float(got[1][0, :, 0, 1:].abs().max()) == 0.0  # the first query sees only itself


def test_the_streamed_pass_restores_the_models_attention_setting(smollm2):
    model, tokenizer = smollm2
    before = model.config._attn_implementation
    seen: list[str] = []
    stream_attention(
        model,
        tokenizer(TEXT)["input_ids"],
        name="smollm2",
        causal=True,
        on_layer=lambda layer, a, norm: seen.append(model.config._attn_implementation),
        value_norms=False,
    )
    assert set(seen) == {lean.LEAN}
    assert model.config._attn_implementation == before


def test_gpt2_keeps_transformers_eager_attention_in_a_streamed_pass(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    assert not lean.supports_lean(model)
    seen: list[str] = []
    stream_attention(
        model,
        tokenizer(TEXT)["input_ids"],
        name="tiny-gpt2",
        causal=True,
        on_layer=lambda layer, a, norm: seen.append(model.config._attn_implementation),
        value_norms=False,
    )
    assert set(seen) == {"eager"}


def test_a_streamed_smollm2_analysis_is_unchanged_by_the_lean_attention(smollm2, monkeypatch):
    model, tokenizer = smollm2
    streamed = attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep="summary")
    monkeypatch.setattr(lean, "LEAN_MODEL_TYPES", frozenset())
    eager = attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep="summary")
    np.testing.assert_allclose(streamed.weights, eager.weights, atol=1e-6)
    np.testing.assert_array_equal(streamed.labels, eager.labels)
    assert streamed.threshold == pytest.approx(eager.threshold)
    assert streamed.options.exclude == eager.options.exclude
    assert set(streamed.head_data) == set(eager.head_data)
    for name, values in eager.head_data.items():
        if np.issubdtype(np.asarray(values).dtype, np.number):
            np.testing.assert_allclose(streamed.head_data[name], values, atol=1e-6)
        else:
            np.testing.assert_array_equal(streamed.head_data[name], values)
