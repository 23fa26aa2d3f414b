"""A study's design: tasks, conditions, participant ids and a counterbalanced schedule.

A :class:`StudyConfig` is the single source of participant, condition and task
ids: the capture widget and the store take them from here, so nobody types an
id by hand during a session. :meth:`StudyConfig.schedule` gives each
participant the order in which they meet the conditions (rows of a balanced
Latin square) and which tasks they do under each condition (task groups
rotated across conditions), so that over a full cycle of participants every
condition appears equally often in every position and with every task.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""Ids (study, participant, condition, task) are short and URL/file safe."""


def check_id(value: Any, what: str) -> str:
    """Return ``value`` if it is a valid id, else raise a ``ValueError`` naming it."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid id: use 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


MARKS = {
    "together": "Mark the groups of words that belong together: click words to add them to the "
    "current group, 'New group' to start another.",
    "next_word": "Mark the words that matter most for what comes next (the model's next word).",
}
"""Marking task kinds and the instruction participants read for each."""


@dataclass(frozen=True)
class Task:
    """One item a participant works on: a text to inspect and, optionally, a question.

    Attributes
    ----------
    id
        Task id, unique within the study.
    text
        The text whose attention is shown.
    question
        A task question ("Which word does 'it' refer to?"), or ``None`` for rating only.
    choices
        Answer options shown as buttons; empty for a free-text answer.
    correct
        The correct answer, used to score accuracy; ``None`` when there is none.
    mark
        A marking task: ``"together"`` (mark the groups of tokens that belong
        together) or ``"next_word"`` (mark the tokens that matter for the model's
        next word), a key of :data:`MARKS`; ``None`` for a question or rating task.
        The answer is the marked groups of token indices (see
        :func:`attn_widget.study.responses.marks_of`), scored against the model
        with :mod:`attn_widget.evaluate`.
    """

    id: str
    text: str
    question: str | None = None
    choices: tuple[str, ...] = ()
    correct: str | None = None
    mark: str | None = None

    def __post_init__(self) -> None:
        check_id(self.id, "task id")
        if self.mark is not None:
            if self.mark not in MARKS:
                raise ValueError(f"task {self.id!r}: mark={self.mark!r} is not one of {sorted(MARKS)}")
            if self.choices or self.correct is not None:
                raise ValueError(
                    f"task {self.id!r} is a marking task (mark={self.mark!r}): its answer is the marked "
                    "tokens, "
                    "so give no choices and no correct answer"
                )
            if self.question is None:
                object.__setattr__(self, "question", MARKS[self.mark])
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"task {self.id!r} has empty text; give the text participants will inspect")
        object.__setattr__(self, "choices", tuple(str(c) for c in self.choices))
        if self.correct is not None and self.choices and self.correct not in self.choices:
            raise ValueError(
                f"task {self.id!r}: correct answer {self.correct!r} is not one of its choices "
                f"{self.choices!r}"
            )


@dataclass(frozen=True)
class Condition:
    """A way of showing the attention, compared against the others.

    Attributes
    ----------
    id
        Condition id (``"explanations"``, ``"bertviz_only"``).
    label
        What the participant reads in the header.
    view
        Name of the view in :data:`attn_widget.study.session.VIEWS` (``"explanations"``
        shows clusters with rationales; ``"bertviz"`` the raw heads only; ``"headline"``
        the explainer with each cluster's headline, rated as its text; ``"rationale"``
        the explainer with the full rationales only, rated as its text).
    """

    id: str
    label: str
    view: str

    def __post_init__(self) -> None:
        check_id(self.id, "condition id")


DEFAULT_CONDITIONS = (
    Condition("explanations", "Clusters with explanations", "explanations"),
    Condition("bertviz_only", "Raw attention heads (BertViz)", "bertviz"),
)
"""The comparison the client asked for: explanations vs the baseline tool alone."""

HEADLINE_CONDITIONS = (
    Condition("headline", "One-line headlines (details on click)", "headline"),
    Condition("full", "Full rationales", "rationale"),
)
"""The short headline task: each cluster's one-line headline vs its full rationale."""


@dataclass(frozen=True)
class Step:
    """One screen of a participant's session: a task under a condition."""

    position: int
    condition: Condition
    task: Task


