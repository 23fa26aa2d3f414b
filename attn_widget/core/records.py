"""The records an analysis is made of: tokens, clusters, the threshold sweep, the options.

Frozen dataclasses with exact ``to_dict``/``from_dict`` round trips; :class:`Analysis`
(:mod:`attn_widget.core.analysis`) holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .options import DEFAULTS
from .serialize import fields_equal, readonly, to_jsonable


@dataclass(frozen=True)
class Token:
    """One token of the input.

    Attributes
    ----------
    text
        Readable text of the token (spaces and newlines as themselves). A
        byte-level piece that is only part of a character (an emoji, a CJK or
        Arabic letter split over several pieces) reads as the whole
        character(s) it touches, ``text[start:end]``, so the pieces of one
        character share it; their exact bytes are
        ``tokenizer.convert_ids_to_tokens([id])``.
    start, end
        Character offsets (Python code points) into the original text
        (``text[start:end]``); pieces of one character overlap. Or
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
    headline
        One plain sentence (at most 25 words, two numbers) saying what binds the group and the
        single strongest reason, built from the same verified claims as ``rationale``
        (:mod:`attn_widget.explain.headline`); ``None`` until explained.
    """

    id: int
    tokens: tuple[int, ...]
    modularity: float
    internal: float
    evidence: Mapping[str, Any] | None = None
    claims: tuple[Mapping[str, Any], ...] | None = None
    rationale: str | None = None
    scores: Mapping[str, Any] | None = None
    headline: str | None = None

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
            object.__setattr__(self, name, readonly(getattr(self, name)))

    @property
    def auto_threshold(self) -> float:
        """The automatically chosen threshold."""
        return float(self.thresholds[self.best])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sweep) and fields_equal(self, other)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

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
    """The knobs an analysis was made with (enough to recompute it).

    ``exclude`` holds the tokens actually left out; ``exclude_auto`` says they
    were found by sink detection (``exclude="auto"``). ``lens`` is what was
    asked for (a name such as ``"content"``, or ``(layer, head)`` pairs) and
    ``lens_heads`` the heads it resolved to on this model (``None``: every head).
    ``model_sinks`` are the model's own sink tokens (BOS, ``[CLS]``/``[SEP]``),
    left out with the detected ones when ``exclude="auto"``. ``exclude`` and
    ``model_sinks`` are indices of the model's tokens, also when ``unit`` makes
    the graph's nodes words or sentences. ``zoom`` is set on the second level of
    the hierarchical view (:func:`attn_widget.zoom`): the indices, in the whole
    text's tokens, of the tokens this analysis covers. ``pair`` is set when an
    encoder–decoder model read a source and a target (``analyze(source,
    model=..., target=...)``): ``(source tokens, source characters)``, the model
    tokens and the characters of the text that are the source (the rest, after
    :data:`~attn_widget.core.analysis.PAIR_SEPARATOR`, is the target).
    """

    aggregation: str = DEFAULTS["aggregation"]
    method: str = DEFAULTS["method"]
    threshold_mode: str = DEFAULTS["threshold_mode"]
    seed: int = DEFAULTS["seed"]
    layers: tuple[int, ...] | None = None
    heads: tuple[tuple[int, int], ...] | None = None
    exclude: tuple[int, ...] = ()
    auto_threshold: bool = True
    measure: str = DEFAULTS["measure"]
    lens: str | tuple[tuple[int, int], ...] = DEFAULTS["lens"]
    lens_heads: tuple[tuple[int, int], ...] | None = None
    exclude_auto: bool = False
    model_sinks: tuple[int, ...] = ()
    unit: str = DEFAULTS["unit"]
    zoom: tuple[int, ...] | None = None
    pair: tuple[int, int] | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Options:
        lens = d.get("lens", "all")
        return cls(
            aggregation=d["aggregation"],
            method=d["method"],
            threshold_mode=d["threshold_mode"],
            seed=int(d["seed"]),
            layers=None if d["layers"] is None else tuple(int(x) for x in d["layers"]),
            heads=_pairs(d["heads"]),
            exclude=tuple(int(x) for x in d["exclude"]),
            auto_threshold=bool(d["auto_threshold"]),
            measure=str(d.get("measure", "attention")),  # files from before measures: attention
            lens=lens if isinstance(lens, str) else _pairs(lens) or (),
            lens_heads=_pairs(d.get("lens_heads")),
            exclude_auto=bool(d.get("exclude_auto", False)),
            model_sinks=tuple(int(x) for x in d.get("model_sinks", ())),
            unit=str(d.get("unit", "token")),
            zoom=None if d.get("zoom") is None else tuple(int(x) for x in d["zoom"]),
            pair=None if d.get("pair") is None else (int(d["pair"][0]), int(d["pair"][1])),
        )


def _pairs(value: Any) -> tuple[tuple[int, int], ...] | None:
    return None if value is None else tuple((int(a), int(b)) for a, b in value)


@dataclass(frozen=True)
class Link:
    """One of a token's strongest links (see :meth:`Analysis.links <attn_widget.core.Analysis.links>`).

    Attributes
    ----------
    index, text
        The other token.
    weight
        The share of attention on the link: of the token's own attention when
        ``direction == "out"`` (the token attends to ``index``), of the other
        token's attention when ``direction == "in"`` (``index`` attends to the token).
    direction
        ``"out"`` or ``"in"``; the stronger of the two when both exist.
    confidence
        For a pronoun's reference link (:func:`attn_widget.heads.coref.reference_links`):
        the calibrated probability that the link is the right antecedent; ``None`` for other links.
    confident
        For a reference link: whether ``confidence`` reaches the model's own threshold (chosen on
        its probe, :attr:`attn_widget.heads.coref.CorefHeads.threshold_cross`): drawn as sure;
        ``None`` for other links.
    """

    index: int
    text: str
    weight: float
    direction: str
    confidence: float | None = None
    confident: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "text": self.text,
            "weight": self.weight,
            "direction": self.direction,
            "confidence": self.confidence,
            "confident": self.confident,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Link:
        conf = d.get("confidence")  # links saved before confidences have none
        sure = d.get("confident")  # nor before per-model thresholds
        return cls(
            int(d["index"]),
            str(d["text"]),
            float(d["weight"]),
            str(d["direction"]),
            None if conf is None else float(conf),
            None if sure is None else bool(sure),
        )


def cluster_from_dict(d: Mapping[str, Any]) -> Cluster:
    return Cluster(
        id=int(d["id"]),
        tokens=tuple(int(i) for i in d["tokens"]),
        modularity=float(d["modularity"]),
        internal=float(d["internal"]),
        evidence=d.get("evidence"),
        claims=None if d.get("claims") is None else tuple(d["claims"]),
        rationale=d.get("rationale"),
        scores=d.get("scores"),
        headline=d.get("headline"),  # files before format 4 have none
    )


ARC_KINDS = ("reference", "long-range", "cross")
"""The kinds of :class:`Arc`: a pronoun to what it refers to, a link that skips over words, or (an
encoder–decoder pair) a target word to the source word it attends to most."""


@dataclass(frozen=True)
class Arc:
    """A link worth drawing over the text (see :meth:`Analysis.arcs <attn_widget.core.Analysis.arcs>`).

    Attributes
    ----------
    source, target
        Node indices: ``source`` looks back to ``target`` (its attention goes there).
    weight
        The share of ``source``'s attention on ``target`` under ``lens`` and ``measure``.
    kind
        ``"reference"`` (a pronoun and the word it is linked to most) or
        ``"long-range"`` (a link that skips over words and exceeds what attention
        at that distance usually gets) or ``"cross"`` (an encoder–decoder pair: a
        target word and the source word it attends to most; ``weight`` is then
        that word's share of the target word's attention to the source).
    confident
        Whether the link stands clearly above the alternatives: for a reference,
        its ``confidence`` reaches the calibrated threshold; for a long-range link,
        its weight is at least three times the distance baseline. Drawn solid; the
        others faint and labelled unsure.
    lens, measure
        The heads and the edge measure the weight was read under.
    confidence
        A reference's confidence (see :mod:`attn_widget.heads.coref`); ``None`` for long-range.
    baseline
        The mean weight of links at the same distance in this text (long-range; ``None`` otherwise).
    source_text, target_text
        The two words as a person reads them (whole words, never sub-word pieces).
    words_between
        How many whole words lie strictly between the two (punctuation not
        counted), counted on the words the arc was laid out on; ``None`` when not
        known (an arc made by hand).
    heads
        The heads of ``lens`` that carry the link most: ``(layer, head, share)``, the
        share of ``source``'s weight (under ``measure``) that head puts on ``target``,
        up to three, largest first; ``()`` when the raw attention is not kept.
    """

    source: int
    target: int
    weight: float
    kind: str
    confident: bool
    lens: str
    measure: str
    confidence: float | None = None
    baseline: float | None = None
    source_text: str = ""
    target_text: str = ""
    words_between: int | None = None
    heads: tuple[tuple[int, int, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


@dataclass(frozen=True)
class Finding:
    """One plain sentence about what stands out in an analysis, tied to what it names.

    Attributes
    ----------
    kind
        ``"reference"``, ``"long-range"``, ``"cross"`` (an encoder–decoder pair), ``"head"``, ``"groups"`` or
        ``"prediction"``.
    text
        The sentence, built from ``evidence`` and checked against it.
    tokens
        Node indices the sentence names (the view highlights them on hover).
    evidence
        The facts the sentence states (numbers, words, the arc or head it is about).
    """

    kind: str
    text: str
    tokens: tuple[int, ...]
    evidence: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "text": self.text, "tokens": list(self.tokens)}
        return {**out, "evidence": dict(self.evidence)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        return cls(str(d["kind"]), str(d["text"]), tuple(int(i) for i in d["tokens"]), dict(d["evidence"]))
