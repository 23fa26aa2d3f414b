"""The coreference lens under each edge measure: its heads are found, and follow the measure."""

from __future__ import annotations

import numpy as np
import pytest

import attn_widget
from attn_widget.heads import coref

TEXT = "The farmer thanked the baker because she had saved the harvest festival."


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Coreference heads measured here are written under tmp_path, not the user's cache (on a 50-item probe:
    a backward pass per item)."""
    monkeypatch.setenv("ATTN_WIDGET_CACHE", str(tmp_path))
    few = coref.probe_items()[::12]
    monkeypatch.setattr(coref, "probe_items", lambda: few)
    return tmp_path


def test_the_coreference_lens_works_with_the_gradient_measure(tiny_gpt2_dir, isolated_cache):
    name = str(tiny_gpt2_dir)
    found = coref.coreference_heads(name, "gradient")
    assert found.measure == "gradient"
    assert found.scores["accuracy"].shape == (2, 2)
    assert list((isolated_cache / "coref").glob("*-gradient-*.json"))
    a = attn_widget.analyze(TEXT, model=name, measure="gradient", lens="coreference")
    assert a.options.measure == "gradient"


def test_changing_the_measure_keeps_the_coreference_lens_with_that_measures_heads(
    tiny_gpt2_dir, heads_per_measure
):
    name = str(tiny_gpt2_dir)
    a = attn_widget.analyze(TEXT, model=name, measure="gradient", lens="coreference")
    assert a.options.lens_heads == heads_per_measure["gradient"]
    direct = attn_widget.analyze(TEXT, model=name, measure="norm", lens="coreference")
    changed = a.recluster(measure="norm")
    assert changed.options.lens == "coreference"
    assert changed.options.lens_heads == heads_per_measure["norm"]
    np.testing.assert_allclose(changed.weights, direct.weights)
    assert a.links(3, measure="norm") == direct.links(3)
    assert changed.recluster(measure="gradient").options.lens_heads == heads_per_measure["gradient"]
