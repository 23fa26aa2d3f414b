"""A TransformerLens ``HookedTransformer`` passed as ``model=``: read through its hook points.

Tiny configs built here (2 layers of 4 heads, random weights, no download), one
with grouped-query attention and rotary positions. The attention and value norms
are checked against TransformerLens' own cache, by hand: ``‖v_{kv(h)}(x_j) W_O^h‖``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import attn_widget

tl = pytest.importorskip("transformer_lens", reason="the transformer-lens extra is not installed")

TEXT = "The cat sat on the mat because it was tired. Then it slept."


@pytest.fixture(scope="module", params=["standard", "grouped-query"])
def hooked(request):
    import torch

    torch.manual_seed(0)
    size = dict(n_layers=2, d_model=64, n_ctx=128, d_head=16, n_heads=4, d_vocab=50257)
    if request.param == "standard":
        cfg = tl.HookedTransformerConfig(**size, act_fn="gelu", normalization_type="LN")
    else:
        cfg = tl.HookedTransformerConfig(
            **size, n_key_value_heads=2, act_fn="silu", normalization_type="RMS",
            positional_embedding_type="rotary", gated_mlp=True, d_mlp=128,
        )  # fmt: skip
    with warnings.catch_warnings():  # TransformerLens 3 says HookedTransformer goes in 4.0
        warnings.simplefilter("ignore", DeprecationWarning)
        model = tl.HookedTransformer(cfg)
    with torch.no_grad():  # sharpen the weights so heads differ
        for p in model.parameters():
            if p.dim() >= 2:
                p.mul_(3.0)
    return model.eval()


def cache_of(model, ids):
    import torch

    _, cache = model.run_with_cache(torch.tensor([ids]))
    return cache


def test_analyze_reads_the_models_own_attention_pattern(hooked, gpt2_tokenizer):
    a = attn_widget.analyze(TEXT, hooked, tokenizer=gpt2_tokenizer)
    ids = [t.id for t in a.tokens]
    cache = cache_of(hooked, ids)
    expected = np.stack([cache["pattern", layer][0].numpy() for layer in range(2)])
    np.testing.assert_allclose(a.attentions, expected, atol=1e-6)
    assert a.model == "HookedTransformer"
    assert len(a.labels) == len(ids)


def test_norm_is_attention_times_the_norm_of_what_each_head_writes(hooked, gpt2_tokenizer):
    import torch

    a = attn_widget.analyze(TEXT, hooked, tokenizer=gpt2_tokenizer, measure="norm")
    cache = cache_of(hooked, [t.id for t in a.tokens])
    for layer in range(2):
        v = cache["v", layer][0]  # [T, kv, hd]
        v = v[:, torch.arange(4) // (4 // v.shape[1])]
        with torch.no_grad():
            f = torch.einsum("thk,hkd->htd", v, hooked.blocks[layer].attn.W_O)
        np.testing.assert_allclose(a.head_data["value_norm"][layer], f.norm(dim=-1).numpy(), rtol=1e-5)
    plain = attn_widget.analyze(TEXT, hooked, tokenizer=gpt2_tokenizer)
    assert not np.allclose(a.weights, plain.weights)


def test_a_streamed_analysis_equals_the_kept_one(hooked, gpt2_tokenizer):
    kept = attn_widget.analyze(TEXT, hooked, tokenizer=gpt2_tokenizer, measure="norm")
    streamed = attn_widget.analyze(TEXT, hooked, tokenizer=gpt2_tokenizer, measure="norm", keep="summary")
    assert streamed.attentions is None
    np.testing.assert_allclose(streamed.weights, kept.weights, atol=1e-5)
    np.testing.assert_array_equal(streamed.labels, kept.labels)


def test_links_and_explain_work_and_the_rest_is_refused_saying_why(hooked, gpt2_tokenizer):
    a = attn_widget.analyze(TEXT, hooked, tokenizer=gpt2_tokenizer)
    assert len(a.links(len(a.tokens) - 1, k=2)) == 2
    explained = attn_widget.explain(a)  # its cut test masks the attention scores through the hooks
    assert all(c.rationale for c in explained.clusters)
    for call in (
        lambda: attn_widget.analyze(TEXT, hooked, tokenizer=gpt2_tokenizer, measure="gradient"),
        lambda: attn_widget.ablate(a, tokens=[3]),  # its model, by the name analyze() remembered
        lambda: attn_widget.analyze_generation("The cat", hooked, tokenizer=gpt2_tokenizer, max_new_tokens=2),
    ):
        with pytest.raises(ValueError, match=r"is not available for TransformerLens models .* analyze\(\)"):
            call()


def test_a_hooked_transformer_without_a_tokenizer_asks_for_one(hooked):
    with pytest.raises(TypeError, match="has no tokenizer: pass tokenizer="):
        attn_widget.analyze(TEXT, hooked)
