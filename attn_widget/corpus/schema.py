"""The two Parquet tables a corpus run writes, and how one analysis becomes their rows.

``texts``: one row per text (:func:`texts_schema`): the id, row number in the source and text, token
count, tokens and their cluster labels, the clusters with their token indices,
token texts and character spans, threshold, modularity, timings, model,
options, notices and ``error`` (null when the text was analysed).

``heads``: one row per text and attention head (:func:`heads_schema`): the
head's score for every role in :data:`attn_widget.heads.roles.ROLES` (plus
``broad``), a column per role (``previous-token`` → ``previous_token``), and
``roles``, the roles that passed the chance control on that text.

Both carry ``batch``, the name of the file pair the rows were written in.
Plain Arrow types only, so pandas, pyarrow and DuckDB read them without
attn_widget. This module builds rows; it neither runs models nor writes files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..heads.roles import ROLES

if TYPE_CHECKING:
    import pyarrow as pa

    from ..core import Analysis
    from ..heads.roles import HeadReport

FORMAT_VERSION = 1
"""Version of the tables' layout; part of a run's identity, so a new layout never mixes with an old one."""

ROLE_NAMES: tuple[str, ...] = (*ROLES, "broad")
"""Roles scored per head, in column order."""


def role_column(role: str) -> str:
    """Column name of a role: ``"first-token sink"`` → ``"first_token_sink"``."""
    return role.replace("-", "_").replace(" ", "_")


def texts_schema() -> pa.Schema:
    """Arrow schema of the ``texts`` table."""
    import pyarrow as pa

    span = pa.struct([("start", pa.int32()), ("end", pa.int32())])
    cluster = pa.struct([
        ("id", pa.int32()), ("size", pa.int32()), ("tokens", pa.list_(pa.int32())),
        ("token_texts", pa.list_(pa.string())), ("spans", pa.list_(span)), ("text", pa.string()),
        ("modularity", pa.float64()), ("internal", pa.float64()),
    ])
    return pa.schema([
        ("id", pa.string()), ("position", pa.int64()), ("text", pa.string()), ("n_tokens", pa.int32()),
        ("n_clusters", pa.int32()), ("threshold", pa.float64()), ("modularity", pa.float64()),
        ("tokens", pa.list_(pa.string())),
        ("labels", pa.list_(pa.int32())), ("clusters", pa.list_(cluster)), ("notices", pa.list_(pa.string())),
        ("model", pa.string()), ("options", pa.string()),
        ("seconds_model", pa.float64()), ("seconds_cluster", pa.float64()), ("seconds_heads", pa.float64()),
        ("seconds", pa.float64()), ("worker", pa.string()), ("batch", pa.string()), ("error", pa.string()),
    ])


def heads_schema() -> pa.Schema:
    """Arrow schema of the ``heads`` table."""
    import pyarrow as pa

    fields = [("id", pa.string()), ("batch", pa.string()), ("layer", pa.int16()), ("head", pa.int16())]
    fields += [(role_column(r), pa.float32()) for r in ROLE_NAMES]
    return pa.schema([*fields, ("roles", pa.list_(pa.string()))])


def text_row(analysis: Analysis, text_id: str, timings: Mapping[str, float | None]) -> dict[str, Any]:
    """The ``texts`` row of a finished analysis (``batch``, ``worker``, ``options`` are added later)."""
    return {
        "id": text_id,
        "text": analysis.text,
        "n_tokens": len(analysis.tokens),
        "n_clusters": sum(1 for c in analysis.clusters if c.size > 1),
        "threshold": float(analysis.threshold),
        "modularity": float(analysis.modularity),
        "tokens": [t.text for t in analysis.tokens],
        "labels": [int(x) for x in analysis.labels],
        "clusters": [cluster_entry(analysis, c) for c in analysis.clusters],
        "notices": list(analysis.notices),
        "model": analysis.model,
        **timings,
        "error": None,
    }


def error_row(text_id: str, text: Any, error: str, model: str, seconds: float | None = None
              ) -> dict[str, Any]:
    """The ``texts`` row of a text that could not be analysed: its id, text and the message."""
    return {"id": text_id, "text": text if isinstance(text, str) else None, "model": model,
            "seconds": seconds, "error": error}


def cluster_entry(analysis: Analysis, cluster: Any) -> dict[str, Any]:
    """One element of the ``clusters`` list: tokens, their texts, character spans and the spans' text."""
    spans = char_spans([analysis.tokens[i] for i in cluster.tokens])
    return {
        "id": int(cluster.id),
        "size": int(cluster.size),
        "tokens": [int(i) for i in cluster.tokens],
        "token_texts": [analysis.tokens[i].text for i in cluster.tokens],
        "spans": [{"start": a, "end": b} for a, b in spans],
        "text": " … ".join(analysis.text[a:b] for a, b in spans),
        "modularity": float(cluster.modularity),
        "internal": float(cluster.internal),
    }


def char_spans(tokens: Sequence[Any]) -> list[tuple[int, int]]:
    """Character ranges covered by ``tokens`` (ascending), touching ranges merged; specials skipped."""
    spans: list[tuple[int, int]] = []
    for t in tokens:
        if t.start is None or t.end is None or t.end <= t.start:
            continue
        if spans and t.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], t.end))
        else:
            spans.append((t.start, t.end))
    return spans


def head_rows(report: HeadReport, text_id: str) -> dict[str, list[Any]]:
    """The ``heads`` rows of one text, as columns: every ``(layer, head)`` with its role scores."""
    layers, heads = next(iter(report.scores.values())).shape
    layer_index, head_index = np.divmod(np.arange(layers * heads), heads)
    columns: dict[str, list[Any]] = {
        "id": [text_id] * (layers * heads),
        "layer": layer_index.tolist(),
        "head": head_index.tolist(),
    }
    for role in ROLE_NAMES:
        columns[role_column(role)] = np.asarray(report.scores[role], dtype=np.float32).ravel().tolist()
    columns["roles"] = [[r for r, _ in report.labels.get((int(la), int(h)), ())]
                        for la, h in zip(layer_index, head_index, strict=True)]
    return columns


def texts_table(rows: Sequence[Mapping[str, Any]], **constant: Any) -> pa.Table:
    """The ``texts`` table of ``rows``; ``constant`` columns (``batch=...``) fill every row."""
    import pyarrow as pa

    schema = texts_schema()
    full = [{**{name: None for name in schema.names}, **row, **constant} for row in rows]
    return pa.Table.from_pylist(full, schema=schema)


def heads_table(parts: Sequence[Mapping[str, list[Any]]], **constant: Any) -> pa.Table:
    """The ``heads`` table of per-text column dicts (from :func:`head_rows`)."""
    import pyarrow as pa

    schema = heads_schema()
    n = sum(len(p["id"]) for p in parts)
    columns = {
        name: [v for p in parts for v in p[name]] if name not in constant else [constant[name]] * n
        for name in schema.names
    }
    return pa.Table.from_pydict(columns, schema=schema)
