"""``analyze_corpus``: the same analysis as :func:`attn_widget.analyze`, over many texts, on Dask.

The client reads the source (:mod:`.sources`), connects to Dask
(:mod:`.cluster`), has one worker resolve the model (so every batch uses the
same one, a fallback included), opens the run folder for the model and options
(:mod:`.runs`), skips the ids already there, and submits the rest in batches
(:mod:`.task`). Each finished batch comes back as two small tables, which the
client alone writes, atomically, under a name made from the batch's ids: a
batch Dask ran twice after a worker died still lands once.

Failures: a text's own error is an error row. A batch whose worker died
``distributed.scheduler.allowed-failures`` times is split in halves and
retried, down to the one text that kills workers, which gets an error row. If
the first :data:`FAIL_FAST` texts all fail, the model or options are wrong for
every text: the run stops with the first error and writes none of them. An
interrupted run (Ctrl-C, SIGTERM through the CLI) keeps every batch written so
far; running it again does only the rest.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.options import ANALYZE_OPTIONS, DEFAULT_MODEL, DEFAULTS, check_names
from ..graph.pipeline import check_choices
from .guard import check_main_guard
from .progress import Progress, ProgressArg, check
from .results import CorpusRun
from .runs import RunFolder, canonical, finished_run
from .schema import FORMAT_VERSION
from .sources import read_source
from .task import Batch, BatchResult, RunSpec, analyze_batch, batches_of, error_batch, resolve_model

CORPUS_OPTIONS = ANALYZE_OPTIONS - {"progress", "target"}
"""The :func:`attn_widget.analyze` options passed to every text (``progress`` is the run's own;
``target``, the second text of an encoder-decoder pair, belongs to one text, not to a corpus)."""

IN_FLIGHT = 4
"""Batches submitted ahead per worker: enough to keep workers busy, few to cancel on Ctrl-C."""

FAIL_FAST = 32
"""A run whose first this many texts all fail stops: the model or options are wrong for every text."""


def analyze_corpus(
    source: Any,
    model: Any = DEFAULT_MODEL,
    *,
    out: str | os.PathLike[str],
    tokenizer: str | os.PathLike[str] | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    limit: int | None = None,
    workers: int | None = None,
    address: str | None = None,
    torch_threads: int | None = None,
    batch_size: int | None = None,
    head_roles: bool = True,
    retry_errors: bool = False,
    progress: ProgressArg = True,
    **options: Any,
) -> CorpusRun:
    """Analyse every text of ``source`` with ``model`` on Dask and write the results as Parquet under ``out``.

    Parameters
    ----------
    source
        A list of strings, a list of dicts, a pandas DataFrame, a ``datasets.Dataset``,
        or a path to a CSV, TSV, JSONL, Parquet (file or folder) or text file (one text a line).
    model
        A hub name, a local folder or ``"smollm2"`` / ``"minilm"``: something every
        worker can load by name (save a model object with ``save_pretrained`` first).
        The default falls back as :func:`attn_widget.analyze`'s does, once for the
        whole run, with the notice in :attr:`CorpusRun.notices`.
    out
        Folder for the results. Each model and set of options gets its own run
        folder inside it (``out/<model>-<key>/``): running again with the same
        ones resumes, skipping the texts already there; changing either starts
        another run folder. On a multi-machine cluster, ``out`` is only written
        by this process.
    tokenizer
        Tokenizer name or folder, when not the model's own.
    text_column, id_column
        Columns holding the text and each text's id (default: the row number).
    limit
        Analyse only the first ``limit`` texts of the source.
    workers
        Local cluster: how many worker processes (default: one per core, fewer if
        memory would not hold one model per worker). With ``address``: wait until
        the cluster has this many.
    address
        A running Dask scheduler (``"tcp://host:8786"``) to use instead of a local cluster.
    torch_threads
        Torch threads per worker (default on a local cluster: cores // workers;
        on an existing cluster: left as the workers have them).
    batch_size
        Texts per task and per Parquet file (default: about 16 batches per worker, at most 64 texts).
    head_roles
        Also score every head's roles per text (the ``heads`` table).
    retry_errors
        Analyse again the texts that have error rows in the run.
    progress
        ``True``: a bar (texts done / total, rate, time left) and a few lines (run
        folder, texts skipped, dashboard link); ``False``: silent; a function
        ``progress(stage, fraction)``: called as each batch lands.
    **options
        Every option of :func:`attn_widget.analyze` except ``progress``
        (:class:`~attn_widget.core.options.AnalyzeOptions`: ``threshold``,
        ``method``, ``aggregation``, ``overlength``, …), the same for every text.

    Returns
    -------
    CorpusRun
        Counts, timing and the run folder; ``.texts()``, ``.heads()``, ``.summarize()`` read it.

    Raises
    ------
    TypeError, ValueError
        An unknown option, a model object, a bad source, or the first :data:`FAIL_FAST` texts all failing.
    ModelLoadError
        The model cannot be loaded on the workers.
    """
    start = time.perf_counter()
    if "target" in options:
        raise TypeError(
            "analyze_corpus() takes no target=: a target is the second text of one encoder-decoder pair, "
            "and a corpus run analyses each text alone; analyze a pair with "
            "attn_widget.analyze(source, model=..., target=...)"
        )
    check_names(options, CORPUS_OPTIONS, "analyze_corpus()")
    settings = identity_options(options)
    check_choices(settings)
    canonical(settings)  # fails now, naming the option, if one cannot be recorded
    name, is_default = _model_name(model)
    tok = None if tokenizer is None else _model_name(tokenizer, "tokenizer")[0]
    check(progress)
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size={batch_size!r}: give a whole number of texts of at least 1")
    records = read_source(source, text_column=text_column, id_column=id_column, limit=limit)
    say = print if progress is True else _silent
    if address is None:
        check_main_guard()  # before any worker is spawned: they would import the script again
    requested = {"model": name, "default": is_default}
    same = {"tokenizer": tok, "options": settings, "head_roles": bool(head_roles), "attn_widget": _version(),
            "format": FORMAT_VERSION}
    finished = finished_run(out, same, requested, (i for i, _ in records), retry_errors=retry_errors)
    if finished is not None:  # nothing left to do: no cluster to start
        say(f"Run folder: {finished.path}")
        say(f"All {len(records)} texts are already there; nothing to analyse")
        return CorpusRun(
            path=finished.path, model=str(finished.manifest()["model"]), options=settings, total=len(records),
            skipped=len(records), analysed=0, errors=0, seconds=time.perf_counter() - start, workers=0,
        )

    from .cluster import connect  # Dask is imported here, not when attn_widget.corpus is

    with connect(address, workers, torch_threads, name) as conn:
        if conn.dashboard:
            say(f"Dask dashboard: {conn.dashboard}")
        resolved, notices = conn.client.submit(resolve_model, name, is_default, tok, pure=False).result()
        for notice in notices:
            say(f"Note: {notice}")
        run = RunFolder.create(out, {"model": resolved, **same}, tuple(notices), requested)
        with run.lock():
            run.tidy()
            if retry_errors:
                run.drop_errors()
            done = run.done_ids()
            pending = [(i, t, n) for n, (i, t) in enumerate(records) if i not in done]
            say(f"Run folder: {run.path}")
            if done:
                say(f"{len(records) - len(pending)} of {len(records)} texts are already there; "
                    f"analysing the other {len(pending)}")
            spec = RunSpec(resolved, tok, settings, canonical(settings), bool(head_roles))
            size = batch_size if batch_size is not None else auto_batch_size(len(pending), conn.workers)
            bar = Progress(progress, len(records), len(records) - len(pending))
            try:
                tally = Driver(conn.client, spec, run, bar).run(batches_of(pending, size))
            finally:
                bar.close()
    return CorpusRun(
        path=run.path, model=resolved, options=settings, total=len(records),
        skipped=len(records) - len(pending), analysed=tally.texts, errors=tally.errors,
        seconds=time.perf_counter() - start, workers=conn.workers, dashboard=conn.dashboard,
        notices=tuple(notices),
    )


def auto_batch_size(pending: int, workers: int) -> int:
    """About 16 batches per worker (even load, a lively bar, cheap resumes), 1 to 64 texts each."""
    return max(1, min(64, math.ceil(pending / (16 * max(1, workers)))))


@dataclass
class Tally:
    """Texts and error rows written so far by this call."""

    texts: int = 0
    errors: int = 0


class Driver:
    """Submit batches, write each result as it lands, split batches that kill workers (one run)."""

    def __init__(self, client: Any, spec: RunSpec, run: RunFolder, bar: Progress) -> None:
        self.client, self.spec, self.run_folder, self.bar = client, spec, run, bar
        self.tally = Tally()
        self.held: list[BatchResult] = []  # all-error batches, held until one text succeeds
        self.succeeded = False

    def run(self, batches: list[Batch]) -> Tally:
        """Analyse ``batches``, keeping about :data:`IN_FLIGHT` per worker submitted at a time."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        waiting = iter(batches)
        futures: dict[Any, Batch] = {}
        queue = as_completed()
        self._refill(waiting, futures, queue)
        try:
            for future in queue:
                batch = futures.pop(future)
                if future.status == "error" and isinstance(future.exception(), KilledWorker):
                    for part in self._split(batch, future.exception()):
                        self._add(part, futures, queue)
                elif future.status == "cancelled":
                    raise ConnectionError(
                        f"Dask cancelled the batch {batch.name} (the scheduler restarted, or this client "
                        f"lost it); the texts finished so far are kept in {str(self.run_folder.path)!r}: "
                        "run again to analyse the rest"
                    )
                else:
                    self._land(future.result())  # raises a batch's own error (e.g. the model cannot load)
                future.release()
                self._refill(waiting, futures, queue)
            for result in self.held:  # every text failed, but fewer than FAIL_FAST: genuine error rows
                self._write(result)
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.cancel(list(futures))
            raise
        return self.tally

    def _refill(self, waiting: Iterator[Batch], futures: dict[Any, Batch], queue: Any) -> None:
        """Submit batches until each worker has about :data:`IN_FLIGHT` (the scheduler holds only those)."""
        workers = max(1, len(self.client.nthreads()))
        while len(futures) < IN_FLIGHT * workers:
            batch = next(waiting, None)
            if batch is None:
                return
            self._add(batch, futures, queue)

    def _add(self, batch: Batch, futures: dict[Any, Batch], queue: Any) -> None:
        future = self._submit(batch)
        futures[future] = batch
        queue.add(future)

    def _submit(self, batch: Batch) -> Any:
        return self.client.submit(analyze_batch, batch, self.spec, key=f"analyze_batch-{batch.name}-"
                                  f"{uuid.uuid4().hex[:8]}", pure=False)

    def _split(self, batch: Batch, error: Exception) -> list[Batch]:
        """Halves of a batch whose workers died; a single text that did it gets an error row instead."""
        if len(batch.ids) > 1:
            half = len(batch.ids) // 2
            records = batch.records()
            return [*batches_of(records[:half], half), *batches_of(records[half:], len(records) - half)]
        message = f"the worker analysing this text died each time it was tried ({error}); out of memory?"
        self._land(error_batch(batch, self.spec, message))
        return []

    def _land(self, result: BatchResult) -> None:
        if result.errors < result.size:
            self.succeeded = True
        if not self.succeeded:
            self.held.append(result)
            failed = sum(r.size for r in self.held)
            if failed >= FAIL_FAST:
                text_id, message = self.held[0].first_error or ("?", "?")
                raise ValueError(
                    f"the first {failed} texts analysed all failed, e.g. text {text_id!r}: {message}. "
                    f"The model or options are likely wrong for every text; nothing was written to "
                    f"{str(self.run_folder.path)!r}"
                )
            return
        for held in self.held:
            self._write(held)
        self.held.clear()
        self._write(result)

    def _write(self, result: BatchResult) -> None:
        self.run_folder.write(result.name, result.texts, result.heads)
        self.tally.texts += result.size
        self.tally.errors += result.errors
        self.bar.update(result.size)


def _model_name(model: Any, what: str = "model") -> tuple[str, bool]:
    if isinstance(model, (str, os.PathLike)):
        return _local(os.fspath(model)), model is DEFAULT_MODEL
    raise TypeError(
        f"{what}={type(model).__name__}: analyze_corpus needs a {what} every worker can load by name; "
        f"save it with .save_pretrained(folder) and pass {what}=folder (or a hub name, 'smollm2', 'minilm')"
    )


def _local(name: str) -> str:
    """A local folder as an absolute path (the same run whatever the working folder); other names as given."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("attn_widget")
    except PackageNotFoundError:  # pragma: no cover - a source checkout that was never installed
        return "unknown"


def _silent(*args: Any, **kwargs: Any) -> None:
    return None


def identity_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with every default filled in, as a run records them (same defaults, same run)."""
    return {**{k: DEFAULTS[k] for k in CORPUS_OPTIONS if k in DEFAULTS}, **options}
