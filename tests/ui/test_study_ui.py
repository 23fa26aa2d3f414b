"""Study capture as a participant does it: JupyterLab 4 in headless Chromium.

A notebook shows the explainer and the capture widget together in a VBox for
one step of a configured study. The participant answers the task (after
reading for a while), rates a cluster's rationale and the whole explanation,
and presses Next; the rows must then be in the SQLite store with the right
values and a task time that matches the wall clock. Token text carrying HTML
must show as text and run nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from labdriver import NotebookPage, wait_kernel

pytest.importorskip("sqlalchemy", reason="needs the 'study' extra: pip install 'attn_widget[study]'")

EVIL = "<img src=x onerror=window.__pwned=1>"
WORDS = [
    "<s>",
    "The",
    " cat",
    " sat",
    f" {EVIL}",
    " because",
    " it",
    " was",
    " very",
    " tired",
    " today",
    ".",
]
READ_SECONDS = 1.5


def cells(store: Path) -> list[str]:
    return [
        f"""import ipywidgets
import attn_widget
from attn_widget.study import Study, StudyConfig, Task
from attn_widget.synthetic import planted_attention
config = StudyConfig("ui", participants=2, title="UI study", tasks=[
    Task("coref", "The cat sat because it was tired.", "Which word does 'it' refer to?",
         ("cat", "sat"), "cat"),
    Task("plain", "Dogs bark.")])
study = Study.create(config, {str(store)!r})
pid = study.enroll()
step = study.schedule(pid)[0]
assert (step.condition.id, step.task.id) == ("explanations", "coref"), step
att, _ = planted_attention([4, 3, 4], layers=2, heads=2, strength=3.0, seed=1)
a = attn_widget.analyze_attention(att, {WORDS!r}, exclude=[0]).explain()
fb = study.feedback(pid, step, a)
ipywidgets.VBox([attn_widget.AttentionExplainer(a), fb])""",
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("study-ui") / "study.sqlite"


@pytest.fixture(scope="module")
def nb(open_notebook: Any, store: Path) -> NotebookPage:
    notebook = open_notebook("study.ipynb", cells(store))
    notebook.page.get_by_test_id("study-root").wait_for()
    return notebook


def test_rating_and_task_answer_reach_the_database(
    nb: NotebookPage, store: Path, artifacts: Path, docs_shots: Path
) -> None:
    page = nb.page
    root = page.get_by_test_id("study-root")
    # the widget times a task from when its card first comes into view: bring it there, let the
    # browser's visibility observer fire, and count from then
    root.get_by_test_id("task").scroll_into_view_if_needed()
    time.sleep(0.5)
    shown = time.monotonic()  # the task is on screen from here (at the latest)
    assert "Participant P001" in root.get_by_test_id("study-header").inner_text()
    assert root.get_by_test_id("task-question").inner_text() == "Which word does 'it' refer to?"
    next_button = root.get_by_test_id("next")
    assert next_button.is_disabled()  # nothing answered yet

    time.sleep(READ_SECONDS)  # the participant reads before answering
    root.locator("[data-testid=task-choice][data-choice=cat]").click()
    root.get_by_test_id("task-submit").click()
    answered = time.monotonic()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=task-status]').textContent === 'Answer saved ✓'"
    )
    root.get_by_test_id("task").screenshot(path=str(docs_shots / "study.png"))  # the guide's picture

    card = root.get_by_test_id("cluster-card").first
    cluster_id = int(card.get_attribute("data-cluster") or "-1")
    for scale, value in (("clarity", 4), ("usefulness", 5), ("trust", 2)):
        card.locator(f"[data-scale={scale}] input[value='{value}']").check()
    card.get_by_test_id("comment").fill("<b>bold</b> but fine")
    card.get_by_test_id("save").click()
    card.get_by_test_id("card-status").filter(has_text="Saved ✓").wait_for()

    whole = root.get_by_test_id("explanation-card")
    whole.get_by_test_id("save").click()  # empty: refused in the browser, nothing sent
    assert "at least one rating" in whole.get_by_test_id("card-status").inner_text()
    whole.locator("[data-scale=trust] input[value='3']").check()
    whole.get_by_test_id("save").click()
    whole.get_by_test_id("card-status").filter(has_text="Saved ✓").wait_for()
    assert next_button.is_enabled()
    page.screenshot(path=str(artifacts / "study-capture.png"), full_page=True)
    next_button.click()  # the click reaches the kernel as a message: wait for it, do not race it
    assert wait_kernel(nb, "[fb.done, len(fb.stored)]", [True, 3]) == [True, 3]

    from attn_widget.study import Study

    df = Study.open("ui", store).responses()
    assert sorted(df.kind) == ["cluster", "explanation", "task"]
    assert set(df.participant_id) == {"P001"}
    assert set(df.condition) == {"explanations"}
    assert set(df.task_id) == {"coref"}
    task = df[df.kind == "task"].iloc[0]
    assert task.answer == "cat"
    assert bool(task.correct)
    elapsed_ms = (answered - shown) * 1000
    assert READ_SECONDS * 1000 <= task.duration_ms <= elapsed_ms + 15_000, (task.duration_ms, elapsed_ms)
    rated = df[df.kind == "cluster"].iloc[0]
    assert (rated.cluster_id, rated.clarity, rated.usefulness, rated.trust) == (cluster_id, 4, 5, 2)
    assert rated.comment == "<b>bold</b> but fine"
    overall = df[df.kind == "explanation"].iloc[0]
    assert overall.trust == 3
    assert overall.clarity is pd_na()
    assert overall.comment is pd_na()


def test_token_and_comment_text_is_shown_as_text(nb: NotebookPage) -> None:
    page = nb.page
    root = page.get_by_test_id("study-root")
    cards = root.get_by_test_id("cluster-card")
    texts = [cards.nth(i).inner_text() for i in range(cards.count())]
    assert any(EVIL in t for t in texts), texts  # the markup is visible as characters
    assert root.locator("img").count() == 0
    assert root.locator("b").count() == 0
    assert page.evaluate("() => window.__pwned === undefined")


def pd_na() -> Any:
    import pandas as pd

    return pd.NA


def test_session_moves_to_the_next_step_in_the_browser(open_notebook: Any, store: Path) -> None:
    """A whole session widget: finish step 1, press Next, step 2 appears in the same output."""
    session_cells = [
        f"""import attn_widget
