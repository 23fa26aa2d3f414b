"""Turn what the user hands :func:`~attn_widget.corpus.analyze_corpus` into ``(id, text)`` records.

A source is a list of strings (ids are the row numbers), a list of mappings,
a pandas ``DataFrame``, a Hugging Face ``datasets.Dataset`` (anything with
``column_names`` and column access, so ``datasets`` itself is never imported),
or a path: CSV, TSV, JSONL, Parquet (a file or a folder of files) or plain
text (one text per line). Ids are kept as strings, so every batch of a run has
the same Parquet schema whatever the source's id type; duplicate or missing
ids are refused before anything runs.

Text values are passed through as they are: an empty or non-string text is
not an error here but becomes an error row when it is analysed. This module
does not run models and does not know about Dask.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.registry import Registry

Record = tuple[str, Any]
"""``(id, text)``: the id as a string, the text as the source gave it."""

Columns = Callable[[Path], Mapping[str, Sequence[Any]]]
READERS: Registry[Columns] = Registry("corpus file type")
"""File suffix → ``read(path) -> {column: values}``."""


def read_source(
    source: Any, *, text_column: str = "text", id_column: str | None = None, limit: int | None = None
) -> list[Record]:
    """The ``(id, text)`` records of ``source``, in source order.

    Parameters
    ----------
    source
        See the module docstring.
    text_column
        Column (or mapping key) holding the text; ignored for a list of strings
        and for ``.txt`` files.
    id_column
        Column holding each text's id; default: the row number (0, 1, 2, …).
    limit
        Keep only the first ``limit`` records.

    Raises
    ------
    ValueError
        A missing column, a duplicate or missing id, an unreadable file, an empty source.
    TypeError
        A source of a kind this function does not read.
    """
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit={limit!r}: give a positive number of texts, or None for all")
    columns = _columns(source, text_column)
    texts = _column(columns, text_column, source)
    if limit is not None:
        texts = texts[:limit]
    if id_column is None:
        ids = [str(i) for i in range(len(texts))]
    else:
        values = _column(columns, id_column, source)[: len(texts)]
        ids = [_id(v, id_column, row) for row, v in enumerate(values)]
    if not texts:
        raise ValueError(f"the source {_describe(source)} holds no texts")
    _check_unique(ids, id_column)
    return list(zip(ids, texts, strict=True))


def _columns(source: Any, text_column: str) -> Mapping[str, Sequence[Any]]:
    if isinstance(source, (str, os.PathLike)):
        return read_file(Path(source))
    if hasattr(source, "column_names") and not hasattr(source, "columns"):  # a datasets.Dataset
        return {name: _LazyColumn(source, name) for name in source.column_names}
    if hasattr(source, "columns") and hasattr(source, "to_dict"):  # a pandas DataFrame
        return {str(name): source[name].tolist() for name in source.columns}
    if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        if source and all(isinstance(item, Mapping) for item in source):
            return _rows_to_columns(source)
        return {text_column: list(source)}
    raise TypeError(
        f"source={type(source).__name__} cannot be read as a corpus; pass a list of strings, a list of "
        "dicts, a pandas DataFrame, a datasets.Dataset, or a path to a .csv/.tsv/.jsonl/.parquet/.txt file"
    )


class _LazyColumn(Sequence[Any]):
    """One column of a ``datasets.Dataset``, fetched when first used (a column read is a copy)."""

    def __init__(self, dataset: Any, name: str) -> None:
        self._dataset, self._name = dataset, name
        self._values: list[Any] | None = None

    def _all(self) -> list[Any]:
        if self._values is None:
            self._values = list(self._dataset[self._name])
        return self._values

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]


def _column(columns: Mapping[str, Sequence[Any]], name: str, source: Any) -> list[Any]:
    if name not in columns:
        raise ValueError(
            f"the source {_describe(source)} has no column {name!r}; its columns are {sorted(columns)} "
            "(choose with text_column= / id_column=, or --text-column / --id-column)"
        )
    return list(columns[name])


def _id(value: Any, column: str, row: int) -> str:
    if value is None or (isinstance(value, float) and value != value) or str(value) == "":
        raise ValueError(f"row {row} has no id in column {column!r}; give every text one, or omit id_column")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 3.0 from a CSV column with gaps reads as the id "3"
    return str(value)


def _check_unique(ids: Sequence[str], column: str | None) -> None:
    seen: set[str] = set()
    repeated = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
    if repeated:
        raise ValueError(
            f"id column {column!r} repeats ids {sorted(set(repeated))[:5]} ({len(repeated)} repeats); "
            "ids must be unique, since a resumed run skips texts by id"
        )


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    return type(source).__name__


def read_file(path: Path) -> Mapping[str, Sequence[Any]]:
    """Columns of a corpus file, chosen by its suffix (a folder is read as Parquet)."""
    if not path.exists():
        raise ValueError(f"no corpus file at {str(path)!r}")
    suffix = ".parquet" if path.is_dir() else path.suffix.lower()
    if suffix not in READERS:
        kind = suffix or "files without a suffix"
        raise ValueError(f"{str(path)!r}: cannot read {kind}; use one of {READERS.names()}")
    try:
        return READERS[suffix](path)
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"could not read {str(path)!r}: {err}") from err


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as err:  # pragma: no cover - pandas comes with the corpus extra
        raise ImportError("reading CSV files needs pandas: pip install 'attn_widget[corpus]'") from err
    return pd


def _delimited(path: Path, sep: str) -> Mapping[str, Sequence[Any]]:
    # every cell as a string, "NA" and "null" kept as text: a quotation may be just that word
    frame = _pandas().read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    return {str(c): frame[c].tolist() for c in frame.columns}


@READERS.register(".csv")
def read_csv(path: Path) -> Mapping[str, Sequence[Any]]:
    return _delimited(path, ",")


@READERS.register(".tsv")
def read_tsv(path: Path) -> Mapping[str, Sequence[Any]]:
    return _delimited(path, "\t")


@READERS.register(".jsonl")
def read_jsonl(path: Path) -> Mapping[str, Sequence[Any]]:
    rows: list[Mapping[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{str(path)!r} line {number} is not JSON: {err}") from None
            if not isinstance(row, Mapping):
                raise ValueError(f"{str(path)!r} line {number} is not a JSON object: {line[:80]!r}")
            rows.append(row)
    return _rows_to_columns(rows)


READERS.register(".ndjson")(read_jsonl)


@READERS.register(".parquet")
def read_parquet(path: Path) -> Mapping[str, Sequence[Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {name: table.column(name).to_pylist() for name in table.column_names}


@READERS.register(".txt")
def read_lines(path: Path) -> Mapping[str, Sequence[Any]]:
    """One text per line, blank lines skipped; column ``line`` holds the line numbers (from 1)."""
    numbered = [(n, line.rstrip("\r\n")) for n, line in enumerate(path.open(encoding="utf-8"), start=1)]
    kept = [(n, line) for n, line in numbered if line.strip()]
    return {"text": [line for _, line in kept], "line": [n for n, _ in kept]}


def _rows_to_columns(rows: Iterable[Mapping[str, Any]]) -> Mapping[str, Sequence[Any]]:
    rows = list(rows)
    keys = {k for row in rows for k in row}
    return {k: [row.get(k) for row in rows] for k in keys}
