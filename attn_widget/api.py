"""The library's entry points: text or attention in, a frozen :class:`Analysis` out.

Joins the layers below it: :mod:`attn_widget.extract` turns text into
attention, :mod:`attn_widget.graph` turns attention into clusters and
:mod:`attn_widget.explain` explains them. The widget (:mod:`attn_widget.view`)
calls these functions and nothing below them that computes an analysis.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from .core import Analysis
from .core.options import ANALYZE_OPTIONS, DEFAULT_MODEL, DEFAULTS, AnalyzeOptions, check_names
from .explain.rationale import explain
from .extract.forward import extract, reporter
from .graph.pipeline import analyze_attention, check_choices, recluster

__all__ = ["analyze", "analyze_attention", "explain", "recluster"]

SHORT_TEXT_NOTICE = "The text is too short to leave out the attention sink; all tokens are clustered."


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
        (then pass ``tokenizer``, the tokenizer object or name). Defaults to GPT-2 small; when it was not
        named and cannot be loaded (no network, no cache), SmolLM2-135M-Instruct
        is used if installed, with a notice in ``Analysis.notices``. A model you
        name never falls back.
    **options
        The :class:`~attn_widget.core.options.AnalyzeOptions`: the model options
        ``prepend_bos``, ``overlength`` (as for
        :func:`attn_widget.extract.forward.extract`), ``exclude_sink`` (leave the
        attention sink out of the graph and renormalise rows, default True) and
        ``progress`` (``progress(stage, fraction)`` told each stage as it starts:
        "loading model NAME…" (0.0), "running the model on N tokens…" (0.3),
        "clustering…" (0.7), then "done" (1.0)); and the clustering options
        ``threshold``, ``method``, ``aggregation``, ``seed``, ``threshold_mode``,
        ``layers``, ``heads``, ``exclude`` (extra token indices to leave out), as
        for :func:`attn_widget.analyze_attention`.

    Returns
    -------
    Analysis
        With ``model`` set to the model's name and ``notices`` (fallback, truncation).
    """
    check_names(options, ANALYZE_OPTIONS, "analyze()")
    o: dict[str, Any] = {**DEFAULTS, **options, "tokenizer": tokenizer}
    check_choices(o)  # before the (possibly slow) forward pass
    report = reporter(o["progress"])
    ex = extract(
        text, model, o["tokenizer"], prepend_bos=o["prepend_bos"], overlength=o["overlength"],
        progress=o["progress"],
    )
    n = len(ex.tokens)
    exclude = {int(i) % n if -n <= int(i) < n else int(i) for i in o["exclude"]}
    notices = list(ex.notices)
    if o["exclude_sink"]:
        if len(exclude | set(ex.sink)) < n:
            exclude |= set(ex.sink)
        else:
            notices.append(SHORT_TEXT_NOTICE)
    report("clustering…", 0.7)
    cluster_options = {k: o[k] for k in ("threshold", "threshold_mode", "method", "aggregation", "seed",
                                          "layers", "heads")}
    result = analyze_attention(
        ex.attentions, ex.tokens, text=text, model=ex.model,
        notices=tuple(notices), exclude=sorted(exclude), **cluster_options,
    )
    report("done", 1.0)
    return result
