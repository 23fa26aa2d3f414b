"""The capture widget: ratings, comments and task answers, stored as they are given.

Python side of ``js/src/study/study.ts`` (bundled to ``attn_widget/static/study.js``).
It is its own anywidget, so it composes with any view of the attention (the
explainer, a BertViz page) in an ``ipywidgets.VBox`` without knowing its internals.

The ids (study, participant, condition, task) come from the study's
configuration through the traits; the view never asks for them. Messages::

    view → kernel  {"type": "response", "response": {response_id, kind, cluster_id?,
                    clarity?, usefulness?, trust?, comment?, answer?, duration_ms?, client_time}}
    kernel → view  {"type": "ack", "response_id", "status": "stored" | "duplicate" | "error", "error"}

The view makes ``response_id`` (``crypto.randomUUID()``) and resends until it
gets an ack, so a response is stored exactly once. Task time is measured in the
browser, from when the task first became visible to when the answer was sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets as t

from ..core.shares import attention_shares
from .config import Step
from .responses import ResponseError, marks_of
from .store import StoreBusyError

if TYPE_CHECKING:
    from .study import Study

STATIC = Path(__file__).resolve().parents[1] / "static"
BUNDLE = STATIC / "study.js"
MISSING_BUNDLE = (
    "attn_widget's study front-end bundle is missing ({path}), so ratings cannot be captured. "
    "Install the package with `pip install attn_widget[study]` (or `pip install -e .` in a checkout), "
    "or build it by hand: `cd js && npm ci && npm run build`."
)


def _esm() -> Path | str:
    if BUNDLE.is_file():
        return BUNDLE
    message = json.dumps(MISSING_BUNDLE.format(path=BUNDLE))
    return (
        "export default { render({ el }) { const p = document.createElement('pre');"
        " p.dataset.testid = 'study-error'; p.style.whiteSpace = 'pre-wrap'; p.style.color = '#b71c1c';"
        f" p.textContent = {message}; el.replaceChildren(p); }} }};"
    )


RATED_TEXT = {"explanations": "rationale", "rationale": "rationale", "headline": "headline"}
"""Condition view → the text of each cluster its participants rate (other views rate no cluster)."""


def cluster_items(analysis: Any, max_clusters: int = 6, text: str = "rationale") -> list[dict[str, Any]]:
    """The clusters offered for rating: the largest with 2+ tokens, with the text rated.

    ``text`` is ``"rationale"`` (the full rationale) or ``"headline"`` (the one-line
    headline, or the rationale when the cluster has none); it goes in the item's
    ``rationale`` field, which the capture view shows.
    """
    if text not in ("rationale", "headline"):
        raise ValueError(f"text={text!r}: rate the 'rationale' or the 'headline'")
    if analysis is None:
        return []
    big = sorted((c for c in analysis.clusters if c.size > 1), key=lambda c: (-c.size, c.id))[:max_clusters]
    items = []
    for c in sorted(big, key=lambda c: c.tokens[0]):
        words = [analysis.tokens[i].text for i in c.tokens]
        shown = " · ".join(w.strip() or repr(w) for w in words[:12]) + (" …" if len(words) > 12 else "")
        rationale = (c.headline if text == "headline" else None) or c.rationale or (
            f"{c.size} tokens; {attention_shares(analysis.weights, c.tokens)['inside']:.0%} of their "
            "attention stays inside the group."
        )
        items.append({"id": int(c.id), "tokens": shown, "rationale": rationale})
    return items


class FeedbackWidget(anywidget.AnyWidget):
    """Likert ratings (clarity, usefulness, trust), comments and a timed task answer for one step.

    Parameters
    ----------
    study
        The :class:`~attn_widget.study.Study` responses are recorded in.
    participant_id
        An enrolled participant of the study.
    step
        The step (condition and task) on screen, from :meth:`Study.schedule`.
    analysis
        The analysis shown in this step; its clusters (2+ tokens) get a rating
        card each when ``rate_clusters`` (the default for a condition whose view
        is a key of :data:`RATED_TEXT`), showing the text that view rates.
    rate_clusters
        Offer per-cluster ratings (default: in the explanations, headline and rationale views).
    """

    _esm = _esm()

    study_id = t.Unicode().tag(sync=True)
    """str: the study's id (from its config)."""
    title = t.Unicode("").tag(sync=True)
    """str: the study's title, shown in the header."""
    participant_id = t.Unicode().tag(sync=True)
    """str: the participant on screen (from the config, enrolled)."""
    condition = t.Unicode().tag(sync=True)
    """str: condition id of this step."""
    condition_label = t.Unicode("").tag(sync=True)
    """str: the condition as participants read it."""
    task_id = t.Unicode().tag(sync=True)
    """str: task id of this step."""
    position = t.Int(0).tag(sync=True)
    """int: this step's position in the participant's schedule (0-based)."""
    steps = t.Int(1).tag(sync=True)
    """int: number of steps in the participant's schedule."""
    question = t.Unicode(None, allow_none=True).tag(sync=True)
    """str | None: the task question (None: this step has ratings only)."""
    choices = t.List(t.Unicode()).tag(sync=True)
    """list[str]: answer buttons; empty for a free-text answer."""
    clusters = t.List(t.Dict()).tag(sync=True)
    """list[dict]: clusters to rate, each ``{id, tokens, rationale}`` (text shown as text, never HTML)."""
    mark = t.Unicode(None, allow_none=True).tag(sync=True)
    """str | None: a marking task's kind (``"together"``, ``"next_word"``), else None."""
    tokens = t.List(t.Unicode()).tag(sync=True)
    """list[str]: for a marking task, the tokens participants mark (the analysis's), by index."""
    stored = t.List(t.Unicode()).tag(sync=True)
    """list[str]: response ids the store has confirmed (stored or duplicate), in order."""
    done = t.Bool(False).tag(sync=True)
    """bool: the participant pressed "Next" (the session moves on)."""
    error = t.Unicode("").tag(sync=True)
    """str: the last refusal from the store, in plain words ('' when none)."""

    def __init__(
        self,
        study: Study,
        participant_id: str,
        step: Step,
        analysis: Any = None,
        *,
        rate_clusters: bool | None = None,
        max_clusters: int = 6,
    ) -> None:
        planned = study.schedule(participant_id)
        if step not in planned:
            raise ValueError(
                f"step {step.position} ({step.condition.id}, {step.task.id}) is not in participant "
                f"{participant_id!r}'s schedule; take steps from study.schedule({participant_id!r})"
            )
        if rate_clusters is None:
            rate_clusters = step.condition.view in RATED_TEXT
        rated = RATED_TEXT.get(step.condition.view, "rationale")
        if step.task.mark is not None and analysis is None:
            raise ValueError(
                f"task {step.task.id!r} is a marking task: give the analysis shown, whose tokens are marked"
            )
        super().__init__(
            study_id=study.config.id,
            title=study.config.title,
            participant_id=participant_id,
            condition=step.condition.id,
            condition_label=step.condition.label,
            task_id=step.task.id,
            position=step.position,
            steps=len(planned),
            question=step.task.question,
            choices=list(step.task.choices),
            clusters=cluster_items(analysis, max_clusters, rated) if rate_clusters else [],
            mark=step.task.mark,
            tokens=[tok.text for tok in analysis.tokens] if step.task.mark is not None else [],
        )
        self.study = study
        self.step = step
        self.on_msg(self._on_view_msg)

    def _on_view_msg(self, _: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        # (not `_handle_msg`: that name is ipywidgets.Widget's own comm dispatcher)
        if not isinstance(content, dict) or content.get("type") != "response":
            return
        reply = self.receive(content.get("response"))
        self.send(reply)

    def receive(self, response: Any) -> dict[str, Any]:
        """Record one response from the view; the ids are this widget's, whatever was sent.

        Returns the ack sent back: ``{"type": "ack", "response_id", "status", "error"}``.
        """
        rid = response.get("response_id") if isinstance(response, dict) else None
        if not isinstance(response, dict):
            return {
                "type": "ack",
                "response_id": None,
                "status": "error",
                "error": "response must be an object",
            }
        payload = {
            **response,
            "study_id": self.study_id,
            "participant_id": self.participant_id,
            "condition": self.condition,
            "task_id": self.task_id,
        }
        try:
            self._check_marks(payload)
            (status,) = self.study.record(payload)
        except (ResponseError, StoreBusyError) as e:
            self.error = str(e)
            return {"type": "ack", "response_id": rid, "status": "error", "error": str(e)}
        self.error = ""
        if rid not in self.stored:
            self.stored = [*self.stored, str(rid)]
        return {"type": "ack", "response_id": rid, "status": status, "error": ""}

    def _check_marks(self, payload: dict[str, Any]) -> None:
        """A marking answer may only name tokens shown (the store does not know how many there are)."""
        if self.mark is None or payload.get("kind") != "task" or not isinstance(payload.get("answer"), str):
            return
        try:
            groups = marks_of(payload["answer"])
        except ValueError as e:
            raise ResponseError(f"response rejected, nothing stored: {e}") from None
        outside = sorted(i for g in groups for i in g if i >= len(self.tokens))
        if outside:
            raise ResponseError(
                f"response rejected, nothing stored: tokens {outside} are not in this text "
                f"(it has {len(self.tokens)} tokens, 0..{len(self.tokens) - 1})"
            )
