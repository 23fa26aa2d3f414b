"""The study database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Three tables: ``studies`` (one row per study, its config as JSON),
``participants`` (who enrolled, when) and ``responses``. The constraints
repeat the checks of :mod:`attn_widget.study.responses` so that a row written
by anything else is held to the same rules: ratings 1–5, ids required, one
row per ``response_id`` (a resent response is stored once), the fields each
kind needs, and timestamps stored in UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect

SCHEMA_VERSION = 1


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that must be time-zone aware going in and comes out in UTC.

    PostgreSQL stores ``timestamptz``; SQLite has no zones, so the UTC wall time
    is stored and the zone put back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone; pass an aware datetime (UTC)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = MetaData()

ID = String(100)

studies = Table(
    "studies",
    metadata,
    Column("study_id", ID, primary_key=True),
    Column("title", Text, nullable=False, server_default=""),
    Column("config", JSON, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

participants = Table(
    "participants",
    metadata,
    Column("study_id", ID, nullable=False),
    Column("participant_id", ID, nullable=False),
    Column("enrolled_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("study_id", "participant_id", name="pk_participants"),
    ForeignKeyConstraint(["study_id"], ["studies.study_id"], name="fk_participants_study"),
)


def _rating(name: str) -> CheckConstraint:
    return CheckConstraint(f"{name} IS NULL OR ({name} BETWEEN 1 AND 5)", name=f"ck_{name}_1_to_5")


responses = Table(
    "responses",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("response_id", Uuid(as_uuid=False), nullable=False, unique=True),
    Column("study_id", ID, nullable=False),
    Column("participant_id", ID, nullable=False),
    Column("condition", ID, nullable=False),
    Column("task_id", ID, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("cluster_id", Integer),
    Column("clarity", SmallInteger),
    Column("usefulness", SmallInteger),
    Column("trust", SmallInteger),
    Column("comment", Text),
    Column("answer", Text),
    Column("correct", Boolean),
    Column("duration_ms", Integer),
    Column("client_time", UTCDateTime),
    Column("recorded_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(
        ["study_id", "participant_id"],
        ["participants.study_id", "participants.participant_id"],
        name="fk_responses_participant",
    ),
    CheckConstraint("kind IN ('cluster', 'explanation', 'task')", name="ck_kind"),
    _rating("clarity"),
    _rating("usefulness"),
    _rating("trust"),
    CheckConstraint("(kind = 'cluster') = (cluster_id IS NOT NULL)", name="ck_cluster_id_iff_cluster"),
    CheckConstraint(
        "(kind = 'task') = (answer IS NOT NULL AND duration_ms IS NOT NULL)",
        name="ck_task_has_answer_and_time",
    ),
    CheckConstraint("duration_ms IS NULL OR duration_ms >= 0", name="ck_duration_nonnegative"),
    CheckConstraint(
        "kind = 'task' OR clarity IS NOT NULL OR usefulness IS NOT NULL OR trust IS NOT NULL "
        "OR comment IS NOT NULL",
        name="ck_rating_or_comment",
    ),
)

COLUMNS = [c.name for c in responses.columns if c.name != "row_id"]
"""Response columns in table order (the DataFrame's columns)."""
