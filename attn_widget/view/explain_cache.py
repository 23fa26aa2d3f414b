"""Explanations of single clusters, cached by what they depend on (not by the threshold).

The widget re-clusters whenever the slider moves, and new clusters carry no
evidence. :class:`ExplainCache` explains the one cluster a person clicked
(evidence, verified claims, rationale: milliseconds to a fraction of a
second) and, on request, measures its faithfulness (extra forward passes:
seconds to tens of seconds, with progress). Both are cached by the cluster's
token set and what the evidence depends on (the text, its tokens, the
aggregated attention, the model), not by the threshold: a cluster that
reappears at another threshold is explained from the cache. The messages that
ask for them are answered by :class:`attn_widget.view.service.ExplainService`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core import Analysis, Cluster
from ..core.cache import LRU
from ..evaluate.faithfulness import faithfulness
from ..explain.llm import as_backend
from ..explain.rationale import Explained, explain_cluster
from ..extract.loading import load
from ..graph.metrics import community_modularity
from ..graph.threshold import symmetrise
from ..heads.roles import HeadReport, analysis_report

Progress = Callable[[int, int, str], None]
CACHE_SIZE = 512
"""Explained clusters (and, separately, faithfulness results) kept per service."""

NO_MODEL = (
    "Faithfulness scores need the model that made the attention, and this analysis names none "
    "(it was made from attention arrays with analyze_attention). To measure them, analyse the text "
    "with a model: AttentionExplainer(text, model=...) or attn_widget.analyze(text, model=...)."
)
NO_IDS = (
    "Faithfulness scores need the token ids the model read, and this analysis has none (it was made "
    "from token strings). Analyse the text with a model instead: AttentionExplainer(text, model=...)."
)

NO_UNIT = (
    "Faithfulness is measured on the model's own tokens, and this view shows {unit}s: choose "
    "'model tokens' in the 'show' menu to measure it."
)


class ExplainCache:
    """Explain and score single clusters of an analysis, with caches (see the module docstring).

    Parameters
    ----------
    backend
        ``None`` (default) for the grounded text only; otherwise a language-model
        polish backend (:func:`attn_widget.explain.llm.as_backend`), checked as in
        :func:`attn_widget.runs.explaining.explain`.
    n_random, seed, batch_size
        Passed to :func:`attn_widget.evaluate.faithfulness.faithfulness`.
    """

    def __init__(
        self, backend: Any = None, *, n_random: int = 10, seed: int = 0, batch_size: int = 8
    ) -> None:
        self.backend = as_backend(backend)
        self.n_random, self.seed, self.batch_size = int(n_random), int(seed), int(batch_size)
        self._explained: LRU[Hashable, Explained] = LRU(CACHE_SIZE)
        self._scores: LRU[Hashable, Mapping[str, Any]] = LRU(CACHE_SIZE)
        self._reports: LRU[Hashable, tuple[Any, HeadReport | None]] = LRU(2)
        self._cuts: LRU[Hashable, Mapping[str, Any]] = LRU(CACHE_SIZE)
        self._sources: LRU[int, tuple[Analysis, Hashable]] = LRU(8)

    def target(self, analysis: Analysis, cluster: int, tokens: Sequence[int] | None = None) -> Cluster:
        """The cluster to explain: ``analysis``'s cluster ``cluster``, or the token set ``tokens``.

        ``tokens`` may name a group the analysis does not hold (a slider position
        the kernel has not reached); it is then measured on ``analysis``'s graph.
        """
        ids = {c.id: c for c in analysis.clusters}
        if tokens is None:
            if cluster not in ids:
                raise ValueError(f"cluster {cluster!r} does not exist here; the clusters are {sorted(ids)}")
            return ids[cluster]
        members = _members(analysis, tokens)
        same = next((c for c in analysis.clusters if c.tokens == members), None)
        if same is not None:
            return same if same.id == cluster else dataclasses.replace(same, id=int(cluster))
        q, inside = community_modularity(symmetrise(analysis.weights), list(members))
        return Cluster(id=int(cluster), tokens=members, modularity=q, internal=inside)

    def explain(
        self, analysis: Analysis, cluster: int, tokens: Sequence[int] | None = None, grid: int | None = None
    ) -> Cluster:
        """The cluster with evidence, claims, rationale, headline and ``scores["complexity"]``.

        ``grid`` is the index of the sweep partition the view shows ``tokens`` in, when
        the kernel has not reached it (see :meth:`partition_of`).
        ``scores["faithfulness"]`` is there too when :meth:`scores` measured this token set before.
        """
        return self._explain(analysis, self.target(analysis, cluster, tokens), grid)[0]

    def _explain(
        self, analysis: Analysis, target: Cluster, grid: int | None = None
    ) -> tuple[Cluster, str | None]:
        source = self._source(analysis)
        labels = self.partition_of(analysis, target, grid)
        cut = self._cuts.get((source, labels.tobytes()))
        key = (source, target.tokens, labels.tobytes(), cut is not None)
        hit = self._explained.get_or_make(key, lambda: self._compose(analysis, target, labels, cut))
        scores: dict[str, Any] = {**(target.scores or {}), "complexity": hit.evidence["complexity"]}
        cached = self._scores.get(self._score_key(source, target))
        if cached is not None:
            scores["faithfulness"] = cached
        evidence = {**hit.evidence, "cluster": target.id}
        out = dataclasses.replace(
            target, evidence=evidence, claims=tuple(hit.claims), rationale=hit.rationale,
            headline=hit.headline, scores=scores,
        )
        return out, hit.notice

    @staticmethod
    def partition_of(analysis: Analysis, target: Cluster, grid: int | None = None) -> np.ndarray:
        """The partition ``target`` belongs to: the one the view shows, the analysis's own, or a sweep one.

        A group the view shows at a slider position the kernel has not reached is one
        of the sweep's partitions: sweep partition ``grid`` when the view names it and it
        holds the group (the same group may sit in several partitions, laid out
        differently), else the analysis's own when it holds the group, else the first
        sweep partition holding it; a token set found in none is taken as one group
        added to the analysis's partition (its other clusters unchanged).
        """
        own = np.asarray(analysis.labels)
        members = list(target.tokens)
        grids = np.asarray(analysis.sweep.labels)
        if grid is not None:
            known = isinstance(grid, (int, np.integer)) and not isinstance(grid, bool)
            if not known or not 0 <= grid < len(grids):
                last = len(grids) - 1
                raise ValueError(f"grid {grid!r} is not a sweep partition; give 0 to {last} or None")
            if _holds(grids[grid], members):
                return grids[grid]
        if any(c.tokens == target.tokens for c in analysis.clusters):
            return own
        for labels in grids:
            if _holds(labels, members):
                return labels
        out = own.copy()
        out[members] = out.max() + 1
        return out

    def remember_cut(self, analysis: Analysis, labels: Any, result: Mapping[str, Any]) -> None:
        """Keep the cut test's ``result`` for the partition ``labels`` of ``analysis``: explanations
        of its groups then say how far it beats runs of neighbouring words."""
        key = (self._source(analysis), np.asarray(labels, dtype=np.int32).tobytes())
        self._cuts.put(key, result)

    def scores_unavailable(self, analysis: Analysis) -> str | None:
        """Why faithfulness cannot be measured for ``analysis`` (``None`` when it can)."""
        if not analysis.model:
            return NO_MODEL
        if analysis.options.unit != "token" and analysis.options.zoom is None:
            return NO_UNIT.format(unit=analysis.options.unit)
        if any(t.id is None for t in analysis.tokens):
            return NO_IDS
        return None

    def scores(
        self,
        analysis: Analysis,
        cluster: int,
        tokens: Sequence[int] | None = None,
        progress: Progress | None = None,
        grid: int | None = None,
    ) -> Cluster:
        """The explained cluster with ``scores["faithfulness"]`` too (forward passes, cached).

        Raises
        ------
        ValueError
            When the analysis has no model or token ids (:meth:`scores_unavailable`).
        attn_widget.extract.errors.ModelLoadError
            When the analysis's model cannot be loaded.
        """
        reason = self.scores_unavailable(analysis)
        if reason:
            raise ValueError(reason)
        explained = self.explain(analysis, cluster, tokens, grid)
        if "faithfulness" in (explained.scores or {}):
            if progress is not None:
                progress(3, 3, f"cluster {explained.id}: measured before")
            return explained
        if progress is not None:
            progress(0, 3, f"Loading the model {analysis.model!r}…")
        model, tokenizer = load(str(analysis.model))
        bare = dataclasses.replace(
            explained, evidence=None, claims=None, rationale=None, headline=None, scores=None
        )
        one = dataclasses.replace(analysis, clusters=(bare,))
        scored = faithfulness(
            one,
            model,
            tokenizer,
            clusters=[bare.id],
            n_random=self.n_random,
            seed=self.seed,
            batch_size=self.batch_size,
            progress=progress,
        )
        result = (scored.clusters[0].scores or {})["faithfulness"]
        self._scores.put(self._score_key(self._source(analysis), explained), result)
        return dataclasses.replace(explained, scores={**(explained.scores or {}), "faithfulness": result})

    def explain_all(self, analysis: Analysis) -> Analysis:
        """``analysis`` with every cluster explained (from the cache where possible)."""
        return self.explain_some(analysis, [c.id for c in analysis.clusters])

    def explain_some(self, analysis: Analysis, ids: Sequence[int]) -> Analysis:
        """``analysis`` with clusters ``ids`` explained (from the cache where possible), the rest as is."""
        wanted = set(ids)
        done = [self._explain(analysis, c) if c.id in wanted else (c, None) for c in analysis.clusters]
        notices = tuple(dict.fromkeys([*analysis.notices, *(n for _, n in done if n)]))
        return dataclasses.replace(analysis, clusters=tuple(c for c, _ in done), notices=notices)

    # ---------------------------------------------------------------- caches
    def _compose(
        self, analysis: Analysis, target: Cluster, labels: np.ndarray, cut: Mapping[str, Any] | None
    ) -> Explained:
        """What :func:`~attn_widget.runs.explaining.explain` does for one cluster (head report cached)."""
        return explain_cluster(
            analysis, target, self._report(analysis), self.backend, labels=labels, cut=cut
        )

    def _report(self, analysis: Analysis) -> HeadReport | None:
        """Head roles for the analysis's raw attention: the slow part at 512 tokens, computed once."""
        att = analysis.attentions
        if att is None:
            return analysis_report(analysis)  # a streamed analysis kept its head roles
        key = (_fingerprint(att), self._source(analysis)[0])
        # the entry keeps the array, so its address stays its own while cached
        return self._reports.get_or_make(key, lambda: (att, analysis_report(analysis)))[1]

    def _source(self, analysis: Analysis) -> tuple[str, Hashable]:
        """``(input digest, evidence basis)``: everything but the partition that evidence depends on."""
        hit = self._sources.get(id(analysis))
        if hit is not None and hit[0] is analysis:
            return hit[1]
        h = hashlib.blake2b(digest_size=16)
        h.update(analysis.text.encode("utf-8", "backslashreplace"))
        tokens = [(t.text, t.start, t.end, t.id, t.special) for t in analysis.tokens]
        h.update(repr((tokens, analysis.model)).encode("utf-8", "backslashreplace"))
        o = analysis.options
        weights = np.ascontiguousarray(analysis.weights, dtype=np.float64).tobytes()
        w = hashlib.blake2b(weights, digest_size=16).hexdigest()
        key = (
            h.hexdigest(),
            (o.aggregation, o.layers, o.heads, o.exclude, w, _fingerprint(analysis.attentions)),
        )
        self._sources.put(id(analysis), (analysis, key))
        return key

    def _score_key(self, source: Hashable, cluster: Cluster) -> Hashable:
        return (source, cluster.tokens, self.n_random, self.seed)


