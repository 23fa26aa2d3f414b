"""The run folder without a cluster: identity, atomic batches, tidying, the lock, each text once on read."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attn_widget.core.options import DEFAULTS
from attn_widget.corpus import analyze_corpus, read_heads, read_texts
from attn_widget.corpus.engine import identity_options
from attn_widget.corpus.progress import Progress, clock
from attn_widget.corpus.runs import RunBusyError, RunFolder, canonical, run_key
from attn_widget.corpus.schema import error_row, heads_table, texts_table

IDENTITY = {"model": "/models/tiny", "options": identity_options({}), "head_roles": True}


def ok_row(text_id: str, position: int = 0) -> dict:
    return {"id": text_id, "position": position, "text": f"text {text_id}", "n_tokens": 3, "n_clusters": 1,
            "threshold": 0.1, "modularity": 0.2, "tokens": ["a", "b", "c"], "labels": [0, 0, 1],
            "clusters": [], "notices": [], "model": "tiny", "error": None}


def heads_of(*ids: str) -> dict:
    n = len(ids)
    return {"id": list(ids), "layer": [0] * n, "head": [1] * n, **{k: [0.5] * n for k in (
        "previous_token", "duplicate_token", "induction", "first_token_sink", "self", "broad")},
        "roles": [["previous-token"]] * n}


def write(run: RunFolder, name: str, rows: list[dict], head_ids: tuple[str, ...]) -> None:
    run.write(name, texts_table(rows, batch=name), heads_table([heads_of(*head_ids)] if head_ids else [],
                                                               batch=name))


OPTIONS = st.dictionaries(st.sampled_from(["threshold", "method", "seed", "aggregation", "threshold_mode"]),
                          st.sampled_from([0, 1, 0.05, "auto", "max", "mean", "louvain", "leiden", "mass"]))


def key(options: dict) -> str:
    return run_key({**IDENTITY, "options": identity_options(options)})


@given(OPTIONS, st.sets(st.sampled_from(sorted(DEFAULTS))))
def test_a_run_key_is_the_same_whether_defaults_are_left_out_or_spelled_out(options, spelled):
    explicit = {**{name: DEFAULTS[name] for name in spelled if name in identity_options({})}, **options}
    assert key(explicit) == key(options)
    assert key(dict(reversed(list(explicit.items())))) == key(options)


@given(OPTIONS)
def test_a_run_key_changes_with_any_option_value(options):
    for name, value in options.items():
        if value != DEFAULTS[name]:
            assert key({name: value}) != key({})


def test_changing_the_model_or_an_option_changes_the_run_folder(tmp_path: Path):
    base = RunFolder.create(tmp_path, IDENTITY)
    assert base.path.name.startswith("tiny-")
    assert RunFolder.create(tmp_path, IDENTITY) == base
    other_model = RunFolder.create(tmp_path, {**IDENTITY, "model": "/models/small"})
    other_option = RunFolder.create(tmp_path, {**IDENTITY, "options": identity_options({"seed": 1})})
    assert len({base.path, other_model.path, other_option.path}) == 3
    manifest = json.loads((other_option.path / "run.json").read_text())
    assert manifest["options"]["seed"] == 1
    with pytest.raises(ValueError, match="is a run folder itself; pass its parent"):
        RunFolder.create(base.path, IDENTITY)


def test_an_option_that_cannot_be_recorded_is_named():
    assert "<function builtins.len " in canonical({"lens": len})
    assert canonical({"lens": lambda report: [(0, 0)]}) != canonical({"lens": lambda report: [(1, 1)]})
    with pytest.raises(TypeError, match=r"option weights=.*cannot be recorded"):
        canonical({"seed": 0, "weights": object()})


def test_a_second_writer_is_refused_while_the_first_holds_the_run(tmp_path: Path):
    run = RunFolder.create(tmp_path, IDENTITY)
    with run.lock(), pytest.raises(RunBusyError, match=r"process \d+ is writing to"), run.lock():
        pass
    with run.lock():  # released
        pass


def test_tidy_removes_what_an_interrupted_write_left_and_keeps_finished_batches(tmp_path: Path):
    run = RunFolder.create(tmp_path, IDENTITY)
    write(run, "part-a", [ok_row("1")], ("1",))
    (run.path / "heads" / "part-b.parquet").write_bytes((run.path / "heads" / "part-a.parquet").read_bytes())
    (run.path / "texts" / ".part-c.parquet.tmp123").write_bytes(b"half a file")
    run.tidy()
    assert [p.name for p in run.parts("heads")] == ["part-a.parquet"]
    assert list((run.path / "texts").iterdir()) == [run.path / "texts" / "part-a.parquet"]
    assert run.done_ids() == {"1"}


def test_reading_keeps_each_text_once_preferring_the_analysed_row(tmp_path: Path):
    run = RunFolder.create(tmp_path, IDENTITY)
    write(run, "part-a", [error_row("1", "text 1", "ValueError: boom", "tiny"), ok_row("2", 1)], ("2",))
    write(run, "part-b", [ok_row("1"), ok_row("3", 2)], ("1", "3"))  # "1" twice, as if copied by hand
    write(run, "part-c", [ok_row("3", 2)], ("3",))
    assert len(pq.read_table(run.path / "texts")) == 5
    texts = read_texts(run.path)
    assert list(texts["id"]) == ["1", "2", "3"]
    assert texts["error"].isna().all()
    heads = read_heads(run.path)
    assert sorted(heads["id"]) == ["1", "2", "3"]


def test_retry_errors_drops_the_error_rows_only(tmp_path: Path):
    run = RunFolder.create(tmp_path, IDENTITY)
    write(run, "part-a", [error_row("1", "", "ValueError: empty", "tiny"), ok_row("2")], ("2",))
    assert run.drop_errors() == 1
    assert run.done_ids() == {"2"}


def test_arguments_are_checked_before_any_cluster_starts(tmp_path: Path):
    unknown = r"unexpected keyword arguments \['treshold'\]; allowed: .*'threshold'"
    with pytest.raises(TypeError, match=unknown):
        analyze_corpus(["a"], "smollm2", out=tmp_path, treshold=0.1)
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        analyze_corpus(["a"], "smollm2", out=tmp_path, progress=True, **{"progress_bar": True})
    with pytest.raises(TypeError, match=r"takes no target=.*analyze\(source, model=\.\.\., target"):
        analyze_corpus(["a"], "t5-small", out=tmp_path, target="un chat")
    with pytest.raises(ValueError, match="unknown clustering method 'lovain'"):
        analyze_corpus(["a"], "smollm2", out=tmp_path, method="lovain")
    with pytest.raises(TypeError, match=r"save it with .save_pretrained\(folder\)"):
        analyze_corpus(["a"], object(), out=tmp_path)
    with pytest.raises(TypeError, match="progress='yes'"):
        analyze_corpus(["a"], "smollm2", out=tmp_path, progress="yes")
    with pytest.raises(ValueError, match="batch_size=0"):
        analyze_corpus(["a"], "smollm2", out=tmp_path, batch_size=0)
    with pytest.raises(ValueError, match="address='nowhere' is not a scheduler address"):
        analyze_corpus(["a"], "smollm2", out=tmp_path, address="nowhere", progress=False)
    assert not list(tmp_path.iterdir())


def test_progress_tells_a_function_the_count_rate_and_time_left():
    heard: list[tuple[str, float]] = []
    progress = Progress(lambda stage, fraction: heard.append((stage, fraction)), total=10, done=4)
    progress.update(3)
    assert heard[0] == ("4/10 texts, 0.0 texts/s, time left unknown", 0.4)
    assert heard[-1][0].startswith("7/10 texts, ")
    assert heard[-1][0].endswith(" left")
    assert heard[-1][1] == pytest.approx(0.7)
    assert (clock(90.4), clock(3725)) == ("1:30", "1:02:05")


@pytest.mark.parametrize(
    "options", [{"unit": "word"}, {"keep": "summary"}, {"unit": "sentence", "keep": "summary"}]
)
def test_the_head_table_is_scored_on_the_model_tokens_or_the_roles_a_streamed_analysis_kept(
    tiny_gpt2_dir, options
):
    from attn_widget import analyze
    from attn_widget.corpus.task import RunSpec, analyze_one
    from attn_widget.heads.roles import analysis_report

    text = "The cat sat on the mat. It was unbelievably tired."
    row, head = analyze_one("t", text, RunSpec(model=str(tiny_gpt2_dir), options=options))
    assert row["error"] is None
    assert head is not None
    report = analysis_report(analyze(text, str(tiny_gpt2_dir), **options))
    assert report is not None
    layers, heads = next(iter(report.scores.values())).shape
    assert len(head["layer"]) == layers * heads
