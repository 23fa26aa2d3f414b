"""Shared test set-up: no hub access, the GPT-2 fixture folder, session-scoped models."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

ROOT = Path(__file__).resolve().parents[1]
GPT2_FIXTURE = ROOT.parent / "shared" / "fixtures" / "gpt2"


@pytest.fixture(scope="session")
def gpt2_dir() -> Path:
    """GPT-2 small's real tokenizer and config (no weights), from ../shared."""
    if not GPT2_FIXTURE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{GPT2_FIXTURE} is missing: CI must have ../shared beside the checkout")
        pytest.skip(f"GPT-2 fixture folder {GPT2_FIXTURE} is absent (needs ../shared beside the repo)")
    return GPT2_FIXTURE
