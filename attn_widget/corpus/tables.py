"""Read a corpus run's tables back: :func:`read_texts`, :func:`read_heads`, and which run a path means.

The files need nothing from attn_widget (``pandas.read_parquet(run / "texts")``,
``pyarrow.parquet.read_table``, DuckDB's ``read_parquet('run/texts/*.parquet')``
all work); these helpers add the guarantee that each text appears once even if
files were copied together by hand (a row per id, an analysed row preferred to
an error row), and ``heads`` rows only for the texts rows kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runs import RUN_FILE, find_runs

if TYPE_CHECKING:
    import pandas as pd


def run_path(target: Any) -> Path:
    """The run folder ``target`` means: a :class:`~attn_widget.corpus.CorpusRun`'s, a run folder itself,
    or the one run of an ``out`` folder (several: an error listing them)."""
    if not isinstance(target, (str, os.PathLike)) and isinstance(getattr(target, "path", None), Path):
        return Path(target.path)  # a CorpusRun
    if not isinstance(target, (str, os.PathLike)):
        raise TypeError(f"{type(target).__name__} is not a corpus run; pass a run folder or a CorpusRun")
    runs = find_runs(target)
    if not runs:
        raise ValueError(f"no corpus run under {os.fspath(target)!r} (no */{RUN_FILE}); "
                         "run attn_widget.corpus.analyze_corpus(..., out=...) first")
    if len(runs) > 1:
        listed = "; ".join(f"{p.name} ({describe(p)})" for p in runs)
        raise ValueError(f"{os.fspath(target)!r} holds {len(runs)} runs with different models or options: "
                         f"{listed}. Pass one run folder, e.g. {str(runs[0])!r}")
    return runs[0]


def describe(run: Path) -> str:
    """``model smollm2, threshold 0.1, method 'leiden'``: the model and the options not at their defaults."""
    from ..core.options import DEFAULTS

    manifest = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    changed = [f"{k} {v!r}" for k, v in sorted(manifest.get("options", {}).items())
               if k in DEFAULTS and json.dumps(v) != json.dumps(_plain(DEFAULTS[k]))]
    return ", ".join([f"model {manifest.get('model')}", *changed])


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def read_texts(target: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The run's ``texts`` rows, one per id (see the module docstring), in source order (``position``)."""
    run = run_path(target)
    wanted = None if columns is None else sorted({*columns, "id", "error", "position"})
    frame = _read(run / "texts", wanted)
    if frame.empty:
        return frame if columns is None else frame[list(columns)]
    frame = frame.assign(_failed=frame["error"].notna()).sort_values(["_failed"], kind="stable")
    frame = frame.drop_duplicates("id").drop(columns="_failed").sort_values("position", kind="stable")
    frame = frame.reset_index(drop=True)
    return frame if columns is None else frame[list(columns)]


def read_heads(target: Any) -> pd.DataFrame:
    """The run's ``heads`` rows of the texts :func:`read_texts` keeps."""
    run = run_path(target)
    keep = read_texts(run, ["id", "batch"])
    heads = _read(run / "heads", None)
    return heads.merge(keep, on=["id", "batch"], how="inner").reset_index(drop=True)


def _read(folder: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    from .schema import heads_schema, texts_schema

    schema = texts_schema() if folder.name == "texts" else heads_schema()
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        return schema.empty_table().to_pandas() if columns is None else schema.empty_table().select(
            list(columns)).to_pandas()
    return pq.read_table([str(f) for f in files], columns=columns, schema=schema).to_pandas()
