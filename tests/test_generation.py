"""attn_widget.analyze_generation: a Generation whose steps are analyses; clusters followed across steps."""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget.core import Generation
from attn_widget.graph.steps import prefix_text

PROMPT = "The cat sat on the mat because it was tired, and the dog"


@pytest.fixture(scope="module")
def tiny_generation(tiny_gpt2) -> Generation:
    model, tok = tiny_gpt2
    return attn_widget.analyze_generation(PROMPT, model=model, tokenizer=tok, max_new_tokens=6)


def test_each_step_analyses_the_prompt_and_the_tokens_up_to_its_own(tiny_generation):
    g = tiny_generation
    assert len(g.steps) == 6
    for k, step in enumerate(g.steps):
        a = step.analysis
        assert len(a.tokens) == g.prompt_length + k + 1
        assert step.position == len(a.tokens) - 1
        assert step.token == a.tokens[-1]
        assert a.text == prefix_text(g.analysis.text, a.tokens)
        np.testing.assert_array_equal(
            a.attentions, g.analysis.attentions[:, :, : len(a.tokens), : len(a.tokens)]
        )
        assert len(step.tracks) == len(a.clusters)
        assert all((t >= 0) == (c.size > 1) for t, c in zip(step.tracks, a.clusters, strict=True))
    assert g.analysis.text == PROMPT + g.text
    assert g.stop == "length"
    assert g.settings.max_new_tokens == 6
    assert not g.settings.sample


def test_steps_share_one_attention_array_instead_of_copying_it(tiny_generation):
    last = tiny_generation.analysis.attentions
    assert all(np.shares_memory(s.analysis.attentions, last) for s in tiny_generation.steps)


def test_every_step_uses_the_clustering_options_given(tiny_gpt2):
    model, tok = tiny_gpt2
    g = attn_widget.analyze_generation(
        PROMPT, model=model, tokenizer=tok, max_new_tokens=3, threshold_mode="mass", aggregation="max", seed=2
    )
    for step in g.steps:
        o = step.analysis.options
        assert (o.threshold_mode, o.aggregation, o.seed) == ("mass", "max", 2)


def test_a_clusters_track_names_the_step_it_formed_at(tiny_generation):
    g = tiny_generation
    for step in g.steps:
        for c, track in zip(step.analysis.clusters, step.tracks, strict=True):
            if track < 0:
                assert g.formed_at(step.index, c.id) is None
                continue
            assert g.formed_at(step.index, c.id) == g.tracks[track].born <= step.index
            born = g.steps[g.tracks[track].born]
            assert track in born.tracks
    alive_slots = [[g.tracks[t].slot for t in s.tracks if t >= 0] for s in g.steps]
    assert all(len(set(slots)) == len(slots) for slots in alive_slots)  # one colour per cluster on screen
    formed = [e for e in g.events if e.kind == "formed"]
    assert all(g.tracks[e.tracks[0]].born == e.step for e in formed)


def test_the_norm_measure_reads_each_steps_share_of_the_value_norms(tiny_gpt2):
    model, tok = tiny_gpt2
    g = attn_widget.analyze_generation(PROMPT, model=model, tokenizer=tok, max_new_tokens=3, measure="norm")
    last = g.analysis.head_data["value_norm"]
    for step in g.steps:
        n = len(step.analysis.tokens)
        assert step.analysis.options.measure == "norm"
        np.testing.assert_array_equal(step.analysis.head_data["value_norm"], last[..., :n])
    with pytest.raises(ValueError, match="measure='gradient' needs one backward pass over each step"):
        attn_widget.analyze_generation(
            PROMPT, model=model, tokenizer=tok, max_new_tokens=2, measure="gradient"
        )


def test_a_lens_and_a_measure_change_recluster_every_step_as_a_fresh_generation_would(tiny_gpt2):
    model, tok = tiny_gpt2
    g = attn_widget.analyze_generation(PROMPT, model=model, tokenizer=tok, max_new_tokens=3)
    changed = attn_widget.recluster(g, lens="late", measure="norm")
    fresh = attn_widget.analyze_generation(
        PROMPT, model=model, tokenizer=tok, max_new_tokens=3, lens="late", measure="norm"
    )
    assert changed.text == fresh.text
    for ours, theirs in zip(changed.steps, fresh.steps, strict=True):
        o = ours.analysis.options
        assert (o.lens, o.measure, o.lens_heads) == ("late", "norm", theirs.analysis.options.lens_heads)
        np.testing.assert_allclose(ours.analysis.weights, theirs.analysis.weights, rtol=1e-6, atol=1e-7)
        assert ours.analysis.labels.tolist() == theirs.analysis.labels.tolist()
    assert changed.tracks == fresh.tracks


