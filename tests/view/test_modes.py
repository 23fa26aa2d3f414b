"""The widget over a Generation, a Comparison and a "remove and rerun", kernel side (no browser)."""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget import AttentionExplainer
from attn_widget.synthetic import planted_attention, tokens_from_pieces

PROMPT = "The cat sat on the mat because it was tired, and the dog"


@pytest.fixture(scope="module")
def generation(tiny_gpt2):
    model, tok = tiny_gpt2
    return attn_widget.analyze_generation(PROMPT, model=model, tokenizer=tok, max_new_tokens=4)


@pytest.fixture(scope="module")
def tiny_analysis(tiny_gpt2):
    model, tok = tiny_gpt2
    return attn_widget.analyze(PROMPT, model=model, tokenizer=tok)


def planted(pieces, groups, seed=2):
    att, _ = planted_attention(groups, layers=2, heads=2, seed=seed)
    text, tokens = tokens_from_pieces(pieces)
    return attn_widget.analyze_attention(att, tokens, text=text, model="planted")


def test_a_generation_opens_at_its_last_step_and_the_step_trait_moves_the_view(generation):
    w = AttentionExplainer(generation)
    assert w.step == 3
    assert w.analysis is generation.steps[3].analysis
    assert len(w.generation["steps"]) == 4
    w.step = 0
    assert w.analysis is generation.steps[0].analysis
    assert len(w.state["tokens"]) == generation.prompt_length + 1
    w.step = 99  # past the end: the last step
    assert w.analysis is generation.steps[-1].analysis


def test_a_knob_reclusters_every_step_and_keeps_the_step(generation):
    w = AttentionExplainer(generation)
    w.step = 1
    w.threshold_mode = "mass"
    assert w.error == ""
    assert w.step == 1
    assert all(s.analysis.options.threshold_mode == "mass" for s in w.generation_result.steps)
    assert w.analysis is w.generation_result.steps[1].analysis
    high = float(w.analysis.sweep.thresholds[-1])
    w.threshold = high  # one step's value: every step keeps it inside its own range
    assert w.error == ""
    assert all(s.analysis.threshold <= high + 1e-12 for s in w.generation_result.steps)


def test_a_comparison_shows_the_second_text_and_reclusters_both_sides():
    a = planted(["The", " cat", " sat", " on", " the", " mat"], [3, 3])
    b = planted(["The", " dog", " sat", " on", " the", " mat"], [2, 4])
    w = AttentionExplainer(attn_widget.compare(a, b))
    assert w.analysis is w.comparison_result.a
    assert w.comparison["b"]["tokens"][2] == " dog"  # after the BOS
    w.method = "louvain"
    w.aggregation = "max"
    assert w.error == ""
    assert w.comparison_result.a.options.aggregation == w.comparison_result.b.options.aggregation == "max"


def test_remove_and_rerun_from_the_view_sets_the_ablation_and_replies(tiny_analysis):
    w = AttentionExplainer(tiny_analysis)
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    w._on_custom_msg(
        None, {"type": "ablate", "id": 7, "tokens": [3], "heads": [[1, 0]], "position": None}, []
    )
    w._rerun.join(120)
    assert sent[-1] == {"type": "ablate_reply", "id": 7, "error": None}
    assert w.ablation["id"] == 7
    assert w.ablation["tokens"] == [3]
    assert w.ablation["heads"] == [[1, 0]]
    assert w.ablation_result.tokens == (3,)
    assert w.status == "ready"
    w.threshold_mode = "mass"  # the rerun beside it follows the knobs
    assert w.ablation is not None
    assert w.ablation_result.after.options.threshold_mode == "mass"
    assert w.ablation_result.before is w.analysis


def test_a_rerun_that_fails_says_why_and_the_widget_goes_on(tiny_analysis):
    w = AttentionExplainer(tiny_analysis)
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    w._on_custom_msg(None, {"type": "ablate", "id": 8, "tokens": [999], "heads": [], "position": None}, [])
    w._rerun.join(60)
    assert sent[-1]["id"] == 8
    assert "token 999 is not a token index" in sent[-1]["error"]
    assert w.status == "ready"
    assert w.ablation is None


def test_moving_to_another_step_drops_the_rerun_of_the_previous_one(generation):
    w = AttentionExplainer(generation)
    result = w.ablate(tokens=[2])
    shown = {tuple(p) for p in w.generation["steps"][-1]["slots"]}
    assert {tuple(p) for p in w.ablation["comparison"]["a_slots"]} == shown  # the rerun's colours match
    assert w.ablation is not None
    assert result.before is generation.steps[-1].analysis
    w.step = 0
    assert w.ablation is None
    assert w.ablation_result is None


