"""User studies built in: a study design, response capture in the widget, a real store.

Needs the ``study`` extra (SQLAlchemy, pandas, pyarrow; psycopg for PostgreSQL)::

    pip install 'attn_widget[study]'

Quickstart::

    from attn_widget.study import Study, StudyConfig, Task
    config = StudyConfig("pilot", tasks=[...])       # conditions default to explanations vs BertViz only
    study = Study.create(config, "pilot.sqlite")     # or "postgresql://user@host/db"
    study.session()                                  # in a notebook: one participant, every step
    study.responses()                                # a pandas DataFrame
    study.export("pilot.parquet")
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "attn_widget.study needs SQLAlchemy, pandas and pyarrow: pip install 'attn_widget[study]'"
    ) from e

from .config import (
    DEFAULT_CONDITIONS,
    HEADLINE_CONDITIONS,
    Condition,
    Step,
    StudyConfig,
    Task,
    balanced_latin_square,
)
from .responses import KINDS, RATINGS, Response, ResponseError, new_response_id
from .store import Store, StoreBusyError
from .study import Study

__all__ = [
    "DEFAULT_CONDITIONS",
    "HEADLINE_CONDITIONS",
    "KINDS",
    "RATINGS",
    "Condition",
    "Response",
    "ResponseError",
    "Step",
    "Store",
    "StoreBusyError",
    "Study",
    "StudyConfig",
    "Task",
    "balanced_latin_square",
    "new_response_id",
]
