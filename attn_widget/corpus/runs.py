"""The run folder: where a corpus run's Parquet files live, and how they are written and resumed.

Layout under the user's ``out`` folder::

    out/
      smollm2-3f9c0a1b2d4e/          one folder per (model, options): the run's key
        run.json                     the model, options and attn_widget version it was made with
        texts/part-<hash>.parquet    one file per batch: one row per text
        heads/part-<hash>.parquet    the same batch's per-head rows

A run's key hashes the model, every option (defaults filled in, so leaving an
option out and passing its default give the same run), whether head roles are
scored and the attn_widget version: changing any of them starts another folder,
never mixing rows made differently. Resuming reads the ids already in
``texts/``. A batch is written heads first, then texts, each to a hidden
temporary file renamed into place, so a reader never sees half a file and a
text counts as done only once both of its files are there; :meth:`RunFolder.tidy`
removes what an interrupted write left. One process writes to a run at a time
(:meth:`RunFolder.lock`). This module does not run models or talk to Dask.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.files import write_atomic

RUN_FILE = "run.json"
TABLES = ("heads", "texts")
"""The two tables, in the order a batch writes them (``texts`` last: it marks the batch done)."""


class RunBusyError(OSError):
    """Another process is writing to the run folder."""


def canonical(options: Mapping[str, Any]) -> str:
    """``options`` as JSON with sorted keys; tuples become lists, a function its name and code's hash.

    Raises :class:`TypeError` naming an option whose value cannot be recorded.
    """

    def plain(value: Any) -> Any:
        if callable(value):  # e.g. lens=f: two functions of one name but other code are other runs
            name = f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"
            return f"<function {name} {_code_digest(value)}>"
        if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
            return value.item()  # a numpy scalar
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        raise TypeError(f"cannot record {value!r} ({type(value).__name__})")

    try:
        return json.dumps(dict(options), sort_keys=True, default=plain, ensure_ascii=False)
    except TypeError as err:
        bad = next(k for k, v in options.items() if _unrecordable(v, plain))
        raise TypeError(
            f"option {bad}={options[bad]!r} cannot be recorded in the run's manifest ({err}); "
            "pass plain values (numbers, strings, lists of them)"
        ) from None


def _code_digest(fn: Any) -> str:
    """8 hex digits of a function's source, bytecode, names and constants (what is at hand)."""
    import inspect

    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = ""
    code = getattr(fn, "__code__", None)
    if code is None:
        return hashlib.sha1((source or repr(fn)).encode("utf-8", "replace")).hexdigest()[:8]
    consts = tuple(c for c in code.co_consts if not inspect.iscode(c))  # nested code reprs hold addresses
    body = repr((source, code.co_code, code.co_names, consts))
    return hashlib.sha1(body.encode("utf-8", "replace")).hexdigest()[:8]


def _unrecordable(value: Any, plain: Any) -> bool:
    try:
        json.dumps(value, default=plain)
    except TypeError:
        return True
    return False


def run_key(identity: Mapping[str, Any]) -> str:
    """12 hex digits of the hash of a run's identity (model, options, version)."""
    return hashlib.sha256(canonical(identity).encode("utf-8")).hexdigest()[:12]