def _members(analysis: Analysis, tokens: Sequence[int]) -> tuple[int, ...]:
    n = len(analysis.tokens)
    try:
        members = tuple(sorted({cluster_id(i) for i in tokens}))
    except (TypeError, ValueError):
        raise ValueError(f"tokens must be a list of token indices (integers), not {tokens!r}") from None
    if not members:
        raise ValueError("no tokens given: a cluster needs at least one token")
    outside = [i for i in members if not 0 <= i < n]
    if outside:
        raise ValueError(f"token indices {outside} are outside this text's 0..{n - 1}")
    excluded = sorted(set(members) & set(analysis.excluded))
    if excluded:
        raise ValueError(
            f"tokens {excluded} are left out of the graph (e.g. the attention sink) and belong to no cluster"
        )
    return members


def _fingerprint(att: np.ndarray | None) -> Hashable:
    """Where the raw attention lives (re-clustered analyses share it); ``None`` without one."""
    if att is None:
        return None
    return (att.__array_interface__["data"][0], att.shape, att.strides, att.dtype.str)


def cluster_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"cluster must be a cluster id (an integer), not {value!r}")
    return int(value)


def _holds(labels: np.ndarray, members: Sequence[int]) -> bool:
    """Whether ``labels`` has ``members`` as exactly one cluster."""
    ids = np.unique(labels[list(members)])
    return ids.size == 1 and ids[0] >= 0 and int((labels == ids[0]).sum()) == len(members)
