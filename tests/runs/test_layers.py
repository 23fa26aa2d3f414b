"""Computing an analysis walks extract → heads → graph and never enters the words (``explain/``).

The import contract (``pyproject.toml``) forbids the streamed pipeline and the
head layer to import ``attn_widget.explain``; these tests watch every Python
call made while an analysis is computed, so a call through the facade into
``explain/`` (which the contract cannot see, since ``api`` may import it) fails too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import attn_widget

EXPLAIN = str(Path(attn_widget.__file__).parent / "explain")
TEXT = "The cat sat on the mat because it was tired. Then it slept."


def modules_called(fn: Any) -> set[str]:
    """The files under ``attn_widget/`` whose functions ran while ``fn()`` ran."""
    seen: set[str] = set()
    root = str(Path(attn_widget.__file__).parent)

    def watch(frame: FrameType, event: str, arg: Any) -> None:
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(root):
            seen.add(name)

    sys.setprofile(watch)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return seen


@pytest.mark.parametrize("keep", ["attention", "summary"])
@pytest.mark.parametrize("lens", ["all", "content"])
def test_computing_an_analysis_calls_nothing_in_explain(tiny_gpt2, keep, lens):
    model, tokenizer = tiny_gpt2
    called = modules_called(
        lambda: attn_widget.analyze(TEXT, model, tokenizer=tokenizer, keep=keep, lens=lens)
    )
    assert any("/extract/" in f for f in called)
    assert any("/graph/" in f for f in called)
    if keep == "summary" or lens != "all":  # roles kept while streaming; a named lens picks heads
        assert any("/heads/" in f for f in called)
    assert not [f for f in called if f.startswith(EXPLAIN)]


def test_explaining_does_enter_explain_so_the_watch_sees_it(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    analysis = attn_widget.analyze(TEXT, model, tokenizer=tokenizer)
    called = modules_called(lambda: analysis.explain())
    assert any(f.startswith(EXPLAIN) for f in called)


def test_the_cut_test_keeps_its_old_import_for_one_release():
    from attn_widget.evaluate.cuttest import cut_test

    with pytest.warns(DeprecationWarning, match="attn_widget.evaluate.cuttest"):
        from attn_widget.explain.cuttest import cut_test as old
    assert old is cut_test
