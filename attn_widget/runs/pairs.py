"""An encoder–decoder model on a source and a target: one graph over both texts.

:func:`analyze_pair` is what :func:`attn_widget.analyze` does for a T5, BART or
Marian model (``analyze(source, model=..., target=...)``): the extract layer
(:mod:`attn_widget.extract.seq2seq`) tokenizes the two texts (or lets the model
write the target) and runs one pass; the joint ``[layer, head, S + T, S + T]``
attention (source rows: encoder self-attention; target rows: half decoder
self-attention, half cross-attention) is clustered as one graph, so a cluster can
hold source and target words. The analysis's text is ``source + SEPARATOR +
target``; ``options.pair`` records where the source ends
(:attr:`attn_widget.core.Analysis.source_length`, ``.source_text``, ``.target_text``).
The raw attention kept is the joint one: its blocks are the three kinds
(``attentions[..., :S, :S]`` the encoder's, ``2 * attentions[..., S:, :S]`` the
cross-attention, ``2 * attentions[..., S:, S:]`` the decoder's, for ``S`` source tokens).

:func:`generation` is :func:`attn_widget.analyze_generation` for these models: the model
writes its target greedily, and step ``k`` is the analysis of the source and the target's
first ``k`` tokens, the leading block of the one pass's joint attention (the encoder never
reads the target and the decoder reads no later token, so the block is exactly what the
model computed when it wrote token ``k``), with the probability and top alternatives the
same pass gives at that position (the model's own softmax, as for a causal model; rules
``generate`` applies, such as BART's forced first token, can pick a token it ranks low).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..core import Analysis, Generation
from ..core.options import CLUSTER_OPTIONS, DEFAULT_MODEL
from ..extract import loading
from ..extract.forward import reporter
from ..extract.generate import eos_ids, sampling
from ..extract.seq2seq import OWN_TARGET, check_pair_options, is_encoder_decoder, prepare_pair, run_pair
from ..graph import pipeline as _pipeline
from ..graph import steps as _steps
from ..heads import lenses as _lenses
from .streamed import named, own_sinks


def analyze_pair(source: str, target: str | None, model: Any, tokenizer: Any, o: dict[str, Any]) -> Analysis:
    """``analyze`` of an encoder–decoder model.

    ``o`` holds every option (:data:`attn_widget.core.options.DEFAULTS` filled in).
    """
    report = reporter(o["progress"])
    report(f"loading model {model if isinstance(model, str) else type(model).__name__}…", 0.0)
    prep = prepare_pair(source, target, model, tokenizer, overlength=o["overlength"], report=report)
    check_pair_options(o, prep.name)
    report(f"running the model on {prep.source_tokens} source and {len(prep.target_ids)} target tokens…", 0.3)
    joint, _ = run_pair(prep)
    notices = list(prep.notices)
    sinks = own_sinks(prep.sink, len(prep.tokens), o["exclude_sink"], notices)
    report("clustering…", 0.7)
    cluster, heads = {k: o[k] for k in CLUSTER_OPTIONS}, None
    if named(o["lens"]):  # role lenses and layer bands, read off the pair's own attention
        heads, said = _lenses.resolve(o["lens"], joint, prep.tokens, prep.name, o["measure"])
        notices.extend(said)
        cluster["lens"] = o["lens"] if heads is not None else "all"
    result = _pipeline.analyze_attention(
        joint, prep.tokens, text=prep.text, model=prep.name, notices=tuple(notices), lens_heads=heads,
        model_sinks=sinks, **cluster,
    )  # fmt: skip
    report("done", 1.0)
    pair = (prep.source_tokens, prep.source_chars)
    return dataclasses.replace(result, options=dataclasses.replace(result.options, pair=pair))


def reads_pair(model: Any, tokenizer: Any) -> bool:
    """Whether ``model`` (a name, folder or loaded model) is an encoder–decoder model (loads a name)."""
    if model is DEFAULT_MODEL:
        return False  # GPT-2 (or its fallback): decoder-only, and loaded with its progress line by generate()
    if isinstance(model, str) or hasattr(model, "__fspath__"):
        model = loading.resolve(model, tokenizer)[0]
    return is_encoder_decoder(model)


def generation(
    source: str, model: Any, tokenizer: Any, max_new_tokens: int, o: dict[str, Any], report: Any
) -> Generation:
    """``analyze_generation`` of an encoder–decoder model (see the module docstring); ``o``: every option."""
    for name, why in (
        ("sample", "the model writes its target with greedy search here; sampling is not built for "
         "encoder–decoder models"),
        ("chat", "a chat template is a decoder-only model's prompt format"),
    ):  # fmt: skip
        if o.get(name):
            raise ValueError(f"{name}=True cannot be used with an encoder–decoder model: {why}; leave it out")
    if named(o["lens"]):
        raise ValueError("a named lens is resolved on the final text of a causal generation; for an "
                         "encoder–decoder model pass lens='all' or (layer, head) pairs")  # fmt: skip
    if o["unit"] != "token":
        raise ValueError(f"unit={o['unit']!r}: generation steps are tokens (a word can grow over steps)")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} must be a whole number of at least 1")
    prep = prepare_pair(source, None, model, tokenizer, max_new_tokens=max_new_tokens, report=report)
    check_pair_options(o, prep.name)
    written = len(prep.target_ids)
    report(f"running the model on {prep.source_tokens} source and {written} written tokens…", 0.5)
    joint, found = run_pair(prep, choices=True)
    s = prep.source_tokens
    cluster = {k: o[k] for k in CLUSTER_OPTIONS}
    notices = tuple(n for n in prep.notices if not n.startswith(OWN_TARGET))  # a generation is the own target
    analyses = _steps.step_analyses(
        joint, prep.tokens, prep.text, s + 1, model=prep.name, notices=notices, sinks=prep.sink,
        progress=lambda k, n: report(f"clustering step {k + 1} of {n}…", 0.7 + 0.3 * k / n), **cluster,
    )  # fmt: skip
    pair = (s, prep.source_chars)
    analyses = [dataclasses.replace(a, options=dataclasses.replace(a.options, pair=pair)) for a in analyses]
    stop = "eos" if prep.target_ids[-1] in eos_ids(prep.model, prep.tokenizer) else "length"
    settings = {**sampling(prep.model, False, None, None, None), "seed": int(o["seed"]), "chat": False}
    report("done", 1.0)
    return _steps.build_generation(
        source, prep.text[prep.source_chars + 2 :], analyses, found.choices, prompt_length=s + 1,
        model=prep.name, settings={**settings, "max_new_tokens": max_new_tokens}, stop=stop, notices=notices,
    )  # fmt: skip


def refuse_pair(analysis: Analysis, what: str) -> None:
    """Refuse ``what`` (a rerun, an ablation) on an encoder–decoder analysis, saying why."""
    if analysis.options.pair is not None:
        raise ValueError(
            f"{what} runs the model again on one text, and this analysis reads a source and a target "
            f"through encoder–decoder model {analysis.model!r}; run attn_widget.analyze(source, model=..., "
            "target=...) again with the changed options instead"
        )


def cross_share(analysis: Analysis) -> np.ndarray:
    """``[T_target, S]``: each target node's attention to the source nodes, as shares summing to 1.

    Read off the analysis's graph (under its aggregation, measure and lens); a row with no
    attention to the source is all zeros.
    """
    s = analysis.source_length
    if s is None:
        raise ValueError("this analysis reads one text: it has no cross-attention")
    rows = np.asarray(analysis.weights, dtype=np.float64)[s:, :s].copy()
    rows[:, list(i for i in analysis.excluded if i < s)] = 0.0
    total = rows.sum(axis=1, keepdims=True)
    return np.divide(rows, total, out=np.zeros_like(rows), where=total > 0)
