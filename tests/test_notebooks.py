"""The shipped notebooks run top to bottom, offline, and say which model they used.

Each notebook is executed with nbclient in a scratch directory (its exports
land there, not in the repository) with ``HF_HUB_OFFLINE=1``: with no GPT-2
available the default model falls back to SmolLM2, and the notebook must say so.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OWNED = ("quickstart.ipynb", "walkthrough.ipynb", "corpus.ipynb", "generation.ipynb")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"



def execute(name: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    paths = (str(ROOT), os.environ.get("PYTHONPATH"))  # the kernel imports this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()  # raises CellExecutionError, with the traceback, if any cell fails
    return nb


def text_of(nb: Any) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def widget_views(nb: Any) -> int:
    """AttentionExplainer views shown (progress-bar widgets from model loading are not counted)."""
    return sum(
        WIDGET_MIME in out.get("data", {}) and "AttentionExplainer" in str(out["data"].get("text/plain", ""))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )


@pytest.mark.parametrize("name", OWNED)
def test_notebook_is_saved_without_outputs(name: str) -> None:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{name}: cells {dirty} carry outputs; clear them before committing"


def said_which_model(output: str) -> None:
    assert "Model used:" in output
    if "Model used: smollm2" in output:  # offline: the fallback is announced in plain words
        assert "Note: Fallback model" in output, output[:2000]


@pytest.mark.slow
def test_quickstart_runs_offline_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute("quickstart.ipynb", tmp_path, monkeypatch)
    output = text_of(nb)
    said_which_model(output)
    assert widget_views(nb) == 1
    assert "clusters of 2+ tokens" in output
    html = tmp_path / "exports" / "quickstart.html"
    assert html.stat().st_size > 10_000
    page = html.read_text(encoding="utf-8")
    assert "attn-widget" in page
    remote = re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert remote is None, f"the exported page loads from the web: {remote.group(0)}"
    svg = (tmp_path / "exports" / "quickstart.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith(("<svg", "<?xml"))


@pytest.mark.slow
def test_walkthrough_runs_offline_and_compares_a_causal_model_with_an_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("walkthrough.ipynb", tmp_path, monkeypatch)
    output = text_of(nb)
    said_which_model(output)
    assert "Model used: minilm" in output
    assert "<- automatic" in output  # the sweep table marks the automatic threshold
    assert "attention to later tokens: 0.0" in output  # a causal model never looks ahead
    assert widget_views(nb) == 1


@pytest.mark.slow
def test_corpus_notebook_runs_real_quotations_on_dask_resumes_and_plots_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("corpus.ipynb", tmp_path, monkeypatch)
    output = text_of(nb)
    assert "60 texts analysed (0 errors), 0 already there, 60 in the source" in output
    assert "analysed 0, already there 60" in output  # the second run resumed
    assert "texts analysed with smollm2 (0 errors)" in output  # the summary
    assert "heads_rows" in output  # DuckDB read the heads table
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    plots = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(plots) == 2  # the role heatmaps and the cluster histograms
    assert len(list((tmp_path / "corpus-out").glob("smollm2-*/texts/part-*.parquet"))) >= 1


@pytest.mark.slow
def test_generation_notebook_watches_compares_and_asks_what_if_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("generation.ipynb", tmp_path, monkeypatch)
    output = text_of(nb)
    assert "Model used: smollm2" in output
    assert "step 0: ' Paris'" in output
    assert "stopped: eos" in output  # the chat reply ends its turn
    assert "Identical: the same tokens, clusters and links." in output
    assert "aligned tokens changed cluster mates" in output  # the minimal pair groups otherwise
    assert "' Paris' 0.75 → 0.01" in output  # the knockout moved the prediction…
    assert "now ' a'" in output  # …to another token
    assert "divergence 0.000" in output  # knocking out nothing changes nothing
    assert widget_views(nb) == 3
