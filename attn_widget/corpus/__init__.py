"""Corpus scale: the same analysis over thousands of texts, on Dask, with Parquet results.

- :func:`analyze_corpus` runs :func:`attn_widget.analyze` (and head-role scoring)
  on every text of a list, a file or a ``datasets.Dataset``, on a local Dask
  cluster or an existing one, and writes the rows under ``out``; resumable.
- :func:`summarize` reads a run back into head-role prevalence, cluster size
  and count against text length, and the token pairs grouped most often.
- :func:`read_texts`, :func:`read_heads` read the tables (each text once);
  :func:`fortunes` reads Debian's quotations, a real corpus that installs offline.

Sits beside :mod:`attn_widget.study`: it uses the library (``api``, ``explain``)
and never the widget. Dask, pandas and pyarrow come with the ``corpus`` extra
(``pip install 'attn_widget[corpus]'``) and are imported only when used.
"""

from __future__ import annotations

from .engine import analyze_corpus
from .fortunes import fortunes
from .results import CorpusRun
from .summary import CorpusSummary, summarize
from .tables import read_heads, read_texts

__all__ = [
    "CorpusRun", "CorpusSummary", "analyze_corpus", "fortunes", "read_heads", "read_texts", "summarize",
]
