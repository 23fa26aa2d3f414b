"""The study store on SQLite and on a real PostgreSQL server: values, resends, bad input,
concurrent writer processes, and writers killed mid-transaction.

The PostgreSQL server is Debian's ``postgresql`` package, started here on a free
loopback port in a temporary directory (``postgres_server``). Outside CI the
PostgreSQL cases skip when the binaries are missing; with ``CI=true`` they fail.

Run as a script (``python test_study_store.py write|hang|loop URL ...``) this file
is the writer process the concurrency and kill tests start.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the 'study' extra: pip install 'attn_widget[study]'")

from sqlalchemy import insert, text

from attn_widget.study import ResponseError, Store, Study, StudyConfig, Task
from attn_widget.study.schema import responses as responses_table

WRITERS = 4
PER_WRITER = 40
BATCH = 10


def config() -> StudyConfig:
    tasks = [Task(f"t{i}", f"Text number {i}.", "Which?", ("a", "b"), "a") for i in range(4)]
    return StudyConfig("store-test", tasks=tasks, participants=8)


def rating(study: Study, pid: str, n: int, **extra: object) -> dict:
    step = study.schedule(pid)[n % 4]
    return {
        "response_id": str(uuid.uuid4()),
        "participant_id": pid,
        "condition": step.condition.id,
        "task_id": step.task.id,
        "kind": "explanation",
        "clarity": 1 + n % 5,
        "trust": 5 - n % 5,
        **extra,
    }


# --------------------------------------------------------------- PostgreSQL server
def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback; yields its admin URL."""
    bindir = _pg_bin()
    if bindir is None:
        msg = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found: "
            "apt-get install -y postgresql (Debian) to run the PostgreSQL store tests"
        )
        pytest.skip(msg)  # a failure in CI (tests/conftest.py)
    root = Path(tempfile.mkdtemp(prefix="attn-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    log = root / "server.log"
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store on each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "nested" / "study.sqlite")
        return
    admin = request.getfixturevalue("postgres_server")
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = admin.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield admin.rsplit("/", 1)[0] + "/" + name


def open_study(url: str) -> Study:
    return Study.create(config(), url)


# -------------------------------------------------------------------- behaviour
def test_sqlite_file_created_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "study.sqlite"
    study = open_study(str(path))
    assert path.exists()
    with study.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_values_round_trip_with_types_and_utc(store_url: str) -> None:
    study = open_study(store_url)
    pid = study.enroll()
    step = next(s for s in study.schedule(pid) if s.task.id == "t0")
    rid = str(uuid.uuid4())
    study.record(
        {
            "response_id": rid,
            "participant_id": pid,
            "condition": step.condition.id,
            "task_id": "t0",
            "kind": "task",
            "answer": "b",
            "duration_ms": 4321,
            "client_time": "2026-03-01T12:00:00+02:00",
        }
    )
    study.record(rating(study, pid, 1, comment="<script>alert(1)</script> ünïcode"))
    df = study.responses()
    assert len(df) == 2
    task = df[df.kind == "task"].iloc[0]
    assert task.response_id == rid
    assert task.answer == "b"
    assert not task.correct
    assert task.duration_ms == 4321
    assert str(task.client_time) == "2026-03-01 10:00:00+00:00"
    assert str(df.recorded_at.dt.tz) == "UTC"
    assert df[df.kind == "explanation"].iloc[0].comment == "<script>alert(1)</script> ünïcode"


def test_resent_response_is_stored_once(store_url: str) -> None:
    study = open_study(store_url)
    pid = study.enroll()
    r = rating(study, pid, 0)
    assert study.record(r) == ["stored"]
    assert study.record(r) == ["duplicate"]
    assert study.record([r, rating(study, pid, 1)]) == ["duplicate", "stored"]
    assert study.store.count() == 2
    changed = {**r, "clarity": 1 if r["clarity"] != 1 else 2}
    with pytest.raises(ResponseError, match="already stored with different"):
        study.record([rating(study, pid, 2), changed])
    assert study.store.count() == 2  # the batch's new response was not stored either


def test_bad_values_rejected_with_reason_and_nothing_partial(store_url: str) -> None:
    study = open_study(store_url)
    pid = study.enroll()
    good = [rating(study, pid, n) for n in range(3)]
    bad = rating(study, pid, 3, clarity=6)
    with pytest.raises(ResponseError, match=r"clarity rating 6 is out of range.*1 to 5"):
        study.record([*good, bad])
    with pytest.raises(ResponseError, match="participant 'P999' is not in study"):
        study.record([*good, rating(study, pid, 3, participant_id="P999")])
    with pytest.raises(ResponseError, match="'task' response needs answer and duration_ms"):
        study.record([*good, {**rating(study, pid, 3), "kind": "task", "clarity": None, "trust": None}])
    with pytest.raises(ResponseError, match="not a UUID"):
        study.record([*good, rating(study, pid, 3, response_id="123")])
    assert study.store.count() == 0


def test_database_constraints_hold_without_python_checks(store_url: str) -> None:
    """Rows written around the validation (another tool, a bug) still meet the rules."""
    from sqlalchemy.exc import IntegrityError

    study = open_study(store_url)
    pid = study.enroll()
    row = study.validate(rating(study, pid, 0)).to_row()
    bad_rows = [
        {**row, "clarity": 9},
        {**row, "participant_id": None},
        {**row, "kind": "cluster"},
        {**row, "participant_id": "P002"},
    ]  # P002 is not enrolled
    for bad in bad_rows:
        bad = {**bad, "response_id": str(uuid.uuid4())}
        with pytest.raises(IntegrityError), study.store.engine.begin() as conn:
            conn.execute(insert(responses_table), bad)
    assert study.store.count() == 0


def test_unenrolled_participant_rejected(store_url: str) -> None:
    study = open_study(store_url)
    with pytest.raises(ResponseError, match="enrolled"):
        study.record(rating(study, "P001", 0))


def test_enrolment_hands_out_config_ids_in_order(store_url: str) -> None:
    study = open_study(store_url)
    assert [study.enroll() for _ in range(3)] == ["P001", "P002", "P003"]
    assert study.enroll("P007") == "P007"
    assert Study.open("store-test", store_url).config == study.config
    changed = StudyConfig("store-test", tasks=config().tasks[:2], participants=2)
    with pytest.raises(ValueError, match="different configuration"):
        Study.create(changed, store_url)


# ---------------------------------------------------- concurrency and killed writers
def _writer(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    open_study(store_url)
    procs = [_writer("write", store_url) for _ in range(WRITERS)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=False):
        assert p.returncode == 0, err
    df = Study.open("store-test", store_url).responses()
    # every writer enrolled a different participant, stored each response once despite resending it
    assert sorted(df.participant_id.unique()) == [f"P00{i}" for i in range(1, WRITERS + 1)]
    assert len(df) == WRITERS * PER_WRITER
    assert df.response_id.is_unique
    sent = {rid for out, _ in outs for rid in out.split()}
    assert set(df.response_id) == sent


def test_writer_killed_mid_transaction_leaves_store_consistent(store_url: str) -> None:
    open_study(store_url)
    proc = _writer("hang", store_url)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "in-transaction", proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    study = Study.open("store-test", store_url)
    df = study.responses()
    assert len(df) == BATCH  # the first batch committed; the killed one left no row
    assert set(df.comment) == {"batch 0"}
    _assert_healthy(study)


def test_writers_killed_at_random_moments_leave_whole_batches(store_url: str) -> None:
    open_study(store_url)
    for delay in (0.4, 0.9, 1.6):
        proc = _writer("loop", store_url)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "batch 0 committed"
        time.sleep(delay)  # kill somewhere in the following batches
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    study = Study.open("store-test", store_url)
    df = study.responses()
    sizes = df.groupby("comment").size()
    assert len(sizes) > 0
    assert (sizes == BATCH).all(), sizes[sizes != BATCH]
    _assert_healthy(study)


def _assert_healthy(study: Study) -> None:
    """The store still takes writes, and SQLite's own check passes."""
    if study.store.engine.dialect.name == "sqlite":
        with study.store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    pid = study.enroll()
    before = study.store.count()
    study.record(rating(study, pid, 0))
    assert study.store.count() == before + 1


# ----------------------------------------------------------------- writer process
def _main(mode: str, url: str) -> None:  # pragma: no cover - runs in a subprocess
    study = Study.open("store-test", url)
    pid = study.enroll()
    if mode == "write":
        for n in range(PER_WRITER):
            r = rating(study, pid, n)
            assert study.record(r) == ["stored"]
            assert study.record(r) == ["duplicate"]  # the browser resending
            print(r["response_id"], flush=True)
    elif mode == "hang":
        from sqlalchemy import event

        study.record([rating(study, pid, n, comment="batch 0") for n in range(BATCH)])

        @event.listens_for(study.store.engine, "commit")
        def stall(conn: object) -> None:
            print("in-transaction", flush=True)
            time.sleep(600)

        study.record([rating(study, pid, n, comment="batch 1") for n in range(BATCH)])
    elif mode == "loop":
        for b in range(10**6):
            tag = f"{pid} batch {b}"
            study.record([rating(study, pid, n, comment=tag) for n in range(BATCH)])
            if b == 0:
                print("batch 0 committed", flush=True)


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv[1], sys.argv[2])


def test_store_targets_paths_urls_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attn_widget.study.store import resolve_url

    assert resolve_url("postgresql://ann@db.example/study") == "postgresql+psycopg://ann@db.example/study"
    assert resolve_url(tmp_path / "a" / "s.db") == f"sqlite:///{tmp_path / 'a' / 's.db'}"
    assert (tmp_path / "a").is_dir()
    monkeypatch.setenv("ATTN_WIDGET_STUDY_DB", str(tmp_path / "env.sqlite"))
    assert Store().url == f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.delenv("ATTN_WIDGET_STUDY_DB")
    monkeypatch.chdir(tmp_path)
    assert Store().url == f"sqlite:///{tmp_path / 'attn_widget_study.sqlite'}"
    with pytest.raises(ValueError, match="only SQLite files and PostgreSQL"):
        Store("mysql+pymysql://u@h/db")
