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
from .records import Arc, Cluster, Finding, Link, Options, Sweep, Token, cluster_from_dict
from .result import Result
from .serialize import fields_equal, readonly, to_jsonable
from .shares import attention_shares, pct
from .types import EXCLUDED, Attention, Labels, Matrix
from .units import Units

FORMAT_VERSION = 5
"""Version of ``to_dict()`` / ``save()``; bumped when the layout changes."""
READABLE_VERSIONS = (1, 2, 3, 4, 5)
"""Versions :meth:`Analysis.from_dict` reads (1: before edge measures, lenses and sink
detection; 2: before hand-refined partitions; 3: before ``Cluster.headline``; 4: before units
and streamed analyses)."""

PAIR_SEPARATOR = "\n\n"
"""What stands between the source and the target in the text of an encoder–decoder analysis."""

HEAVY = ("attentions", "head_data", "token_weights")
"""Fields ``to_dict`` leaves out (``save`` to a non-``.json`` file keeps them)."""


@dataclass(frozen=True, eq=False)
class Analysis(Result):
    """Result of one analysis. Immutable; see the module docstring.

    Attributes
    ----------
    text
        The analysed text ('' when only token strings were given).
    tokens
        The graph's nodes: one :class:`Token` per token, or per word or sentence
        with ``options.unit`` (its text and character span; see :attr:`pieces`).
    labels
        ``[T]`` int32 cluster id per node, ``-1`` for excluded nodes.
    clusters
        Clusters ordered by their first token.
    threshold
        Threshold the partition was made with (in ``options.threshold_mode`` units).
    modularity
        Modularity of ``labels`` on the unthresholded symmetrised graph.
    sweep
        The threshold curve (for the automatic choice and the widget's plot).
    weights
        ``[T, T]`` aggregated attention between the nodes, rows of kept nodes summing to 1.
    options
        How it was made.
    model
        Model name or path, when the attention came from a model.
    notices
        Things the user should know (a fallback model, truncation).
    attentions
        ``[layer, head, T, T]`` float32 raw attention over the model's tokens,
        kept so ``recluster`` can change the aggregation without a forward pass;
        ``None`` when the analysis was streamed (``keep="summary"``, see
        :attr:`kept`) or loaded from ``to_dict`` JSON.
    head_data
        Per-head arrays the forward pass measured besides attention, by name:
        ``"value_norm"`` (``[layer, head, T]``, for ``measure="norm"``),
        ``"gradient"`` (``[layer, head, T, T]``, for ``measure="gradient"``);
        a streamed analysis adds what it kept instead of the attention:
        ``"top_index"`` / ``"top_weight"`` (``[layer, head, T, k]``, each head's
        strongest keys per query), ``"role_scores"`` (head roles) and
        ``"sink_received"`` (``[2, layer, T]``, for ``exclude="auto"``).
        Kept with the raw attention (``save`` to a non-``.json`` file).
    partition
        The hand-refined partition (:func:`attn_widget.refine`): the clustering
        it started from, the edits and the pins, with ``partition.labels`` equal
        to :attr:`labels`. ``None`` while the clustering is untouched.
    pieces
        The model's tokens when the nodes are words or sentences (``()`` when
        they are the tokens themselves); :attr:`model_tokens` gives either.
    unit_starts
        ``[U + 1]``: node ``u`` holds model tokens ``unit_starts[u]:unit_starts[u + 1]``
        (``None`` for one node per token); see :attr:`units`.
    token_weights
        ``[T, T]`` the model tokens' aggregate before any token is left out
        (rows sum to 1): what ``recluster`` needs to change ``exclude`` or
        ``unit`` without the raw attention. Kept by streamed analyses only
        (with the raw attention it is recomputed); ``None`` when loaded from JSON.
    findings
        What stands out, in 3–5 plain sentences (:class:`Finding`), filled by
        :meth:`explain`; ``None`` until then.
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
    pieces: tuple[Token, ...] = field(default=(), repr=False)
    unit_starts: np.ndarray | None = field(default=None, repr=False)
    token_weights: Matrix | None = field(default=None, repr=False)
    findings: tuple[Finding, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("labels", "weights", "attentions", "unit_starts", "token_weights"):
            object.__setattr__(self, name, readonly(getattr(self, name)))
        object.__setattr__(self, "head_data", {k: readonly(v) for k, v in dict(self.head_data).items()})

    # ------------------------------------------------------------------ views
    @property
    def excluded(self) -> tuple[int, ...]:
        """Node indices left out of the graph (e.g. the attention sink)."""
        return self.units.excluded(self.options.exclude)

    @property
    def model_tokens(self) -> tuple[Token, ...]:
        """The model's tokens (the nodes themselves when ``unit="token"``)."""
        return self.pieces or self.tokens

    @property
    def units(self) -> Units:
        """How the model's tokens group into the graph's nodes."""
        if self.unit_starts is None:
            return Units.tokens(len(self.tokens))
        return Units(self.options.unit, np.asarray(self.unit_starts))

    @property
    def source_length(self) -> int | None:
        """Nodes of the source when an encoder–decoder model read a source and a target (the first
        ``source_length`` nodes; the rest are the decoder's start token and the target), else ``None``."""
        pair = self.options.pair
        if pair is None:
            return None
        return int(np.sum(self.units.starts[:-1] < pair[0]))

    @property
    def source_text(self) -> str:
        """The source of an encoder–decoder analysis (the whole text otherwise)."""
        pair = self.options.pair
        return self.text if pair is None else self.text[: pair[1]]

    @property
    def target_text(self) -> str | None:
        """The target of an encoder–decoder analysis (``None`` otherwise)."""
        pair = self.options.pair
        return None if pair is None else self.text[pair[1] + len(PAIR_SEPARATOR) :]

    @property
    def head_shape(self) -> tuple[int, int] | None:
        """``(layers, heads)`` of the model, from the kept attention or per-head data (``None``: unknown)."""
        if self.attentions is not None:
            return int(self.attentions.shape[0]), int(self.attentions.shape[1])
        for key in ("top_index", "value_norm"):
            if key in self.head_data:
                shape = np.shape(self.head_data[key])
                return int(shape[0]), int(shape[1])
        if "role_scores" in self.head_data:
            shape = np.shape(self.head_data["role_scores"])
            return int(shape[2]), int(shape[3])
        return None

    @property
    def kept(self) -> str:
        """What this analysis kept of the attention, which decides what ``recluster`` can change.

        ``"attention"``: the raw ``[layer, head, T, T]`` (everything can change
        without running the model); ``"summary"``: a streamed analysis, which kept
        the token aggregate, head roles and each head's strongest links (the
        threshold, method, seed, ``exclude`` and ``unit`` can change; another
        aggregation, measure or lens runs the model again, see
        :func:`attn_widget.rerun`); ``"graph"``: only the graph's weights (loaded
        from JSON: the threshold, method and seed can change).
        """
        if self.attentions is not None:
            return "attention"
        return "summary" if self.token_weights is not None else "graph"

    def cluster_of(self, token: int) -> Cluster | None:
        """The cluster holding token index ``token`` (``None`` if excluded)."""
        label = int(self.labels[token])
        if label == EXCLUDED:
            return None
        return next(c for c in self.clusters if c.id == label)

    def table(self, min_size: int = 1, headlines: bool = True) -> str:
        """A plain-text table of clusters: id, size, modularity, inside share, and its nodes
        (the model's tokens quoted as they are; words and sentences as they read).

        ``inside`` is the share of the cluster's tokens' attention that stays in
        the cluster (to each other or to themselves), out of their attention
        to kept tokens: the same number as the rationale's "stays inside it"
        (``evidence["attention"]["inside"]``). It is not :attr:`Cluster.internal`,
        the graph's symmetrised share, which also counts attention the cluster receives.
        With ``headlines`` (the default), an explained cluster's :attr:`Cluster.headline`
        follows its row, indented.
        """
        unit = self.options.unit
        lines = [f"{'id':>3} {'size':>4} {'modularity':>10} {'inside':>6}  {unit}s"]
        for c in self.clusters:
            if c.size < min_size:
                continue
            if unit == "token":  # the model's pieces as they are: spaces and all
                words = " ".join(repr(self.tokens[i].text) for i in c.tokens)
            else:  # words and sentences as a person reads them
                words = " ".join(self.tokens[i].text.strip() or repr(self.tokens[i].text) for i in c.tokens)
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
        ``method``, ``seed``; ``exclude`` and ``unit`` unless loaded from JSON;
        and, when the raw attention is kept (:attr:`kept`), ``aggregation``,
        ``layers``, ``heads``, ``measure``, ``lens``. No forward pass runs.
        """
        return ops.call("recluster", self, **changes)

    def rerun(self, **changes: Any) -> Analysis:
        """Run the model again on this text with changed options (see :func:`attn_widget.rerun`).

        For what :meth:`recluster` cannot do on a streamed analysis (another
        aggregation, measure or lens): it raises :class:`attn_widget.DroppedData` and says so.
        """
        return ops.call("rerun", self, **changes)

    def zoom(self, cluster: int, unit: str = "word", **options: Any) -> Analysis:
        """The ``unit``s inside cluster ``cluster``, clustered on their own (see :func:`attn_widget.zoom`).

        The hierarchical view of a long text: ``analyze(text, unit="sentence")``
        gives clusters of sentences; ``.zoom(c)`` the words of cluster ``c``.
        """
        return ops.call("zoom", self, cluster, unit=unit, **options)

    def links(self, token: int, k: int = 3, lens: Any = None, measure: str | None = None) -> tuple[Link, ...]:
        """The ``k`` strongest links of token index ``token``, strongest first.

        Under the analysis's own measure and lens, or under ``lens`` / ``measure``
        given here (no forward pass when the raw attention and per-head data are
        kept). Each :class:`~attn_widget.core.records.Link` names the other token,
        the weight and its direction; left-out tokens (sinks) and the token
        itself are never links. See :func:`attn_widget.links`.
        """
        return ops.call("links", self, token, k=k, lens=lens, measure=measure)

    def arcs(self, k: int | None = None, lens: Any = None) -> tuple[Arc, ...]:
        """The arcs to draw over the text: pronouns to what they refer to, and the strongest long-range links.

        The list the widget, the standalone page and the CLI show (see :func:`attn_widget.arcs`).
        """
        return ops.call("arcs", self, k=k, lens=lens)

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
        """JSON-able dict of everything but the raw attention, per-head data and token aggregate.

        See :meth:`save`.
        """
        d = to_jsonable(self, skip=HEAVY)
        d["format_version"] = FORMAT_VERSION
        return d

    @classmethod
    def from_dict(
        cls,
        d: Mapping[str, Any],
        attentions: Attention | None = None,
        head_data: Mapping[str, np.ndarray] | None = None,
        token_weights: Matrix | None = None,
    ) -> Analysis:
        """Inverse of :meth:`to_dict` (files of formats 1 to 4 are read too; in those of 1 to 3 the clusters
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
            pieces=tuple(Token(**t) for t in d.get("pieces", ())),
            unit_starts=None if d.get("unit_starts") is None else np.asarray(d["unit_starts"], np.int64),
            token_weights=token_weights,
            findings=None if d.get("findings") is None else tuple(map(Finding.from_dict, d["findings"])),
        )

    def save(self, path: str | Path) -> Path:
        """Write the analysis, raw attention included, to one file.

        ``.json`` writes :meth:`to_dict` only (no raw attention: ``load`` gives
        back everything else, and ``recluster`` can still change threshold,
        mode, method and seed); any other suffix (e.g. ``.attn``) writes a zip
        holding ``analysis.json``, ``attentions.npy`` (when kept),
        ``token_weights.npy`` and ``head_data/NAME.npy`` that loads back ``==``.
        """
        path = Path(path)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
            return path
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("analysis.json", json.dumps(self.to_dict()))
            arrays = {"attentions": self.attentions, "token_weights": self.token_weights}
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
        return cls.from_dict(d, attentions=att, head_data=data, token_weights=arrays.get("token_weights"))
