"""What a Dask worker runs: one batch of texts in, two small Arrow tables out.

:func:`analyze_batch` loads the run's model through the process-wide cache of
:func:`attn_widget.extract.loading.load` (so each worker process loads it once,
however many batches it runs), calls
:func:`attn_widget.analyze` on each text with the run's options, scores every
head's roles (:func:`attn_widget.heads.roles.analysis_report`: scored on the
raw attention over the model's tokens, or the roles a streamed analysis kept), and returns the
rows. A text that cannot be analysed (empty, over-long, …) becomes an error row;
only a failure that is not the text's fault (the model cannot be loaded) fails
the batch. Nothing here writes files: the client that submitted the batch
writes its rows, so a task that Dask runs twice (after a worker died) cannot
leave two copies behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api import analyze
from ..core.options import DEFAULT_MODEL
from ..extract import loading
from ..heads.roles import analysis_report
from .schema import error_row, head_rows, heads_table, text_row, texts_table


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs besides the texts; small and picklable.

    Attributes
    ----------
    model
        Model name or folder the workers load (already resolved: a run never falls back midway).
    tokenizer
        Tokenizer name or folder, or ``None`` for the model's own.
    options
        Keyword arguments of :func:`attn_widget.analyze` (no ``progress``).
    options_json
        ``options`` as canonical JSON, stored in every row.
    head_roles
        Score every head's roles into the ``heads`` table.
    """

    model: str
    tokenizer: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    options_json: str = "{}"
    head_roles: bool = True


@dataclass(frozen=True)
class Batch:
    """Texts analysed together and written as one file pair named ``name``."""

    name: str
    ids: tuple[str, ...]
    texts: tuple[Any, ...]
    positions: tuple[int, ...]
    """Each text's row number in the source."""

    def records(self) -> list[tuple[str, Any, int]]:
        """``(id, text, position)`` of each text."""
        return list(zip(self.ids, self.texts, self.positions, strict=True))


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The rows of one batch (``texts`` and ``heads`` Arrow tables) and what the progress bar needs."""

    name: str
    texts: Any
    heads: Any
    errors: int
    worker: str | None
    first_error: tuple[str, str] | None = None

    @property
    def size(self) -> int:
        return int(self.texts.num_rows)


def resolve_model(model: str, is_default: bool, tokenizer: str | None = None) -> tuple[str, tuple[str, ...]]:
    """Load the model on this worker; return the name every batch will use, and the notices.

    With ``is_default`` the name is resolved as :func:`attn_widget.analyze`
    resolves its default (GPT-2, else SmolLM2 with a notice).
    """
    requested = DEFAULT_MODEL if is_default else model
    _, _, name, notices = loading.resolve(requested, tokenizer)
    return name, tuple(notices)


def analyze_batch(batch: Batch, spec: RunSpec) -> BatchResult:
    """Analyse each text of ``batch``; see the module docstring."""
    loading.load(spec.model)  # outside the per-text try: a model that cannot load fails the batch
    worker = worker_address()
    rows: list[dict[str, Any]] = []
    heads: list[dict[str, list[Any]]] = []
    first_error: tuple[str, str] | None = None
    for text_id, text, position in batch.records():
        row, head = analyze_one(text_id, text, spec)
        rows.append({**row, "position": position})
        if head is not None:
            heads.append(head)
        if row["error"] is not None and first_error is None:
            first_error = (text_id, row["error"])
    constant = {"batch": batch.name, "worker": worker, "options": spec.options_json}
    return BatchResult(
        name=batch.name,
        texts=texts_table(rows, **constant),
        heads=heads_table(heads, batch=batch.name),
        errors=sum(r["error"] is not None for r in rows),
        worker=worker,
        first_error=first_error,
    )


def analyze_one(text_id: str, text: Any, spec: RunSpec) -> tuple[dict[str, Any], dict[str, list[Any]] | None]:
    """The ``texts`` row and the ``heads`` columns of one text (an error row and ``None`` on failure)."""
    marks: dict[float, float] = {}
    start = time.perf_counter()
    try:
        analysis = analyze(text, spec.model, spec.tokenizer, **spec.options,
                           progress=lambda stage, fraction: marks.setdefault(fraction, time.perf_counter()))
    except Exception as err:  # the text's own failure: an error row, the run goes on
        message = f"{type(err).__name__}: {err}"
        return error_row(text_id, text, message, spec.model, time.perf_counter() - start), None
    heads_start = time.perf_counter()
    report = analysis_report(analysis) if spec.head_roles else None  # scored on model tokens, or kept
    head = head_rows(report, text_id) if report is not None else None
    end = time.perf_counter()
    timings = {
        "seconds_model": _between(marks, 0.0, 0.7),
        "seconds_cluster": _between(marks, 0.7, 1.0),
        "seconds_heads": end - heads_start if head is not None else None,
        "seconds": end - start,
    }
    return text_row(analysis, text_id, timings), head


def _between(marks: Mapping[float, float], a: float, b: float) -> float | None:
    return marks[b] - marks[a] if a in marks and b in marks else None


def worker_address() -> str | None:
    """This Dask worker's address, or ``None`` outside a worker."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def set_torch_threads(threads: int | None) -> int:
    """Give torch ``threads`` intra-op threads in this process (``None``: leave it); return the count."""
    import torch

    if threads is not None:
        torch.set_num_threads(int(threads))
        os.environ["OMP_NUM_THREADS"] = str(threads)
    return int(torch.get_num_threads())


def error_batch(batch: Batch, spec: RunSpec, message: str) -> BatchResult:
    """A batch whose every text gets ``message`` as its error (a text that killed its workers)."""
    rows = [{**error_row(i, t, message, spec.model), "position": p} for i, t, p in batch.records()]
    constant = {"batch": batch.name, "options": spec.options_json}
    return BatchResult(batch.name, texts_table(rows, **constant), heads_table([], batch=batch.name),
                       len(rows), None, (batch.ids[0], message) if batch.ids else None)


def batches_of(records: Sequence[tuple[str, Any, int]], size: int) -> list[Batch]:
    """Consecutive batches of ``size`` ``(id, text, position)`` records, named by a hash of their ids.

    The same ids always make the same name, so a batch that runs twice writes the same files.
    """
    import hashlib

    out = []
    for i in range(0, len(records), size):
        chunk = records[i : i + size]
        ids = tuple(r[0] for r in chunk)
        digest = hashlib.sha1("\x00".join(ids).encode("utf-8")).hexdigest()[:16]
        out.append(Batch(f"part-{digest}", ids, tuple(r[1] for r in chunk), tuple(r[2] for r in chunk)))
    return out