def test_changing_the_measure_finds_the_generations_coreference_heads_again(
    tiny_gpt2_dir, heads_per_measure
):
    g = attn_widget.analyze_generation(PROMPT, model=str(tiny_gpt2_dir), max_new_tokens=3, lens="coreference")
    assert all(s.analysis.options.lens_heads == heads_per_measure["attention"] for s in g.steps)
    changed = g.recluster(measure="norm")
    for step in changed.steps:
        o = step.analysis.options
        assert (o.lens, o.measure, o.lens_heads) == ("coreference", "norm", heads_per_measure["norm"])
    back = changed.recluster(measure="attention")
    assert all(s.analysis.options.lens_heads == heads_per_measure["attention"] for s in back.steps)


def test_options_that_do_not_exist_and_bad_settings_fail_before_the_model_runs(tiny_gpt2):
    model, tok = tiny_gpt2
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['temprature'\\]"):
        attn_widget.analyze_generation(PROMPT, model=model, tokenizer=tok, temprature=0.5)
    with pytest.raises(ValueError, match="unknown clustering method 'nope'"):
        attn_widget.analyze_generation(PROMPT, model=model, tokenizer=tok, method="nope")


def test_a_generation_saves_and_loads_back_equal(tiny_generation, tmp_path):
    g = tiny_generation
    back = Generation.load(g.save(tmp_path / "run.gen"))
    assert back == g
    assert np.shares_memory(back.steps[0].analysis.attentions, back.analysis.attentions)
    light = Generation.load(g.save(tmp_path / "run.json"))
    assert light.steps[2].analysis.attentions is None
    assert [s.analysis.labels.tolist() for s in light.steps] == [s.analysis.labels.tolist() for s in g.steps]
    assert light.tracks == g.tracks
    assert light.events == g.events


def test_a_file_of_another_kind_is_refused_with_its_name(tmp_path, tiny_generation):
    path = tiny_generation.steps[0].analysis.save(tmp_path / "one.attn")
    with pytest.raises(ValueError, match=r"holds no generation\.json"):
        Generation.load(path)


@pytest.mark.slow
def test_smollm2_chat_generation_hides_the_template_and_leaves_it_out_of_the_graph(smollm2):
    g = attn_widget.analyze_generation("Name three colours.", model="smollm2", max_new_tokens=12, chat=True)
    last = g.analysis
    assert set(g.hidden) <= set(last.excluded)  # the template is left out with the sinks
    assert not any(i in g.hidden for c in last.clusters for i in c.tokens)
    notice = next(n for n in last.notices if n.startswith("Left out of the graph"))
    assert "chat template's" in notice
    assert "'system'" not in notice
    assert last.text.startswith("Name three colours.\n\n")
    assert "<|im_start|>" not in last.text
    assert g.text == last.text.removeprefix("Name three colours.\n\n")


@pytest.mark.parametrize("unit", ["word", "sentence"])
def test_a_generation_by_words_or_sentences_is_refused_with_a_working_fix(tiny_gpt2, tiny_generation, unit):
    model, tok = tiny_gpt2
    fix = rf"generation.analysis.recluster\(unit='{unit}'\)"
    with pytest.raises(ValueError, match=rf"unit='{unit}': a generation is clustered token by token.*{fix}"):
        attn_widget.analyze_generation(PROMPT, model=model, tokenizer=tok, unit=unit)
    with pytest.raises(ValueError, match=rf"unit='{unit}': a generation is clustered token by token"):
        tiny_generation.recluster(unit=unit)
    whole = tiny_generation.analysis.recluster(unit=unit)
    assert whole.options.unit == unit
    assert whole.text == tiny_generation.analysis.text
    assert whole.model_tokens == tiny_generation.analysis.tokens
    if unit == "sentence":
        assert len(whole.tokens) < len(whole.model_tokens)
