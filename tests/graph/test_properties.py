"""Invariants that hold for any attention (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attn_widget import Analysis, analyze_attention
from attn_widget.graph.aggregate import AGGREGATIONS, aggregate

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def attention(draw, max_tokens: int = 12):
    """Softmax attention [layers, heads, T, T], causal or not, with or without a sink."""
    layers = draw(st.integers(1, 3))
    heads = draw(st.integers(1, 3))
    n = draw(st.integers(2, max_tokens))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, draw(st.floats(0.1, 4.0)), (layers, heads, n, n))
    logits[..., 0] += draw(st.floats(0.0, 5.0))  # sink strength
    if draw(st.booleans()):
        logits = np.where(np.tril(np.ones((n, n), bool)), logits, -np.inf)
    att = np.exp(logits - logits.max(-1, keepdims=True))
    return (att / att.sum(-1, keepdims=True)).astype(np.float32)


def selection(draw, att: np.ndarray, name: str) -> dict:
    layers, heads = att.shape[:2]
    if name == "heads":
        pairs = st.tuples(st.integers(0, layers - 1), st.integers(0, heads - 1))
        return {"heads": draw(st.lists(pairs, min_size=1, max_size=4))}
    if name == "layers" or draw(st.booleans()):
        chosen = st.lists(st.integers(0, layers - 1), min_size=1, max_size=layers, unique=True)
        return {"layers": draw(chosen)}
    return {}


@SETTINGS
@given(data=st.data(), att=attention(), name=st.sampled_from(AGGREGATIONS.names()))
def test_aggregated_rows_sum_to_one_for_every_aggregation(data, att, name):
    n = att.shape[2]
    exclude = data.draw(st.lists(st.integers(0, n - 1), max_size=n - 1, unique=True))
    out = aggregate(att, name, exclude=exclude, **selection(data.draw, att, name))
    kept = np.setdiff1d(np.arange(n), exclude)
    np.testing.assert_allclose(out[kept].sum(axis=1), 1.0, atol=1e-9)
    assert (out >= 0).all()
    assert not out[exclude].any()
    assert not out[:, exclude].any()


@SETTINGS
@given(att=attention(), sink=st.booleans(), mode=st.sampled_from(["absolute", "mass"]),
       method=st.sampled_from(["louvain", "leiden", "infomap", "agglomerative", "dbscan"]))
def test_labels_cover_every_token_and_clusters_partition_the_kept_ones(att, sink, mode, method):
    n = att.shape[2]
    exclude = [0] if sink else []
    result = analyze_attention(att, [f"t{i}" for i in range(n)], exclude=exclude, threshold_mode=mode,
                               method=method)
    assert result.labels.shape == (n,)
    assert (result.labels[exclude] == -1).all()
    kept = np.setdiff1d(np.arange(n), exclude)
    assert (result.labels[kept] >= 0).all()
    members = sorted(i for c in result.clusters for i in c.tokens)
    assert members == kept.tolist()
    for c in result.clusters:
        assert (result.labels[list(c.tokens)] == c.id).all()
    assert result.sweep.labels.shape == (len(result.sweep.thresholds), n)


@SETTINGS
@given(att=attention(), seed=st.integers(0, 1000), method=st.sampled_from(["louvain", "leiden", "infomap"]))
def test_the_same_seed_gives_the_same_clusters(att, seed, method):
    tokens = [f"t{i}" for i in range(att.shape[2])]
    first = analyze_attention(att, tokens, seed=seed, method=method)
    again = analyze_attention(att.copy(), tokens, seed=seed, method=method)
    assert first == again
    np.testing.assert_array_equal(first.labels, again.labels)


@settings(max_examples=10, deadline=None)
@given(att=attention(max_tokens=8), text=st.text(max_size=20), suffix=st.sampled_from([".json", ".attn"]))
def test_save_and_load_round_trip_exactly(tmp_path_factory, att, text, suffix):
    tokens = [f"<{i}> & \u00e9\n" for i in range(att.shape[2])]
    result = analyze_attention(att, tokens, text=text, exclude=[0] if att.shape[2] > 2 else [])
    path = result.save(tmp_path_factory.mktemp("saved") / f"analysis{suffix}")
    loaded = Analysis.load(path)
    assert loaded.to_dict() == result.to_dict()
    if suffix == ".json":
        assert loaded.attentions is None
    else:
        assert loaded == result  # raw attention included
