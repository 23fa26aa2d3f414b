"""Walk one participant through their schedule: a view of the attention, then the capture widget.

Each step shows the task's text through its condition's view (a key of
:data:`VIEWS`) above a :class:`~attn_widget.study.feedback.FeedbackWidget`;
the participant's "Next" loads the following step in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.registry import Registry
from .config import Step, Task
from .feedback import FeedbackWidget

if TYPE_CHECKING:
    from ..core import Analysis
    from .study import Study

View = Callable[["Analysis"], Any]
VIEWS: Registry[View] = Registry("study view")
"""Condition view name → function making the widget that shows an analysis."""


@VIEWS.register("explanations")
def explanations_view(analysis: Analysis) -> Any:
    """The explainer: clusters highlighted, rationales in the side panel."""
    from ..view.widget import AttentionExplainer

    return AttentionExplainer(analysis)


@VIEWS.register("headline")
def headline_view(analysis: Analysis) -> Any:
    """The explainer as it ships: each cluster's headline first, the full rationale on click."""
    from ..view.widget import AttentionExplainer

    return AttentionExplainer(analysis)


@VIEWS.register("rationale")
def rationale_view(analysis: Analysis) -> Any:
    """The explainer with the full rationales only (the headlines taken out), as before headlines."""
    import dataclasses

    from ..view.widget import AttentionExplainer

    bare = tuple(dataclasses.replace(c, headline=None) for c in analysis.clusters)
    return AttentionExplainer(dataclasses.replace(analysis, clusters=bare))


@VIEWS.register("bertviz")
def bertviz_view(analysis: Analysis) -> Any:
    """The baseline: BertViz's head view of the raw heads only (offline), no clusters, no rationales."""
    import ipywidgets as w

    from ..view.drilldown import render

    page = render(analysis, tokens=list(range(len(analysis.tokens))))
    return w.VBox([w.HTML(page._repr_html_()), w.Label(page.note)])


def default_analyzer(task: Task, **options: Any) -> Analysis:
    """Analyse ``task.text`` with :func:`attn_widget.analyze` and explain the clusters."""
    from ..api import analyze

    return analyze(task.text, **options).explain()


class ParticipantSession:
    """One participant's pass through the study, shown as a single widget.

    Parameters
    ----------
    study
        The study.
    participant_id
        An enrolled participant.
    analyzer
        ``Task -> Analysis``; default :func:`default_analyzer` with ``analyze_options``.
    **analyze_options
        Passed to :func:`attn_widget.analyze` by the default analyzer (``model=...``).
    """

    def __init__(
        self,
        study: Study,
        participant_id: str,
        analyzer: Callable[[Task], Analysis] | None = None,
        **analyze_options: Any,
    ) -> None:
        import ipywidgets as w

        self.study = study
        self.participant_id = participant_id
        self.steps: tuple[Step, ...] = study.schedule(participant_id)
        self.analyzer = analyzer or (lambda task: default_analyzer(task, **analyze_options))
        self.index = -1
        self.feedback: FeedbackWidget | None = None
        self.view: Any = None
        self.header = w.HTML()
        self.widget = w.VBox([self.header])
        self.next()

    @property
    def step(self) -> Step | None:
        """The step on screen (None when finished)."""
        return self.steps[self.index] if 0 <= self.index < len(self.steps) else None

    @property
    def finished(self) -> bool:
        return self.index >= len(self.steps)

    def next(self) -> None:
        """Show the next step (or the closing screen)."""
        import html

        self.index += 1
        if self.feedback is not None:
            self.feedback.unobserve(self._on_done, "done")
        step = self.step
        if step is None:
            self.feedback, self.view = None, None
            self.header.value = "<b>Thank you — all steps are done.</b> Your answers are saved."
            self.widget.children = [self.header]
            return
        analysis = self.analyzer(step.task)
        self.view = VIEWS[step.condition.view](analysis)
        self.feedback = FeedbackWidget(self.study, self.participant_id, step, analysis)
        self.feedback.observe(self._on_done, "done")
        self.header.value = (
            f"<b>Step {step.position + 1} of {len(self.steps)}</b> · {html.escape(step.condition.label)}"
        )
        self.widget.children = [self.header, self.view, self.feedback]

    def _on_done(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.next()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:  # pragma: no cover - notebook display
        return self.widget._repr_mimebundle_(**kwargs)
