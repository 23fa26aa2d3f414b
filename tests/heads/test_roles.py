"""Head roles: every planted role is found, random heads get no label."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_widget.heads.roles import GLOSSES, ROLES, HeadReport, induction_probe, is_causal, score_heads
from attn_widget.heads.stats import layer_stats

PLANTED = {
    (0, 0): "previous-token",
    (0, 1): "duplicate-token",
    (1, 0): "induction",
    (1, 1): "first-token sink",
    (2, 0): "self",
    (2, 1): "broad",
}


def _random_heads(
    rng: np.random.Generator, shape: tuple[int, ...], causal: bool, spread: float = 3.0
) -> np.ndarray:
    logits = rng.normal(0.0, spread, shape)
    n = shape[-1]
    if causal:
        logits = np.where(np.tril(np.ones((n, n), dtype=bool)), logits, -np.inf)
    att = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return att / att.sum(axis=-1, keepdims=True)


def _text_with_repeats(rng: np.random.Generator, n: int) -> list[str]:
    block = [f"w{i}" for i in rng.permutation(40)[: n // 2]]
    return (block + block + ["end"])[:n]


def planted_heads(seed: int = 0, n: int = 40, causal: bool = True, layers: int = 3, heads: int = 4):
    """Attention where the heads in PLANTED follow their role (70% of each row) and the rest are random."""
    rng = np.random.default_rng(seed)
    tokens = _text_with_repeats(rng, n)
    keys = np.unique(np.asarray(tokens), return_inverse=True)[1]
    allowed = np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool)
    att = _random_heads(rng, (layers, heads, n, n), causal)
    for (layer, head), role in PLANTED.items():
        if role == "broad":
            att[layer, head] = allowed / allowed.sum(axis=1, keepdims=True)
            continue
        pattern = (ROLES[role](keys, allowed) & allowed).astype(float)
        rows = pattern.sum(axis=1) > 0
        pattern[rows] /= pattern[rows].sum(axis=1, keepdims=True)
        att[layer, head, rows] = 0.7 * pattern[rows] + 0.3 * att[layer, head, rows]
    return att.astype(np.float32), tokens


@pytest.mark.parametrize("causal", [True, False])
def test_every_planted_role_is_found_and_random_heads_stay_unlabelled(causal: bool) -> None:
    att, tokens = planted_heads(causal=causal)
    report = score_heads(att, tokens)
    for (layer, head), role in PLANTED.items():
        roles = [r["role"] for r in report.roles(layer, head)]
        assert roles == [role], f"head {layer}.{head} planted as {role!r}, labelled {roles}"
    unplanted = set(report.labels) - set(PLANTED)
    assert not unplanted, f"random heads got labels: {[(k, report.labels[k]) for k in unplanted]}"


def test_labels_show_their_score_and_a_gloss_and_serialise() -> None:
    att, tokens = planted_heads()
    report = score_heads(att, tokens)
    (entry,) = report.roles(0, 0)
    assert entry["gloss"] == GLOSSES["previous-token"]
    assert 0.6 < entry["score"] <= 1.0
    assert entry["score"] == round(float(report.scores["previous-token"][0, 0]), 3)
    assert report.scores["previous-token"][0, 0] > report.chance["previous-token"][0, 0] + 0.4
    data = json.loads(json.dumps(report.to_dict()))
    assert data["labels"]["1.0"][0]["role"] == "induction"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(6, 60), causal=st.booleans(), spread=st.floats(1.5, 6.0))
def test_random_attention_gets_no_role(seed: int, n: int, causal: bool, spread: float) -> None:
    rng = np.random.default_rng(seed)
    att = _random_heads(rng, (2, 6, n, n), causal, spread).astype(np.float32)
    tokens = [str(t) for t in rng.integers(0, max(3, n // 3), n)]
    report = score_heads(att, tokens)
    assert report.labels == {}


def test_probe_labels_are_marked_and_not_repeated() -> None:
    att, tokens = planted_heads()
    probe = HeadReport({}, {}, {}, {(1, 0): (("induction", 0.93),), (2, 3): (("induction", 0.88),)})
    merged = score_heads(att, tokens).with_probe(probe)
    assert [r["measured_on"] for r in merged.roles(1, 0)] == ["input"]  # found on the text itself
    assert merged.roles(2, 3) == [
        {"role": "induction", "score": 0.88, "gloss": GLOSSES["induction"], "measured_on": "probe"}
    ]
    assert "2.3" in merged.to_dict()["labels"]


def test_duplicate_roles_are_not_scored_on_text_without_repeats() -> None:
    att, _ = planted_heads(n=20)
    report = score_heads(att, [f"t{i}" for i in range(20)])  # no token occurs twice
    assert np.isnan(report.scores["duplicate-token"]).all()
    assert np.isnan(report.scores["induction"]).all()
    assert all(
        r["role"] not in {"duplicate-token", "induction"} for k in report.labels for r in report.roles(*k)
    )


def test_token_count_must_match() -> None:
    att, tokens = planted_heads(n=12)
    with pytest.raises(ValueError, match="got 11 tokens for attention over 12"):
        score_heads(att, tokens[:11])


def test_probe_finds_no_induction_head_in_a_random_weight_model() -> None:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2, n_head=4, n_embd=64, vocab_size=500, n_positions=128, bos_token_id=0, eos_token_id=0
    )
    model = GPT2LMHeadModel(config).eval()
    model.set_attn_implementation("eager")
    report = induction_probe(model, length=30)
    assert report.scores["induction"].shape == (2, 4)
    assert report.labels == {}


@pytest.mark.slow
def test_probe_finds_induction_heads_in_smollm2() -> None:
    from attn_widget.explain.llm import load_smollm2

    model, _ = load_smollm2()
    report = induction_probe(model, length=30)
    found = {k: v for k, v in report.labels.items()}
    assert found, f"no induction head; best score {np.nanmax(report.scores['induction']):.2f}"
    assert max(s for roles in found.values() for _, s in roles) > 0.5


@pytest.mark.parametrize("n", [1, 2, 63, 64, 65, 70, 129])
def test_a_decoder_is_told_from_any_one_later_key_with_mass(n):
    rng = np.random.default_rng(n)
    lower = np.tril(rng.random((2, 2, n, n)).astype(np.float32))
    assert is_causal(lower)
    for i, j in zip(*np.triu_indices(n, k=1), strict=True):  # every cell above the diagonal
        seen = lower.copy()
        seen[1, 1, i, j] = 1e-5
        assert not is_causal(seen), (i, j)


def test_causal_row_blocks_give_the_statistics_of_the_whole_square():
    rng = np.random.default_rng(0)
    n = 150
    att = np.tril(rng.random((3, n, n))).astype(np.float32)
    att /= att.sum(axis=-1, keepdims=True)
    blocked = layer_stats(att, causal=True)
    whole = layer_stats(att, causal=False)
    for b, w in zip(blocked, whole, strict=True):
        np.testing.assert_allclose(b, w, rtol=1e-12, atol=1e-12)
