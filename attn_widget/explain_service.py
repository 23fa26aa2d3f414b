"""Explanations on demand for the widget: one cluster at a time, cached.

The widget re-clusters whenever the slider moves, and new clusters carry no
evidence. :class:`ExplainService` explains the one cluster a person clicked
(evidence, verified claims, rationale: milliseconds to a fraction of a
second) and, on request, measures its faithfulness (extra forward passes:
seconds to tens of seconds, with progress). Both are cached by the cluster's
token set and what the evidence depends on (the text, its tokens, the
aggregated attention, the model), not by the threshold: a cluster that
reappears at another threshold is explained from the cache.

The widget talks to it with custom messages (``AttentionExplainer`` forwards
them to :meth:`ExplainService.handle`)::

    view → kernel  {"type": "explain" | "scores", "id", "cluster", "tokens"}
    kernel → view  {"type": "explain_reply" | "scores_reply", "id", "error", "cluster",
                    "tokens", "basis", "info", "scores_unavailable"}
    kernel → view  {"type": "scores_progress", "id", "cluster", "tokens", "done", "total", "message"}

``tokens`` (the token indices the view shows for the cluster) let the view
ask about a partition the kernel has not reached yet, and let it drop a reply
for a partition it has left; ``basis`` is ``[aggregation, layers, heads]``,
the knobs the evidence was computed under. ``info`` has the layout of a
cluster in :func:`attn_widget.state.to_state`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from .analysis import Analysis, Cluster
from .heads import HeadReport
from .state import cluster_info

Progress = Callable[[int, int, str], None]
Send = Callable[[dict[str, Any]], None]
MESSAGE_TYPES = ("explain", "scores")
"""Custom message types :meth:`ExplainService.handle` answers."""
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


class ExplainService:
    """Explain and score single clusters of an analysis, with caches (see the module docstring).

    Parameters
    ----------
    backend
        ``None`` (default) for the grounded text only; otherwise a language-model
        polish backend (:func:`attn_widget.llm.as_backend`), checked as in
        :func:`attn_widget.rationale.explain`.
    n_random, seed, batch_size
        Passed to :func:`attn_widget.faithfulness.faithfulness`.
    """

    def __init__(
        self, backend: Any = None, *, n_random: int = 10, seed: int = 0, batch_size: int = 8
    ) -> None:
        from .llm import as_backend

        self.backend = as_backend(backend)
        self.n_random, self.seed, self.batch_size = int(n_random), int(seed), int(batch_size)
        self._lock = threading.Lock()
        self._explained: OrderedDict[Hashable, tuple[Mapping[str, Any], tuple[Any, ...], str, str | None]] = (
            OrderedDict()
        )
        self._scores: OrderedDict[Hashable, Mapping[str, Any]] = OrderedDict()
        self._reports: OrderedDict[Hashable, tuple[Any, HeadReport]] = OrderedDict()
        self._sources: OrderedDict[int, tuple[Analysis, Hashable]] = OrderedDict()
        self._fast = _Worker("attn-widget-explain")
        self._slow = _Worker("attn-widget-scores")

    # ------------------------------------------------------------ one cluster
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
        from .graph import community_modularity, symmetrise

        q, inside = community_modularity(symmetrise(analysis.weights), list(members))
        return Cluster(id=int(cluster), tokens=members, modularity=q, internal=inside)

    def explain(self, analysis: Analysis, cluster: int, tokens: Sequence[int] | None = None) -> Cluster:
        """The cluster with evidence, claims, rationale and ``scores["complexity"]``.

        ``scores["faithfulness"]`` is there too when :meth:`scores` measured this token set before.
        """
        return self._explain(analysis, self.target(analysis, cluster, tokens))[0]

    def _explain(self, analysis: Analysis, target: Cluster) -> tuple[Cluster, str | None]:
        source = self._source(analysis)
        key = (source, target.tokens)
        with self._lock:
            hit = self._explained.get(key)
            if hit is not None:
                self._explained.move_to_end(key)
        if hit is None:
            hit = self._compose(analysis, target)
            with self._lock:
                self._explained[key] = hit
                _trim(self._explained)
        evidence, claims, rationale, notice = hit
        scores: dict[str, Any] = {**(target.scores or {}), "complexity": evidence["complexity"]}
        cached = self._scores.get(self._score_key(source, target))
        if cached is not None:
            scores["faithfulness"] = cached
        evidence = {**evidence, "cluster": target.id}
        out = dataclasses.replace(
            target, evidence=evidence, claims=claims, rationale=rationale, scores=scores
        )
        return out, notice

    def scores_unavailable(self, analysis: Analysis) -> str | None:
        """Why faithfulness cannot be measured for ``analysis`` (``None`` when it can)."""
        if not analysis.model:
            return NO_MODEL
        if any(t.id is None for t in analysis.tokens):
            return NO_IDS
        return None

    def scores(
        self,
        analysis: Analysis,
        cluster: int,
        tokens: Sequence[int] | None = None,
        progress: Progress | None = None,
    ) -> Cluster:
        """The explained cluster with ``scores["faithfulness"]`` too (forward passes, cached).

        Raises
        ------
        ValueError
            When the analysis has no model or token ids (:meth:`scores_unavailable`).
        attn_widget.models.ModelLoadError
            When the analysis's model cannot be loaded.
        """
        reason = self.scores_unavailable(analysis)
        if reason:
            raise ValueError(reason)
        explained = self.explain(analysis, cluster, tokens)
        if "faithfulness" in (explained.scores or {}):
            if progress is not None:
                progress(3, 3, f"cluster {explained.id}: measured before")
            return explained
        from . import models
        from .faithfulness import faithfulness

        if progress is not None:
            progress(0, 3, f"Loading the model {analysis.model!r}…")
        model, tokenizer = models.load(str(analysis.model))
        bare = dataclasses.replace(explained, evidence=None, claims=None, rationale=None, scores=None)
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
        key = self._score_key(self._source(analysis), explained)
        with self._lock:
            self._scores[key] = result
            _trim(self._scores)
        return dataclasses.replace(explained, scores={**(explained.scores or {}), "faithfulness": result})

    def explain_all(self, analysis: Analysis) -> Analysis:
        """``analysis`` with every cluster explained (from the cache where possible)."""
        done = [self._explain(analysis, c) for c in analysis.clusters]
        notices = tuple(dict.fromkeys([*analysis.notices, *(n for _, n in done if n)]))
        return dataclasses.replace(analysis, clusters=tuple(c for c, _ in done), notices=notices)

    # -------------------------------------------------------------- messages
    def handle(
        self, content: Mapping[str, Any], analysis: Analysis | None, send: Send
    ) -> Future[None] | None:
        """Answer one view message (``None`` when it is not an explain/scores request).

        The work runs on a background thread (explanations and faithfulness on
        separate ones, so a long measurement never holds up a click); the reply,
        and for ``scores`` the progress messages, go through ``send``.
        """
        kind = content.get("type")
        if kind not in MESSAGE_TYPES:
            return None
        rid, cluster, tokens = content.get("id"), content.get("cluster"), content.get("tokens")
        reply: dict[str, Any] = {
            "type": f"{kind}_reply",
            "id": rid,
            "error": None,
            "cluster": cluster,
            "tokens": tokens,
            "basis": None if analysis is None else basis(analysis),
            "info": None,
            "scores_unavailable": None if analysis is None else self.scores_unavailable(analysis),
        }

        def progress(done: int, total: int, message: str) -> None:
            send(
                {
                    "type": "scores_progress",
                    "id": rid,
                    "cluster": cluster,
                    "tokens": tokens,
                    "done": done,
                    "total": total,
                    "message": message,
                }
            )

        def run() -> None:
            try:
                if analysis is None:
                    raise RuntimeError("the analysis is not ready yet; wait for it to finish")
                cid = _cluster_id(cluster)
                wanted = None if tokens is None else list(tokens)
                if kind == "explain":
                    done = self.explain(analysis, cid, wanted)
                else:
                    done = self.scores(analysis, cid, wanted, progress=progress)
                reply.update(tokens=list(done.tokens), info=cluster_info(done))
            except Exception as exc:  # reported in the panel; the widget stays usable
                reply["error"] = _plain(str(kind), exc)
            send(reply)

        return (self._fast if kind == "explain" else self._slow).submit(run)

    def join(self, timeout: float | None = None) -> None:
        """Wait until every request handed to :meth:`handle` so far has been answered."""
        self._fast.join(timeout)
        self._slow.join(timeout)

    # ---------------------------------------------------------------- caches
    def _compose(
        self, analysis: Analysis, target: Cluster
    ) -> tuple[Mapping[str, Any], tuple[Any, ...], str, str | None]:
        """What :func:`attn_widget.rationale.explain` does for one cluster, with the head report cached."""
        from .rationale import explain_cluster

        evidence, kept, text, notice = explain_cluster(analysis, target, self._report(analysis), self.backend)
        return evidence, tuple(kept), text, notice

    def _report(self, analysis: Analysis) -> HeadReport | None:
        """Head roles for the analysis's raw attention: the slow part at 512 tokens, computed once."""
        att = analysis.attentions
        if att is None:
            return None
        from .heads import score_heads

        key = (_fingerprint(att), self._source(analysis)[0])
        with self._lock:
            hit = self._reports.get(key)
        if hit is None:
            hit = (att, score_heads(att, analysis.tokens))  # the array is kept so its address stays its own
            with self._lock:
                self._reports[key] = hit
                _trim(self._reports, 2)
        return hit[1]

    def _source(self, analysis: Analysis) -> tuple[str, Hashable]:
        """``(input digest, evidence basis)``: everything but the partition that evidence depends on."""
        with self._lock:
            hit = self._sources.get(id(analysis))
        if hit is not None and hit[0] is analysis:
            return hit[1]  # type: ignore[return-value]
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
        with self._lock:
            self._sources[id(analysis)] = (analysis, key)
            _trim(self._sources, 8)
        return key

    def _score_key(self, source: Hashable, cluster: Cluster) -> Hashable:
        return (source, cluster.tokens, self.n_random, self.seed)


