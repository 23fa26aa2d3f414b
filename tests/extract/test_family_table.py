"""The family table's edges: a family with no entry (read by name, or refused naming what is missing),
and encoder–decoder models (read as a source and the model's own target; a rerun on one text refused), each
with the reason a user reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from tiny_families import build

import attn_widget
from attn_widget.extract import families
from attn_widget.extract.forward import forward_pass

TEXT = "The cat sat on the mat because it was tired."
IDS = [464, 3797, 3332, 319, 262, 2603, 780, 340, 373, 10032, 13]


def encoder_decoder(kind: str):
    if kind == "t5":
        size = dict(num_layers=2, num_heads=4, d_model=64, d_kv=16, d_ff=128, vocab_size=50257)
        config = transformers.T5Config(**size)
        return transformers.T5ForConditionalGeneration(config)
    size = dict(encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                d_model=64, encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=50257)  # fmt: skip
    if kind == "bart":
        return transformers.BartForConditionalGeneration(transformers.BartConfig(**size))
    ids = dict(pad_token_id=1, decoder_start_token_id=1)
    marian = transformers.MarianConfig(**size, decoder_vocab_size=50257, **ids)
    return transformers.MarianMTModel(marian)


@pytest.mark.parametrize("kind", ["t5", "bart", "marian"])
def test_an_encoder_decoder_model_reads_the_text_as_its_source_and_reruns_are_refused(kind, gpt2_tokenizer):
    model = encoder_decoder(kind).eval()
    a = attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer)
    assert a.source_text == TEXT
    assert a.target_text is not None
    with pytest.raises(ValueError, match=r"ablate\(\) runs the model again on one text, and this analysis"):
        attn_widget.ablate(a, tokens=[1], model=model, tokenizer=gpt2_tokenizer)


def test_a_family_with_no_entry_but_the_usual_names_gets_everything_by_name(monkeypatch, gpt2_tokenizer):
    known = attn_widget.analyze(TEXT, build("opt"), tokenizer=gpt2_tokenizer, measure="norm")
    monkeypatch.delitem(families.FAMILIES, "opt")  # OPTAttention: v_proj and out_proj, found by name
    model = build("opt")
    a = attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer, measure="norm")
    np.testing.assert_allclose(a.head_data["value_norm"], known.head_data["value_norm"], rtol=1e-5)
    after = attn_widget.ablate(a, tokens=[3], heads=[(0, 1)], model=model, tokenizer=gpt2_tokenizer).after
    assert np.all(after.attentions[:, :, 4:, 3] == 0)


def test_a_family_whose_fused_layout_is_unknown_is_refused_naming_it_and_what_is_missing(
    monkeypatch, gpt2_tokenizer
):
    monkeypatch.delitem(families.FAMILIES, "gpt_neox")  # query_key_value: an order that cannot be guessed
    model = build("gpt_neox")
    plain = attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer)  # attention alone needs no layout
    assert "value_norm" not in plain.head_data
    said = r"family 'gpt_neox'.*measure='norm'.*value projection"
    with pytest.raises(families.UnsupportedModel, match=said):
        attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer, measure="norm")
    with pytest.raises(families.UnsupportedModel, match=r"family 'gpt_neox'.*ablate\(\) to zero heads"):
        attn_widget.ablate(plain, heads=[(0, 1)], model=model, tokenizer=gpt2_tokenizer)
    removed = attn_widget.ablate(plain, tokens=[3], model=model, tokenizer=gpt2_tokenizer).after
    assert np.all(removed.attentions[:, :, 4:, 3] == 0), "edges are removed through the declared modules"


def test_recluster_to_norm_without_value_norms_names_the_family_table(monkeypatch, gpt2_tokenizer):
    monkeypatch.delitem(families.FAMILIES, "gpt_neox")
    plain = attn_widget.analyze(TEXT, build("gpt_neox"), tokenizer=gpt2_tokenizer)
    with pytest.raises(ValueError, match=r"by a model whose layout attn_widget\.extract\.families does not"):
        plain.recluster(measure="norm")


def test_albert_runs_one_module_as_every_layer_and_each_run_is_its_own_layer():
    model = build("albert")
    found = families.layers(model)
    assert len(found) == 2
    assert found[0].block is found[1].block
    att, data = forward_pass(model, IDS, name="albert", causal=False)
    assert att.shape[0] == 2
    assert not np.allclose(att[0], att[1]), "the second run reads the first one's output"
    assert not np.allclose(data["value_norm"][0], data["value_norm"][1])


def test_streamed_layers_come_from_the_table_where_the_model_declares_none():
    model = build("bloom")  # BloomForCausalLM declares no attention recorder
    seen = []
    from attn_widget.extract.hooks import attention_modules, stream_attention

    assert [m for m, _ in attention_modules(model)] == [b.self_attention for b in model.transformer.h]
    with torch.inference_mode():
        stream_attention(model, IDS, name="bloom", causal=True, on_layer=lambda i, a, n: seen.append(i))
    assert seen == [0, 1]
