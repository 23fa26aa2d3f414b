"""One participant response, validated before it reaches the store.

A response is one of three kinds (a marking task's answer is the marked token
groups as JSON, ``[[1, 2], [5, 6, 7]]``, checked and stored sorted; read it back
with :func:`marks_of`):

- ``"cluster"``: Likert ratings (and/or a comment) of one cluster's rationale;
- ``"explanation"``: ratings (and/or a comment) of the whole explanation;
- ``"task"``: the answer to a task question and the time it took in the browser.

Every response carries a ``response_id`` UUID generated where it was created
(the browser): a resent response has the same id, and the store keeps it once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from .config import StudyConfig, check_id

KINDS = ("cluster", "explanation", "task")
"""What a response is about."""

RATINGS = ("clarity", "usefulness", "trust")
"""The Likert scales, each 1 (worst) … 5 (best)."""

MAX_COMMENT = 10_000
MAX_DURATION_MS = 24 * 3600 * 1000


class ResponseError(ValueError):
    """A response was rejected; the message lists every bad field and what to do."""


@dataclass(frozen=True)
class Response:
    """A validated response. Build with :meth:`from_dict` (raises :class:`ResponseError`)."""

    response_id: str
    study_id: str
    participant_id: str
    condition: str
    task_id: str
    kind: str
    cluster_id: int | None = None
    clarity: int | None = None
    usefulness: int | None = None
    trust: int | None = None
    comment: str | None = None
    answer: str | None = None
    correct: bool | None = None
    duration_ms: int | None = None
    client_time: datetime | None = None
    recorded_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], config: StudyConfig | None = None) -> Response:
        """Validate ``d``; with ``config``, also check its ids belong to the study.

        With ``config`` and a task answer, ``correct`` is computed from the task's
        correct answer (whatever the client sent).
        """
        known = {f.name for f in fields(cls)} - {"recorded_at"}
        unknown = sorted(set(d) - known)
        errors = [f"unknown field(s) {unknown}; allowed: {sorted(known)}"] if unknown else []
        v: dict[str, Any] = {k: d.get(k) for k in known}
        v["response_id"] = _uuid(v["response_id"], errors)
        for key, what in (
            ("study_id", "study id"),
            ("participant_id", "participant id"),
            ("condition", "condition id"),
            ("task_id", "task id"),
        ):
            try:
                check_id(v[key], what)
            except ValueError as e:
                errors.append(str(e))
        if v["kind"] not in KINDS:
            errors.append(f"kind {v['kind']!r} is not one of {KINDS}")
        for name in RATINGS:
            value = v[name]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5
            ):
                errors.append(
                    f"{name} rating {value!r} is out of range: give a whole number from 1 to 5, or None"
                )
        _check_text(v, "comment", errors)
        _check_text(v, "answer", errors)
        if v["cluster_id"] is not None and (
            isinstance(v["cluster_id"], bool) or not isinstance(v["cluster_id"], int)
        ):
            errors.append(f"cluster_id {v['cluster_id']!r} must be an integer cluster id")
        ms = v["duration_ms"]
        if ms is not None:
            if isinstance(ms, float) and ms.is_integer():
                ms = v["duration_ms"] = int(ms)
            if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_DURATION_MS:
                errors.append(
                    f"duration_ms {ms!r} must be whole milliseconds between 0 and {MAX_DURATION_MS}"
                )
        if v["correct"] is not None and not isinstance(v["correct"], bool):
            errors.append(f"correct {v['correct']!r} must be True, False or None")
        v["client_time"] = _time(v["client_time"], errors)
        if not errors:
            _check_kind(v, errors)
        if not errors and config is not None:
            _check_config(v, config, errors)
        if errors:
            raise ResponseError("response rejected, nothing stored: " + "; ".join(errors))
        return cls(**v)

    def to_row(self) -> dict[str, Any]:
        """The column values for the store."""
        return asdict(self)


def marks_of(answer: str) -> list[frozenset[int]]:
    """The token groups a marking task's answer holds (JSON ``[[i, ...], ...]``), checked.

    Raises ``ValueError`` unless it is a non-empty list of non-empty, disjoint
    groups of token indices (whole numbers >= 0).
    """
    try:
        raw = json.loads(answer)
    except (TypeError, ValueError):
        raise ValueError(
            f"the answer {answer!r} is not the JSON list of marked groups, e.g. [[1, 2], [5]]"
        ) from None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"the answer {answer!r} marks no group; mark at least one word")
    groups: list[frozenset[int]] = []
    for g in raw:
        if not isinstance(g, list) or not g or any(
            isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in g
        ):
            raise ValueError(f"group {g!r} must be a non-empty list of token indices (whole numbers >= 0)")
        groups.append(frozenset(g))
    seen: set[int] = set()
    for g in groups:
        if seen & g:
            twice = sorted(seen & g)
            raise ValueError(f"tokens {twice} are marked in two groups; a token belongs to one group")
        seen |= g
    return groups


def new_response_id() -> str:
    """A fresh response UUID (the browser makes its own with ``crypto.randomUUID``)."""
    return str(uuid.uuid4())


def _uuid(value: Any, errors: list[str]) -> str | None:
    if value is None:
        errors.append("response_id is missing; generate a UUID per response where it is created")
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        errors.append(f"response_id {value!r} is not a UUID; generate one per response (crypto.randomUUID())")
        return None


def _check_text(v: dict[str, Any], key: str, errors: list[str]) -> None:
    value = v[key]
    if value is None:
        return
    if not isinstance(value, str):
        errors.append(f"{key} must be text, got {type(value).__name__} {value!r}")
    elif len(value) > MAX_COMMENT:
        errors.append(f"{key} is {len(value)} characters; keep it under {MAX_COMMENT}")
    elif "\x00" in value:
        errors.append(f"{key} contains a NUL character; remove it")
    else:
        v[key] = value.strip() or None


def _time(value: Any, errors: list[str]) -> datetime | None:
    if value is None:
        return None
    try:
        t = (
            value
            if isinstance(value, datetime)
            else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        )
    except ValueError:
        errors.append(f"client_time {value!r} is not an ISO 8601 time (e.g. new Date().toISOString())")
        return None
    if t.tzinfo is None:
        errors.append(f"client_time {value!r} has no time zone; send UTC (new Date().toISOString())")
        return None
    return t.astimezone(timezone.utc)


def _check_kind(v: dict[str, Any], errors: list[str]) -> None:
    rated = any(v[r] is not None for r in RATINGS) or v["comment"] is not None
    if v["kind"] == "cluster" and v["cluster_id"] is None:
        errors.append("a 'cluster' response needs cluster_id (which cluster's rationale was rated)")
    if v["kind"] != "cluster" and v["cluster_id"] is not None:
        errors.append(f"cluster_id is only for 'cluster' responses, not {v['kind']!r}")
    if v["kind"] in ("cluster", "explanation") and not rated:
        errors.append(f"a {v['kind']!r} response needs at least one rating or a comment")
    if v["kind"] == "task" and (v["answer"] is None or v["duration_ms"] is None):
        errors.append("a 'task' response needs answer and duration_ms (time from showing the task)")
    if v["kind"] != "task" and (v["answer"] is not None or v["duration_ms"] is not None):
        errors.append(f"answer and duration_ms are only for 'task' responses, not {v['kind']!r}")


def _check_config(v: dict[str, Any], config: StudyConfig, errors: list[str]) -> None:
    if v["study_id"] != config.id:
        errors.append(f"study_id {v['study_id']!r} is not this study ({config.id!r})")
        return
    try:
        config.index_of(v["participant_id"])
        config.condition(v["condition"])
        task = config.task(v["task_id"])
    except ValueError as e:
        errors.append(str(e))
        return
    planned = {(s.condition.id, s.task.id) for s in config.schedule(v["participant_id"])}
    if (v["condition"], v["task_id"]) not in planned:
        errors.append(
            f"participant {v['participant_id']!r} does not do task {v['task_id']!r} under condition "
            f"{v['condition']!r} in this study's schedule; take both from StudyConfig.schedule()"
        )
    if v["kind"] == "task":
        if task.question is None:
            errors.append(f"task {task.id!r} has no question, so it takes no answer")
        elif task.choices and v["answer"] not in task.choices:
            errors.append(f"answer {v['answer']!r} is not one of task {task.id!r}'s choices {task.choices!r}")
        if task.correct is not None:
            v["correct"] = v["answer"] == task.correct
        if task.mark is not None and v["answer"] is not None:
            try:
                groups = marks_of(v["answer"])
            except ValueError as e:
                errors.append(f"task {task.id!r} is a marking task: {e}")
                return
            if task.mark == "next_word" and len(groups) != 1:
                errors.append(
                    f"task {task.id!r} asks for one group of words (the ones that matter), got {len(groups)}"
                )
            v["answer"] = json.dumps([sorted(g) for g in groups])
