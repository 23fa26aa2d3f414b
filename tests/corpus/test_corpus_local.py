"""analyze_corpus without an address: a LocalCluster sized to the machine, a bar, a dashboard link."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from attn_widget.corpus import analyze_corpus, summarize
from attn_widget.corpus.cluster import connect, cores, default_workers, model_bytes


def test_a_local_cluster_sized_to_the_machine_writes_tables_that_pyarrow_and_duckdb_read(
    quotations, tiny_gpt2_dir, tmp_path: Path, capsys
):
    texts = [*quotations[300:340], {"id": "empty", "text": ""}]
    run = analyze_corpus(texts, str(tiny_gpt2_dir), out=tmp_path, id_column="id")
    shown = capsys.readouterr()

    assert run.workers == default_workers(model_bytes(str(tiny_gpt2_dir))) == min(cores(), run.workers)
    assert "Dask dashboard: http://" in shown.out
    assert f"Run folder: {run.path}" in shown.out
    assert "41/41" in shown.err  # the bar: texts done / total
    assert "text/s" in shown.err
    table = pq.read_table(run.path / "texts")
    assert table.num_rows == 41
    assert len(set(table.column("id").to_pylist())) == 41
    texts_glob, heads_glob = str(run.path / "texts" / "*.parquet"), str(run.path / "heads" / "*.parquet")
    counts = duckdb.sql(f"SELECT count(*), count(DISTINCT id), count(error) FROM '{texts_glob}'")
    assert counts.fetchall() == [(41, 41, 1)]
    per_head = duckdb.sql(f"SELECT layer, head, count(*) FROM '{heads_glob}' GROUP BY ALL")
    assert sorted(per_head.fetchall()) == [(0, 0, 40), (0, 1, 40), (1, 0, 40), (1, 1, 40)]
    summary = summarize(tmp_path)  # the out folder holds one run
    assert summary.texts == 40
    assert summary.role_share("broad").shape == (2, 2)
    assert str(run).startswith("41 texts analysed (1 errors), 0 already there, 41 in the source")


def test_each_local_worker_gets_its_share_of_the_cores_as_torch_threads(tiny_gpt2_dir):
    import os

    import dask
    import torch

    def environ() -> dict[str, str | None]:
        names = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        return {name: os.environ.get(name) for name in names}

    def profiling() -> bool:
        return bool(dask.config.get("distributed.worker.profile.enabled"))

    mine = environ()
    with connect(None, 1, None, str(tiny_gpt2_dir)) as conn:
        threads = conn.client.run(torch.get_num_threads)
        worker_environ = conn.client.run(environ)
        worker_profiling = conn.client.run(profiling)
        assert (conn.workers, conn.local) == (1, True)
    assert list(threads.values()) == [cores()]
    # Dask's own spawn settings slow a forward pass (see cluster._spawn_environ): none of them here
    assert list(worker_environ.values()) == [
        {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": str(cores()), "MKL_NUM_THREADS": str(cores())}
    ]
    assert list(worker_profiling.values()) == [False]
    assert environ() == mine  # and this process's environment is as it was
