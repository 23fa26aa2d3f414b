"""What a corpus run says about the model: :func:`summarize` and the :class:`CorpusSummary` it returns.

- **Head roles**: for every head and role, the share of analysed texts on which
  the head carries the role (its score passed the chance control of
  :func:`attn_widget.heads.roles.score_heads` on that text), and its mean score.
- **Clusters against length**: per text, the number of clusters of 2+ tokens,
  their sizes, the largest, the share of tokens left alone; the same averaged
  over bins of text length; one row per cluster for histograms.
- **Token pairs grouped again and again**: for two token forms (stripped,
  lower-cased), the number of texts in which they share a cluster, the number
  in which both occur, and a PMI-style score against their frequency:
  ``pmi = log2(together · N / (texts_a · texts_b))`` over the ``N`` analysed
  texts (``npmi`` divides it by ``-log2(together / N)``, so 1 means "only ever
  seen together"). A pair frequent only because both tokens are everywhere
  scores near 0.

Reads the Parquet tables through :mod:`.results`; draws nothing (the
corpus notebook plots these tables).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .runs import RUN_FILE
from .schema import ROLE_NAMES, role_column
from .tables import read_heads, read_texts, run_path

if TYPE_CHECKING:
    import pandas as pd

LENGTH_BINS: tuple[float, ...] = (0, 16, 32, 48, 64, 96, 128, 256, 512, 1024, math.inf)
"""Token-count bin edges of :attr:`CorpusSummary.by_length` (left-closed)."""


@dataclass(frozen=True, eq=False)
class CorpusSummary:
    """Corpus-level tables of one run (see the module docstring).

    Attributes
    ----------
    run
        The run folder.
    model
        The model of the run.
    texts, errors
        Analysed texts and error rows.
    roles
        One row per ``(layer, head, role)``: ``share`` of texts with the role, ``texts`` (how many),
        ``mean_score``.
    per_text
        One row per analysed text: ``id``, ``n_tokens``, ``n_clusters`` (2+ tokens), ``mean_size``
        (of those), ``largest``, ``alone`` (share of kept tokens in no group), ``modularity``, ``threshold``.
    clusters
        One row per cluster of 2+ tokens: ``id`` (the text), ``n_tokens`` (the text's), ``size``.
    by_length
        ``per_text`` averaged over bins of ``n_tokens`` (:data:`LENGTH_BINS`), with the bin's ``texts``.
    pairs
        Token pairs: ``a``, ``b``, ``together``, ``both``, ``texts_a``, ``texts_b``, ``share``
        (together / both), ``pmi``, ``npmi``; most often together first.
    """

    run: Path
    model: str
    texts: int
    errors: int
    roles: pd.DataFrame
    per_text: pd.DataFrame
    clusters: pd.DataFrame
    by_length: pd.DataFrame
    pairs: pd.DataFrame

    def role_share(self, role: str) -> np.ndarray:
        """``[layer, head]`` share of texts on which each head carries ``role`` (for a heatmap)."""
        if role not in ROLE_NAMES:
            raise ValueError(f"unknown role {role!r}; choose one of {list(ROLE_NAMES)}")
        rows = self.roles[self.roles["role"] == role]
        if rows.empty:
            return np.zeros((0, 0))
        grid = np.zeros((int(rows["layer"].max()) + 1, int(rows["head"].max()) + 1))
        grid[rows["layer"].to_numpy(), rows["head"].to_numpy()] = rows["share"].to_numpy()
        return grid

    def top_heads(self, role: str, k: int = 5) -> pd.DataFrame:
        """The ``k`` heads that carry ``role`` on the most texts."""
        rows = self.roles[(self.roles["role"] == role) & (self.roles["texts"] > 0)]
        return rows.sort_values(["share", "mean_score"], ascending=False).head(k).reset_index(drop=True)

    def __str__(self) -> str:
        lines = [f"{self.texts} texts analysed with {self.model} ({self.errors} errors) in {self.run}"]
        if not self.roles.empty:
            lines.append("  heads carrying each role most often (layer.head: share of texts):")
        for role in ROLE_NAMES:
            top = self.top_heads(role, 3)
            if not top.empty:
                heads = ", ".join(f"{r.layer}.{r.head}: {r.share:.0%}" for r in top.itertuples())
                lines.append(f"    {role}: {heads}")
        if not self.per_text.empty:
            size = self.clusters["size"].median() if not self.clusters.empty else 0
            count = self.per_text["n_clusters"].median()
            lines.append(f"  clusters of 2+ tokens per text: median {count:g}; size median {size:g}")
        for r in self.pairs.head(5).itertuples():
            lines.append(f"  {r.a!r} + {r.b!r}: together in {r.together} texts (both in {r.both}), "
                         f"pmi {r.pmi:.2f}")
        return "\n".join(lines)


def summarize(
    target: Any, *, top: int = 100, min_together: int = 2, words_only: bool = True,
    bins: Sequence[float] = LENGTH_BINS,
) -> CorpusSummary:
    """Summarise a corpus run (see the module docstring).

    Parameters
    ----------
    target
        A :class:`~attn_widget.corpus.CorpusRun`, a run folder, or an ``out``
        folder holding one run (with several, pass the one you mean).
    top
        Pairs kept in :attr:`CorpusSummary.pairs`.
    min_together
        Pairs must share a cluster in at least this many texts.
    words_only
        Count only tokens with a letter or digit (not punctuation) in pairs.
    bins
        Token-count bin edges for :attr:`CorpusSummary.by_length`.

    Returns
    -------
    CorpusSummary
    """
    import json

    run = run_path(target)
    manifest = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    texts = read_texts(run, ["id", "n_tokens", "labels", "clusters", "modularity", "threshold", "error"])
    ok = texts[texts["error"].isna()].reset_index(drop=True)
    per_text, clusters = _cluster_tables(ok)
    return CorpusSummary(
        run=run,
        model=str(manifest.get("model")),
        texts=len(ok),
        errors=int(texts["error"].notna().sum()),
        roles=_roles(run, len(ok)) if manifest.get("head_roles", True) else _empty_roles(),
        per_text=per_text,
        clusters=clusters,
        by_length=_by_length(per_text, bins),
        pairs=_pairs(ok, top=top, min_together=min_together, words_only=words_only),
    )


def _roles(run: Path, n_texts: int) -> pd.DataFrame:
    import pandas as pd

    heads = read_heads(run)
    if heads.empty:
        return _empty_roles()
    layers, heads_per_layer = int(heads["layer"].max()) + 1, int(heads["head"].max()) + 1
    grid = pd.MultiIndex.from_product([range(layers), range(heads_per_layer), ROLE_NAMES],
                                      names=["layer", "head", "role"])
    carried = heads[["layer", "head", "roles"]].explode("roles").dropna(subset=["roles"])
    counts = carried.groupby(["layer", "head", "roles"]).size().rename_axis(["layer", "head", "role"])
    means = heads.groupby(["layer", "head"])[[role_column(r) for r in ROLE_NAMES]].mean()
    means.columns = list(ROLE_NAMES)
    mean_scores = means.stack(future_stack=True).rename_axis(["layer", "head", "role"])
    out = pd.DataFrame({"texts": counts.reindex(grid, fill_value=0), "mean_score": mean_scores.reindex(grid)})
    out["share"] = out["texts"] / max(1, n_texts)
    return out.reset_index()[["layer", "head", "role", "share", "texts", "mean_score"]]


def _empty_roles() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"layer": [], "head": [], "role": [], "share": [], "texts": [], "mean_score": []})


def _cluster_tables(texts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    per_text: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    for row in texts.itertuples(index=False):
        sizes = [int(c["size"]) for c in row.clusters]
        groups = [s for s in sizes if s > 1]
        kept = int(sum(1 for label in row.labels if label >= 0))
        per_text.append({
            "id": row.id, "n_tokens": int(row.n_tokens), "n_clusters": len(groups),
            "mean_size": float(np.mean(groups)) if groups else 0.0, "largest": max(sizes, default=0),
            "alone": (len(sizes) - len(groups)) / kept if kept else 0.0,
            "modularity": float(row.modularity), "threshold": float(row.threshold),
        })
        clusters.extend({"id": row.id, "n_tokens": int(row.n_tokens), "size": s} for s in groups)
    columns = ["id", "n_tokens", "n_clusters", "mean_size", "largest", "alone", "modularity", "threshold"]
    return pd.DataFrame(per_text, columns=columns), pd.DataFrame(clusters, columns=["id", "n_tokens", "size"])


def _by_length(per_text: pd.DataFrame, bins: Sequence[float]) -> pd.DataFrame:
    import pandas as pd

    if per_text.empty:
        columns = ["tokens", "texts", "n_clusters", "mean_size", "largest", "alone", "modularity"]
        return pd.DataFrame(columns=columns)
    edges = sorted(set(float(b) for b in bins))
    pairs = itertools.pairwise(edges)
    labels = [f"{int(a)}–{int(b) - 1}" if math.isfinite(b) else f"{int(a)}+" for a, b in pairs]
    binned = per_text.assign(tokens=pd.cut(per_text["n_tokens"], edges, right=False, labels=labels))
    grouped = binned.groupby("tokens", observed=True)
    table = grouped[["n_clusters", "mean_size", "largest", "alone", "modularity"]].mean()
    table.insert(0, "texts", grouped.size())
    return table.reset_index()


def normal_form(token: str, words_only: bool) -> str | None:
    """A token's form for pair counting: stripped and lower-cased; ``None`` to skip it."""
    form = token.strip().lower()
    if not form or (words_only and not any(ch.isalnum() for ch in form)):
        return None
    return form


def _pairs(texts: pd.DataFrame, *, top: int, min_together: int, words_only: bool) -> pd.DataFrame:
    import pandas as pd

    together: Counter[tuple[str, str]] = Counter()
    where: dict[str, set[int]] = {}  # form → texts holding it in some cluster
    for index, row in enumerate(texts.itertuples(index=False)):
        pairs: set[tuple[str, str]] = set()
        for cluster in row.clusters:
            forms = _forms(cluster["token_texts"], words_only)
            for form in forms:
                where.setdefault(form, set()).add(index)
            pairs.update(itertools.combinations(sorted(forms), 2))
        together.update(pairs)
    n = len(texts)
    candidates = []
    for (a, b), count in together.items():
        if count >= min_together:
            na, nb = len(where[a]), len(where[b])
            pmi = math.log2(count * n / (na * nb))
            npmi = 1.0 if count == n else pmi / -math.log2(count / n)
            candidates.append((-count, -pmi, a, b, na, nb, npmi))
    rows = []
    for minus_count, minus_pmi, a, b, na, nb, npmi in sorted(candidates)[:top]:
        both = len(where[a] & where[b])  # only for the pairs shown: a frequent token is in most texts
        rows.append({"a": a, "b": b, "together": -minus_count, "both": both, "texts_a": na, "texts_b": nb,
                     "share": -minus_count / both, "pmi": -minus_pmi, "npmi": npmi})
    columns = ["a", "b", "together", "both", "texts_a", "texts_b", "share", "pmi", "npmi"]
    return pd.DataFrame(rows, columns=columns)


def _forms(tokens: Iterable[str], words_only: bool) -> set[str]:
    return {f for t in tokens if (f := normal_form(t, words_only)) is not None}
