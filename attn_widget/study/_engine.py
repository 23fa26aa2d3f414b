"""Engine plumbing for the study store: URLs, SQLite settings, idempotent inserts, retries.

SQLite runs in WAL mode (readers never block the writer) with ``synchronous=FULL``
(a committed response survives a crash), a busy timeout, foreign keys on, and
write transactions opened with ``BEGIN IMMEDIATE`` so they wait for the lock up
front instead of failing when a read transaction tries to upgrade. Whatever still
fails transiently (a lock held past the timeout, a PostgreSQL serialization
failure or deadlock, a dropped connection) is retried with jittered backoff.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event, insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

DEFAULT_PATH = "attn_widget_study.sqlite"
"""The SQLite file used when no store is named (in the working directory), unless
the ``ATTN_WIDGET_STUDY_DB`` environment variable names a path or URL."""

T = TypeVar("T")


class StoreBusyError(RuntimeError):
    """The database stayed locked or unreachable through every retry."""


def resolve_url(target: str | os.PathLike[str] | None) -> str:
    """Turn a path, URL or ``None`` (the default file) into a SQLAlchemy URL."""
    target = target if target is not None else os.environ.get("ATTN_WIDGET_STUDY_DB", DEFAULT_PATH)
    text = os.fspath(target)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if text.startswith(("postgresql://", "postgres://")):
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def retrying(work: Callable[[], T], what: str, retries: int, where: str) -> T:
    """Run ``work``; on a lock, serialization failure or dropped connection wait and run it again."""
    delay = 0.05
    for attempt in range(1, retries + 1):
        try:
            return work()
        except DBAPIError as e:
            if isinstance(e, IntegrityError) or not _transient(e):
                raise
            if attempt == retries:
                raise StoreBusyError(
                    f"could not {what} in {where} after {attempt} attempts ({first_line(e)}); "
                    "nothing was stored. Retry later, or raise retries/busy_timeout"
                ) from e
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


def sqlite_setup(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads, then
        # writes, can fail with SQLITE_BUSY without waiting for the busy timeout.
        read_only = conn.get_execution_options().get("attn_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def insert_ignore(engine: Engine, table: Any, keys: Sequence[str]) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return insert(table)


def _transient(e: DBAPIError) -> bool:
    if e.connection_invalidated:
        return True
    text = str(e.orig).lower()
    code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None)
    return (
        "database is locked" in text
        or "database is busy" in text
        or code in {"40001", "40P01", "57P01", "08006", "08003", "08001"}
        or (code is None and isinstance(e, OperationalError) and "sqlite" not in text and "connect" in text)
    )


def first_line(e: BaseException) -> str:
    return str(getattr(e, "orig", e)).strip().splitlines()[0]
