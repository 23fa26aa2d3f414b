"""Generation with the KV cache: each step adds one row of attention, and the tokens are model.generate's."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_widget.extract import loading
from attn_widget.extract.forward import forward, forward_pass
from attn_widget.extract.generate import continuation, generate

PROMPT = "The cat sat on the mat because"


def reference(model, prompt_ids, n, **kwargs):
    """``model.generate``'s tokens for the same prompt ids (eager attention, as generation runs)."""
    import torch

    if kwargs.get("do_sample"):
        torch.manual_seed(kwargs.pop("seed"))
    with loading.eager_attention(model):
        out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=n, pad_token_id=0, **kwargs)
    return out[0].tolist()


def assert_rows_match_full_passes(model, written, steps=(0, 3, -1)):
    """Step k's attention (the leading block) equals a full forward pass over those tokens."""
    p = written.prompt_length
    for k in steps:
        t = p + (k % len(written.steps)) + 1
        full = forward(model, written.ids[:t], name="check", causal=True)
        np.testing.assert_allclose(written.attentions[:, :, :t, :t], full, atol=2e-5)


def test_each_step_adds_the_row_a_full_forward_pass_gives_on_the_tiny_gpt2(tiny_gpt2):
    model, tok = tiny_gpt2
    w = generate(PROMPT, model, tok, max_new_tokens=6)
    assert len(w.steps) == 6
    assert w.attentions.shape[2:] == (w.prompt_length + 6,) * 2
    assert_rows_match_full_passes(model, w)
    assert np.all(np.triu(w.attentions, k=1) == 0)


def test_value_norms_measured_key_by_key_equal_a_full_passs(tiny_gpt2):
    model, tok = tiny_gpt2
    w = generate(PROMPT, model, tok, max_new_tokens=5)
    _, data = forward_pass(model, w.ids, name="check", causal=True)
    assert w.head_data["value_norm"].shape == data["value_norm"].shape
    np.testing.assert_allclose(w.head_data["value_norm"], data["value_norm"], rtol=1e-4, atol=1e-5)


def test_greedy_tokens_are_exactly_model_generates_on_the_tiny_gpt2(tiny_gpt2):
    model, tok = tiny_gpt2
    w = generate(PROMPT, model, tok, max_new_tokens=8)
    assert w.ids == reference(model, w.ids[: w.prompt_length], 8, do_sample=False)
    assert w.text == PROMPT + w.reply
    assert [t.text for t in w.tokens[w.prompt_length :]] == [
        tok.decode([i]) for i in w.ids[w.prompt_length :]
    ]


def test_sampling_with_a_seed_repeats_model_generate_and_itself(tiny_gpt2):
    model, tok = tiny_gpt2
    settings_ = {"temperature": 0.8, "top_k": 20, "top_p": 0.9}
    w = generate(PROMPT, model, tok, max_new_tokens=8, sample=True, seed=5, **settings_)
    ids = reference(model, w.ids[: w.prompt_length], 8, do_sample=True, seed=5, **settings_)
    assert w.ids == ids
    assert generate(PROMPT, model, tok, max_new_tokens=8, sample=True, seed=5, **settings_).ids == w.ids
    other = generate(PROMPT, model, tok, max_new_tokens=8, sample=True, seed=6, **settings_)
    assert other.ids != w.ids  # a random 50k-token model: another seed draws other tokens
    assert w.settings == {**settings_, "sample": True, "seed": 5, "chat": False, "max_new_tokens": 8}


