"""The library's entry points: text or attention in, a frozen :class:`Analysis` out.

Joins the layers below it: :mod:`attn_widget.extract` turns text into
attention, :mod:`attn_widget.graph` turns attention into clusters and
:mod:`attn_widget.explain` explains them (and resolves named lenses, which
need head roles). The widget (:mod:`attn_widget.view`) calls these functions
and nothing below them that computes an analysis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from typing_extensions import Unpack

from .core import Ablation, Analysis, Comparison, Generation, Link
from .core.options import (
    ANALYZE_OPTIONS,
    CLUSTER_OPTIONS,
    DEFAULT_MODEL,
    DEFAULTS,
    GENERATE_DEFAULTS,
    GENERATION_OPTIONS,
    AnalyzeOptions,
    ClusterOptions,
    GenerationOptions,
    check_names,
)
from .extract.forward import EncoderDecoderModel, check_measure, prepare, reporter, resolve_keep, run
from .extract.seq2seq import check_pair_options
from .graph import compare as _compare
from .graph import pipeline as _pipeline
from .graph import recluster as _recluster
from .graph import weights as _weights
from .graph.pipeline import check_choices
from .graph.recluster import DroppedData
from .graph.tokenmap import token_map
from .graph.validate import as_attention, as_tokens
from .graph.zoom import zoom
from .heads import lenses as _lenses
from .heads.roles import report_from
from .runs import lensed as _lensed
from .runs import pairs as _pairs
from .runs import streamed as _streamed
from .runs import work as _runs
from .runs.arcs import arcs
from .runs.explaining import explain
from .runs.lensed import weights_under
from .runs.work import measure_data, refine

__all__ = [
    "DroppedData",
    "ablate",
    "analyze",
    "analyze_attention",
    "analyze_generation",
    "arcs",
    "compare",
    "explain",
    "links",
    "measure_data",
    "recluster",
    "refine",
    "rerun",
    "token_map",
    "weights_under",
    "zoom",
]


def analyze(
    text: str, model: Any = DEFAULT_MODEL, tokenizer: Any = None, **options: Unpack[AnalyzeOptions]
) -> Analysis:
    """Run ``model`` on ``text`` and cluster its tokens by attention.

    Parameters
    ----------
    text
        Non-empty text.
    model
        Hub name, local folder, ``"smollm2"`` / ``"minilm"``, or a loaded model
        (then pass ``tokenizer``, the tokenizer object or name). Defaults to GPT-2
        small; when it was not named and cannot be loaded (no network, no
        cache), SmolLM2-135M-Instruct is used if installed, with a notice in
        ``Analysis.notices``. A model you name never falls back.
    **options
        The :class:`~attn_widget.core.options.AnalyzeOptions`: the input options
        ``prepend_bos``, ``overlength`` (as for
        :func:`attn_widget.extract.forward.extract`), ``exclude_sink`` (with
        ``exclude="auto"``, also leave out the model's own sink tokens: BOS or the
        first token of a causal model, ``[CLS]``/``[SEP]`` of an encoder; default
        True) and ``progress`` (``progress(stage, fraction)`` told each stage as
        it starts: "loading model NAME…" (0.0), "running the model on N
        tokens…" (0.3), "clustering…" (0.7), then "done" (1.0)); and the
        clustering options ``threshold``, ``method``, ``aggregation``,
        ``measure``, ``lens``, ``seed``, ``threshold_mode``, ``layers``,
        ``heads``, ``exclude``, as for :func:`analyze_attention`.

        With an encoder–decoder model (T5, BART, Marian), ``text`` is the source and
        ``target`` the text the decoder reads (default: the model's own greedy output,
        at most 20 tokens): one graph over both texts, whose target rows are half
        decoder self-attention and half cross-attention, so a cluster can hold source
        and target words (:mod:`attn_widget.runs.pairs`); :meth:`Analysis.arcs` gives
        each target word's arc to the source word it attends to most (kind ``"cross"``).
        ``measure="norm"``/``"gradient"``, ``keep="summary"`` and the coreference lens are
        refused for these models, saying why.

    Returns
    -------
    Analysis
        With ``model`` set to the model's name and ``notices`` (fallback, truncation, sinks);
        for an encoder–decoder model, ``text`` is ``source + "\\n\\n" + target`` and
        :attr:`Analysis.source_length`, ``.source_text``, ``.target_text`` say which is which.
    """
    check_names(options, ANALYZE_OPTIONS, "analyze()")
    o: dict[str, Any] = {**DEFAULTS, **options, "tokenizer": tokenizer}
    check_choices(o)  # before the (possibly slow) forward pass
    report = reporter(o["progress"])
    if o["target"] is not None:
        return _pairs.analyze_pair(text, o["target"], model, o["tokenizer"], o)
    try:
        prep = prepare(
            text, model, o["tokenizer"], prepend_bos=o["prepend_bos"], overlength=o["overlength"],
            progress=o["progress"],
        )
    except EncoderDecoderModel:  # T5, BART, Marian: the text is the source, the model writes the target
        return _pairs.analyze_pair(text, None, model, o["tokenizer"], o)
    check_measure(prep, o["measure"])
    keep = resolve_keep(o["keep"], prep.model.config, len(prep.ids), max_memory=o["max_memory"])
    if keep == "summary":
        result = _streamed.analyze_streamed(prep, o)
        report("done", 1.0)
        return result
    ex = run(prep, progress=o["progress"], gradient=o["measure"] == "gradient")
    notices = list(ex.notices)
    sinks = _streamed.own_sinks(ex.sink, len(ex.tokens), o["exclude_sink"], notices)
    report("clustering…", 0.7)
    cluster_options = {k: o[k] for k in CLUSTER_OPTIONS}
    result = analyze_attention(
        ex.attentions, ex.tokens, text=text, model=ex.model, notices=tuple(notices),
        head_data=ex.head_data, model_sinks=sinks, **cluster_options,
    )
    report("done", 1.0)
    return result


def analyze_attention(
    attentions: Any,
    tokens: Sequence[Any],
    *,
    text: str = "",
    model: str | None = None,
    notices: Sequence[str] = (),
    head_data: Any = None,
    model_sinks: Sequence[int] = (),
    **options: Unpack[ClusterOptions],
) -> Analysis:
    """Cluster tokens from attention the caller already has.

    As :func:`attn_widget.graph.pipeline.analyze_attention` (every option is
    documented there), with named lenses (``lens="content"``,
    ``"coreference"``, …, a function of the head roles) resolved to heads first.
    """
    check_names(options, CLUSTER_OPTIONS, "analyze_attention()")
    lens = options.get("lens", DEFAULTS["lens"])
    lens_heads: tuple[tuple[int, int], ...] | None = None
    said: tuple[str, ...] = ()
    if _streamed.named(lens):
        att = as_attention(attentions)
        measure = options.get("measure", DEFAULTS["measure"])
        lens_heads, said = _lenses.resolve(lens, att, as_tokens(tokens, att.shape[-1]), model, measure)
        attentions = att
        if lens_heads is None:
            options["lens"] = "all"
    return _pipeline.analyze_attention(
        attentions, tokens, text=text, model=model, notices=(*notices, *said), head_data=head_data,
        lens_heads=lens_heads, model_sinks=model_sinks, **options,
    )


def recluster(analysis: Any, **changes: Unpack[ClusterOptions]) -> Any:
    """Recompute clusters with changed options, reusing the attention (no forward pass).

    As :func:`attn_widget.graph.recluster.recluster`, with named lenses resolved to heads first.
    A :class:`Generation` is re-clustered at every step (a named lens resolved once, on the
    whole text; a numeric threshold kept inside each step's range) and its clusters followed
    again; a :class:`Comparison` or :class:`Ablation` on both sides, then compared again.
    """
    check_names(changes, CLUSTER_OPTIONS, "recluster()")
    if isinstance(analysis, Analysis) and analysis.options.pair is not None:
        check_pair_options(dict(changes), str(analysis.model))
    if not isinstance(analysis, Analysis):
        return _runs.recluster_result(analysis, dict(changes), recluster)
    measure = changes.get("measure", analysis.options.measure)
    lens = _lensed.lens_under(analysis, changes.get("lens"), measure)
    if lens is not None:
        changes["lens"] = lens
    if _streamed.named(lens) and (lens != analysis.options.lens or measure != analysis.options.measure):
        heads, said = _lensed.lens_heads(analysis, changes)
        if heads is None:
            changes["lens"] = "all"
        result = _recluster.recluster(analysis, lens_heads=heads, **changes)
        return _with_notices(result, said)
    if _streamed.named(lens):  # the same named lens under the same measure: its heads are already resolved
        del changes["lens"]
    return _recluster.recluster(analysis, **changes)


def links(
    analysis: Analysis, token: int, k: int = 3, lens: Any = None, measure: str | None = None
) -> tuple[Link, ...]:
    """The ``k`` strongest links of token ``token``: see :meth:`Analysis.links`.

    ``lens`` / ``measure`` (``None``: the analysis's own) are applied to the kept
    raw attention and per-head data, with the analysis's aggregation and
    left-out tokens; no forward pass runs.
    """
    n = len(analysis.tokens)
    if isinstance(token, bool) or not isinstance(token, int) or not -n <= token < n:
        raise ValueError(f"token={token!r} is not a token index of this text (0..{n - 1})")
    token %= n
    if token in analysis.excluded:
        raise ValueError(
            f"token {token} ({analysis.tokens[token].text!r}) is left out of the graph (a sink) and has no "
            "links; pass exclude=[] to analyze() to keep it"
        )
    weights = weights_under(analysis, lens=lens, measure=measure)
    found = _weights.strongest_links(weights, token, k, analysis.excluded)
    return tuple(Link(j, analysis.tokens[j].text, w, d) for j, w, d in found)


def rerun(
    analysis: Analysis, *, keep: str = "auto", progress: Any = None, max_memory: Any = None, **changes: Any
) -> Analysis:
    """Run the analysis's model again on its tokens, with ``changes`` to its options.

    What :func:`recluster` cannot do without the per-head attention (another
    aggregation, measure or lens of a streamed analysis, :class:`DroppedData`)
    this does, at the cost of a forward pass (two for a role lens the first
    time). The text, tokens and model are the analysis's; every option not in
    ``changes`` stays as it was (an automatic threshold stays automatic).

    Parameters
    ----------
    analysis
        An analysis made by :func:`analyze` (it names its model and keeps its token ids).
    keep
        As for :func:`analyze`: ``"auto"`` streams a long text again.
    progress
        ``progress(stage, fraction)``, as for :func:`analyze`.
    max_memory
        As for :func:`analyze`: the streamed pass's memory budget (bytes or ``"2GB"``).
    **changes
        :class:`~attn_widget.core.options.ClusterOptions` to change.
    """
    check_names(changes, CLUSTER_OPTIONS, "rerun()")
    _pairs.refuse_pair(analysis, "rerun()")
    if analysis.options.zoom is not None:
        raise ValueError(
            "rerun() runs the model on the whole text, and this analysis is zoomed into part of it; rerun "
            "the analysis you zoomed from, then zoom again"
        )
    o = {**DEFAULTS, **_streamed.options_of(analysis), **changes, "keep": keep, "progress": progress}
    o["max_memory"] = max_memory
    check_choices(o)
    prep = _streamed.prepared_again(analysis)
    sinks = analysis.options.model_sinks
    if resolve_keep(keep, prep.model.config, len(prep.ids), max_memory=max_memory) == "summary":
        return _streamed.analyze_streamed(prep, o, roles=report_from(analysis.head_data), model_sinks=sinks)
    ex = run(prep, progress=progress, gradient=o["measure"] == "gradient")
    return analyze_attention(
        ex.attentions, ex.tokens, text=ex.text, model=ex.model, notices=prep.notices, head_data=ex.head_data,
        model_sinks=sinks, **{k: o[k] for k in CLUSTER_OPTIONS},
    )


def _with_notices(analysis: Analysis, notices: Sequence[str]) -> Analysis:
    fresh = tuple(n for n in notices if n not in analysis.notices)
    return dataclasses.replace(analysis, notices=(*analysis.notices, *fresh)) if fresh else analysis


def analyze_generation(
    prompt: str,
    model: Any = DEFAULT_MODEL,
    tokenizer: Any = None,
    max_new_tokens: int = 20,
    **options: Unpack[GenerationOptions],
) -> Generation:
    """Let ``model`` continue ``prompt`` and cluster the text after every generated token.

    Parameters
    ----------
    prompt
        Non-empty text for the model to continue (with ``chat=True``: a user message).
    model, tokenizer
        As for :func:`analyze`; a causal language model, or an encoder–decoder model
        (T5, BART, Marian: ``prompt`` is then the source, and the steps are the target
        it writes by greedy search, each step one graph over the source and the target so
        far, as :func:`analyze` makes with ``target=``; sampling and ``chat`` are refused).
    max_new_tokens
        Most tokens to generate (fewer when the model ends its text).
    **options
        How tokens are chosen (:class:`~attn_widget.core.options.GenerateOptions`):
        ``sample`` (default False: greedy; True: sampled with ``seed``, which also
        seeds the clustering), ``temperature``, ``top_k``, ``top_p`` (as
        ``model.generate`` takes them; default the model's generation config,
        else ``generate``'s own), ``chat`` (apply the tokenizer's chat template;
        its tokens are read by the model but not shown, and left out of the
        graph with the sinks); ``prepend_bos`` (default ``None``: the prompt as
        the tokenizer encodes it, what ``model.generate(tokenizer(prompt).input_ids)``
        sees; ``True`` puts a BOS token before it, with a notice saying so),
        ``progress`` as for :func:`analyze`; and the clustering options, applied to
        every step at one threshold (``"auto"``: chosen once, on the final text)
        (``unit="token"`` only: a word can grow over several steps; cluster the
        whole text by words with ``generation.analysis.recluster(unit="word")``).

    Returns
    -------
    Generation
        ``.steps[k]``: the analysis of the prompt and the tokens up to the
        ``k``-th generated one, the chosen token's probability and its top-5
        alternatives; ``.tracks`` / ``.events``: clusters followed across steps.
        The model runs once on the prompt and once per token with its key/value
        cache (:mod:`attn_widget.extract.generate`): each step adds one row of attention.
    """
    allowed = GENERATION_OPTIONS - {"overlength", "exclude_sink", "target"}
    check_names(options, allowed, "analyze_generation()")
    o: dict[str, Any] = {**DEFAULTS, **GENERATE_DEFAULTS, **options}
    check_choices(o)
    if _pairs.reads_pair(model, tokenizer):  # T5, BART, Marian: the prompt is the source, steps the target's
        return _pairs.generation(prompt, model, tokenizer, max_new_tokens, o, reporter(o["progress"]))
    return _runs.generation(prompt, model, tokenizer, max_new_tokens, o, reporter(o["progress"]))


def compare(a: Analysis | str, b: Analysis | str, **options: Any) -> Comparison:
    """Compare two analyses: two texts on one model, or one text on two models.

    Parameters
    ----------
    a, b
        Analyses (or texts, analysed with ``**options`` as by :func:`analyze`).

    Returns
    -------
    Comparison
        Tokens aligned by character offsets (by word when the tokenizers differ),
        clusters matched (``.matching``: which split, merged, appeared or
        vanished), ``.modularity_change``, the units that changed cluster mates
        (``.moved``) and those whose links changed most (``.changed``);
        ``.identical`` when nothing differs. See :mod:`attn_widget.graph.compare`.
    """
    if options and not (isinstance(a, str) or isinstance(b, str)):
        raise TypeError(
            f"compare() takes options {sorted(options)} only with texts to analyse, not two analyses"
        )
    sides = [analyze(x, **options) if isinstance(x, str) else x for x in (a, b)]
    for name, x in zip("ab", sides, strict=True):
        if not isinstance(x, Analysis):
            raise TypeError(f"compare() takes two Analysis objects (or texts); {name} is {type(x).__name__}")
    return _compare.compare(sides[0], sides[1])


def ablate(
    analysis: Analysis, tokens: Any = (), heads: Any = (), edges: Any = (), *, position: int | None = None,
    model: Any = None, tokenizer: Any = None,
) -> Ablation:
    """Rerun the model of ``analysis`` with attention knocked out, and re-cluster: :meth:`Analysis.ablate`.

    Parameters
    ----------
    analysis
        An analysis made from a model (its tokens carry ids, its ``model`` names it).
    tokens
        Token indices nobody else may attend to (every edge to them removed, in every layer and head).
    heads
        ``(layer, head)`` pairs whose outputs are zeroed.
    edges
        ``(query, key)`` pairs removed in every layer and head.
    position
        Token whose next-token prediction is compared (default: the last).
    model, tokenizer
        The model, when ``analysis.model`` cannot be loaded by name.

    Returns
    -------
    Ablation
        The re-clustered analysis of the rerun (same options; the groups pinned
        in a hand-edited partition pinned again), the prediction
        change (top-5 before and after, the probability of the token predicted
        before, Jensen-Shannon divergence; ``None`` for an encoder) and the
        clusters before and after compared (:func:`compare`). With nothing
        knocked out, ``after == before`` exactly.
    """
    _pairs.refuse_pair(analysis, "ablate()")
    return _runs.rerun(analysis, tokens, heads, edges, position, model, tokenizer)
