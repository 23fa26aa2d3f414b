"""Analysis.links: a token's strongest links, under the analysis's own graph or another lens/measure."""

from __future__ import annotations

import numpy as np
import pytest
from factories import make_analysis

import attn_widget
from attn_widget.core import Link


@pytest.fixture(scope="module")
def analysis():
    tokens = [f"t{i}" for i in range(17)]
    return make_analysis([5, 6, 5], n_layers=3, n_heads=4, seed=3, tokens=tokens, exclude="auto")


def test_links_are_the_strongest_shares_in_either_direction_strongest_first(analysis):
    w = analysis.weights
    for token in (3, 9, 15):
        links = analysis.links(token, k=4)
        assert len(links) == 4
        assert all(isinstance(link, Link) for link in links)
        weights = [link.weight for link in links]
        assert weights == sorted(weights, reverse=True)
        for link in links:
            out, into = w[token, link.index], w[link.index, token]
            assert link.weight == pytest.approx(max(out, into))
            assert link.direction == ("out" if out >= into else "in")
            assert link.text == analysis.tokens[link.index].text
        others = [j for j in range(len(w)) if j not in {token, *analysis.excluded}]
        best = max(max(w[token, j], w[j, token]) for j in others)
        assert links[0].weight == pytest.approx(best)


def test_the_token_itself_and_the_sinks_are_never_links(analysis):
    assert analysis.excluded == (0,)
    for token in range(1, len(analysis.tokens)):
        found = {link.index for link in analysis.links(token, k=len(analysis.tokens))}
        assert token not in found
        assert 0 not in found


def test_links_through_another_lens_are_those_of_that_lens_graph(analysis):
    lens = [(0, 0), (2, 3)]
    through = analysis.links(5, k=3, lens=lens)
    relensed = analysis.recluster(lens=lens)
    assert through == relensed.links(5, k=3)
    assert through != analysis.links(5, k=3)


def test_bad_tokens_are_refused_with_the_range_or_the_reason(analysis):
    with pytest.raises(ValueError, match=r"token=99 is not a token index of this text \(0\.\.16\)"):
        analysis.links(99)
    with pytest.raises(ValueError, match=r"token 0 .* is left out of the graph"):
        analysis.links(0)
    assert analysis.links(-1) == analysis.links(16)


def test_links_need_the_raw_attention_only_for_another_lens(analysis, tmp_path):
    loaded = attn_widget.Analysis.load(analysis.save(tmp_path / "a.json"))
    assert loaded.links(4) == analysis.links(4)
    with pytest.raises(ValueError, match="needs the raw attention"):
        loaded.links(4, lens="early")
    assert np.array_equal(loaded.weights, analysis.weights)
