"""The study API: a configuration bound to a store.

Example
-------
>>> from attn_widget.study import Study, StudyConfig, Task
>>> config = StudyConfig("pilot", tasks=[Task("t1", "The cat sat.", "Which word is the subject?",
...                                          ("cat", "sat"), "cat"), Task("t2", "It rained.")])
>>> study = Study.create(config, "pilot.sqlite")            # doctest: +SKIP
>>> pid = study.enroll()                                     # doctest: +SKIP
>>> study.schedule(pid)                                      # doctest: +SKIP
>>> study.responses()                                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Step, StudyConfig
from .responses import Response, new_response_id
from .store import Store

if TYPE_CHECKING:
    import pandas as pd

EXPORTERS = {".csv": "to_csv", ".parquet": "to_parquet"}
"""File suffix → DataFrame method used by :meth:`Study.export`."""


class Study:
    """A configured study and the store its responses go to.

    Use :meth:`create` (registers the config, idempotent) or :meth:`open`.
    """

    def __init__(self, config: StudyConfig, store: Store) -> None:
        self.config = config
        self.store = store

    @classmethod
    def create(cls, config: StudyConfig, store: Store | str | os.PathLike[str] | None = None) -> Study:
        """Register ``config`` in ``store`` (a :class:`Store`, path, URL or ``None`` for the default file)."""
        store = store if isinstance(store, Store) else Store(store)
        store.add_study(config)
        return cls(config, store)

    @classmethod
    def open(cls, study_id: str, store: Store | str | os.PathLike[str] | None = None) -> Study:
        """Open a study created earlier, with the configuration stored for it."""
        store = store if isinstance(store, Store) else Store(store)
        return cls(store.config(study_id), store)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Study({c.id!r}, {len(c.tasks)} tasks, conditions={[x.id for x in c.conditions]}, "
            f"{len(c.participants)} participant ids, store={self.store!r})"
        )

    # ------------------------------------------------------------ people
    def enroll(self, participant_id: str | None = None) -> str:
        """Enrol the next free participant id of the config (or the one given); return it."""
        return self.store.enroll(self.config, participant_id)

    def schedule(self, participant_id: str) -> tuple[Step, ...]:
        """The participant's counterbalanced steps (see :meth:`StudyConfig.schedule`)."""
        return self.config.schedule(participant_id)

    # ---------------------------------------------------------- responses
    def record(
        self, responses: Mapping[str, Any] | Response | Iterable[Mapping[str, Any] | Response]
    ) -> list[str]:
        """Validate and store responses, all or none; return ``"stored"``/``"duplicate"`` each.

        A mapping without ``response_id`` gets a new one, and ``study_id`` defaults
        to this study. Raises :class:`~attn_widget.study.ResponseError` naming every
        bad value; then nothing of the batch is stored.
        """
        items = [responses] if isinstance(responses, (Mapping, Response)) else list(responses)
        batch = [self.validate(r) for r in items]
        return self.store.record(batch)

    def validate(self, response: Mapping[str, Any] | Response) -> Response:
        """A :class:`Response` checked against this study's config (ids, choices, schedule)."""
        d = dict(response.to_row() if isinstance(response, Response) else response)
        d.pop("recorded_at", None)
        d.setdefault("study_id", self.config.id)
        if d.get("response_id") is None:
            d["response_id"] = new_response_id()
        return Response.from_dict(d, self.config)

    def responses(self) -> pd.DataFrame:
        """This study's responses as a DataFrame (one row per response, UTC times)."""
        return self.store.read(self.config.id)

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the responses to ``.csv`` or ``.parquet`` (pyarrow) and return the path."""
        path = Path(path)
        method = EXPORTERS.get(path.suffix.lower())
        if method is None:
            raise ValueError(f"cannot export to {str(path)!r}: use a file ending in {' or '.join(EXPORTERS)}")
        df = self.responses()
        if method == "to_parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise ImportError("Parquet export needs pyarrow: pip install 'attn_widget[study]'") from e
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False)
        return path

    # ------------------------------------------------------------ widgets
    def feedback(self, participant_id: str, step: Step, analysis: Any = None) -> Any:
        """The capture widget for one step (see :class:`~attn_widget.study.feedback.FeedbackWidget`)."""
        from .feedback import FeedbackWidget

        return FeedbackWidget(self, participant_id, step, analysis)

    def session(self, participant_id: str | None = None, **analyze_options: Any) -> Any:
        """Walk a participant (enrolled now if not given) through every step; a widget."""
        from .session import ParticipantSession

        return ParticipantSession(self, participant_id or self.enroll(), **analyze_options)
