"""The capture widget and the participant session, kernel side (no browser)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="needs the 'study' extra: pip install 'attn_widget[study]'")

from factories import make_analysis

from attn_widget.core import Analysis
from attn_widget.study import Study, StudyConfig, Task
from attn_widget.study.feedback import FeedbackWidget, cluster_items
from attn_widget.study.session import VIEWS, ParticipantSession

WORDS = ["The", "cat", "sat", "on", "the", "mat", "because", "it", "was", "very", "tired", "today"]


def planted(task: Task) -> Analysis:
    """The analyzer a study session calls for a task: planted groups over ``WORDS``, explained."""
    a = make_analysis([4, 5, 3], n_layers=2, n_heads=2, seed=len(task.text), tokens=["<s>", *WORDS])
    return a.explain()


@pytest.fixture
def study(tmp_path: Path) -> Study:
    tasks = [
        Task("q1", "The cat sat.", "Which word is the subject?", ("cat", "sat"), "cat"),
        Task("r1", "It rained."),
        Task("q2", "<img src=x onerror=alert(1)>", "Free answer?"),
        Task("r2", "Dogs bark."),
    ]
    return Study.create(
        StudyConfig("w", tasks=tasks, participants=4, title="Widget test"), tmp_path / "s.sqlite"
    )


def test_traits_come_from_the_config(study: Study) -> None:
    pid = study.enroll()
    step = study.schedule(pid)[0]
    w = FeedbackWidget(study, pid, step, planted(step.task))
    assert (w.study_id, w.participant_id, w.condition, w.task_id) == (
        "w",
        pid,
        step.condition.id,
        step.task.id,
    )
    assert w.question == step.task.question
    assert w.choices == list(step.task.choices)
    assert w.steps == 4
    assert w.position == 0
    assert (len(w.clusters) > 0) == (step.condition.view == "explanations")


def test_widget_refuses_a_step_not_in_the_schedule(study: Study) -> None:
    pid = study.enroll()
    other = study.schedule("P002")[0]
    mine = {(s.condition.id, s.task.id) for s in study.schedule(pid)}
    if (other.condition.id, other.task.id) not in mine:
        with pytest.raises(ValueError, match="is not in participant 'P001'"):
            FeedbackWidget(study, pid, other)


def test_resent_message_is_stored_once_and_ids_cannot_be_spoofed(study: Study) -> None:
    pid = study.enroll()
    step = next(s for s in study.schedule(pid) if s.task.id == "q1")
    w = FeedbackWidget(study, pid, step)
    rid = str(uuid.uuid4())
    msg = {
        "response_id": rid,
        "kind": "task",
        "answer": "cat",
        "duration_ms": 5300,
        "client_time": "2026-05-01T10:00:00.000Z",
        "participant_id": "P004",
        "task_id": "r2",
    }
    first, again = w.receive(msg), w.receive(msg)
    assert (first["status"], again["status"]) == ("stored", "duplicate")
    assert w.stored == [rid]
    df = study.responses()
    assert len(df) == 1
    row = df.iloc[0]
    assert (row.participant_id, row.task_id, row.condition) == (pid, "q1", step.condition.id)
    assert bool(row.correct)
    assert row.duration_ms == 5300


def test_bad_rating_gets_an_error_ack_and_stores_nothing(study: Study) -> None:
    pid = study.enroll()
    step = study.schedule(pid)[0]
    w = FeedbackWidget(study, pid, step)
    ack = w.receive({"response_id": str(uuid.uuid4()), "kind": "explanation", "trust": 9})
    assert ack["status"] == "error"
    assert "trust rating 9 is out of range" in ack["error"]
    assert "trust rating 9" in w.error
    assert study.store.count() == 0
    assert w.receive("junk")["status"] == "error"


def test_cluster_items_carry_rationales_as_plain_text() -> None:
    a = planted(Task("x", "t"))
    items = cluster_items(a)
    assert items
    assert all(i["rationale"] for i in items)
    ids = {c.id for c in a.clusters if c.size > 1}
    assert {i["id"] for i in items} <= ids
    assert cluster_items(None) == []


def test_session_walks_every_step_then_thanks(study: Study, monkeypatch: pytest.MonkeyPatch) -> None:
    import ipywidgets as w

    shown = []
    for name in ("explanations", "bertviz"):  # the real views need the front-end bundles; record the calls
        monkeypatch.setitem(VIEWS._items, name, lambda a, name=name: shown.append(name) or w.Label(name))
    session = study.session(analyzer=planted)
    assert isinstance(session, ParticipantSession)
    assert session.participant_id == "P001"
    order = [s.condition.view for s in session.steps]
    for expected in session.steps:
        assert session.step == expected
        assert session.feedback is not None
        assert session.feedback.task_id == expected.task.id
        assert session.widget.children[2] is session.feedback
        session.feedback.done = True
    assert session.finished
    assert session.feedback is None
    assert "Thank you" in session.header.value
    assert shown == order


def test_condition_views_differ_in_what_they_show() -> None:
    """Explanations: the explainer with rationales; baseline: BertViz alone, offline, in a sandbox."""
    import re

    a = planted(Task("x", "t"))
    explainer = VIEWS["explanations"](a)
    assert type(explainer).__name__ == "AttentionExplainer"
    assert explainer.analysis is a
    assert any(c.rationale for c in a.clusters)
    baseline = VIEWS["bertviz"](a)
    page = baseline.children[0].value
    assert 'sandbox="allow-scripts"' in page
    assert not re.search(r"""src=(&quot;|["'])https?://""", page)  # nothing fetched from the internet
    assert "rationale" not in page.lower()


def test_messages_from_the_view_reach_the_store_through_the_comm(study: Study) -> None:
    """What the browser sends arrives through ipywidgets' own dispatcher (custom and update)."""
    pid = study.enroll()
    step = next(s for s in study.schedule(pid) if s.task.id == "q1")
    w = FeedbackWidget(study, pid, step)
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    rid = str(uuid.uuid4())
    response = {"response_id": rid, "kind": "task", "answer": "sat", "duration_ms": 812}
    w._handle_msg(
        {
            "content": {"data": {"method": "custom", "content": {"type": "response", "response": response}}},
            "buffers": [],
        }
    )
    assert sent == [{"type": "ack", "response_id": rid, "status": "stored", "error": ""}]
    w._handle_msg({"content": {"data": {"method": "update", "state": {"done": True}}}, "buffers": []})
    assert w.done is True
    assert study.responses().answer.tolist() == ["sat"]


def test_the_headline_task_rates_headlines_in_one_condition_and_full_rationales_in_the_other(
    tmp_path: Path,
) -> None:
    from attn_widget.study.synthetic import headline_config

    study = Study.create(headline_config(participants=2), tmp_path / "h.sqlite")
    pid = study.enroll()
    shown = {}
    for step in study.schedule(pid):
        a = planted(step.task)
        w = FeedbackWidget(study, pid, step, a)
        texts = {c.id: (c.headline, c.rationale) for c in a.clusters}
        assert w.clusters, step.condition.id
        for item in w.clusters:
            headline, rationale = texts[item["id"]]
            assert item["rationale"] == (headline if step.condition.view == "headline" else rationale)
        shown[step.condition.view] = [i["rationale"] for i in w.clusters]
    assert set(shown) == {"headline", "rationale"}
    assert max(len(t.split()) for t in shown["headline"]) <= 25
    assert min(len(t.split()) for t in shown["rationale"]) > 25


def test_cluster_items_rate_the_headline_when_asked_and_refuse_another_text() -> None:
    a = planted(Task("x", "t"))
    items = cluster_items(a, text="headline")
    assert [i["rationale"] for i in items] == [c.headline for c in a.clusters if c.size > 1][: len(items)]
    with pytest.raises(ValueError, match="rate the 'rationale' or the 'headline'"):
        cluster_items(a, text="summary")


def test_the_rationale_view_takes_the_headlines_out() -> None:
    pytest.importorskip("ipywidgets")
    from attn_widget.study.session import rationale_view

    a = planted(Task("x", "t"))
    assert all(c.headline for c in a.clusters)
    view = rationale_view(a)
    assert all(c.headline is None for c in view.analysis.clusters)
    assert [c.rationale for c in view.analysis.clusters] == [c.rationale for c in a.clusters]
