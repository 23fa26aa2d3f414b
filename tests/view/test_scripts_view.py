"""What a person reads about texts in many scripts: no byte escapes, split characters once.

The tiny GPT-2 (GPT-2's real byte-level tokenizer) analyses and explains texts
with emoji, astral letters, CJK, Arabic and Hebrew; every string of the state the
widget and the standalone page render (tokens, headlines, rationales, claims,
notices) and the SVG export are free of ``\\xNN`` and U+FFFD, and the export's
legend shows a split emoji once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scripts import SCRIPT_TEXTS

import attn_widget
from attn_widget.view.figures import to_svg
from attn_widget.view.wire import to_state


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list | tuple):
        for v in node:
            yield from strings(v)


SAMPLE = [SCRIPT_TEXTS[i] for i in (0, 1, 2, 4, 7, 8, 9, 20)]
"""Emoji, a ZWJ family and flags, astral letters, CJK, Arabic, Hebrew, mixed directions, tag flags."""


@pytest.mark.parametrize("text", SAMPLE)
def test_no_byte_escapes_anywhere_a_person_reads(tiny_gpt2: Any, text: str) -> None:
    model, tokenizer = tiny_gpt2
    analysis = attn_widget.explain(attn_widget.analyze(text, model=model, tokenizer=tokenizer, seed=0))
    bad = [s for s in strings(to_state(analysis)) if "\\x" in s or "\ufffd" in s]
    assert not bad, bad[:5]
    svg = to_svg(analysis)
    assert "\\x" not in svg
    assert "\ufffd" not in svg


def test_the_export_legend_shows_a_split_emoji_once(tiny_gpt2: Any) -> None:
    text = "I love pizza 🍕 and cats."
    analysis = attn_widget.analyze(text, model=tiny_gpt2[0], tokenizer=tiny_gpt2[1], seed=0)
    pizza = [i for i, t in enumerate(analysis.tokens)
             if t.start is not None and "🍕" in text[t.start : t.end]]
    assert len(pizza) >= 2  # GPT-2 splits the emoji's bytes over pieces
    labels = analysis.labels.copy()
    labels[:] = -1 if analysis.tokens[0].special else 0
    labels[pizza] = 7
    labels[pizza[-1] + 1] = 7  # " and"
    svg = to_svg(analysis, labels=labels)
    assert "cluster 7 (" in svg
    line = next(part for part in svg.split("<") if "cluster 7 (" in part)
    assert line.count("🍕") == 1, line
    assert "🍕 and" in line
