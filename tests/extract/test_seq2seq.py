"""Encoder–decoder models' three kinds of attention (T5, BART, Marian, tiny random configs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

import attn_widget
from attn_widget.extract.seq2seq import forward_seq2seq, joint_attention

SOURCE = [464, 3797, 3332, 319, 262, 2603, 13]
TARGET = [7120, 3797, 12, 11]


def tiny(kind: str):
    torch.manual_seed(0)
    if kind == "t5":
        size = dict(num_layers=2, num_heads=4, d_model=64, d_kv=16, d_ff=128, vocab_size=50257)
        return transformers.T5ForConditionalGeneration(transformers.T5Config(**size)).eval()
    size = dict(encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                d_model=64, encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=50257)  # fmt: skip
    if kind == "bart":
        return transformers.BartForConditionalGeneration(transformers.BartConfig(**size)).eval()
    ids = dict(pad_token_id=1, decoder_start_token_id=1, eos_token_id=2)
    config = transformers.MarianConfig(**size, decoder_vocab_size=50257, **ids)
    return transformers.MarianMTModel(config).eval()


@pytest.mark.parametrize("kind", ["t5", "bart", "marian"])
def test_one_pass_gives_encoder_decoder_and_cross_attention(kind):
    found = forward_seq2seq(tiny(kind), SOURCE, TARGET)
    s, t = len(SOURCE), len(TARGET) + 1  # the decoder reads its start token first
    assert found.encoder.shape == (2, 4, s, s)
    assert found.decoder.shape == (2, 4, t, t)
    assert found.cross.shape == (2, 4, t, s)
    for a in (found.encoder, found.decoder, found.cross):
        np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(found.decoder, k=1) == 0), "the decoder reads no later target token"


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_without_a_target_the_model_reads_its_own_output(kind):
    model = tiny(kind)
    found = forward_seq2seq(model, SOURCE, max_new_tokens=4)
    assert 1 <= len(found.target_ids) - 1 <= 4
    again = forward_seq2seq(model, SOURCE, list(found.target_ids[1:]))
    np.testing.assert_allclose(again.cross, found.cross)


def test_one_graph_over_both_texts_clusters_source_and_target_tokens_together():
    found = forward_seq2seq(tiny("bart"), SOURCE, TARGET)
    joint = joint_attention(found)
    n = len(SOURCE) + len(found.target_ids)
    assert joint.shape == (2, 4, n, n)
    np.testing.assert_allclose(joint.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(joint[..., len(SOURCE):, : len(SOURCE)], found.cross / 2)
    tokens = [f"s{i}" for i in range(len(SOURCE))] + [f"t{i}" for i in range(len(found.target_ids))]
    a = attn_widget.analyze_attention(joint, tokens, exclude=[])
    assert len(a.labels) == n
