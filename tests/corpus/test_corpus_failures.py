"""Workers that die: the run finishes, and every text is in the output exactly once.

Each test starts its own cluster (it kills workers) and reads the output with plain pyarrow.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

import cloudpickle
import pyarrow.parquet as pq
from daskcluster import DaskCluster, part_files
from distributed import WorkerPlugin

from attn_widget.corpus import analyze_corpus

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module

POISON = "This quotation kills the process that reads it."


class PoisonText(WorkerPlugin):
    """On each worker, analysing :data:`POISON` ends the process at once, as an out-of-memory kill would."""

    name = "poison-text"

    def setup(self, worker: Any) -> None:
        from attn_widget.corpus import task

        original = task.analyze

        def analyze(text: Any, *args: Any, **kwargs: Any) -> Any:
            if text == POISON:
                os._exit(137)
            return original(text, *args, **kwargs)

        task.analyze = analyze


def _in_thread(**kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def go() -> None:
        try:
            result["run"] = analyze_corpus(**kwargs)
        except BaseException as err:  # handed to the test
            result["error"] = err

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, result


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(fresh_cluster, quotations,
                                                                      tiny_gpt2_dir, tmp_path):
    pids = fresh_cluster.worker_pids()
    texts = quotations[:120]
    out = tmp_path / "out"
    thread, result = _in_thread(source=texts, model=str(tiny_gpt2_dir), out=out, id_column="id",
                                address=fresh_cluster.address, batch_size=2, progress=False)
    deadline = time.monotonic() + 180
    while len(part_files(out)) < 4:
        assert thread.is_alive(), result
        assert time.monotonic() < deadline, "no batches were written"
        time.sleep(0.02)
    victim, survivor = sorted(pids)
    os.kill(pids[victim], signal.SIGKILL)
    killed_at = time.time()
    thread.join(timeout=300)

    assert "error" not in result, result.get("error")
    run = result["run"]
    table = pq.read_table(run.path / "texts").to_pandas()
    assert len(table) == 120
    assert sorted(table["id"]) == sorted(t["id"] for t in texts)
    assert table["error"].isna().all()
    assert set(table["worker"]) == {victim, survivor}  # the victim worked before it died
    late = [p for p in part_files(out) if p.stat().st_mtime > killed_at + 1]
    late_workers = pq.read_table(late, columns=["worker"]).column("worker").to_pylist() if late else []
    assert set(late_workers) <= {survivor}  # after the kill, only the survivor analysed
    assert len(pq.read_table(run.path / "heads")) == 120 * 4


def test_a_text_that_kills_every_worker_it_meets_becomes_an_error_row(quotations, tiny_gpt2_dir, tmp_path):
    folder = tmp_path / "dask"
    folder.mkdir()
    # Nannies restart killed workers; the scheduler gives up on a task after its first worker death,
    # and gives each worker one task at a time (so only the poisoned batch is ever on a dying worker).
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
           "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
    cluster = DaskCluster(folder, nanny=True, env=env)
    try:
        with cluster.client() as client:
            client.register_plugin(PoisonText())
        texts = [quotations[0], {"id": "poison", "text": POISON}, *quotations[1:5]]
        run = analyze_corpus(texts, str(tiny_gpt2_dir), out=tmp_path / "out", id_column="id",
                             address=cluster.address, batch_size=2, progress=False)
    finally:
        cluster.stop()
    table = pq.read_table(run.path / "texts").to_pandas().set_index("id")
    assert len(table) == 6
    assert (run.analysed, run.errors) == (6, 1)
    assert "died each time it was tried" in table.loc["poison", "error"]
    assert table.drop(index="poison")["error"].isna().all()
