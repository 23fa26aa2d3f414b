"""Every feature on every family: the README's matrix, one test per cell, on tiny random-weight models.

One model per family per session (:mod:`tiny_families`), the GPT-2 tokenizer
fixture for ids, and one plain analysis per family shared by the cells that
start from one (links, explain, ablate, streamed). Encoder–decoder families (T5,
BART, Marian; :data:`tiny_families.SEQ2SEQ`) read a source and a target; their
cells are at the end. Where a feature cannot apply (generation on an encoder;
value norms, gradients, streaming and ablation on an encoder–decoder pair), the
refusal and its reason are tested instead.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from tiny_families import CAUSAL, ENCODERS, FAMILIES, SEQ2SEQ, build, build_pair, config_of

import attn_widget
from attn_widget.extract import families as table

TEXT = "The cat sat on the mat because it was tired. Then it slept."
PROMPT = "The cat sat on the"
ALL = list(FAMILIES)


PROBE_ITEMS = 24
"""Coreference probe items ``explain`` runs on each causal family here (the packaged probe has 599: about
30 s per family, which the coreference tests measure; here the cell checks that explain runs)."""


@pytest.fixture(scope="module")
def run(gpt2_tokenizer, tmp_path_factory):
    """``run(family)`` → ``(model, tokenizer, plain analysis)``, built once per family.

    Each model has its own name (``tiny-<family>``), so the process's and the disk's per-model caches
    (coreference heads) never mix them with other tests' models; the disk cache lives in a temporary folder.
    """
    from attn_widget.heads import coref

    items = coref.probe_items()[:PROBE_ITEMS]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTN_WIDGET_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(coref, "probe_items", lambda: items)

        @cache
        def made(family: str) -> tuple[Any, Any, attn_widget.Analysis]:
            model = build(family)
            model.config.name_or_path = f"tiny-{family}"
            return model, gpt2_tokenizer, attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer)

        yield made


def words(a: attn_widget.Analysis) -> list[int]:
    """Tokens that are in the graph (not special, not left out as sinks)."""
    return [i for i, t in enumerate(a.tokens) if not t.special and i not in a.excluded]


@pytest.mark.parametrize("family", ALL)
def test_analyze_gives_each_layer_and_head_a_distribution_and_clusters_every_token(family, run):
    _, _, a = run(family)
    t = len(a.tokens)
    assert a.attentions.shape == (2, 4, t, t)
    np.testing.assert_allclose(a.attentions.sum(-1), 1.0, atol=1e-4)
    if family in CAUSAL:
        assert np.all(np.triu(a.attentions, k=1) == 0), "a causal model attends to no later token"
    assert len(a.labels) == t
    assert a.clusters


@pytest.mark.parametrize("family", ALL)
def test_norm_weighs_each_head_by_what_it_writes(family, run):
    model, tok, a = run(family)
    normed = attn_widget.analyze(TEXT, model, tokenizer=tok, measure="norm")
    norms = normed.head_data["value_norm"]
    assert norms.shape == (2, 4, len(a.tokens))
    assert np.all(np.isfinite(norms))
    assert np.all(norms > 0)
    assert not np.allclose(normed.weights, a.weights), "weighing by value norms changes the graph"


@pytest.mark.parametrize("family", ALL)
def test_gradient_measures_what_the_output_depends_on(family, run):
    model, tok, a = run(family)
    grad = attn_widget.analyze(TEXT, model, tokenizer=tok, measure="gradient").head_data["gradient"]
    assert grad.shape == a.attentions.shape
    assert np.all(np.isfinite(grad))
    assert np.all(grad >= 0)
    assert grad.max() > 0


@pytest.mark.parametrize("family", ALL)
def test_a_streamed_analysis_aggregates_the_same_layers(family, run):
    model, tok, a = run(family)
    streamed = attn_widget.analyze(TEXT, model, tokenizer=tok, keep="summary")
    assert streamed.attentions is None
    np.testing.assert_allclose(streamed.weights, a.weights, atol=1e-5)
    assert streamed.head_data["top_index"].shape[:2] == (2, 4)


@pytest.mark.parametrize("family", ALL)
def test_links_are_a_tokens_strongest_in_the_graph(family, run):
    _, _, a = run(family)
    token = words(a)[-1]
    found = attn_widget.links(a, token, k=3)
    assert len(found) == 3
    assert all(link.index != token and link.index not in a.excluded for link in found)
    assert [x.weight for x in found] == sorted((x.weight for x in found), reverse=True)


@pytest.mark.parametrize("family", ALL)
def test_explain_gives_every_cluster_a_rationale(family, run):
    _, _, a = run(family)
    explained = attn_widget.explain(a)
    assert explained.clusters
    assert all(c.rationale for c in explained.clusters)


@pytest.mark.parametrize("family", ALL)
def test_ablating_a_token_removes_every_edge_to_it_and_keeps_the_models_own_mask(family, run):
    model, tok, a = run(family)
    k = words(a)[1]
    after = attn_widget.ablate(a, tokens=[k], model=model, tokenizer=tok).after.attentions
    others = [q for q in range(len(a.tokens)) if q != k]
    assert np.all(after[:, :, others, k] == 0)
    np.testing.assert_allclose(after.sum(-1), 1.0, atol=1e-4)
    if family in CAUSAL:
        assert np.all(np.triu(after, k=1) == 0)
    assert np.allclose(after[:, :, :k, :k], a.attentions[:, :, :k, :k], atol=1e-5) == (family in CAUSAL)


@pytest.mark.parametrize("family", ALL)
def test_zeroing_a_head_of_the_first_layer_changes_only_what_comes_after_it(family, run):
    model, tok, a = run(family)
    ablation = attn_widget.ablate(a, heads=[(0, 1)], model=model, tokenizer=tok)
    after = ablation.after.attentions
    np.testing.assert_allclose(after[0], a.attentions[0], atol=1e-6)
    assert not np.allclose(after[1], a.attentions[1], atol=1e-6), "layer 1 reads what head (0, 1) wrote"
    if family in CAUSAL:
        assert ablation.prediction is not None
        assert ablation.prediction.divergence > 0


@pytest.mark.parametrize("family", CAUSAL)
def test_generation_clusters_every_step_with_value_norms(family, run):
    model, tok, _ = run(family)
    gen = attn_widget.analyze_generation(PROMPT, model, tokenizer=tok, max_new_tokens=3, measure="norm")
    assert len(gen.steps) == 3
    sizes = [len(step.analysis.tokens) for step in gen.steps]
    assert sizes == [sizes[0], sizes[0] + 1, sizes[0] + 2]
    assert gen.steps[-1].analysis.head_data["value_norm"].shape == (2, 4, sizes[-1])


@pytest.mark.parametrize("family", ENCODERS)
def test_generation_is_refused_for_an_encoder_saying_why(family, run):
    model, tok, _ = run(family)
    with pytest.raises(ValueError, match="does not generate text"):
        attn_widget.analyze_generation(PROMPT, model, tokenizer=tok, max_new_tokens=2)


def test_every_family_in_the_matrix_has_an_entry_in_the_table():
    built = {config_of(f).model_type for f in FAMILIES}
    assert built <= set(table.FAMILIES), built - set(table.FAMILIES)



TARGET = "Le chat était assis sur le tapis parce qu'il était fatigué."
PAIRS = list(SEQ2SEQ)


@pytest.fixture(scope="module")
def pair(gpt2_tokenizer):
    """``pair(family)`` → ``(model, tokenizer, analysis of TEXT → TARGET)``, built once per family."""

    @cache
    def made(family: str) -> tuple[Any, Any, attn_widget.Analysis]:
        model = build_pair(family)
        a = attn_widget.analyze(TEXT, model, tokenizer=gpt2_tokenizer, target=TARGET)
        return model, gpt2_tokenizer, a

    return made


@pytest.mark.parametrize("family", PAIRS)
def test_a_pair_gives_one_graph_over_source_and_target_with_each_kind_of_attention(family, pair):
    _, _, a = pair(family)
    s, n = a.source_length, len(a.tokens)
    assert (a.source_text, a.target_text) == (TEXT, TARGET)
    assert a.attentions.shape == (2, 4, n, n)
    np.testing.assert_allclose(a.attentions.sum(-1), 1.0, atol=1e-4)
    assert np.all(a.attentions[..., :s, s:] == 0), "the encoder reads no target token"
    np.testing.assert_allclose(a.attentions[..., s:, :s].sum(-1), 0.5, atol=1e-4)  # half cross-attention
    assert np.all(np.triu(a.attentions[..., s:, s:], k=1) == 0), "the decoder reads no later target token"
    assert len(a.labels) == n


@pytest.mark.parametrize("family", PAIRS)
def test_a_pair_without_a_target_reads_the_models_own(family, pair):
    model, tok, _ = pair(family)
    a = attn_widget.analyze(TEXT, model, tokenizer=tok)
    assert a.source_text == TEXT
    assert len(a.tokens) > a.source_length + 1


@pytest.mark.parametrize("family", PAIRS)
@pytest.mark.parametrize(
    ("option", "said"),
    [({"measure": "norm"}, "measure='norm' cannot be used with encoder–decoder"),
     ({"measure": "gradient"}, "measure='gradient' cannot be used with encoder–decoder"),
     ({"keep": "summary"}, "keep='summary' streams one stack")],
)  # fmt: skip
def test_norm_gradient_and_streaming_are_refused_for_a_pair_saying_why(family, pair, option, said):
    model, tok, _ = pair(family)
    with pytest.raises(ValueError, match=said):
        attn_widget.analyze(TEXT, model, tokenizer=tok, target=TARGET, **option)


@pytest.mark.parametrize("family", PAIRS)
def test_a_pairs_links_and_cross_arcs_are_read_off_the_joint_graph(family, pair):
    _, _, a = pair(family)
    token = words(a)[-1]
    found = attn_widget.links(a, token, k=3)
    assert len(found) == 3
    assert [x.weight for x in found] == sorted((x.weight for x in found), reverse=True)
    arcs = a.arcs()
    assert arcs
    s = a.source_length
    for arc in arcs:
        assert arc.kind == "cross"
        assert arc.source > s
        assert arc.target < s
        row = a.weights[arc.source, :s]
        assert arc.target == int(np.argmax(np.where([i in a.excluded for i in range(s)], -1, row)))


@pytest.mark.parametrize("family", PAIRS)
def test_explain_gives_every_cluster_of_a_pair_a_rationale(family, pair):
    _, _, a = pair(family)
    explained = attn_widget.explain(a)
    assert explained.clusters
    assert all(c.rationale for c in explained.clusters)


@pytest.mark.parametrize("family", PAIRS)
def test_ablating_a_pair_is_refused_saying_why(family, pair):
    model, tok, a = pair(family)
    with pytest.raises(ValueError, match="runs the model again on one text"):
        attn_widget.ablate(a, tokens=[1], model=model, tokenizer=tok)


@pytest.mark.parametrize("family", PAIRS)
def test_a_pairs_generation_clusters_the_source_and_the_target_at_every_step(family, pair):
    model, tok, _ = pair(family)
    gen = attn_widget.analyze_generation(TEXT, model, tokenizer=tok, max_new_tokens=3)
    sizes = [len(step.analysis.tokens) for step in gen.steps]
    assert sizes == list(range(sizes[0], sizes[0] + len(sizes)))
    assert all(step.analysis.source_text == TEXT for step in gen.steps)


def test_every_pair_family_has_an_encoder_decoder_config():
    import transformers

    for family, (config, _, kwargs) in SEQ2SEQ.items():
        assert getattr(transformers, config)(**kwargs).is_encoder_decoder, family
