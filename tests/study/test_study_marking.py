"""Marking tasks: participants mark tokens that belong together, recorded once, validated, scored."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the 'study' extra: pip install 'attn_widget[study]'")

from attn_widget.evaluate import token_scores
from attn_widget.study import ResponseError, Study, StudyConfig, Task
from attn_widget.study.feedback import FeedbackWidget
from attn_widget.study.plausibility import plausibility, plausibility_table
from attn_widget.study.responses import marks_of
from attn_widget.study.synthetic import MARK_GROUPS, MARK_TASKS, demo_config, mark_analysis, simulate


@pytest.fixture
def study(tmp_path: Path) -> Study:
    tasks = [*MARK_TASKS, Task("next", "The keys to the cabinet are", mark="next_word")]
    config = StudyConfig("m", tasks=[*tasks, Task("r", "Dogs bark.")], participants=4)
    return Study.create(config, tmp_path / "m.sqlite")


def step_of(study: Study, pid: str, task_id: str):
    return next(s for s in study.schedule(pid) if s.task.id == task_id)


def answer(groups, **extra):
    return {
        "response_id": str(uuid.uuid4()),
        "kind": "task",
        "answer": json.dumps(groups),
        "duration_ms": 900,
        **extra,
    }


def test_a_marking_task_has_an_instruction_and_refuses_choices_or_an_unknown_kind():
    t = Task("t", "Some text.", mark="together")
    assert "belong together" in (t.question or "")
    with pytest.raises(ValueError, match="give no choices and no correct answer"):
        Task("t", "Some text.", mark="together", choices=("a", "b"))
    with pytest.raises(ValueError, match="mark='words' is not one of"):
        Task("t", "Some text.", mark="words")


def test_marks_are_stored_once_sorted_and_read_back_as_groups(study: Study):
    pid = study.enroll()
    step = next(s for s in study.schedule(pid) if s.task.mark == "together")
    w = FeedbackWidget(study, pid, step, mark_analysis(step.task))
    assert w.mark == "together"
    assert w.tokens[1] == "The"
    response = answer([[4, 2, 3], [7]])
    assert w.receive(response)["status"] == "stored"
    assert w.receive(response)["status"] == "duplicate"  # a resend is stored once
    stored = study.responses()
    assert len(stored) == 1
    assert stored.answer.iloc[0] == "[[2, 3, 4], [7]]"
    assert marks_of(stored.answer.iloc[0]) == [frozenset({2, 3, 4}), frozenset({7})]


def test_bad_marks_are_refused_and_nothing_is_stored(study: Study):
    pid = study.enroll()
    step = next(s for s in study.schedule(pid) if s.task.mark == "together")
    w = FeedbackWidget(study, pid, step, mark_analysis(step.task))
    n = len(w.tokens)
    for groups, message in (
        ([[1, 2], [2, 3]], r"tokens \[2\] are marked in two groups"),
        ([[]], "must be a non-empty list of token indices"),
        ([], "marks no group"),
        ([[1, n]], rf"tokens \[{n}\] are not in this text \(it has {n} tokens"),
        ([[1, -1]], "whole numbers >= 0"),
    ):
        ack = w.receive(answer(groups))
        assert ack["status"] == "error", ack
        assert re.search(message, ack["error"]), ack
    ack = w.receive({**answer([[1]]), "answer": "cat and dog"})
    assert "not the JSON list of marked groups" in ack["error"]
    assert study.responses().empty
    with pytest.raises(ValueError, match="give the analysis shown"):
        FeedbackWidget(study, pid, step)


def test_a_next_word_task_takes_exactly_one_group(study: Study):
    pid = next(p for p in study.config.participants if any(s.task.id == "next" for s in study.schedule(p)))
    study.enroll(pid)
    record = {**answer([[1], [2]]), "participant_id": pid, "study_id": "m", "task_id": "next"}
    record["condition"] = step_of(study, pid, "next").condition.id
    with pytest.raises(ResponseError, match="asks for one group"):
        study.record([record])


def test_the_plausibility_table_scores_each_participant_under_each_condition(tmp_path: Path):
    study = Study.create(demo_config(8, study_id="pl", marking=True), tmp_path / "p.sqlite")
    df = simulate(study)
    analyses = {t.id: mark_analysis(t) for t in MARK_TASKS}
    for t in MARK_TASKS:  # the planted analysis groups the words as planted
        assert [list(c.tokens) for c in analyses[t.id].clusters] == MARK_GROUPS[t.id]
    per = plausibility(df, analyses, {k: token_scores(a) for k, a in analyses.items()})
    assert len(per) == 8 * len(MARK_TASKS)
    assert per[["iou_f1", "token_f1", "auprc"]].apply(lambda c: c.between(0, 1)).all().all()
    table = plausibility_table(per)
    assert list(table.index) == list(study.config.participants)
    assert set(table.columns.get_level_values("condition")) == {"explanations", "bertviz_only"}
    full = per[per.token_f1 == 1.0]  # a participant who marked exactly the planted groups
    assert (full.iou_f1 == 1.0).all()
