"""One file holding a JSON document and named numpy arrays: how the results beside :class:`Analysis` save.

A ``.json`` path gets the document only; any other suffix (``.attn``, ``.gen``,
…) a zip of ``NAME.json`` plus ``ARRAY.npy`` files (no pickles). Used by
:class:`~attn_widget.core.generation.Generation`,
:class:`~attn_widget.core.comparison.Comparison` and
:class:`~attn_widget.core.ablation.Ablation`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def write(path: str | Path, name: str, document: Mapping[str, Any], arrays: Mapping[str, Any]) -> Path:
    """Write ``document`` (and, unless ``path`` ends in ``.json``, the ``arrays`` that are not None)."""
    path = Path(path)
    if path.suffix == ".json":
        path.write_text(json.dumps(document), encoding="utf-8")
        return path
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{name}.json", json.dumps(document))
        for key, array in arrays.items():
            if array is not None:
                buf = io.BytesIO()
                np.save(buf, np.asarray(array), allow_pickle=False)
                zf.writestr(f"{key}.npy", buf.getvalue())
    return path


def read(path: str | Path, name: str, what: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(document, arrays)`` of a file :func:`write` made; ``what`` names the writer in errors."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {name} file at {str(path)!r}")
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8")), {}
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not a {name} file written by {what}")
    with zipfile.ZipFile(path) as zf:
        if f"{name}.json" not in zf.namelist():
            raise ValueError(f"{str(path)!r} holds no {name}.json: it was not written by {what}")
        document = json.loads(zf.read(f"{name}.json"))
        arrays = {
            entry.removesuffix(".npy"): np.load(io.BytesIO(zf.read(entry)), allow_pickle=False)
            for entry in zf.namelist()
            if entry.endswith(".npy")
        }
    return document, arrays


def check_version(document: Mapping[str, Any], kind: str, readable: tuple[int, ...]) -> None:
    """Refuse a document whose ``format_version`` this version of attn_widget cannot read."""
    version = document.get("format_version")
    if version not in readable:
        raise ValueError(
            f"{kind} format_version {version!r} is not supported (this version reads {list(readable)}); "
            "re-run it with this version of attn_widget"
        )
