"""Lenses, measures and sinks on real pretrained weights (SmolLM2, MiniLM).

The sentences here are the tests' own, not the evaluation set the README reports
(benchmarks/data/coref_eval.json) nor the probe set the coreference heads come from.
"""

from __future__ import annotations

import re

import pytest

import attn_widget

pytestmark = pytest.mark.slow

SENTENCES = [  # (text, pronoun, antecedent): gender or number leaves one reading
    ("The gardener watered the roses before she went to the market to sell eggs.", "she", "gardener"),
    ("The waiter thanked the old lady because he had received a generous tip.", "he", "waiter"),
    ("The farmer sold the horses because they had grown too old to pull the cart.", "they", "horses"),
    ("The girl showed the old man her drawing, and he praised the bright colours.", "he", "man"),
]


def word_tokens(a, word: str) -> set[int]:
    """The tokens of the first whole-word occurrence of ``word`` in the text."""
    start = re.search(rf"\b{word}\b", a.text).start()
    end = start + len(word)
    return {i for i, t in enumerate(a.tokens) if t.start is not None and t.start < end and t.end > start}


@pytest.mark.parametrize("name", ["smollm2", "minilm"])
def test_the_models_own_sink_is_found_and_named_and_value_norms_come_with_the_pass(name):
    a = attn_widget.analyze(SENTENCES[0][0], model=name)
    first = "<|im_start|>" if name == "smollm2" else "[CLS]"
    assert a.tokens[0].text == first
    assert 0 in a.excluded
    assert a.options.exclude_auto
    assert any(f"'{first}' (token 0)" in n for n in a.notices)
    assert a.head_data["value_norm"].shape == a.attentions.shape[:3]
    normed = a.recluster(measure="norm")
    assert normed.options.measure == "norm"
    assert not (normed.weights == a.weights).all()


@pytest.mark.parametrize("name", ["smollm2", "minilm"])
def test_coreference_links_find_the_antecedent_that_mean_attention_misses(name):
    top, found_with_mean = 0, 0
    for text, pronoun, antecedent in SENTENCES:
        a = attn_widget.analyze(text, model=name)
        p, want = min(word_tokens(a, pronoun)), word_tokens(a, antecedent)
        top += a.links(p, k=1, lens="coreference")[0].index in want
        found_with_mean += a.links(p, k=1)[0].index in want
    assert top >= 3  # of 4
    assert top > found_with_mean


def test_a_coreference_lens_on_the_clusters_says_which_heads_it_uses():
    a = attn_widget.analyze(SENTENCES[1][0], model="smollm2", lens="coreference")
    assert a.options.lens == "coreference"
    assert a.options.lens_heads
    (notice,) = [n for n in a.notices if n.startswith("Lens 'coreference'")]
    assert "held-out probe pronouns" in notice
    la, h = a.options.lens_heads[0]
    assert f"{la}.{h} (" in notice


@pytest.mark.parametrize("name", ["smollm2", "minilm"])
def test_reference_links_point_pronouns_at_their_antecedents_and_are_sure_when_right(name):
    from attn_widget.heads.coref import coreference_heads, reference_links

    found = coreference_heads(name)
    assert found.cv_top1 > 0.6  # held out on the probe, as the lens notice says
    assert 0.5 <= found.threshold_cross < 1.0  # this model's own threshold of a sure link
    right, sure_and_wrong = 0, 0
    for text, pronoun, antecedent in SENTENCES:
        a = attn_widget.analyze(text, model=name)
        p, want = min(word_tokens(a, pronoun)), word_tokens(a, antecedent)
        refs = dict(reference_links(a))
        link = refs[p]
        assert link.index == a.links(p, k=1, lens="coreference")[0].index
        assert 0.0 <= link.confidence <= 1.0
        right += link.index in want
        assert link.confident is (link.confidence >= found.threshold_cross)
        sure_and_wrong += link.index not in want and link.confident
    assert right >= 3  # of 4
    assert sure_and_wrong == 0
