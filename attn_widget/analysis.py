"""The frozen result of an analysis: tokens, clusters, threshold, sweep, options.

:class:`Analysis` is what :func:`attn_widget.analyze` and
:func:`attn_widget.analyze_attention` return. It is immutable; ``recluster``
returns a new one without running the model again, and ``to_dict`` / ``save``
/ ``load`` round-trip it exactly.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._typing import EXCLUDED, Attention, Labels, Matrix

FORMAT_VERSION = 1
"""Version of ``to_dict()`` / ``save()``; bumped when the layout changes."""


@dataclass(frozen=True)
class Token:
    """One token of the input.

    Attributes
    ----------
    text
        Readable text of the token (spaces and newlines as themselves; a
        byte-level piece that is only part of a character is shown as ``\\xNN``).
    start, end
        Character offsets into the original text (``text[start:end]``), or
        ``None`` for tokens that are not in the text (a prepended BOS).
    id
        Vocabulary id, when known.
    special
        True for special tokens (BOS, ``[CLS]``, ``[SEP]``).
    """

    text: str
    start: int | None = None
    end: int | None = None
    id: int | None = None
    special: bool = False


@dataclass(frozen=True)
class Cluster:
    """A group of tokens that attend to each other.

    Attributes
    ----------
    id
        Cluster id, the value in :attr:`Analysis.labels`.
    tokens
        Token indices, ascending.
    modularity
        This cluster's share of the partition's modularity on the unthresholded graph.
    internal
        Share of the cluster's (symmetrised) attention that stays inside it.
    evidence, claims, rationale, scores
        Filled by the explanation stages (``characterize``, ``rationale``); ``None`` until then.
    """

    id: int
    tokens: tuple[int, ...]
    modularity: float
    internal: float
    evidence: Mapping[str, Any] | None = None
    claims: tuple[Mapping[str, Any], ...] | None = None
    rationale: str | None = None
    scores: Mapping[str, Any] | None = None

    @property
    def size(self) -> int:
        """Number of tokens."""
        return len(self.tokens)


@dataclass(frozen=True, eq=False)
class Sweep:
    """Partitions over a grid of thresholds, each scored on the unthresholded graph.

    Attributes
    ----------
    mode
        ``"absolute"`` (keep edges with weight >= t) or ``"mass"`` (keep each
        token's strongest edges until a share t of its attention is covered).
    thresholds
        ``[G]`` grid values, ascending.
    modularity
        ``[G]`` modularity of each partition on the unthresholded symmetrised graph.
    n_clusters
        ``[G]`` number of clusters with at least two tokens.
    stability
        ``[G]`` adjusted Rand index between each partition and its neighbours (mean).
    labels
        ``[G, T]`` partition at each grid value (``-1`` for excluded tokens).
    best
        Index of the automatically chosen grid value.
    """

    mode: str
    thresholds: np.ndarray
    modularity: np.ndarray
    n_clusters: np.ndarray
    stability: np.ndarray
    labels: np.ndarray
    best: int

    def __post_init__(self) -> None:
        for name in ("thresholds", "modularity", "n_clusters", "stability", "labels"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    @property
    def auto_threshold(self) -> float:
        """The automatically chosen threshold."""
        return float(self.thresholds[self.best])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sweep) and _fields_equal(self, other)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sweep:
        return cls(
            mode=str(d["mode"]),
            thresholds=np.asarray(d["thresholds"], dtype=np.float64),
            modularity=np.asarray(d["modularity"], dtype=np.float64),
            n_clusters=np.asarray(d["n_clusters"], dtype=np.int32),
            stability=np.asarray(d["stability"], dtype=np.float64),
            labels=np.asarray(d["labels"], dtype=np.int32).reshape(len(d["thresholds"]), -1),
            best=int(d["best"]),
        )


@dataclass(frozen=True)
class Options:
    """The knobs an analysis was made with (enough to recompute it)."""

    aggregation: str = "mean"
    method: str = "louvain"
    threshold_mode: str = "absolute"
    seed: int = 0
    layers: tuple[int, ...] | None = None
    heads: tuple[tuple[int, int], ...] | None = None
    exclude: tuple[int, ...] = ()
    auto_threshold: bool = True

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Options:
        return cls(
            aggregation=d["aggregation"],
            method=d["method"],
            threshold_mode=d["threshold_mode"],
            seed=int(d["seed"]),
            layers=None if d["layers"] is None else tuple(int(x) for x in d["layers"]),
            heads=None if d["heads"] is None else tuple((int(a), int(b)) for a, b in d["heads"]),
            exclude=tuple(int(x) for x in d["exclude"]),
            auto_threshold=bool(d["auto_threshold"]),
        )


@dataclass(frozen=True, eq=False)
class Analysis:
    """Result of one analysis. Immutable; see the module docstring.

    Attributes
    ----------
    text
        The analysed text ('' when only token strings were given).
    tokens
        One :class:`Token` per position.
    labels
        ``[T]`` int32 cluster id per token, ``-1`` for excluded tokens.
    clusters
        Clusters ordered by their first token.
    threshold
        Threshold the partition was made with (in ``options.threshold_mode`` units).
    modularity
        Modularity of ``labels`` on the unthresholded symmetrised graph.
    sweep
        The threshold curve (for the automatic choice and the widget's plot).
    weights
        ``[T, T]`` aggregated attention, rows of kept tokens summing to 1.
    options
        How it was made.
    model
        Model name or path, when the attention came from a model.
    notices
        Things the user should know (a fallback model, truncation).
    attentions
        ``[layer, head, T, T]`` float32 raw attention, kept so ``recluster``
        can change the aggregation without a forward pass; ``None`` when loaded
        from ``to_dict`` JSON.
    """

    text: str
    tokens: tuple[Token, ...]
    labels: Labels
    clusters: tuple[Cluster, ...]
    threshold: float
    modularity: float
    sweep: Sweep
    weights: Matrix
    options: Options
    model: str | None = None
    notices: tuple[str, ...] = ()
    attentions: Attention | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("labels", "weights", "attentions"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    # ------------------------------------------------------------------ views
    @property
    def excluded(self) -> tuple[int, ...]:
        """Token indices left out of the graph (e.g. the attention sink)."""
        return self.options.exclude

    def cluster_of(self, token: int) -> Cluster | None:
        """The cluster holding token index ``token`` (``None`` if excluded)."""
        label = int(self.labels[token])
        if label == EXCLUDED:
            return None
        return next(c for c in self.clusters if c.id == label)

    def table(self, min_size: int = 1) -> str:
        """A plain-text table of clusters: id, size, modularity, inside share, tokens.

        ``inside`` is the share of the cluster's tokens' attention that stays in
        the cluster (to each other or to themselves), out of their attention
        to kept tokens: the same number as the rationale's "stays inside it"
        (``evidence["attention"]["inside"]``). It is not :attr:`Cluster.internal`,
        the graph's symmetrised share, which also counts attention the cluster receives.
        """
        from .characterize import attention_shares
        from .claims import pct

        lines = [f"{'id':>3} {'size':>4} {'modularity':>10} {'inside':>6}  tokens"]
        for c in self.clusters:
            if c.size < min_size:
                continue
            words = " ".join(repr(self.tokens[i].text) for i in c.tokens)
            if len(words) > 90:
                words = words[:87] + "..."
            inside = pct(attention_shares(self.weights, c.tokens)["inside"])  # rounded as the rationale is
            lines.append(f"{c.id:>3} {c.size:>4} {c.modularity:>10.3f} {inside:>5}%  {words}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        big = sum(1 for c in self.clusters if c.size > 1)
        return (
            f"Analysis({len(self.tokens)} tokens, {big} clusters of 2+ tokens, "
            f"threshold={self.threshold:.4g} ({self.options.threshold_mode}), "
            f"modularity={self.modularity:.3f}, method={self.options.method!r}, "
            f"aggregation={self.options.aggregation!r}, model={self.model!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Analysis) and _fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    # -------------------------------------------------------------- recompute
    def recluster(self, **changes: Any) -> Analysis:
        """Recompute clusters with changed options, reusing the attention.

        Accepts ``threshold`` (a number or ``"auto"``), ``threshold_mode``,
        ``method``, ``seed``, and, when the raw attention is kept,
        ``aggregation``, ``layers``, ``heads``, ``exclude``. No forward pass runs.
        """
        from .pipeline import recluster

        return recluster(self, **changes)

    def explain(self, backend: Any = None, **kwargs: Any) -> Analysis:
        """Return a copy whose clusters carry evidence and rationales (see ``rationale``)."""
        from .rationale import explain

        return explain(self, backend=backend, **kwargs)

    # ----------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of everything but the raw attention (see :meth:`save`)."""
        d = _to_jsonable(self)
        d.pop("attentions")
        d["format_version"] = FORMAT_VERSION
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], attentions: Attention | None = None) -> Analysis:
        """Inverse of :meth:`to_dict`."""
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"analysis format_version {version!r} is not supported (expected {FORMAT_VERSION}); "
                "re-run the analysis with this version of attn_widget"
            )
        n = len(d["tokens"])
        return cls(
            text=d["text"],
            tokens=tuple(Token(**t) for t in d["tokens"]),
            labels=np.asarray(d["labels"], dtype=np.int32),
            clusters=tuple(_cluster_from_dict(c) for c in d["clusters"]),
            threshold=float(d["threshold"]),
            modularity=float(d["modularity"]),
            sweep=Sweep.from_dict(d["sweep"]),
            weights=np.asarray(d["weights"], dtype=np.float64).reshape(n, n),
            options=Options.from_dict(d["options"]),
            model=d["model"],
            notices=tuple(d["notices"]),
            attentions=attentions,
        )

    def save(self, path: str | Path) -> Path:
        """Write the analysis, raw attention included, to one file.

        ``.json`` writes :meth:`to_dict` only (no raw attention: ``load`` gives
        back everything else, and ``recluster`` can still change threshold,
        mode, method and seed); any other suffix (e.g. ``.attn``) writes a zip
        holding ``analysis.json`` and ``attentions.npy`` that loads back ``==``.
        """
        path = Path(path)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
            return path
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("analysis.json", json.dumps(self.to_dict()))
            if self.attentions is not None:
                buf = io.BytesIO()
                np.save(buf, self.attentions, allow_pickle=False)
                zf.writestr("attentions.npy", buf.getvalue())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Analysis:
        """Read a file written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no analysis file at {str(path)!r}")
        if path.suffix == ".json":
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{str(path)!r} is not an analysis file written by Analysis.save()")
        with zipfile.ZipFile(path) as zf:
            d = json.loads(zf.read("analysis.json"))
            att = None
            if "attentions.npy" in zf.namelist():
                att = np.load(io.BytesIO(zf.read("attentions.npy")), allow_pickle=False)
        return cls.from_dict(d, attentions=att)

    # ------------------------------------------------------------------ view
    @property
    def widget(self) -> Any:
        """The :class:`attn_widget.AttentionExplainer` for this analysis (created lazily)."""
        cached = self.__dict__.get("_widget")
        if cached is None:
            from .widget import AttentionExplainer

            cached = AttentionExplainer(self)
            object.__setattr__(self, "_widget", cached)
        return cached

    def show(self) -> Any:
        """Display the widget (in a notebook) and return it."""
        return self.widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:  # pragma: no cover - notebook only
        return self.widget._repr_mimebundle_(**kwargs)


def _readonly(array: np.ndarray | None) -> np.ndarray | None:
    """A read-only view (the caller's own array stays writable), so a frozen result stays frozen."""
    if array is None:
        return None
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def _cluster_from_dict(d: Mapping[str, Any]) -> Cluster:
    return Cluster(
        id=int(d["id"]),
        tokens=tuple(int(i) for i in d["tokens"]),
        modularity=float(d["modularity"]),
        internal=float(d["internal"]),
        evidence=d.get("evidence"),
        claims=None if d.get("claims") is None else tuple(d["claims"]),
        rationale=d.get("rationale"),
        scores=d.get("scores"),
    )


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _to_jsonable(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _to_jsonable(obj: Any) -> dict[str, Any]:
    return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None:
            return a is b
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    return bool(a == b)


def _fields_equal(x: Any, y: Any, skip: Sequence[str] = ()) -> bool:
    return all(
        _equal(getattr(x, f.name), getattr(y, f.name))
        for f in dataclasses.fields(x)
        if f.name not in skip
    )
