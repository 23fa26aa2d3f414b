"""Cache files shared by processes: replaced whole, and one writer at a time."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from attn_widget.core.files import exclusive, write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "heads.json"
    write_atomic(path, b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["heads.json"]


def _hold(lock: str, started: multiprocessing.synchronize.Event, seconds: float) -> None:
    with exclusive(Path(lock)):
        started.set()
        time.sleep(seconds)


def test_exclusive_makes_a_second_process_wait_for_the_first(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / ".model.lock"
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    other = ctx.Process(target=_hold, args=(str(lock), started, 1.5))
    other.start()
    assert started.wait(60)
    t0 = time.monotonic()
    with exclusive(lock):
        waited = time.monotonic() - t0
    other.join(60)
    assert waited > 0.5  # it could not enter while the other process held the lock
    with exclusive(lock):  # and the lock is free again afterwards, in this process too
        pass
