"""analyze_corpus on a real multi-process Dask cluster: ``dask scheduler`` and two ``dask worker``s.

Every test reads the output with plain pyarrow, as a user without attn_widget would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import cloudpickle
import pandas as pd
import pyarrow.parquet as pq
import pytest
from daskcluster import part_files
from distributed import WorkerPlugin

from attn_widget import analyze
from attn_widget.corpus import analyze_corpus, read_heads, read_texts

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module

ROOT = Path(__file__).resolve().parents[2]


class CountModelLoads(WorkerPlugin):
    """On each worker, count the real loads of a model (``loading._load_uncached`` calls) by name."""

    name = "count-model-loads"

    def setup(self, worker) -> None:
        from attn_widget.extract import loading

        worker.attn_loads = Counter()
        original = loading._load_uncached

        def counted(key: str):
            worker.attn_loads[key] += 1
            return original(key)

        loading._load_uncached = counted


def ids_written(run_path: Path) -> list[str]:
    return pq.read_table(run_path / "texts", columns=["id"]).column("id").to_pylist()


@pytest.fixture
def tiny_copy(tiny_gpt2_dir: Path, tmp_path: Path) -> Path:
    """The tiny GPT-2 under a path no worker of the shared cluster has loaded yet."""
    return Path(shutil.copytree(tiny_gpt2_dir, tmp_path / "tiny-copy"))


def test_two_worker_processes_analyse_200_texts_each_exactly_once_loading_the_model_once_each(
    dask_cluster, quotations, tiny_copy, tmp_path
):
    with dask_cluster.client() as client:
        client.register_plugin(CountModelLoads())
    said: list[tuple[str, float]] = []
    texts = quotations[:200]
    run = analyze_corpus(texts, tiny_copy, out=tmp_path / "out", id_column="id", address=dask_cluster.address,
                         batch_size=5, progress=lambda stage, fraction: said.append((stage, fraction)))

    ids = ids_written(run.path)
    assert len(ids) == 200
    assert sorted(ids) == sorted(t["id"] for t in texts)
    assert (run.analysed, run.skipped, run.errors, run.workers) == (200, 0, 0, 2)
    table = pq.read_table(run.path / "texts").to_pandas()
    assert table["worker"].nunique() == 2  # both processes did work
    assert table["error"].isna().all()
    with dask_cluster.client() as client:
        loads = client.run(lambda dask_worker: dict(dask_worker.attn_loads))
    assert sorted(loads.values(), key=str) == [{str(tiny_copy): 1}] * 2  # once per worker, not per text
    assert said[-1] == (said[-1][0], 1.0)
    assert said[-1][0].startswith("200/200 texts, ")
    assert "texts/s" in said[-1][0]


def test_each_row_is_the_same_analysis_as_analyze_and_heads_cover_every_head(dask_cluster, quotations,
                                                                            tiny_gpt2_dir, tmp_path):
    texts = quotations[200:230]
    run = analyze_corpus(texts, str(tiny_gpt2_dir), out=tmp_path, id_column="id",
                         address=dask_cluster.address, progress=False)
    rows = pq.read_table(run.path / "texts").to_pandas().set_index("id")
    for item in texts[:3]:
        direct = analyze(item["text"], str(tiny_gpt2_dir))
        row = rows.loc[item["id"]]
        assert list(row["labels"]) == direct.labels.tolist()
        assert row["threshold"] == pytest.approx(direct.threshold)
        assert row["modularity"] == pytest.approx(direct.modularity)
        assert list(row["tokens"]) == [t.text for t in direct.tokens]
        assert [list(c["tokens"]) for c in row["clusters"]] == [list(c.tokens) for c in direct.clusters]
        first = next(c for c in row["clusters"] if c["size"] > 1)
        assert first["text"].split(" … ")[0] in item["text"]  # the spans' text is the text's own characters
        assert json.loads(row["options"])["method"] == "louvain"
    heads = pq.read_table(run.path / "heads").to_pandas()
    assert len(heads) == 30 * 2 * 2  # 30 texts x 2 layers x 2 heads
    assert set(heads.groupby("id").size()) == {4}
    assert {"previous_token", "induction", "first_token_sink", "broad", "roles"} <= set(heads.columns)
    assert len(read_heads(run)) == len(heads)


def test_bad_texts_become_error_rows_and_the_rest_complete(dask_cluster, quotations, tiny_gpt2_dir, tmp_path):
    good = quotations[230:250]
    bad = [{"id": "empty", "text": ""}, {"id": "blank", "text": "   \n"}, {"id": "none", "text": None},
           {"id": "long", "text": "Words without end, " * 60}, {"id": "number", "text": 42}]
    source = good[:10] + bad + good[10:]
    run = analyze_corpus(source, str(tiny_gpt2_dir), out=tmp_path, id_column="id",
                         address=dask_cluster.address, batch_size=3, progress=False)

    table = pq.read_table(run.path / "texts").to_pandas().set_index("id")
    assert len(table) == 25
    assert (run.analysed, run.errors) == (25, 5)
    assert table.loc[[g["id"] for g in good], "error"].isna().all()
    errors = table.loc[[b["id"] for b in bad], "error"]
    assert "empty or only whitespace" in errors["empty"]
    assert "empty or only whitespace" in errors["blank"]
    assert "must be a str" in errors["none"]
    assert "must be a str" in errors["number"]
    assert "truncate" in errors["long"]  # names the fix
    assert table.loc["long", "text"].startswith("Words without end")  # the error row keeps the text
    assert list(read_texts(run)["id"]) == [r["id"] for r in source]  # source order


def test_running_again_skips_every_text_and_changed_options_get_their_own_run_folder(
    dask_cluster, quotations, tiny_gpt2_dir, tmp_path
):
    texts = quotations[250:270]
    common = {"out": tmp_path, "id_column": "id", "address": dask_cluster.address, "progress": False}
    first = analyze_corpus(texts[:12], str(tiny_gpt2_dir), **common)
    files = {p: p.stat().st_mtime_ns for p in part_files(tmp_path)}
    again = analyze_corpus(texts, str(tiny_gpt2_dir), threshold="auto", **common)  # "auto" is the default
    assert again.path == first.path
    assert (again.skipped, again.analysed) == (12, 8)
    assert {p: p.stat().st_mtime_ns for p in files} == files  # earlier files untouched
    assert sorted(ids_written(again.path)) == sorted(t["id"] for t in texts)

    other = analyze_corpus(texts, str(tiny_gpt2_dir), aggregation="max", **common)
    assert other.path != first.path
    assert (other.skipped, other.analysed) == (0, 20)
    assert json.loads((other.path / "run.json").read_text())["options"]["aggregation"] == "max"
    with pytest.raises(ValueError, match="holds 2 runs with different models or options"):
        read_texts(tmp_path)


def test_retry_errors_reruns_only_the_texts_with_error_rows(dask_cluster, quotations, tiny_gpt2_dir,
                                                             tmp_path):
    source = [*quotations[270:276], {"id": "empty", "text": ""}]
    common = {"out": tmp_path, "id_column": "id", "address": dask_cluster.address, "progress": False}
    analyze_corpus(source, str(tiny_gpt2_dir), **common)
    source[-1] = {"id": "empty", "text": "Now there is something to read."}
    again = analyze_corpus(source, str(tiny_gpt2_dir), retry_errors=True, **common)
    assert (again.skipped, again.analysed, again.errors) == (6, 1, 0)
    table = read_texts(again.path)
    assert table["error"].isna().all()
    assert len(pq.read_table(again.path / "texts")) == 7


def test_options_wrong_for_every_text_stop_the_run_before_writing_error_rows(
    dask_cluster, quotations, tiny_gpt2_dir, tmp_path
):
    with pytest.raises(ValueError, match=r"the first \d+ texts analysed all failed.*layer") as caught:
        analyze_corpus(quotations[:80], str(tiny_gpt2_dir), layers=[7], out=tmp_path, id_column="id",
                       address=dask_cluster.address, batch_size=4, progress=False)
    assert "nothing was written" in str(caught.value)
    assert part_files(tmp_path) == []


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "attn_widget.cli", "corpus", *args]
    pipe = subprocess.PIPE
    return subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=env, cwd=ROOT)


def _wait_for_parts(out: Path, n: int, process: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while len(part_files(out)) < n:
        assert process.poll() is None, f"the run ended before it was interrupted: {process.communicate()}"
        assert time.monotonic() < deadline, "no batch was written in time"
        time.sleep(0.05)


@pytest.mark.parametrize(("sig", "local"), [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c-on-a-local-cluster", "sigterm-on-an-existing-cluster"])
def test_an_interrupted_cli_run_keeps_its_batches_and_the_next_run_does_only_the_rest(
    sig, local, dask_cluster, quotations, tiny_gpt2_dir, tmp_path
):
    source = tmp_path / "quotes.jsonl"
    texts = quotations[:300]
    source.write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "out"
    where = ["--workers", "1"] if local else ["--address", dask_cluster.address]
    process = _cli(str(source), "--out", str(out), "--model", str(tiny_gpt2_dir), "--id-column", "id",
                   "--batch-size", "2", "--no-progress", *where)
    _wait_for_parts(out, 3, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "run the same command again" in stderr
    done = ids_written(part_files(out)[0].parent.parent)
    assert 3 * 2 <= len(done) < len(texts)
    files = {p: p.stat().st_mtime_ns for p in part_files(out)}

    resumed = _cli(str(source), "--out", str(out), "--model", str(tiny_gpt2_dir), "--id-column", "id",
                   "--no-progress", "--address", dask_cluster.address)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"{len(texts) - len(done)} texts analysed (0 errors), {len(done)} already there" in stdout
    assert {p: p.stat().st_mtime_ns for p in files} == files
    ids = ids_written(part_files(out)[0].parent.parent)
    assert len(ids) == len(set(ids)) == len(texts)


def test_cli_analysis_options_reach_every_text_and_their_own_run_folder(dask_cluster, quotations,
                                                                        tiny_gpt2_dir, tmp_path, capsys):
    from attn_widget.cli import main

    source = tmp_path / "quotes.csv"
    pd.DataFrame({"text": [q["text"] for q in quotations[280:286]]}).to_csv(source, index=False)
    args = ["corpus", str(source), "--out", str(tmp_path / "out"), "--model", str(tiny_gpt2_dir),
            "--address", dask_cluster.address, "--aggregation", "max", "--lens", "early", "--seed", "3",
            "--no-progress"]
    assert main(args) == 0
    assert "6 texts analysed (0 errors), 0 already there, 6 in the source" in capsys.readouterr().out
    (run,) = (tmp_path / "out").iterdir()
    recorded = json.loads((run / "run.json").read_text())["options"]
    assert (recorded["aggregation"], recorded["lens"], recorded["seed"]) == ("max", "early", 3)
    rows = pq.read_table(run / "texts").to_pandas()
    assert {json.loads(o)["lens"] for o in rows["options"]} == {"early"}
    assert sorted(rows["id"], key=int) == [str(i) for i in range(6)]


@pytest.mark.slow
def test_the_default_model_is_resolved_once_for_the_whole_run_and_a_fallback_is_said(
    dask_cluster, quotations, gpt2_available, tmp_path, capsys
):
    run = analyze_corpus(quotations[290:294], out=tmp_path, id_column="id", address=dask_cluster.address,
                         batch_size=1)
    expected = "gpt2" if gpt2_available else "smollm2"
    assert run.model == expected
    assert run.path.name.startswith(f"{expected}-")
    rows = pq.read_table(run.path / "texts").to_pandas()
    assert set(rows["model"]) == {expected}  # every batch, on either worker, used the same model
    assert rows["error"].isna().all()
    if not gpt2_available:
        assert run.notices[0].startswith("Fallback model: using 'smollm2'")
        assert "Note: Fallback model: using 'smollm2'" in capsys.readouterr().out
        heads = pq.read_table(run.path / "heads").to_pandas()
        assert len(heads) == 4 * 30 * 9  # SmolLM2: 30 layers x 9 heads, per text
