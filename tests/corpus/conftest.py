"""Fixtures of the corpus tests: real Dask clusters on loopback (:mod:`daskcluster`) and real text.

Texts are Debian's ``fortunes`` quotations (``make system-deps`` installs them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from daskcluster import DaskCluster

from attn_widget.corpus import fortunes


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A scheduler and two single-threaded workers on loopback, shared by a test module."""
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    yield cluster
    cluster.stop()


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[DaskCluster]:
    """A cluster for one test that may kill its workers."""
    folder = tmp_path / "dask"
    folder.mkdir()
    cluster = DaskCluster(folder)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def quotations() -> list[dict[str, str]]:
    """Real short texts: Debian's quotations that fit the tiny GPT-2's 64 positions (14 to 150 characters)."""
    texts = fortunes(["wisdom", "science", "literature", "people", "work"], min_chars=15, max_chars=150)
    assert len(texts) >= 400, f"only {len(texts)} short quotations: is Debian's fortunes package complete?"
    return texts


@pytest.fixture(scope="session")
def gpt2_available() -> bool:
    """Whether GPT-2 itself loads offline here (in the Hugging Face cache), as the workers will find it."""
    from attn_widget.extract import loading
    from attn_widget.extract.errors import ModelLoadError

    try:
        loading.load("gpt2")
    except ModelLoadError:
        return False
    return True
