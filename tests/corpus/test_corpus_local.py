"""analyze_corpus without an address: a LocalCluster sized to the machine, a bar, a dashboard link.

The corpus guide's picture ``docs/shots/corpus-roles.png`` (SmolLM2's previous-token heads) is drawn here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from attn_widget.corpus import analyze_corpus, read_heads, summarize
from attn_widget.corpus.cluster import connect, cores, default_workers, model_bytes

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.slow
def test_smollm2_on_quotations_draws_the_summarys_previous_token_shares_as_the_corpus_guides_picture(
    quotations, tmp_path: Path
):
    import matplotlib

    matplotlib.use("Agg")  # no display in CI
    import matplotlib.pyplot as plt

    texts = quotations[:24]
    run = analyze_corpus(texts, "smollm2", out=tmp_path, id_column="id", workers=1, progress=False)
    summary = summarize(run)
    share = summary.role_share("previous-token")
    assert summary.texts == 24
    assert share.shape == (30, 9)  # SmolLM2: 30 layers x 9 heads
    heads = read_heads(run)  # the same shares counted from the head table itself
    carried = heads.assign(on=heads["roles"].map(lambda roles: "previous-token" in list(roles)))
    counted = carried.groupby(["layer", "head"])["on"].mean().unstack().to_numpy()
    np.testing.assert_allclose(share, counted)
    assert share.max() == 1.0  # a previous-token head on every text
    assert (share == 0).mean() > 0.5  # and most heads never are one

    fig, ax = plt.subplots(figsize=(7.5, 2.9), dpi=110)
    image = ax.imshow(share.T, cmap="viridis", vmin=0, vmax=1, aspect="auto", origin="lower")
    ax.set(xlabel="layer", ylabel="head", xticks=range(0, 30, 5), yticks=range(9))
    ax.set_title(
        f"SmolLM2: share of {summary.texts} quotations on which each head looks at the previous token",
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, label="share of texts", fraction=0.04, pad=0.02)
    fig.tight_layout()
    np.testing.assert_array_equal(image.get_array(), share.T)  # the picture is the summary, not a copy of it
    picture = ROOT / "docs" / "shots" / "corpus-roles.png"
    fig.savefig(picture)
    plt.close(fig)
    assert picture.stat().st_size < 150_000
