"""Study design: ids from the config, counterbalanced schedules, validated responses."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sqlalchemy", reason="needs the 'study' extra: pip install 'attn_widget[study]'")

from attn_widget.study import (
    Condition,
    Response,
    ResponseError,
    StudyConfig,
    Task,
    balanced_latin_square,
)


def make_config(n_tasks: int = 4, n_conditions: int = 2, participants: int = 8) -> StudyConfig:
    tasks = [Task(f"t{i}", f"text {i}") for i in range(n_tasks)]
    conditions = [Condition(f"c{j}", f"Condition {j}", "explanations") for j in range(n_conditions)]
    return StudyConfig("s", tasks=tasks, conditions=conditions, participants=participants)


@given(st.integers(min_value=2, max_value=7))
def test_latin_square_puts_every_condition_in_every_position_equally(n: int) -> None:
    rows = balanced_latin_square(n)
    for position in range(n):
        assert Counter(row[position] for row in rows) == Counter({c: len(rows) // n for c in range(n)})
    # carry-over balance: each ordered pair of neighbours appears equally often
    pairs = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
    assert len(set(pairs.values())) == 1
    assert len(pairs) == n * (n - 1)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(2, 4), tasks_per=st.integers(1, 3))
def test_schedule_balances_order_and_task_condition_pairing(k: int, tasks_per: int) -> None:
    rows = len(balanced_latin_square(k))
    cycle = rows * k
    config = make_config(k * tasks_per, k, participants=cycle)
    first = Counter()
    pairing = Counter()
    for pid in config.participants:
        steps = config.schedule(pid)
        assert sorted(s.task.id for s in steps) == sorted(t.id for t in config.tasks)  # every task once
        assert [s.position for s in steps] == list(range(len(steps)))
        first[steps[0].condition.id] += 1
        pairing.update((s.condition.id, s.task.id) for s in steps)
    assert set(first.values()) == {cycle // k}
    assert set(pairing.values()) == {cycle // k}  # every task met under every condition equally often


def test_two_condition_default_alternates_order() -> None:
    config = StudyConfig("pilot", tasks=[Task("a", "x"), Task("b", "y")], participants=4)
    firsts = [config.schedule(p)[0].condition.id for p in config.participants]
    assert firsts == ["explanations", "bertviz_only", "explanations", "bertviz_only"]
    assert config.participants == ("P001", "P002", "P003", "P004")


def test_config_round_trips_through_json(tmp_path: Path) -> None:
    config = StudyConfig(
        "pilot",
        tasks=[Task("a", "x", "Which?", ("1", "2"), "2"), Task("b", "y")],
        participants=["ann", "bob"],
        title="Pilot",
    )
    assert StudyConfig.load(config.save(tmp_path / "c.json")) == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "bad id"}, "study id 'bad id' is not a valid id"),
        ({"tasks": [Task("a", "x")]}, "1 task.*for 2 conditions"),
        ({"tasks": [Task("a", "x"), Task("a", "y")]}, r"duplicate task ids \['a'\]"),
        ({"participants": 0}, "participants=0"),
        ({"conditions": [Condition("only", "Only", "explanations")]}, "at least 2"),
    ],
)
def test_bad_config_says_what_to_fix(kwargs: dict, message: str) -> None:
    base = {"id": "s", "tasks": [Task("a", "x"), Task("b", "y")]}
    with pytest.raises(ValueError, match=message):
        StudyConfig(**{**base, **kwargs})


def test_task_correct_answer_must_be_a_choice() -> None:
    with pytest.raises(ValueError, match="'c' is not one of its choices"):
        Task("a", "x", "Which?", ("a", "b"), "c")


def test_response_checked_against_schedule_and_choices() -> None:
    config = StudyConfig("s", tasks=[Task("a", "x", "Which?", ("yes", "no"), "no"), Task("b", "y")])
    step = config.schedule("P001")[0]
    other = next(c.id for c in config.conditions if c.id != step.condition.id)
    base = {
        "response_id": str(uuid.uuid4()),
        "study_id": "s",
        "participant_id": "P001",
        "condition": step.condition.id,
        "task_id": step.task.id,
        "kind": "task",
        "answer": "no",
        "duration_ms": 10,
    }
    r = Response.from_dict({**base, "task_id": "a", "condition": _condition_of(config, "a")}, config)
    assert r.correct is True
    with pytest.raises(ResponseError, match="does not do task"):
        Response.from_dict({**base, "task_id": "a", "condition": _other(config, "a")}, config)
    with pytest.raises(ResponseError, match="not one of task 'a'"):
        Response.from_dict(
            {**base, "task_id": "a", "condition": _condition_of(config, "a"), "answer": "maybe"}, config
        )
    with pytest.raises(ResponseError, match="has no question"):
        Response.from_dict({**base, "task_id": "b", "condition": _condition_of(config, "b")}, config)
    assert other != step.condition.id


def test_response_errors_list_every_bad_field() -> None:
    with pytest.raises(ResponseError) as info:
        Response.from_dict(
            {
                "response_id": "x",
                "study_id": "",
                "participant_id": None,
                "condition": "c",
                "task_id": "t",
                "kind": "vote",
                "trust": True,
                "colour": "red",
            }
        )
    text = str(info.value)
    for part in (
        "unknown field(s) ['colour']",
        "not a UUID",
        "study id ''",
        "participant id None",
        "kind 'vote'",
        "trust rating True",
    ):
        assert part in text


def _condition_of(config: StudyConfig, task: str) -> str:
    return next(s.condition.id for s in config.schedule("P001") if s.task.id == task)


def _other(config: StudyConfig, task: str) -> str:
    mine = _condition_of(config, task)
    return next(c.id for c in config.conditions if c.id != mine)
