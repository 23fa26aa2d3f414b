"""A generated study: a demo configuration and simulated participants with a known effect.

:func:`simulate` drives real :class:`~attn_widget.study.Study` calls (enrol,
record), so the analysis notebook and its tests read data that went through
the same validation and store as a real session's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import StudyConfig, Task
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


def demo_config(participants: int = 24, study_id: str = "demo") -> StudyConfig:
    """The demo study: :data:`DEMO_TASKS` under explanations vs BertViz only."""
    return StudyConfig(
        study_id,
        tasks=DEMO_TASKS,
        participants=participants,
        title="Do cluster explanations help people read attention?",
    )


def simulate(
    study: Study, participants: int | None = None, *, effect: float = 0.6, clusters: int = 3, seed: int = 0
) -> pd.DataFrame:
    """Enrol ``participants`` simulated people and record their whole sessions; return the responses.

    Parameters
    ----------
    effect
        How much better the ``"explanations"`` condition is: added to the mean
        Likert rating (before rounding), to the log-odds of a correct answer
        (times 2) and subtracted from log task time (times 0.5). 0 for no effect.
    clusters
        Clusters rated per step in the explanations condition.
    """
    rng = np.random.default_rng(seed)
    n = len(study.config.participants) if participants is None else participants
    for _ in range(n):
        pid = study.enroll()
        person = rng.normal(0, 0.5)  # some people rate everything higher
        skill = rng.normal(0, 0.5)
        batch = []
        for step in study.schedule(pid):
            boost = effect if step.condition.view == "explanations" else 0.0
            base = dict(participant_id=pid, condition=step.condition.id, task_id=step.task.id)
            if step.task.question is not None:
                p = 1 / (1 + np.exp(-(0.4 + skill + 2 * boost)))
                right = step.task.correct if step.task.correct is not None else step.task.choices[0]
                wrong = [c for c in step.task.choices if c != right] or ["something else"]
                answer = right if rng.random() < p else str(rng.choice(wrong))
                ms = float(np.exp(rng.normal(np.log(25_000) - 0.5 * boost, 0.35)))
                batch.append({**base, "kind": "task", "answer": answer, "duration_ms": int(ms)})
            if step.condition.view == "explanations":
                for c in range(clusters):
                    batch.append(
                        {**base, "kind": "cluster", "cluster_id": c, **_likert(rng, 3.4 + person + boost)}
                    )
            batch.append(
                {
                    **base,
                    "kind": "explanation",
                    **_likert(rng, 3.0 + person + boost),
                    "comment": "Hard to read at first." if rng.random() < 0.1 else None,
                }
            )
        study.record(batch)
    return study.responses()


def _likert(rng: np.random.Generator, mean: float) -> dict[str, int]:
    return {name: int(np.clip(np.rint(rng.normal(mean, 0.8)), 1, 5)) for name in RATINGS}
