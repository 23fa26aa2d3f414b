"""The coreference lens under each edge measure: its heads are found, and follow the measure."""

from __future__ import annotations

import pytest

import attn_widget
from attn_widget.explain import coref

TEXT = "The farmer thanked the baker because she had saved the harvest festival."


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Coreference heads measured here are written under tmp_path, not the user's cache."""
    monkeypatch.setenv("ATTN_WIDGET_CACHE", str(tmp_path))
    return tmp_path


def test_the_coreference_lens_works_with_the_gradient_measure(tiny_gpt2_dir, isolated_cache):
    name = str(tiny_gpt2_dir)
    found = coref.coreference_heads(name, "gradient")
    assert found.measure == "gradient"
    assert found.scores["accuracy"].shape == (2, 2)
    assert list((isolated_cache / "coref").glob("*-gradient-*.json"))
    a = attn_widget.analyze(TEXT, model=name, measure="gradient", lens="coreference")
    assert a.options.measure == "gradient"