from attn_widget.study import Study
from attn_widget.synthetic import planted_attention
study = Study.open("ui", {str(store)!r})
def planted(task):
    att, _ = planted_attention([3, 3], layers=2, heads=2, seed=2)
    words = ["<s>", *task.text.split()][:7]
    words += ["x"] * (7 - len(words))
    return attn_widget.analyze_attention(att, words, exclude=[0]).explain()
session = study.session(analyzer=planted)
print(session.participant_id, [(s.condition.id, s.task.id) for s in session.steps])""",
        "session.widget",
    ]
    nb = open_notebook("session.ipynb", session_cells)
    page = nb.page
    root = page.get_by_test_id("study-root")
    root.wait_for()
    assert root.get_attribute("data-position") == "0"
    first = nb.run_code("print(session.step.condition.id, session.step.task.id)").split()
    if root.get_by_test_id("task").count():
        root.locator("[data-testid=task-choice]").first.click()
        root.get_by_test_id("task-submit").click()
        root.get_by_test_id("task-status").filter(has_text="saved").wait_for()
    whole = root.get_by_test_id("explanation-card")
    whole.locator("[data-scale=clarity] input[value='5']").check()
    whole.get_by_test_id("save").click()
    whole.get_by_test_id("card-status").filter(has_text="Saved ✓").wait_for()
    root.get_by_test_id("next").click()
    page.locator("[data-testid=study-root][data-position='1']").wait_for()
    second = nb.run_code("print(session.step.condition.id, session.step.task.id)").split()
    assert second != first
    assert "step 2 of 2" in page.get_by_test_id("study-header").inner_text()


def test_lost_ack_makes_the_browser_resend_and_the_row_is_stored_once(nb: NotebookPage, store: Path) -> None:
    nb.run_code(
        """seen, acks = [], []
_send = fb.send
def lossy_send(content, buffers=None):  # the first ack is lost on the way to the browser
    acks.append(content.get("status"))
    if len(acks) > 1:
        _send(content, buffers)
fb.send = lossy_send
fb.on_msg(lambda w, c, b: seen.append(c["response"]["response_id"]))"""
    )
    card = nb.page.get_by_test_id("study-root").get_by_test_id("cluster-card").last
    cluster_id = int(card.get_attribute("data-cluster") or "-1")
    card.locator("[data-scale=usefulness] input[value='1']").check()
    card.get_by_test_id("save").click()
    card.get_by_test_id("card-status").filter(has_text="Saved ✓").wait_for(timeout=20_000)
    seen, acks = ast_eval(nb.run_code("print(repr((seen, acks)))"))
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert acks == ["stored", "duplicate"]
    from attn_widget.study import Study

    df = Study.open("ui", store).responses()
    rows = df[(df.kind == "cluster") & (df.cluster_id == cluster_id) & (df.usefulness == 1)]
    assert len(rows) == 1
    assert rows.iloc[0].response_id == seen[0]


def ast_eval(text: str) -> Any:
    import ast

    return ast.literal_eval(text.strip())
