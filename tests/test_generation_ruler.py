"""A generation is read with one ruler: one threshold for every step; event lines match the legend."""

from __future__ import annotations

import re

import numpy as np
import pytest

import attn_widget
from attn_widget.graph.pipeline import analyze_attention
from attn_widget.graph.threshold import symmetrise, threshold_range
from attn_widget.view.modes_wire import event_words, legend_numbers

PROMPTS = [
    "The cat sat on the mat because it was tired, and the dog",
    "Alice gave Bob the book she had borrowed from the library, and he",
    "In the morning the market opens early; farmers bring fruit,",
    "When the storm reached the coast, the fishermen pulled their boats",
    "My grandmother kept a small garden behind the house where she",
]


@pytest.fixture(scope="module")
def generations(tiny_gpt2):
    model, tok = tiny_gpt2
    return [
        attn_widget.analyze_generation(p, model=model, tokenizer=tok, max_new_tokens=16, sample=True, seed=k)
        for k, p in enumerate(PROMPTS)
    ]


def legend(step) -> dict[int, int]:
    """Track → the number the widget's legend shows for its cluster at a step (1…k in reading order)."""
    numbers = legend_numbers(step.analysis)
    return {t: numbers[c.id] for c, t in zip(step.analysis.clusters, step.tracks, strict=True) if c.size > 1}


def test_the_automatic_threshold_is_chosen_once_on_the_final_text_and_kept_for_every_step(generations):
    for g in generations:
        last = g.steps[-1].analysis
        sinks = last.options.model_sinks
        own = analyze_attention(last.attentions, last.tokens, text=last.text, model_sinks=sinks)
        assert last.threshold == pytest.approx(own.threshold)  # the final text's own automatic choice
        for s in g.steps:
            a = s.analysis
            hi = float(np.max(a.weights + a.weights.T) / 2) if a.options.threshold_mode == "absolute" else 1.0
            assert a.threshold == pytest.approx(min(last.threshold, hi)), s.index
            assert a.options.auto_threshold  # still automatic: the slider says "(auto)"
            grid = np.asarray(a.sweep.thresholds)
            assert a.sweep.best == int(np.argmin(np.abs(grid - a.threshold)))  # the plot's "auto" mark


def test_a_threshold_moved_by_hand_is_kept_and_auto_brings_back_the_one_ruler(generations):
    g = generations[0]
    value = g.steps[-1].analysis.threshold * 0.5
    moved = g.recluster(threshold=value)
    assert [s.analysis.threshold for s in moved.steps] == pytest.approx([value] * len(g.steps))
    assert not any(s.analysis.options.auto_threshold for s in moved.steps)
    back = moved.recluster(threshold="auto")
    ruler = [s.analysis.threshold for s in g.steps]
    assert [s.analysis.threshold for s in back.steps] == pytest.approx(ruler)
    for a, b in zip(back.steps, g.steps, strict=True):
        np.testing.assert_array_equal(a.analysis.labels, b.analysis.labels)
    other = g.recluster(method="leiden")  # a new graph: its automatic choice, again once for all steps
    ruler = other.steps[-1].analysis.threshold
    assert all(s.analysis.threshold <= ruler + 1e-12 for s in other.steps)
    assert other.steps[0].analysis.options.auto_threshold


def test_a_threshold_given_is_kept_for_every_step_and_one_no_step_can_take_is_refused(tiny_gpt2):
    model, tok = tiny_gpt2
    g = attn_widget.analyze_generation(PROMPTS[0], model=model, tokenizer=tok, max_new_tokens=4)
    value = 0.8 * min(threshold_range(symmetrise(s.analysis.weights), "absolute")[1] for s in g.steps)
    fixed = attn_widget.analyze_generation(
        PROMPTS[0], model=model, tokenizer=tok, max_new_tokens=4, threshold=value
    )
    assert [s.analysis.threshold for s in fixed.steps] == pytest.approx([value] * 4)
    assert not any(s.analysis.options.auto_threshold for s in fixed.steps)
    with pytest.raises(ValueError, match=r"threshold=5 is outside \[0, "):
        attn_widget.analyze_generation(PROMPTS[0], model=model, tokenizer=tok, max_new_tokens=4, threshold=5)


def test_every_event_line_names_only_clusters_of_its_steps_legend_in_5_generations_of_16(generations):
    lines = 0
    for g in generations:
        assert len(g.steps) == 16
        for s in g.steps:
            shown = legend(s)
            for line, e in zip(event_words(g, s.index), g.events_at(s.index), strict=True):
                named = [int(n) for n in re.findall(r"cluster (\d+)", line)]
                alive = [shown[t] for t in e.tracks if t in shown]  # the event's clusters on screen
                assert sorted(named) == sorted(alive), (s.index, line, e)
                lines += 1
            for e in g.events_at(s.index):
                alive_now = set(s.tracks)
                before = set(g.steps[s.index - 1].tracks)
                first, rest = e.tracks[0], set(e.tracks[1:])
                if e.kind == "formed":
                    assert (first in alive_now, first in before) == (True, False)
                elif e.kind == "merged":
                    assert first in alive_now
                    assert rest <= before
                elif e.kind == "split":
                    assert first in before
                    assert rest <= alive_now
                else:
                    assert (first in alive_now, first in before) == (False, True)
    assert lines > 0  # the generations do have events to check


def test_the_prompt_reaches_the_model_as_its_tokenizer_encodes_it(tiny_gpt2):
    model, tok = tiny_gpt2
    prompt = PROMPTS[1]
    g = attn_widget.analyze_generation(prompt, model=model, tokenizer=tok, max_new_tokens=2)
    ids = [t.id for t in g.steps[0].analysis.tokens[: g.prompt_length]]
    assert ids == tok(prompt).input_ids
    assert not any("BOS" in n for n in g.notices)
    bos = attn_widget.analyze_generation(
        prompt, model=model, tokenizer=tok, max_new_tokens=2, prepend_bos=True
    )
    assert bos.prompt_length == g.prompt_length + 1
    said = " ".join(n for n in bos.notices if "BOS" in n)
    assert f"read {bos.prompt_length} prompt tokens" in said
    assert f"model.generate(tokenizer(prompt).input_ids) reads {g.prompt_length}" in said


@pytest.mark.slow
def test_smollm2_continues_the_prompt_as_the_users_own_generate_does(smollm2):
    import torch

    model, tok = smollm2
    prompt = "The capital of Italy is"
    g = attn_widget.analyze_generation(prompt, model=model, tokenizer=tok, max_new_tokens=8)
    own = model.generate(torch.tensor([tok(prompt).input_ids]), max_new_tokens=8, do_sample=False)
    assert g.text == tok.decode(own[0, len(tok(prompt).input_ids) :])
    assert not any("BOS" in n for n in g.notices)
