"""Debian's ``fortunes`` quotations: a real corpus of short texts that installs offline.

``apt-get install fortunes`` puts about 15,000 quotations, jokes and
definitions in ``/usr/share/games/fortunes/`` (one file per theme, entries
separated by a line holding ``%``). :func:`fortunes` reads them as records
``{"id": "wisdom/12", "text": ...}`` for :func:`~attn_widget.corpus.analyze_corpus`.
This module only reads the files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

FORTUNES_DIR = Path("/usr/share/games/fortunes")
"""Where Debian's ``fortunes`` and ``fortunes-min`` packages put their files."""


def fortunes(
    themes: Sequence[str] | None = None,
    *,
    folder: str | os.PathLike[str] = FORTUNES_DIR,
    min_chars: int = 1,
    max_chars: int | None = None,
) -> list[dict[str, str]]:
    """Quotations from the fortune files, in file then entry order.

    Parameters
    ----------
    themes
        File names to read (``["wisdom", "science"]``); default all of them.
    folder
        Where the files are.
    min_chars, max_chars
        Keep entries whose text (surrounding whitespace removed) has this many characters.

    Returns
    -------
    list of dict
        ``{"id": "<theme>/<entry number from 0>", "text": ...}``.

    Raises
    ------
    FileNotFoundError
        When the files are not installed, saying how to install them.
    """
    folder = Path(folder)
    files = folder.glob("*") if folder.is_dir() else ()
    available = sorted(p.name for p in files if p.is_file() and "." not in p.name)  # not the .dat indexes
    if not available:
        raise FileNotFoundError(f"no fortune files in {str(folder)!r}: install Debian's fortunes package "
                                "(apt-get install fortunes), or pass folder=")
    chosen = list(themes) if themes is not None else available
    missing = sorted(set(chosen) - set(available))
    if missing:
        raise FileNotFoundError(f"no fortune file {missing} in {str(folder)!r}; there are {available}")
    out = []
    for theme in chosen:
        entries = (folder / theme).read_text(encoding="utf-8", errors="replace").split("\n%\n")
        for number, entry in enumerate(entries):
            text = entry.strip().removesuffix("\n%").strip()
            if len(text) >= min_chars and (max_chars is None or len(text) <= max_chars):
                out.append({"id": f"{theme}/{number}", "text": text})
    return out
