"""Lenses: named head selections resolved on the input (roles) or the model (coreference probe)."""

from __future__ import annotations

import numpy as np
import pytest
from test_roles import PLANTED, planted_heads

import attn_widget
from attn_widget.heads.coref import head_links
from attn_widget.heads.lenses import LENSES, POSITIONAL_ROLES, resolve


def test_the_named_lenses_are_in_a_registry():
    assert LENSES.names() == [
        "all", "early", "middle", "late", "content", "previous-token", "duplicate-token", "induction",
        "coreference",
    ]


def test_layer_bands_split_the_layers_in_thirds():
    att = np.full((6, 2, 5, 5), 0.2, dtype=np.float32)
    tokens = [f"t{i}" for i in range(5)]
    heads = {name: resolve(name, att, tokens)[0] for name in ("early", "middle", "late")}
    assert heads["early"] == ((0, 0), (0, 1), (1, 0), (1, 1))
    assert heads["middle"] == ((2, 0), (2, 1), (3, 0), (3, 1))
    assert heads["late"] == ((4, 0), (4, 1), (5, 0), (5, 1))
    assert resolve("all", att, tokens) == (None, ())


def test_the_content_lens_drops_the_heads_that_look_at_a_position_and_keeps_the_others():
    att, tokens = planted_heads()
    heads, notices = resolve("content", att, tokens)
    assert notices == ()
    positional = {k for k, role in PLANTED.items() if role in POSITIONAL_ROLES}
    assert positional, "the planted set must include positional heads for this test to mean anything"
    assert not positional & set(heads)
    kept_roles = {PLANTED[k] for k in heads if k in PLANTED}
    assert kept_roles == {role for role in PLANTED.values() if role not in POSITIONAL_ROLES}
    assert len(heads) == att.shape[0] * att.shape[1] - len(positional)


def test_a_role_lens_keeps_the_heads_with_that_role():
    att, tokens = planted_heads()
    heads, _ = resolve("previous-token", att, tokens)
    assert set(heads) == {k for k, role in PLANTED.items() if role == "previous-token"}


def test_a_lens_that_finds_no_head_falls_back_to_every_head_and_says_so():
    rng = np.random.default_rng(0)
    att = rng.random((2, 2, 12, 12)).astype(np.float32)
    att /= att.sum(-1, keepdims=True)
    tokens = [f"t{i}" for i in range(12)]
    heads, notices = resolve("induction", att, tokens)
    assert heads is None
    assert notices == ("The lens 'induction' keeps no head on this input, so every head is used instead.",)
    a = attn_widget.analyze_attention(att, tokens, lens="induction")
    assert a.options.lens == "all"
    assert notices[0] in a.notices


def test_a_lens_function_gets_the_head_roles():
    att, tokens = planted_heads()

    def induction_and_duplicate(report):
        wanted = {"induction", "duplicate-token"}
        return [k for k, roles in report.labels.items() if {r for r, _ in roles} & wanted]

    a = attn_widget.analyze_attention(att, tokens, lens=induction_and_duplicate)
    wanted = {k for k, role in PLANTED.items() if role in {"induction", "duplicate-token"}}
    assert set(a.options.lens_heads) == wanted
    assert a.options.lens == "induction_and_duplicate"


def test_recluster_resolves_a_named_lens_and_keeps_it_when_other_knobs_move():
    att, tokens = planted_heads()
    a = attn_widget.analyze_attention(att, tokens)
    b = a.recluster(lens="content")
    assert b.options.lens == "content"
    c = b.recluster(method="leiden", lens="content")
    assert c.options.lens_heads == b.options.lens_heads
    assert a.recluster(lens="all").options.lens_heads is None


def test_the_coreference_lens_needs_the_model_and_says_how_to_give_it():
    att, tokens = planted_heads()
    with pytest.raises(ValueError, match=r"lens='coreference' .* names no model .*analyze\(text, model="):
        attn_widget.analyze_attention(att, tokens, lens="coreference")


def test_a_head_links_a_pronoun_to_a_token_by_the_stronger_direction_without_the_sink():
    w = np.zeros((1, 1, 4, 4))
    w[0, 0, 3] = [0.5, 0.1, 0.4, 0.0]  # the pronoun (3) attends to 0 (the sink), 1 and 2
    w[0, 0, 1, 3] = 0.0
    w[0, 0, 1] = [0.2, 0.8, 0.0, 0.0]
    w[0, 0, 2] = [0.1, 0.1, 0.8, 0.0]
    w[0, 0, 0, 0] = 1.0
    link = head_links(w, exclude=[0], pronoun=[3])
    np.testing.assert_allclose(link[0, 0], [0.0, 0.2, 0.8, 0.0])  # rows renormalised without token 0