def folder_name(model: str, key: str) -> str:
    """``smollm2-3f9c0a1b2d4e``: the model's last path part, made file-name safe, and the key."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model.rstrip("/\\")).name or "model").strip("._") or "model"
    return f"{stem[:40]}-{key}"


@dataclass(frozen=True)
class RunFolder:
    """One run's folder (see the module docstring)."""

    path: Path

    @classmethod
    def create(cls, out: str | os.PathLike[str], identity: Mapping[str, Any], notices: tuple[str, ...] = (),
               requested: Mapping[str, Any] | None = None) -> RunFolder:
        """The folder of ``identity`` under ``out``, made (with its ``run.json``) if new.

        ``requested`` (the model as asked for, before a worker resolved it) is recorded
        beside the identity, for :func:`finished_run`.
        """
        out = Path(out).expanduser()
        if (out / RUN_FILE).exists():
            raise ValueError(f"out={str(out)!r} is a run folder itself; pass its parent {str(out.parent)!r}")
        if out.exists() and not out.is_dir():
            raise ValueError(f"out={str(out)!r} is a file; give a folder for the results")
        key = run_key(identity)
        run = cls(out / folder_name(str(identity["model"]), key))
        for table in TABLES:
            (run.path / table).mkdir(parents=True, exist_ok=True)
        manifest = {**identity, "key": key, "notices": list(notices), "requested": dict(requested or {}),
                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if not (run.path / RUN_FILE).exists():
            write_atomic(run.path / RUN_FILE, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        elif canonical({k: run.manifest().get(k) for k in identity}) != canonical(identity):
            raise ValueError(f"{str(run.path)!r} holds a run made with other settings than these; "
                             "move it away or choose another out= folder")
        return run

    def manifest(self) -> dict[str, Any]:
        """The ``run.json`` contents."""
        return dict(json.loads((self.path / RUN_FILE).read_text(encoding="utf-8")))

    def parts(self, table: str) -> list[Path]:
        """The table's finished files, by name."""
        return sorted((self.path / table).glob("part-*.parquet"))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's lock; a second writer fails at once, naming the folder (released at exit)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock, one writer is the user's job
            yield
            return
        with open(self.path / ".lock", "a+") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                raise RunBusyError(f"{holder} is writing to {str(self.path)!r}; wait for it to finish or "
                                   "stop it, then run again (finished texts are kept)") from None
            f.truncate(0)
            f.write(f"process {os.getpid()}")
            f.flush()
            try:
                yield
            finally:
                f.truncate(0)
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def tidy(self) -> None:
        """Remove temporary files and ``heads`` files whose ``texts`` file an interruption never wrote."""
        for table in TABLES:
            for tmp in (self.path / table).glob(".part-*.tmp*"):
                tmp.unlink(missing_ok=True)
        done = {p.name for p in self.parts("texts")}
        for orphan in self.parts("heads"):
            if orphan.name not in done:
                orphan.unlink()

    def done_ids(self) -> set[str]:
        """Ids of the texts already in the run (analysed or with an error row)."""
        import pyarrow.parquet as pq

        parts = self.parts("texts")
        return {i for p in parts for i in pq.read_table(p, columns=["id"]).column("id").to_pylist()}

    def error_count(self) -> int:
        """Error rows in the run."""
        import pyarrow.parquet as pq

        columns = [pq.read_table(p, columns=["error"]).column("error") for p in self.parts("texts")]
        return sum(len(c) - c.null_count for c in columns)

    def drop_errors(self) -> int:
        """Remove the error rows (so those texts run again); return how many were removed."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        removed = 0
        for part in self.parts("texts"):
            table = pq.read_table(part)
            failed = pc.is_valid(table.column("error"))
            n = pc.sum(failed).as_py() or 0
            if n:
                removed += n
                _write_table(table.filter(pc.invert(failed)), part)
        return removed

    def write(self, name: str, texts: Any, heads: Any) -> None:
        """Write one batch: ``heads/name.parquet`` then ``texts/name.parquet``, each atomically."""
        for table, rows in (("heads", heads), ("texts", texts)):
            _write_table(rows, self.path / table / f"{name}.parquet")


def _write_table(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        pq.write_table(table, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def find_runs(out: str | os.PathLike[str]) -> list[Path]:
    """Run folders under ``out`` (or ``[out]`` when ``out`` is one), newest first."""
    out = Path(out).expanduser()
    if (out / RUN_FILE).is_file():
        return [out]
    if not out.is_dir():
        raise ValueError(f"no corpus results at {str(out)!r}: the folder does not exist")
    runs = [p.parent for p in out.glob(f"*/{RUN_FILE}")]
    return sorted(runs, key=lambda p: (p / RUN_FILE).stat().st_mtime, reverse=True)


def finished_run(
    out: str | os.PathLike[str],
    identity: Mapping[str, Any],
    requested: Mapping[str, Any],
    ids: Iterable[str],
    *,
    retry_errors: bool,
) -> RunFolder | None:
    """The run under ``out`` that already holds every one of ``ids``, found without loading the model.

    ``identity`` is the run's identity without ``"model"`` (which a worker resolves);
    a run qualifies when its ``run.json`` records the same identity and the same
    ``requested`` model, and the default model was not a fallback (a notice
    recorded: the model it fell back from may load now). With ``retry_errors`` it must hold no
    error rows. ``None`` when there is something left to do.
    """
    out = Path(out).expanduser()
    if not out.is_dir() or (out / RUN_FILE).exists():
        return None
    wanted = set(ids)
    for path in out.glob(f"*/{RUN_FILE}"):
        try:
            m = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (m.get("requested") != dict(requested) or (requested.get("default") and m.get("notices"))
                or canonical({k: m.get(k) for k in identity}) != canonical(identity)):
            continue
        run = RunFolder(path.parent)
        if wanted <= run.done_ids() and not (retry_errors and run.error_count()):
            return run
    return None