def test_each_step_reports_the_chosen_tokens_probability_among_the_top_five(tiny_gpt2):
    model, tok = tiny_gpt2
    w = generate(PROMPT, model, tok, max_new_tokens=4)
    for k, (probability, alternatives) in enumerate(w.steps):
        chosen = w.ids[w.prompt_length + k]
        assert len(alternatives) == 5
        assert alternatives[0].id == chosen  # greedy: the most likely one
        assert probability == pytest.approx(alternatives[0].probability)
        probs = [c.probability for c in alternatives]
        assert probs == sorted(probs, reverse=True)
        assert 0 < sum(probs) <= 1 + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens=0"),
        ({"max_new_tokens": 60}, "reads at most 64"),
        ({"max_new_tokens": 3, "chat": True}, "no chat template"),
        ({"max_new_tokens": 3, "sample": True, "temperature": 0}, "temperature=0"),
        ({"max_new_tokens": 3, "sample": True, "top_p": 1.5}, "top_p=1.5"),
    ],
)
def test_bad_settings_are_refused_with_the_value_and_the_fix(tiny_gpt2, kwargs, message):
    model, tok = tiny_gpt2
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        generate(PROMPT, model, tok, **kwargs)


def test_an_empty_prompt_and_an_encoder_are_refused(tiny_gpt2, minilm):
    model, tok = tiny_gpt2
    with pytest.raises(ValueError, match="empty"):
        generate("  ", model, tok, max_new_tokens=2)
    with pytest.raises(ValueError, match="does not generate text"):
        generate("A sentence.", *minilm, max_new_tokens=2)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=24))
def test_generated_tokens_spell_the_text_even_when_a_piece_ends_inside_a_character(gpt2_tokenizer, text):
    ids = gpt2_tokenizer(text)["input_ids"]
    spelled, tokens = continuation(gpt2_tokenizer, ids, offset=7)
    assert spelled == text
    assert tokens[0].start == 7
    assert tokens[-1].end == 7 + len(text)
    for before, after in itertools.pairwise(tokens):
        assert before.end == after.start  # contiguous: every character belongs to one token


@pytest.mark.slow
def test_smollm2_steps_match_full_passes_and_model_generate(smollm2):
    model, tok = smollm2
    w = generate("The capital of France is", model, tok, max_new_tokens=10)
    assert w.reply.startswith(" Paris")
    assert_rows_match_full_passes(model, w, steps=(0, 4, -1))
    assert w.ids == reference(model, w.ids[: w.prompt_length], 10, do_sample=False)
    sampled = generate("Once upon a time", model, tok, max_new_tokens=10, sample=True, seed=3, top_p=0.95)
    assert sampled.ids == reference(
        model, sampled.ids[: sampled.prompt_length], 10, do_sample=True, seed=3, top_p=0.95
    )


@pytest.mark.slow
def test_smollm2_chat_hides_the_template_and_stops_at_the_end_of_its_turn(smollm2):
    model, tok = smollm2
    prompt = "What is the capital of France?"
    w = generate(prompt, model, tok, max_new_tokens=20, chat=True)
    assert w.stop == "eos"
    assert "Paris" in w.reply
    assert "<|im" not in w.reply
    assert w.text == prompt + "\n\n" + w.reply
    shown = [t for i, t in enumerate(w.tokens) if i not in w.hidden]
    assert "".join(t.text for t in shown) == prompt + w.reply
    assert all(t.start is not None and w.text[t.start : t.end] == t.text for t in shown)
    assert w.tokens[w.hidden[-1]].text == "<|im_end|>"  # the end of the turn is generated, not shown
    assert "system" in [w.tokens[i].text for i in w.hidden]  # the template's own words are hidden too
    assert w.ids == reference(model, w.ids[: w.prompt_length], 20, do_sample=False)
    assert_rows_match_full_passes(model, w, steps=(0, -1))


def test_candidate_pieces_read_as_characters_or_hex_never_escapes(gpt2_tokenizer):
    from attn_widget.extract.tokens import byte_piece, piece_texts

    ids = gpt2_tokenizer("I love 🍕 and 👩‍👩‍👧 ok").input_ids
    shown = piece_texts(gpt2_tokenizer)(ids)
    assert not [s for s in shown if "\\x" in s or "\ufffd" in s]
    assert shown[:2] == ["I", " love"]
    assert shown[-1] == " ok"
    assert byte_piece("🍕".encode()[:2]) == "⟨F0 9F⟩"  # the first bytes of a character, named in hex
    assert byte_piece(" 🍕".encode()) == " 🍕"