def basis(analysis: Analysis) -> list[Any]:
    """``[aggregation, layers, heads]`` as the widget's traits hold them (the view compares the two)."""
    o = analysis.options
    return [
        o.aggregation,
        None if o.layers is None else list(o.layers),
        None if o.heads is None else [list(h) for h in o.heads],
    ]


def _cluster_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"cluster must be a cluster id (an integer), not {value!r}")
    return int(value)


def _members(analysis: Analysis, tokens: Sequence[int]) -> tuple[int, ...]:
    n = len(analysis.tokens)
    try:
        members = tuple(sorted({_cluster_id(i) for i in tokens}))
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


def _plain(kind: str, exc: Exception) -> str:
    from .models import ModelLoadError

    if isinstance(exc, ModelLoadError):
        return f"Could not load the model to measure faithfulness: {exc}"
    if kind == "scores" and str(exc) in (NO_MODEL, NO_IDS):
        return str(exc)
    what = "The explanation could not be made" if kind == "explain" else "Faithfulness could not be measured"
    return f"{what}: {exc}"


def _fingerprint(att: np.ndarray | None) -> Hashable:
    """Where the raw attention lives (re-clustered analyses share it); ``None`` without one."""
    if att is None:
        return None
    return (att.__array_interface__["data"][0], att.shape, att.strides, att.dtype.str)


def _trim(cache: OrderedDict[Any, Any], size: int = CACHE_SIZE) -> None:
    while len(cache) > size:
        cache.popitem(last=False)


class _Worker:
    """One daemon thread that runs jobs in order; :meth:`join` waits for those submitted so far."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._jobs: list[tuple[Future[None], Callable[[], None]]] = []
        self._futures: list[Future[None]] = []
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()] + [future]
            self._jobs.append((future, job))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._wake.notify()
        return future

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._wake.wait()
                future, job = self._jobs.pop(0)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

    def join(self, timeout: float | None = None) -> None:
        from concurrent.futures import wait

        with self._lock:
            pending = list(self._futures)
        _, not_done = wait(pending, timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} {self.name} request(s) still running after {timeout} s")
        for f in pending:
            f.result()