@dataclass(frozen=True)
class StudyConfig:
    """Everything fixed before the first participant arrives.

    Attributes
    ----------
    id
        Study id; rows in the store carry it.
    tasks
        The tasks, split into one group per condition (task ``i`` goes to group
        ``i % len(conditions)``).
    conditions
        At least two conditions, compared within each participant.
    participants
        Participant ids in enrolment order; an int ``n`` gives ``P001`` … ``Pn``.
    title
        Shown to participants.
    """

    id: str
    tasks: tuple[Task, ...]
    conditions: tuple[Condition, ...] = DEFAULT_CONDITIONS
    participants: Any = 24
    """(after construction always a ``tuple[str, ...]`` of ids)"""
    title: str = ""

    def __post_init__(self) -> None:
        check_id(self.id, "study id")
        tasks = tuple(t if isinstance(t, Task) else Task(**t) for t in self.tasks)
        conditions = tuple(c if isinstance(c, Condition) else Condition(**c) for c in self.conditions)
        people = self.participants
        if isinstance(people, int):
            if people < 1:
                raise ValueError(f"participants={people}: give a positive count or a list of ids")
            people = tuple(f"P{i:03d}" for i in range(1, people + 1))
        people = tuple(check_id(p, "participant id") for p in people)
        if len(conditions) < 2:
            raise ValueError(f"a study compares conditions; got {len(conditions)}, give at least 2")
        if len(tasks) < len(conditions):
            raise ValueError(
                f"{len(tasks)} task(s) for {len(conditions)} conditions: give at least one task per condition"
            )
        for kind, ids in (
            ("task", [t.id for t in tasks]),
            ("condition", [c.id for c in conditions]),
            ("participant", list(people)),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids {dupes}: every {kind} id must be unique")
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "conditions", conditions)
        object.__setattr__(self, "participants", people)

    # ------------------------------------------------------------ lookups
    def task(self, task_id: str) -> Task:
        """The task with id ``task_id``."""
        return _find(self.tasks, task_id, "task", self.id)

    def condition(self, condition_id: str) -> Condition:
        """The condition with id ``condition_id``."""
        return _find(self.conditions, condition_id, "condition", self.id)

    def index_of(self, participant_id: str) -> int:
        """Enrolment index of ``participant_id``."""
        try:
            return self.participants.index(participant_id)
        except ValueError:
            raise ValueError(
                f"participant {participant_id!r} is not in study {self.id!r}; "
                f"use one of its ids ({self.participants[0]!r} … {self.participants[-1]!r}) or Study.enroll()"
            ) from None

    # ---------------------------------------------------------- schedule
    def condition_order(self, participant_id: str) -> tuple[Condition, ...]:
        """Conditions in the order this participant meets them (a balanced Latin square row)."""
        rows = balanced_latin_square(len(self.conditions))
        row = rows[self.index_of(participant_id) % len(rows)]
        return tuple(self.conditions[j] for j in row)

    def schedule(self, participant_id: str) -> tuple[Step, ...]:
        """The participant's steps: each condition in turn, with the task group it gets."""
        k = len(self.conditions)
        index = self.index_of(participant_id)
        rotation = (index // len(balanced_latin_square(k))) % k
        groups = [self.tasks[g::k] for g in range(k)]
        steps: list[Step] = []
        for condition in self.condition_order(participant_id):
            c = self.conditions.index(condition)
            for task in groups[(c + rotation) % k]:
                steps.append(Step(len(steps), condition, task))
        return tuple(steps)

    # -------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; :meth:`from_dict` inverts it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StudyConfig:
        unknown = set(d) - {"id", "tasks", "conditions", "participants", "title"}
        if unknown:
            raise ValueError(f"unknown study config keys {sorted(unknown)}")
        return cls(
            id=d["id"],
            tasks=tuple(Task(**t) for t in d["tasks"]),
            conditions=tuple(
                Condition(**c) for c in d.get("conditions", [asdict(c) for c in DEFAULT_CONDITIONS])
            ),
            participants=d.get("participants", 24),
            title=d.get("title", ""),
        )

    def save(self, path: str | Path) -> Path:
        """Write the config as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> StudyConfig:
        """Read a config written by :meth:`save` (or by hand, same keys)."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def balanced_latin_square(n: int) -> list[list[int]]:
    """Rows of a Williams design: each item in each position once, first-order carry-over balanced.

    For odd ``n`` the mirrored rows are appended, giving ``2n`` rows.
    """
    first = [0]
    lo, hi = 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + r) % n for x in first] for r in range(n)]
    if n % 2:
        rows += [list(reversed(row)) for row in rows]
    return rows


def _find(items: Sequence[Any], wanted: str, kind: str, study: str) -> Any:
    for item in items:
        if item.id == wanted:
            return item
    ids = ", ".join(repr(i.id) for i in items)
    raise ValueError(f"{kind} {wanted!r} is not in study {study!r}; its {kind}s are {ids}")
