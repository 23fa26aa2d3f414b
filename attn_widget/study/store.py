"""Where responses live: a SQLite file by default, PostgreSQL by URL.

Guarantees, each tested on both backends (``tests/test_study_store.py``):

- **exactly once**: a response is keyed by its client-made ``response_id``;
  storing it again (a browser resend) is a no-op reported as ``"duplicate"``;
- **atomic**: :meth:`Store.record` stores all the responses it is given or
  none (one transaction), so a rejected value or a killed writer leaves
  nothing partial;
- **concurrent writers lose nothing**: SQLite runs in WAL mode with a busy
  timeout, write transactions start with ``BEGIN IMMEDIATE``, and a write
  that still meets a lock (or a PostgreSQL serialization failure or dropped
  connection) is retried with backoff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, func, make_url, select, text
from sqlalchemy.exc import IntegrityError

from . import schema
from ._engine import (
    DEFAULT_PATH,
    StoreBusyError,
    T,
    first_line,
    insert_ignore,
    resolve_url,
    retrying,
    sqlite_setup,
)
from .config import StudyConfig
from .responses import Response, ResponseError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_PATH", "Store", "StoreBusyError", "resolve_url", "to_frame"]


class Store:
    """A study database. Tables are created on first use.

    Parameters
    ----------
    target
        A file path (SQLite, created if missing), a SQLAlchemy URL
        (``postgresql://user@host/db`` uses psycopg 3), or ``None`` for
        :data:`DEFAULT_PATH`.
    retries
        Attempts for a write that meets a lock or a dropped connection.
    busy_timeout
        Seconds SQLite waits for a lock before an attempt fails.
    """

    def __init__(
        self, target: str | os.PathLike[str] | None = None, *, retries: int = 10, busy_timeout: float = 30.0
    ) -> None:
        self.url = resolve_url(target)
        self.retries = retries
        backend = make_url(self.url).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"store URL {self.url!r}: only SQLite files and PostgreSQL are supported; "
                "give a file path or postgresql://user@host/database"
            )
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        if backend == "sqlite":
            sqlite_setup(self.engine, busy_timeout)
        self._retry(self._create_tables, "create the tables")

    def _create_tables(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":  # several processes may start at once
                conn.execute(text("SELECT pg_advisory_xact_lock(724500105)"))
            schema.metadata.create_all(conn)

    def _reading(self) -> Any:
        """A connection for reads (a plain deferred transaction on SQLite)."""
        return self.engine.connect().execution_options(attn_read_only=True)

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # ------------------------------------------------------------- writes
    def add_study(self, config: StudyConfig) -> None:
        """Register a study; registering the same config again is a no-op."""
        row = {
            "study_id": config.id,
            "title": config.title,
            "config": config.to_dict(),
            "schema_version": schema.SCHEMA_VERSION,
            "created_at": _now(),
        }

        def work() -> None:
            with self.engine.begin() as conn:
                old = conn.execute(
                    select(schema.studies.c.config).where(schema.studies.c.study_id == config.id)
                ).scalar_one_or_none()
                if old is None:
                    conn.execute(insert_ignore(self.engine, schema.studies, ["study_id"]), row)
                elif _canonical(old) != _canonical(config.to_dict()):
                    raise ValueError(
                        f"study {config.id!r} is already in {self!r} with a different configuration; "
                        "give the changed study a new id (responses must stay tied to the design they used)"
                    )

        self._retry(work, "register the study")

    def config(self, study_id: str) -> StudyConfig:
        """The configuration stored for ``study_id``."""
        with self._reading() as conn:
            d = conn.execute(
                select(schema.studies.c.config).where(schema.studies.c.study_id == study_id)
            ).scalar_one_or_none()
        if d is None:
            raise ValueError(f"no study {study_id!r} in {self!r}; create it with Study.create(config, store)")
        return StudyConfig.from_dict(d if isinstance(d, dict) else json.loads(d))

    def enroll(self, config: StudyConfig, participant_id: str | None = None) -> str:
        """Enrol ``participant_id``, or the next id of the config nobody holds yet; return it."""
        wanted = [participant_id] if participant_id is not None else list(config.participants)
        if participant_id is not None:
            config.index_of(participant_id)
        stmt = insert_ignore(self.engine, schema.participants, ["study_id", "participant_id"]).returning(
            schema.participants.c.participant_id
        )

        def work() -> str:
            with self.engine.begin() as conn:
                taken = set(
                    conn.execute(
                        select(schema.participants.c.participant_id).where(
                            schema.participants.c.study_id == config.id
                        )
                    ).scalars()
                )
                for pid in wanted:
                    if participant_id is None and pid in taken:
                        continue
                    row = {"study_id": config.id, "participant_id": pid, "enrolled_at": _now()}
                    # another process may have taken pid since we looked: then try the next one
                    if conn.execute(stmt, row).first() is not None or participant_id is not None:
                        return pid
            raise ValueError(
                f"all {len(config.participants)} participant ids of study {config.id!r} are enrolled; "
                "add ids to the config's participants under a new study id"
            )

        return self._retry(work, "enrol a participant")

    def record(self, responses: Response | Iterable[Response]) -> list[str]:
        """Store responses atomically; return ``"stored"`` or ``"duplicate"`` for each.

        Raises
        ------
        ResponseError
            A ``response_id`` already stored with different values, or a
            participant who is not enrolled; nothing of the batch is stored.
        """
        batch = [responses] if isinstance(responses, Response) else list(responses)
        stmt = insert_ignore(self.engine, schema.responses, ["response_id"]).returning(
            schema.responses.c.row_id
        )
        cols = schema.responses.c

        def work() -> list[str]:
            statuses = []
            with self.engine.begin() as conn:
                for r in batch:
                    row = r.to_row()
                    if conn.execute(stmt, row).first() is not None:
                        statuses.append("stored")
                        continue
                    old = conn.execute(
                        select(schema.responses).where(cols.response_id == r.response_id)
                    ).one()
                    diff = [k for k in row if k != "recorded_at" and _norm(old._mapping[k]) != _norm(row[k])]
                    if diff:
                        raise ResponseError(
                            f"response_id {r.response_id} is already stored with different {diff}; "
                            "a new answer needs a new response_id. Nothing of this batch was stored"
                        )
                    statuses.append("duplicate")
            return statuses

        try:
            return self._retry(work, f"record {len(batch)} response(s)")
        except IntegrityError as e:
            raise ResponseError(
                f"the database refused the batch ({first_line(e)}); is the participant enrolled "
                "(Study.enroll)? Nothing of this batch was stored"
            ) from e

    # -------------------------------------------------------------- reads
    def count(self, study_id: str | None = None) -> int:
        """Number of stored responses (of one study, or all)."""
        q = select(func.count()).select_from(schema.responses)
        if study_id is not None:
            q = q.where(schema.responses.c.study_id == study_id)
        with self._reading() as conn:
            return int(conn.execute(q).scalar_one())

    def read(self, study_id: str | None = None) -> pd.DataFrame:
        """All responses (of one study, or all) as a DataFrame, oldest first, times in UTC."""
        pd = _pandas()
        q = select(*[schema.responses.c[name] for name in schema.COLUMNS]).order_by(schema.responses.c.row_id)
        if study_id is not None:
            q = q.where(schema.responses.c.study_id == study_id)
        with self._reading() as conn:
            rows = [tuple(r) for r in conn.execute(q)]
        return to_frame(pd.DataFrame.from_records(rows, columns=schema.COLUMNS))

    def _retry(self, work: Callable[[], T], what: str) -> T:
        return retrying(work, what, self.retries, repr(self))


def to_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Give a responses DataFrame its proper dtypes (nullable ints and booleans, UTC times)."""
    pd = _pandas()
    for name in ("cluster_id", "clarity", "usefulness", "trust", "duration_ms"):
        df[name] = pd.array(df[name], dtype="Int64")
    df["correct"] = pd.array(df["correct"], dtype="boolean")
    for name in ("client_time", "recorded_at"):
        df[name] = pd.to_datetime(df[name], utc=True).astype("datetime64[us, UTC]")
    for name in (
        "response_id",
        "study_id",
        "participant_id",
        "condition",
        "task_id",
        "kind",
        "comment",
        "answer",
    ):
        df[name] = df[name].astype("string")
    return df


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return str(value) if value is not None and not isinstance(value, (bool, int, float)) else value


def _canonical(d: Any) -> str:
    return json.dumps(d if isinstance(d, dict) else json.loads(d), sort_keys=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading study responses needs pandas: pip install 'attn_widget[study]'") from e
    return pd
