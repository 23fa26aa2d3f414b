"""A generated study: a demo configuration and simulated participants with a known effect.

:func:`simulate` drives real :class:`~attn_widget.study.Study` calls (enrol,
record), so the analysis notebook and its tests read data that went through
the same validation and store as a real session's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import HEADLINE_CONDITIONS, StudyConfig, Task
from .feedback import RATED_TEXT
from .responses import RATINGS

if TYPE_CHECKING:
    import pandas as pd

    from .study import Study

DEMO_TASKS = (
    Task(
        "coref-cat",
        "The cat sat on the mat because it was tired.",
        "Which word does 'it' refer to?",
        ("cat", "mat"),
        "cat",
    ),
    Task(
        "coref-trophy",
        "The trophy did not fit in the suitcase because it was too big.",
        "Which word does 'it' refer to?",
        ("trophy", "suitcase"),
        "trophy",
    ),
    Task(
        "agree",
        "The keys to the old cabinet are on the table.",
        "Which word decides the verb 'are'?",
        ("keys", "cabinet"),
        "keys",
    ),
    Task(
        "list",
        "She bought apples, pears and plums, then went home.",
        "Which words does the model group as one list?",
        ("apples pears plums", "went home"),
        "apples pears plums",
    ),
    Task(
        "error",
        "The doctor told the nurse that he would be late.",
        "Does the model link 'he' to 'doctor' or 'nurse'?",
        ("doctor", "nurse"),
        "doctor",
    ),
    Task("rate-only", "Attention maps show which earlier tokens each token looks at."),
)
"""Six short tasks: five with a question to answer, one for rating only."""


MARK_TASKS = (
    Task("mark-pets", "The old dog barked while the young cat slept all day.", mark="together"),
    Task("mark-rain", "Heavy rain fell on the town, so the river rose over the bridge.", mark="together"),
)
"""Two marking tasks: participants mark the words that belong together."""

MARK_GROUPS = {
    "mark-pets": [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]],
    "mark-rain": [[1, 2, 3, 4, 5], [6, 7, 8, 9], [10, 11, 12, 13]],
}
"""The groups planted in :func:`mark_analysis` (token indices, the BOS is token 0)."""


def mark_analysis(task: Task) -> Any:
    """A planted analysis of a marking task's text (one token per word, a BOS sink first).

    Stands in for a model in the demo: its attention groups the words as
    :data:`MARK_GROUPS` says, so the notebook's plausibility table has a known answer.
    """
    from ..api import analyze_attention
    from ..synthetic import planted_attention, tokens_from_pieces

    words = task.text.split(" ")
    pieces = [words[0], *(" " + w for w in words[1:])]
    att, _ = planted_attention([len(g) for g in MARK_GROUPS[task.id]], layers=2, heads=2, seed=len(words))
    text, tokens = tokens_from_pieces(pieces, bos="<s>")
    return analyze_attention(att, tokens, text=text, exclude=[0])


def demo_config(participants: int = 24, study_id: str = "demo", *, marking: bool = False) -> StudyConfig:
    """The demo study: :data:`DEMO_TASKS` (and :data:`MARK_TASKS` with ``marking``) under two conditions."""
    return StudyConfig(
        study_id,
        tasks=DEMO_TASKS + (MARK_TASKS if marking else ()),
        participants=participants,
        title="Do cluster explanations help people read attention?",
    )


HEADLINE_TASKS = (
    Task("fisherman", "The old fisherman told his grandson that the sea had taken his boat."),
    Task("thesis", "When Priya finished her thesis, she mailed one copy to her mother."),
    Task("recipe", "The recipe needs two cups of flour, a pinch of salt and four eggs."),
    Task("keys", "Tom asked Lena whether she had seen his keys on the kitchen table."),
)
"""Four short texts, rating only: each cluster's text is rated, no question asked."""


def headline_config(participants: int = 12, study_id: str = "headlines") -> StudyConfig:
    """The short headline task: :data:`HEADLINE_TASKS` with headlines vs full rationales."""
    return StudyConfig(
        study_id,
        tasks=HEADLINE_TASKS,
        conditions=HEADLINE_CONDITIONS,
        participants=participants,
        title="Which reads better: a one-line headline or the full rationale?",
    )


def simulate(
    study: Study,
    participants: int | None = None,
    *,
    effect: float | Mapping[str, float] = 0.6,
    better: str = "explanations",
    clusters: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Enrol ``participants`` simulated people and record their whole sessions; return the responses.

    Parameters
    ----------
    effect
        How much better the condition whose view is ``better`` is: added to the mean
        Likert rating (before rounding), to the log-odds of a correct answer
        (times 2) and subtracted from log task time (times 0.5). 0 for no effect.
        A mapping gives it per rating (``{"clarity": 0.8, "usefulness": -0.3}``; the
        task answers then take the mean).
    better
        The view that gets the ``effect`` (``"explanations"``; ``"headline"`` for the headline task).
    clusters
        Clusters rated per step in a condition whose view rates clusters (``RATED_TEXT``).
    """
    rng = np.random.default_rng(seed)
    per = dict(effect) if isinstance(effect, Mapping) else dict.fromkeys(RATINGS, float(effect))
    n = len(study.config.participants) if participants is None else participants
    for _ in range(n):
        pid = study.enroll()
        person = rng.normal(0, 0.5)  # some people rate everything higher
        skill = rng.normal(0, 0.5)
        batch = []
        for step in study.schedule(pid):
            lift = {r: per.get(r, 0.0) if step.condition.view == better else 0.0 for r in RATINGS}
            boost = float(np.mean(list(lift.values())))
            base = dict(participant_id=pid, condition=step.condition.id, task_id=step.task.id)
            if step.task.mark is not None and step.task.id in MARK_GROUPS:
                ms = float(np.exp(rng.normal(np.log(40_000), 0.3)))
                answer = _marks(rng, MARK_GROUPS[step.task.id], 0.75 + 0.2 * boost + 0.1 * skill)
                batch.append({**base, "kind": "task", "answer": answer, "duration_ms": int(ms)})
            elif step.task.question is not None:
                p = 1 / (1 + np.exp(-(0.4 + skill + 2 * boost)))
                right = step.task.correct if step.task.correct is not None else step.task.choices[0]
                wrong = [c for c in step.task.choices if c != right] or ["something else"]
                answer = right if rng.random() < p else str(rng.choice(wrong))
                ms = float(np.exp(rng.normal(np.log(25_000) - 0.5 * boost, 0.35)))
                batch.append({**base, "kind": "task", "answer": answer, "duration_ms": int(ms)})
            if step.condition.view in RATED_TEXT:
                for c in range(clusters):
                    batch.append(
                        {**base, "kind": "cluster", "cluster_id": c, **_likert(rng, 3.4 + person, lift)}
                    )
            batch.append(
                {
                    **base,
                    "kind": "explanation",
                    **_likert(rng, 3.0 + person, lift),
                    "comment": "Hard to read at first." if rng.random() < 0.1 else None,
                }
            )
        study.record(batch)
    return study.responses()


def _marks(rng: np.random.Generator, groups: list[list[int]], keep: float) -> str:
    """A participant's marks: each planted group, each word kept with probability ``keep``."""
    import json

    marked = [[i for i in g if rng.random() < keep] for g in groups]
    marked = [g for g in marked if g] or [groups[0][:1]]
    return json.dumps(marked)


def _likert(rng: np.random.Generator, mean: float, lift: Mapping[str, float]) -> dict[str, int]:
    return {name: int(np.clip(np.rint(rng.normal(mean + lift[name], 0.8)), 1, 5)) for name in RATINGS}
