"""The study notebooks execute top to bottom (nbclient) and are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

pytest.importorskip("sqlalchemy", reason="needs the 'study' extra: pip install 'attn_widget[study]'")

from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"


def execute(name: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> nbformat.NotebookNode:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PYTHONPATH", str(NOTEBOOKS.parent))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def outputs(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [
        o["data"][mime]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "data" in o and mime in o["data"]
    ]


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
            parts.append(str(o.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["user_study.ipynb", "study_analysis.ipynb"])
def test_saved_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
def test_user_study_runs_a_participant_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "study.sqlite"
    nb = execute("user_study.ipynb", tmp_path, monkeypatch, ATTN_WIDGET_STUDY_DB=str(store))
    text = text_of(nb)
    assert "Participant P001: 6 steps" in text
    assert outputs(nb, WIDGET), "the session widget was not displayed"
    assert "0 responses from 0 participant(s) so far" in text
    assert "Headline task, participant P001: 4 steps" in text
    rated = [line for line in text.splitlines() if line.startswith("  cluster ")]
    assert rated, "the headline task shows no cluster to rate"
    now = "'headline'" if "now 'headline'" in text else "'full'"
    if now == "'headline'":  # a headline is one sentence of at most 25 words
        assert all(len(line.split(": ", 1)[1].split()) <= 25 for line in rated)
    from attn_widget.study import Study

    study = Study.open("demo", store)
    assert study.enroll() == "P002"  # P001 was enrolled by the notebook's session
    assert Study.open("headlines", store).enroll() == "P002"


def test_study_analysis_on_synthetic_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTN_STUDY_RESULTS", raising=False)
    nb = execute("study_analysis.ipynb", tmp_path, monkeypatch)
    text = text_of(nb)
    assert "24 participants" in text
    assert len(outputs(nb, "image/png")) == 3
    for measure in ("clarity", "usefulness", "trust", "accuracy", "time_s"):
        assert measure in text
    assert "p_holm" in text
    assert "48 marking answers scored" in text  # 24 participants x 2 marking tasks
    assert "iou_f1" in text
    assert "auprc" in text
    assert "Synthetic headline task: 12 simulated participants" in text
    assert "cluster_clarity" in text
    assert "cluster_usefulness" in text


def test_study_analysis_reads_an_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attn_widget.study import Study
    from attn_widget.study.synthetic import demo_config, simulate

    study = Study.create(demo_config(8, study_id="real"), tmp_path / "real.sqlite")
    simulate(study, seed=5)
    export = study.export(tmp_path / "results.csv")
    nb = execute("study_analysis.ipynb", tmp_path, monkeypatch, ATTN_STUDY_RESULTS=str(export))
    text = text_of(nb)
    assert f"Real responses from {export}" in text
    assert "8 participants" in text
