"""The hierarchical view: clusters of sentences, then the words inside one of them (attn_widget.zoom)."""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget.core import Token

TEXT = "Cats purr. Cats nap. Dogs bark. Dogs dig holes. Fish swim."
PIECES = ["Cats", " purr", ".", " Cats", " nap", ".", " Dogs", " bark", ".", " Dogs", " dig", " hol", "es",
          ".", " Fish", " swim", "."]  # fmt: skip
SENTENCES = [(0, 3), (3, 6), (6, 9), (9, 14), (14, 17)]


def tokens() -> tuple[Token, ...]:
    out, at = [], 0
    for p in PIECES:
        out.append(Token(text=p, start=at, end=at + len(p)))
        at += len(p)
    return tuple(out)


def planted(seed: int = 0) -> np.ndarray:
    """Attention mostly within sentences 0-1 (cats) and 2-3 (dogs); the fish sentence on its own."""
    rng = np.random.default_rng(seed)
    n = len(PIECES)
    group = np.zeros(n, dtype=int)
    for s, (a, b) in enumerate(SENTENCES):
        group[a:b] = (0, 0, 1, 1, 2)[s]
    a = rng.random((2, 2, n, n)) * 0.05 + (group[:, None] == group[None, :])
    return a / a.sum(axis=-1, keepdims=True)


@pytest.fixture
def sentences() -> attn_widget.Analysis:
    return attn_widget.analyze_attention(planted(), tokens(), text=TEXT, unit="sentence", exclude=[],
                                         threshold=0.1)  # fmt: skip


def cats(analysis: attn_widget.Analysis) -> attn_widget.Cluster:
    return analysis.cluster_of(0)


def test_sentences_cluster_by_topic_first(sentences):
    assert [t.text for t in sentences.tokens][:2] == ["Cats purr.", " Cats nap."]
    assert cats(sentences).tokens == (0, 1)
    assert sentences.labels[2] == sentences.labels[3] != sentences.labels[0]
    assert sentences.labels[4] not in sentences.labels[:4]


def test_zooming_into_a_sentence_cluster_gives_its_words_in_place(sentences):
    z = attn_widget.zoom(sentences, cats(sentences).id)
    assert [t.text for t in z.tokens] == ["Cats", " purr.", " Cats", " nap."]  # a full stop joins its word
    assert all(TEXT[t.start : t.end] == t.text for t in z.tokens)
    assert z.text == TEXT
    assert z.options.unit == "word"
    assert z.options.zoom == (0, 1, 2, 3, 4, 5)
    assert z.notices[-1].startswith("Zoomed into cluster")
    assert sorted(i for c in z.clusters for i in c.tokens) == list(range(4))


def test_the_zoomed_graph_is_the_cluster_s_attention_renormalised_then_pooled_into_words(sentences):
    dogs = sentences.cluster_of(2)
    z = sentences.zoom(dogs.id)
    covered = list(range(6, 14))
    assert z.options.zoom == tuple(covered)
    sub = planted().mean(axis=(0, 1))[np.ix_(covered, covered)]
    sub /= sub.sum(axis=1, keepdims=True)
    words = [[0], [1, 2], [3], [4], [5, 6, 7]]  # " hol"+"es"+"." is one word, as is " bark"+"."
    want = np.array([[sub[np.ix_(a, b)].sum() / len(a) for b in words] for a in words])
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.weights, want, atol=1e-12)
    assert [t.text for t in z.tokens][4] == " holes."


def test_a_zoomed_analysis_reclusters_inside_its_cluster_and_saves(sentences, tmp_path):
    z = sentences.zoom(cats(sentences).id, unit="token", threshold=0.05)
    assert z.threshold == pytest.approx(0.05)
    again = z.recluster(threshold="auto", unit="word")
    assert again.options.zoom == z.options.zoom
    assert len(again.tokens) == 4  # Cats, purr., Cats, nap.
    back = attn_widget.Analysis.load(z.save(tmp_path / "z.attn"))
    assert back == z
    assert back.options.zoom == z.options.zoom


def test_zooming_twice_keeps_indices_into_the_whole_text(sentences):
    dogs = sentences.zoom(sentences.cluster_of(2).id, unit="word", threshold=0.0)
    inner = dogs.zoom(dogs.labels[0])
    assert set(inner.options.zoom) <= set(range(6, 14))
    assert all(TEXT[t.start : t.end] == t.text for t in inner.tokens)


def test_zoom_into_an_unknown_or_one_token_cluster_says_what_exists(sentences):
    with pytest.raises(ValueError, match="cluster 99 does not exist; clusters of 2\\+ sentences: \\["):
        sentences.zoom(99)
    with pytest.raises(ValueError, match="give a cluster id"):
        sentences.zoom("cats")  # type: ignore[arg-type]
    words = attn_widget.analyze_attention(planted(), tokens(), text=TEXT, exclude=[], threshold=0.3)
    alone = next(c for c in words.clusters if c.size == 1)
    with pytest.raises(ValueError, match="holds one token"):
        words.zoom(alone.id)


def test_zoom_rejects_options_that_would_need_the_whole_text(sentences):
    with pytest.raises(TypeError, match="aggregation"):
        sentences.zoom(cats(sentences).id, aggregation="max")


def test_a_graph_loaded_from_json_cannot_zoom_and_says_how_to_keep_what_it_needs(sentences, tmp_path):
    back = attn_widget.Analysis.load(sentences.save(tmp_path / "s.json"))
    with pytest.raises(ValueError, match=r"zoom\(\) needs the attention between the tokens.*'x\.attn'"):
        back.zoom(cats(back).id)


def test_a_streamed_long_text_zooms_from_its_token_aggregate(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    text = "The tide came in. Boats rose with it. Later the tide went out. The boats sat on mud."
    full = attn_widget.analyze(text, model, tokenizer=tokenizer, unit="sentence", keep="attention")
    streamed = attn_widget.analyze(text, model, tokenizer=tokenizer, unit="sentence", keep="summary")
    cid = next(c.id for c in streamed.clusters if c.size > 1)
    a, b = full.zoom(cid), streamed.zoom(cid)
    np.testing.assert_allclose(b.weights, a.weights, atol=1e-6)
    assert [t.text for t in b.tokens] == [t.text for t in a.tokens]
    with pytest.raises(ValueError, match="rerun the analysis you zoomed from"):
        attn_widget.rerun(b, aggregation="max")
