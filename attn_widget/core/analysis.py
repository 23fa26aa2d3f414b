"""The frozen result of an analysis: tokens, clusters, threshold, sweep, options.

:class:`Analysis` is what :func:`attn_widget.analyze` and
:func:`attn_widget.analyze_attention` return. It is immutable; ``recluster``
returns a new one without running the model again, and ``to_dict`` / ``save``
/ ``load`` round-trip it exactly.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import ops
from .partition import Partition
from .records import Cluster, Link, Options, Sweep, Token, cluster_from_dict
from .result import Result
from .serialize import fields_equal, readonly, to_jsonable
from .shares import attention_shares, pct
from .types import EXCLUDED, Attention, Labels, Matrix

FORMAT_VERSION = 4
"""Version of ``to_dict()`` / ``save()``; bumped when the layout changes."""
READABLE_VERSIONS = (1, 2, 3, 4)
"""Versions :meth:`Analysis.from_dict` reads (1: before edge measures, lenses and sink
detection; 2: before hand-refined partitions; 3: before ``Cluster.headline``)."""


@dataclass(frozen=True, eq=False)
class Analysis(Result):
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
    head_data
        Per-head arrays the forward pass measured besides attention, by name:
        ``"value_norm"`` (``[layer, head, T]``, for ``measure="norm"``),
        ``"gradient"`` (``[layer, head, T, T]``, for ``measure="gradient"``).
        Kept with the raw attention (``save`` to a non-``.json`` file).
    partition
        The hand-refined partition (:func:`attn_widget.refine`): the clustering
        it started from, the edits and the pins, with ``partition.labels`` equal
        to :attr:`labels`. ``None`` while the clustering is untouched.
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
    head_data: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    partition: Partition | None = None

    def __post_init__(self) -> None:
        for name in ("labels", "weights", "attentions"):
            object.__setattr__(self, name, readonly(getattr(self, name)))
        object.__setattr__(self, "head_data", {k: readonly(v) for k, v in dict(self.head_data).items()})

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

    def table(self, min_size: int = 1, headlines: bool = True) -> str:
        """A plain-text table of clusters: id, size, modularity, inside share, tokens.

        ``inside`` is the share of the cluster's tokens' attention that stays in
        the cluster (to each other or to themselves), out of their attention
        to kept tokens: the same number as the rationale's "stays inside it"
        (``evidence["attention"]["inside"]``). It is not :attr:`Cluster.internal`,
        the graph's symmetrised share, which also counts attention the cluster receives.
        With ``headlines`` (the default), an explained cluster's :attr:`Cluster.headline`
        follows its row, indented.
        """
        lines = [f"{'id':>3} {'size':>4} {'modularity':>10} {'inside':>6}  tokens"]
        for c in self.clusters:
            if c.size < min_size:
                continue
            words = " ".join(repr(self.tokens[i].text) for i in c.tokens)
            if len(words) > 90:
                words = words[:87] + "..."
            inside = pct(attention_shares(self.weights, c.tokens)["inside"])  # rounded as the rationale is
            lines.append(f"{c.id:>3} {c.size:>4} {c.modularity:>10.3f} {inside:>5}%  {words}")
            if headlines and c.headline:
                lines.append(f"{'':>6}{c.headline}")
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
        return isinstance(other, Analysis) and fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    # -------------------------------------------------------------- recompute
    def recluster(self, **changes: Any) -> Analysis:
        """Recompute clusters with changed options, reusing the attention.

        Accepts ``threshold`` (a number or ``"auto"``), ``threshold_mode``,
        ``method``, ``seed``, and, when the raw attention is kept,
        ``aggregation``, ``layers``, ``heads``, ``exclude``. No forward pass runs.
        """
        return ops.call("recluster", self, **changes)

    def links(self, token: int, k: int = 3, lens: Any = None, measure: str | None = None) -> tuple[Link, ...]:
        """The ``k`` strongest links of token index ``token``, strongest first.

        Under the analysis's own measure and lens, or under ``lens`` / ``measure``
        given here (no forward pass when the raw attention and per-head data are
        kept). Each :class:`~attn_widget.core.records.Link` names the other token,
        the weight and its direction; left-out tokens (sinks) and the token
        itself are never links. See :func:`attn_widget.links`.
        """
        return ops.call("links", self, token, k=k, lens=lens, measure=measure)

    def explain(self, backend: Any = None, **kwargs: Any) -> Analysis:
        """Return a copy whose clusters carry evidence and rationales (see ``rationale``)."""
        return ops.call("explain", self, backend=backend, **kwargs)

    def refine(self, op: str, **args: Any) -> Analysis:
        """Edit the partition by hand: a copy with ``op`` applied (see :func:`attn_widget.refine`).

        ``op`` is ``"merge"`` (``clusters=[a, b]``), ``"split"`` (``cluster=c``,
        optionally ``tokens=[...]`` to pick the part that leaves), ``"move"``
        (``tokens=[...]``, ``to=cluster`` or ``None`` for a cluster of its own),
        ``"pin"`` or ``"unpin"`` (``tokens=[...]``). The edit, its modularity
        change and the pins are recorded in :attr:`partition`.
        """
        return ops.call("refine", self, op, **args)

    def ablate(
        self,
        tokens: Any = (),
        heads: Any = (),
        edges: Any = (),
        *,
        position: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Rerun the model with attention knocked out; an :class:`~attn_widget.core.ablation.Ablation`.

        ``tokens``: every edge to them is removed (nobody attends to them);
        ``heads``: ``(layer, head)`` pairs whose outputs are zeroed; ``edges``:
        ``(query, key)`` pairs removed. The result holds the re-clustered
        analysis of the rerun, the change in the next-token prediction after
        ``position`` (default: the last token) and the clusters matched before
        and after. See :func:`attn_widget.ablate`.
        """
        return ops.call("ablate", self, tokens=tokens, heads=heads, edges=edges, position=position, **kwargs)

    # ----------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of everything but the raw attention (see :meth:`save`)."""
        d = to_jsonable(self)
        d.pop("attentions")
        d.pop("head_data")
        d["format_version"] = FORMAT_VERSION
        return d

    @classmethod
    def from_dict(
        cls,
        d: Mapping[str, Any],
        attentions: Attention | None = None,
        head_data: Mapping[str, np.ndarray] | None = None,
    ) -> Analysis:
        """Inverse of :meth:`to_dict` (files of formats 1 to 3 are read too; their clusters
        have no headline)."""
        version = d.get("format_version")
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f"analysis format_version {version!r} is not supported (expected {FORMAT_VERSION}); "
                "re-run the analysis with this version of attn_widget"
            )
        n = len(d["tokens"])
        return cls(
            text=d["text"],
            tokens=tuple(Token(**t) for t in d["tokens"]),
            labels=np.asarray(d["labels"], dtype=np.int32),
            clusters=tuple(cluster_from_dict(c) for c in d["clusters"]),
            threshold=float(d["threshold"]),
            modularity=float(d["modularity"]),
            sweep=Sweep.from_dict(d["sweep"]),
            weights=np.asarray(d["weights"], dtype=np.float64).reshape(n, n),
            options=Options.from_dict(d["options"]),
            model=d["model"],
            notices=tuple(d["notices"]),
            attentions=attentions,
            head_data=dict(head_data or {}),
            partition=None if d.get("partition") is None else Partition.from_dict(d["partition"]),
        )

    def save(self, path: str | Path) -> Path:
        """Write the analysis, raw attention included, to one file.

        ``.json`` writes :meth:`to_dict` only (no raw attention: ``load`` gives
        back everything else, and ``recluster`` can still change threshold,
        mode, method and seed); any other suffix (e.g. ``.attn``) writes a zip
        holding ``analysis.json``, ``attentions.npy`` and ``head_data/NAME.npy``
        that loads back ``==``.
        """
        path = Path(path)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
            return path
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("analysis.json", json.dumps(self.to_dict()))
            arrays = {"attentions": self.attentions}
            arrays.update({f"head_data/{k}": v for k, v in self.head_data.items()})
            for name, array in arrays.items():
                if array is not None:
                    buf = io.BytesIO()
                    np.save(buf, array, allow_pickle=False)
                    zf.writestr(f"{name}.npy", buf.getvalue())
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
            arrays = {
                name.removesuffix(".npy"): np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
                for name in zf.namelist()
                if name.endswith(".npy")
            }
        att = arrays.pop("attentions", None)
        data = {k.removeprefix("head_data/"): v for k, v in arrays.items() if k.startswith("head_data/")}
        return cls.from_dict(d, attentions=att, head_data=data)