def test_the_widget_refuses_other_things_by_name():
    with pytest.raises(TypeError, match="takes text \\(str\\), an Analysis, a Generation or a Comparison"):
        AttentionExplainer(np.zeros(3))  # type: ignore[arg-type]


def test_results_show_themselves_as_the_widget(generation):
    w = generation.widget
    assert isinstance(w, AttentionExplainer)
    assert w.generation is not None
    assert generation.show() is w


def test_a_lens_and_a_measure_over_a_generation_recluster_every_step_and_the_step_shows_them(generation):
    w = AttentionExplainer(generation)
    w.step = 1
    w.lens = "late"
    w.measure = "norm"
    assert w.error == ""
    assert w.step == 1
    steps = w.generation_result.steps
    assert all((s.analysis.options.lens, s.analysis.options.measure) == ("late", "norm") for s in steps)
    assert w.analysis is steps[1].analysis
    w.step = 3
    assert (w.analysis.options.lens, w.analysis.options.measure) == ("late", "norm")
    assert len(w.state["tokens"]) == len(steps[3].analysis.tokens)


def test_a_steps_hand_edits_stay_with_it_while_the_slider_moves_and_a_knob_starts_afresh(generation):
    w = AttentionExplainer(generation)
    w.step = 2
    original = generation.steps[2].analysis
    merged = w.refine("merge", clusters=[c.id for c in original.clusters[:2]])
    assert w.step == 2
    assert w.analysis is merged
    w.step = 0
    assert w.analysis is generation.steps[0].analysis
    w.step = 2
    assert w.analysis is merged  # the edit came back with its step
    assert w.partition.edits[-1].op == "merge"
    w.undo()
    assert w.analysis is original
    w.step = 0
    w.step = 2
    assert w.analysis is original  # undone: the step shows its own clustering again
    w.redo()
    w.threshold_mode = "mass"
    assert w.error == ""
    w.step = 1
    w.step = 2
    assert w.analysis is w.generation_result.steps[2].analysis  # re-clustered afresh
    assert w.analysis.partition is None


def test_the_token_map_of_a_step_is_made_for_that_steps_graph(generation):
    w = AttentionExplainer(generation)
    w.sent = []
    w.send = lambda content, buffers=None: w.sent.append((content, buffers))
    w.step = 1
    w._on_custom_msg(None, {"type": "map", "id": 3, "method": "tsne", "seed": 0}, [])
    w.map_service.join(120)
    reply, buffers = w.sent[-1]
    assert reply["error"] is None
    assert reply["key"] == w.state["map_key"]
    coords = np.frombuffer(buffers[0], dtype="<f4").reshape(-1, 2)
    assert coords.shape == (len(generation.steps[1].analysis.tokens), 2)
    w.step = 2
    assert w.state["map_key"] != reply["key"]  # the view drops the map of the step it left


def test_a_generation_view_refuses_words_and_zoom_by_name_and_keeps_its_steps(generation):
    w = AttentionExplainer(generation)
    w.unit = "word"
    assert "a generation is clustered token by token" in w.error
    assert "unit='word': unit='word'" not in w.error  # each value said once
    assert w.unit == "token"
    assert w.generation_result is generation
    w.step = 1
    biggest = max(w.analysis.clusters, key=lambda c: len(c.tokens))
    w.zoom = biggest.id
    assert f"Could not zoom into cluster {biggest.id}: this view steps through a generation" in w.error
    assert w.zoom is None
    assert w.analysis is generation.steps[1].analysis


def test_a_comparison_view_refuses_zoom_and_names_the_side_to_zoom_into():
    a = planted(["The", " cat", " sat", " on", " the", " mat"], [3, 3])
    b = planted(["The", " dog", " sat", " on", " the", " rug"], [2, 4])
    w = AttentionExplainer(attn_widget.compare(a, b))
    w.zoom = w.analysis.clusters[0].id
    assert "zoom into one side: AttentionExplainer(attn_widget.zoom(comparison.a, cluster))" in w.error
    assert w.zoom is None


def test_the_what_if_trait_says_when_a_words_what_if_applies_and_why_not(tiny_analysis, minilm_dir):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    assert AttentionExplainer(tiny_analysis.recluster(unit="word")).what_if == ""  # a causal model's words
    arrays = AttentionExplainer(planted(["The", " cat", " sat", " on", " the", " mat"], [3, 3]))
    assert "made from attention arrays" in arrays.what_if
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(minilm_dir)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)  # fmt: skip
    encoder = attn_widget.analyze("The cat sat on the mat.", BertModel(config).eval(), tok, unit="word")
    said = AttentionExplainer(encoder).what_if
    assert "is an encoder" in said
    assert "predicts no next word" in said
