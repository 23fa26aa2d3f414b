"""What a corpus run returns: :class:`CorpusRun`, the counts, the timing and the way to its tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .summary import CorpusSummary, summarize
from .tables import read_heads, read_texts

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CorpusRun:
    """What :func:`~attn_widget.corpus.analyze_corpus` did, and where the results are.

    Attributes
    ----------
    path
        The run folder (``texts/`` and ``heads/`` Parquet datasets and ``run.json``).
    model
        The model every text was analysed with.
    options
        The analysis options of the run (defaults filled in).
    total
        Texts in the source.
    skipped
        Texts already in the run folder before this call (not analysed again).
    analysed
        Texts this call added (analysed or error rows).
    errors
        Error rows this call added.
    seconds
        Wall time of this call.
    workers
        Dask workers at the start.
    dashboard
        The Dask dashboard's address during the run, when there was one.
    notices
        Things to know (a fallback model).
    """

    path: Path
    model: str
    options: Mapping[str, Any]
    total: int
    skipped: int
    analysed: int
    errors: int
    seconds: float
    workers: int
    dashboard: str | None = None
    notices: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        """Texts analysed per second by this call (start-up included)."""
        return self.analysed / self.seconds if self.seconds > 0 else 0.0

    def texts(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The ``texts`` table (see :func:`read_texts`)."""
        return read_texts(self.path, columns)

    def heads(self) -> pd.DataFrame:
        """The ``heads`` table (see :func:`read_heads`)."""
        return read_heads(self.path)

    def summarize(self, **kwargs: Any) -> CorpusSummary:
        """:func:`~attn_widget.corpus.summarize` of this run."""
        return summarize(self.path, **kwargs)

    def __str__(self) -> str:
        return (f"{self.analysed} texts analysed ({self.errors} errors), {self.skipped} already there, "
                f"{self.total} in the source; {self.rate:.2f} texts/s on {self.workers} workers; "
                f"model {self.model}; results in {self.path}")
