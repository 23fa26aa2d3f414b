"""The options every entry point takes: their names, types and defaults, in one place.

``analyze``, ``analyze_attention``, ``recluster``, the widget and the command
line all take these keyword arguments; each checks the names it is given
against the ``TypedDict`` that describes it (:func:`check_names`), so an
unknown or misspelt option fails the same way everywhere, and every default is
read from :data:`DEFAULTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypedDict


class _Default(str):
    """The default model name: reads ``"gpt2"`` but is recognised by identity."""

    __slots__ = ()


DEFAULT_MODEL: str = _Default("gpt2")
"""Default of ``analyze(model=...)``. Only this object (not a typed ``"gpt2"``) may fall back."""


class ClusterOptions(TypedDict, total=False):
    """How attention becomes a graph and the graph a partition (no model needed).

    Taken by :func:`attn_widget.analyze_attention`, :func:`attn_widget.recluster`
    and, with the :class:`InputOptions`, :func:`attn_widget.analyze`.
    """

    threshold: float | str
    """A number in ``threshold_mode`` units, or ``"auto"`` (default)."""
    threshold_mode: str
    """``"absolute"`` (edge weight, default) or ``"mass"`` (share of each token's attention)."""
    method: str
    """Clustering method, a key of :data:`attn_widget.graph.cluster.METHODS` (default ``"louvain"``)."""
    aggregation: str
    """How heads and layers combine, a key of :data:`attn_widget.graph.aggregate.AGGREGATIONS`."""
    seed: int
    """Random seed of the clustering (default 0)."""
    layers: Sequence[int] | None
    """Layers to aggregate (default all)."""
    heads: Sequence[tuple[int, int]] | None
    """``(layer, head)`` pairs for ``aggregation="heads"``."""
    exclude: Sequence[int] | str
    """``"auto"`` (default): attention sinks are found and left out of the graph, with a notice
    (:mod:`attn_widget.graph.sinks`); ``[]`` keeps every token; a list of token indices leaves
    exactly those out."""
    measure: str
    """Edge measure per head, a key of :data:`attn_widget.graph.measures.MEASURES`."""
    unit: str
    """The graph's nodes: ``"token"`` (default), ``"word"`` or ``"sentence"`` (tokens pooled,
    :mod:`attn_widget.core.units`, :mod:`attn_widget.graph.units`)."""
    lens: str | Sequence[tuple[int, int]] | Callable[..., Any]
    """Which heads make the graph: a key of :data:`attn_widget.heads.lenses.LENSES`
    (``"all"``, layer bands, role lenses, ``"coreference"``), a list of ``(layer, head)``
    pairs, or a function ``f(report) -> [(layer, head), ...]`` of the head-role report."""


class InputOptions(TypedDict, total=False):
    """How text becomes the model's input, and what :func:`attn_widget.analyze` reports as it runs.

    The model itself is ``analyze``'s second argument (``model``, with ``tokenizer``).
    """

    prepend_bos: bool | None
    """Put the BOS token first (default: yes for causal models whose tokenizer does not)."""
    exclude_sink: bool
    """Leave the model's attention sink out of the graph (default True)."""
    overlength: str
    """``"error"`` (default) or ``"truncate"`` for text longer than the model's context."""
    progress: Callable[[str, float], Any] | None
    """``progress(stage, fraction)``, told what runs now."""
    target: str | None
    """For an encoder–decoder model (T5, BART, Marian): the text the decoder reads, the
    first argument being the source; ``None`` (default): the model's own greedy output.
    Refused for a model that reads one text."""
    keep: str
    """What the analysis keeps of the attention: ``"auto"`` (default: the raw
    ``[layer, head, T, T]`` when it is small, else a summary), ``"attention"`` or ``"summary"``
    (streamed: each layer is aggregated as the model runs and dropped;
    :data:`attn_widget.extract.forward.KEEP_ATTENTION_BYTES`)."""
    max_memory: int | str | None
    """Memory a streamed analysis may take besides the model: bytes or a size such as ``"2GB"``
    (default None: blocks of about 64 MiB). It picks how many queries' attention is computed at
    once (:func:`attn_widget.extract.blocks.plan`); a text that cannot fit is refused with the
    size that would. With ``keep="auto"``, raw attention larger than it is streamed."""


class AnalyzeOptions(ClusterOptions, InputOptions, total=False):
    """Everything :func:`attn_widget.analyze` takes by keyword besides ``model`` and ``tokenizer``."""


DEFAULTS: Mapping[str, Any] = {
    "threshold": "auto",
    "threshold_mode": "absolute",
    "method": "louvain",
    "aggregation": "mean",
    "seed": 0,
    "layers": None,
    "heads": None,
    "exclude": "auto",
    "measure": "attention",
    "lens": "all",
    "unit": "token",
    "model": DEFAULT_MODEL,
    "tokenizer": None,
    "prepend_bos": None,
    "exclude_sink": True,
    "overlength": "error",
    "progress": None,
    "keep": "auto",
    "max_memory": None,
    "target": None,
}
"""The default of every option above."""


def names(*kinds: type) -> frozenset[str]:
    """The option names the ``TypedDict`` classes ``kinds`` declare."""
    return frozenset(name for kind in kinds for name in kind.__annotations__)


CLUSTER_OPTIONS = names(ClusterOptions)
ANALYZE_OPTIONS = CLUSTER_OPTIONS | names(InputOptions)
TEXT_OPTIONS = ANALYZE_OPTIONS | {"model", "tokenizer"}
"""What may accompany a text (the widget's, the corpus runner's): the model and everything else."""


def check_names(given: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """Raise :class:`TypeError` naming the unknown options and the allowed ones."""
    allowed = frozenset(allowed)
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(f"{where} got unexpected keyword arguments {unknown}; allowed: {sorted(allowed)}")


def default(name: str) -> Any:
    """The default of option ``name``."""
    return DEFAULTS[name]


class GenerateOptions(TypedDict, total=False):
    """How :func:`attn_widget.analyze_generation` chooses tokens (besides ``max_new_tokens``).

    ``seed`` (a :class:`ClusterOptions` name) seeds the sampling too: one number
    makes a whole run repeatable.
    """

    sample: bool
    """False (default): greedy, the most likely token each step; True: sampled."""
    temperature: float | None
    """Sampling temperature (default: the model's generation config, else 1.0)."""
    top_k: int | None
    """Keep the k most likely tokens when sampling; 0 turns it off (default: the model's, else 50)."""
    top_p: float | None
    """Nucleus sampling share (default: the model's, else 1.0, off)."""
    chat: bool
    """Apply the tokenizer's chat template to the prompt (default False)."""


class GenerationOptions(GenerateOptions, AnalyzeOptions, total=False):
    """Everything :func:`attn_widget.analyze_generation` takes by keyword besides ``model``,
    ``tokenizer`` and ``max_new_tokens``."""


GENERATE_DEFAULTS: Mapping[str, Any] = {
    "sample": False,
    "temperature": None,
    "top_k": None,
    "top_p": None,
    "chat": False,
}
"""The default of every :class:`GenerateOptions` name."""

GENERATE_OPTIONS = names(GenerateOptions)
GENERATION_OPTIONS = ANALYZE_OPTIONS | GENERATE_OPTIONS
