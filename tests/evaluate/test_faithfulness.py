"""Faithfulness scores: knockout and erasure against position-matched random token sets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import attn_widget
from attn_widget.core import Analysis, Cluster
from attn_widget.evaluate import faithfulness as fa
from attn_widget.evaluate.faithfulness import faithfulness, random_sets
from attn_widget.extract.perturb import knockout_mask

TEXT = "The cat sat on the mat because it was tired, and the dog slept by the door all day."


@pytest.fixture(scope="module")
def tiny(gpt2_dir):
    """A 2-layer GPT-2 with random weights and GPT-2's real tokenizer."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(gpt2_dir)
    config = GPT2Config(n_layer=2, n_head=4, n_embd=64, n_positions=128, vocab_size=len(tok))
    model = GPT2LMHeadModel(config).eval()
    model.set_attn_implementation("eager")
    return model, tok


@pytest.fixture(scope="module")
def tiny_analysis(tiny) -> Analysis:
    model, tok = tiny
    return attn_widget.analyze(TEXT, model=model, tokenizer=tok)


def test_random_sets_match_size_and_positions() -> None:
    members = [10, 11, 12, 13]
    candidates = [i for i in range(1, 60)]
    sets = random_sets(members, candidates, 50, seed=1)
    assert len(sets) == 50
    assert sets == random_sets(members, candidates, 50, seed=1)
    assert all(len(s) == 4 and len(set(s)) == 4 and not set(s) & set(members) for s in sets)
    assert all(set(s) <= set(candidates) for s in sets)
    near = np.mean([abs(np.mean(s) - 11.5) for s in sets])
    uniform = np.mean(
        [abs(np.mean(np.random.default_rng(i).choice(candidates, 4)) - 11.5) for i in range(50)]
    )
    assert near < uniform / 2
    assert random_sets(list(range(1, 50)), candidates, 5) == []  # not enough other tokens
    big = list(range(1, 40))
    overlapping = random_sets(big, candidates, 5, overlap=True)
    assert len(overlapping) == 5
    assert all(len(s) == len(big) and s != tuple(big) for s in overlapping)


def test_knockout_mask_cuts_attention_between_the_cluster_and_the_rest(tiny) -> None:
    import torch
    model, _ = tiny
    n, members, protected = 12, [3, 4, 7], [0]
    mask = knockout_mask(n, members, protected, causal=True)
    additive = torch.where(torch.as_tensor(mask), 0.0, torch.finfo(torch.float32).min)[None, None]
    ids = torch.arange(100, 100 + n)[None]
    with torch.no_grad():
        att = model(input_ids=ids, attention_mask=additive, output_attentions=True).attentions
        plain = model(input_ids=ids, output_attentions=True).attentions
    rest = [i for i in range(1, n) if i not in members]
    for layer in att:
        a = layer[0].numpy()
        assert np.abs(a[:, members][:, :, rest]).max() == 0.0
        assert np.abs(a[:, rest][:, :, members]).max() == 0.0
        assert a[:, members, 0].min() > 0  # the sink stays reachable
    empty = torch.where(torch.as_tensor(knockout_mask(n, [], protected)), 0.0, -1e30)[None, None]
    with torch.no_grad():
        same = model(input_ids=ids, attention_mask=empty, output_attentions=True).attentions
    assert torch.allclose(same[1], plain[1], atol=1e-6)


def test_scores_baselines_progress_and_cache(tiny, tiny_analysis) -> None:
    model, tok = tiny
    fa.clear_cache()
    calls = []
    handle = model.register_forward_hook(lambda *a: calls.append(1))
    seen = []
    try:
        out = faithfulness(
            tiny_analysis, model, tok, n_random=4, progress=lambda d, t, m: seen.append((d, t, m))
        )
        first_calls = len(calls)
        again = faithfulness(tiny_analysis, model, tok, n_random=4)
    finally:
        handle.remove()
    scored = [c for c in out.clusters if c.size >= 2]
    assert scored
    assert first_calls > 0
    assert len(calls) == first_calls  # the second call was served from the cache
    assert [c.scores for c in again.clusters] == [c.scores for c in out.clusters]
    assert seen[-1][:2] == (3 * len(scored), 3 * len(scored))
    assert [d for d, _, _ in seen] == list(range(1, len(seen) + 1))
    assert all(m.startswith("cluster ") for _, _, m in seen)
    for c in scored:
        f = c.scores["faithfulness"]
        assert f["output"] == "next-token distribution"
        assert isinstance(f["target"], str)
        assert f["baseline_overlaps"] == (2 * c.size > len(tiny_analysis.tokens) - 1)
        for metric in fa.METRICS:
            m = f[metric]
            if f["n_random"]:
                assert 0.0 <= m["beats"] <= 1.0
                assert m["baseline"] is not None
            assert m["score"] != m["score"] or 0.0 <= m["score"] <= 1.0  # NaN or in [0, 1]


def test_explain_with_a_model_adds_faithfulness_next_to_complexity(tiny, tiny_analysis) -> None:
    model, tok = tiny
    out = tiny_analysis.explain(model=model, tokenizer=tok, n_random=2)
    c = max(out.clusters, key=lambda c: c.size)
    assert set(c.scores) == {"complexity", "faithfulness"}
    assert c.rationale


def test_clear_errors(tiny, tiny_analysis) -> None:
    model, _ = tiny
    stripped = dataclasses.replace(
        tiny_analysis, tokens=tuple(dataclasses.replace(t, id=None) for t in tiny_analysis.tokens)
    )
    with pytest.raises(ValueError, match="needs token ids"):
        faithfulness(stripped, model)
    with pytest.raises(ValueError, match="pass model="):
        faithfulness(dataclasses.replace(tiny_analysis, model=None))
    with pytest.raises(ValueError, match=r"clusters \[77\] do not exist"):
        faithfulness(tiny_analysis, model, clusters=[77])


def _with_cluster(a: Analysis, tokens: list[int]) -> Analysis:
    return dataclasses.replace(
        a, clusters=(Cluster(id=0, tokens=tuple(tokens), modularity=0.0, internal=0.0),)
    )


@pytest.mark.slow
def test_smollm2_a_set_the_prediction_needs_beats_random_sets() -> None:
    """Copying a code needs its first occurrence; random tokens at similar positions matter less."""
    text = "Anna's code is 4827 and Tom's code is 5163. Anna's code is 48"
    a = attn_widget.analyze(text, model="smollm2")
    digits = [i for i, t in enumerate(a.tokens) if t.text.strip().isdigit()]
    first_code = digits[:4]
    assert "".join(a.tokens[i].text for i in first_code) == "4827"
    out = faithfulness(_with_cluster(a, first_code), n_random=10, clusters=[0])
    f = out.clusters[0].scores["faithfulness"]
    print("SmolLM2 planted:", {m: f[m] for m in fa.METRICS}, "target", repr(f["target"]))
    assert f["target"].strip() == "2"
    assert f["knockout"]["beats"] >= 0.8
    assert f["erasure"]["beats"] >= 0.8
    assert f["comprehensiveness"]["beats"] >= 0.8
    assert f["erasure"]["score"] > f["erasure"]["baseline"]


@pytest.mark.slow
def test_minilm_encoder_analogue() -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank today."
    a = attn_widget.analyze(text, model="minilm")
    content = [i for i, t in enumerate(a.tokens) if t.text.strip() in {"quick", "brown", "fox", "jumps"}]
    out = faithfulness(_with_cluster(a, content), n_random=6, clusters=[0])
    f = out.clusters[0].scores["faithfulness"]
    print("MiniLM:", {m: f[m] for m in fa.METRICS})
    assert f["output"] == "sentence embedding"
    assert f["target"] is None
    for metric in fa.METRICS:
        assert 0.0 <= f[metric]["score"] <= 1.0
    assert f["sufficiency"]["score"] < 1.0
    # the four content words move the sentence embedding more than most nearby random sets
    # (measured: erasure and knockout beat 6/6 random sets)
    assert f["erasure"]["beats"] >= 0.7
    assert f["knockout"]["beats"] >= 0.7


def test_random_sets_are_distinct_and_never_the_complement() -> None:
    candidates = list(range(1, 23))  # 22 tokens
    members = list(range(1, 23, 2))  # a cluster of 11: its complement is the only disjoint set
    assert random_sets(members, candidates, 10, seed=0) == []
    sets = random_sets([3, 4], list(range(1, 7)), 50, seed=0)  # only C(4, 2) = 6 disjoint pairs exist
    assert len(sets) == len(set(sets)) == 6
    assert all(not set(s) & {3, 4} for s in sets)


def test_a_cluster_of_half_the_text_gets_no_meaningless_baseline(tiny) -> None:
    model, tok = tiny
    text = "The cat sat on the mat because it was tired and the dog slept by the door all day long again ."
    a = attn_widget.analyze(text, model=model, tokenizer=tok)
    protected = set(a.excluded) | {i for i, t in enumerate(a.tokens) if t.special}
    candidates = [i for i in range(len(a.tokens)) if i not in protected]
    assert len(candidates) == 22, [t.text for t in a.tokens]
    half = candidates[::2]
    assert len(half) == 11
    f = faithfulness(_with_cluster(a, half), model, tok, n_random=10, clusters=[0], cache=False)
    f = f.clusters[0].scores["faithfulness"]
    assert f["n_random"] == 0
    assert "too short for a random baseline" in f["note"]
    for metric in fa.METRICS:
        assert f[metric]["baseline"] is None
        assert f[metric]["beats"] is None
        assert f[metric]["score"] != f[metric]["score"] or 0.0 <= f[metric]["score"] <= 1.0
    longer = faithfulness(_with_cluster(a, half[:5]), model, tok, n_random=10, clusters=[0], cache=False)
    g = longer.clusters[0].scores["faithfulness"]
    assert g["n_random"] == 10
    assert "note" not in g
    assert all(g[m]["baseline"] is not None for m in ("knockout", "erasure"))
