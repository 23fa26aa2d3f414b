"""What the next word depends on: the model's prediction, and the earlier word whose knockout moves it most.

For a causal model the first screen says what comes next and which earlier word
it rests on (:func:`prediction_evidence`). The candidates are the earlier words
the last word attends to most in the analysis's own graph (its row of
:attr:`Analysis.weights <attn_widget.core.Analysis.weights>`; sinks, special
tokens and punctuation left out): every earlier word of a short text (while the
candidates times the text stay within :data:`BATCH_TOKENS` tokens), at least
:data:`CANDIDATES` of a long one. Each is knocked out (every edge to its pieces removed, in every
layer and head, as :func:`attn_widget.ablate` does) and the word whose knockout
lowers the predicted token's probability the most is the one named
(:func:`attn_widget.explain.findings.rests_on`). One pass of the model's body
keeps every position's keys and values, and each knockout reruns only the
positions from its word on (:func:`attn_widget.extract.ablation.next_token_probs`;
no attention kept).

A prediction that is not a word (a space, a line break, punctuation) gets no
such evidence; nor do texts over :data:`MAX_TOKENS` model tokens (a model whose
cache cannot be cut runs every candidate in one batch over the whole text); nor do encoders, encoder–decoder
pairs, zoomed views and analyses made from attention arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Analysis
from ..core.units import word_label
from ..explain.findings import rests_on
from ..extract import ablation as _ablation
from ..extract.lens import LensModel
from ..extract.loading import is_causal_config, load
from ..extract.tokens import piece_texts

CANDIDATES = 3
"""Earlier words knocked out at least: those the last word attends to most."""
BATCH_TOKENS = 2048
"""More candidates while their number times the text's length stays within this many tokens (every
earlier word of a sentence: a short text's answer may rest on a word few heads look at)."""
MAX_TOKENS = 1024
"""Longest text (model tokens) whose prediction is explained."""


def candidates(analysis: Analysis, k: int) -> list[int]:
    """The ``k`` earlier nodes the last node attends to most (kept, not special, with a letter or digit)."""
    last = len(analysis.tokens) - 1
    left_out = set(analysis.excluded)
    row = np.asarray(analysis.weights[last], dtype=float)
    tokens = analysis.tokens
    usable = [
        u for u in range(last)
        if u not in left_out and not tokens[u].special and any(c.isalnum() for c in tokens[u].text)
    ]  # fmt: skip
    return sorted(usable, key=lambda u: (-row[u], u))[:k]


def prediction_evidence(
    analysis: Analysis, model: Any = None, tokenizer: Any = None
) -> dict[str, Any] | None:
    """The next-token prediction and the knockouts of :func:`candidates`, as a finding's evidence.

    Returns ``None`` where it does not apply (module docstring; the pass is run to know
    whether the prediction is a word). Otherwise a dict:
    ``token`` (the predicted token's text), ``probability``, ``position`` (the
    model token it follows), ``candidates`` (for each knocked-out node: ``node``,
    ``text``, ``after`` — the predicted token's probability without it — and
    ``instead``, the first choice then), ``last`` (the node predicted after) and
    ``node``, ``text``, ``after`` of the candidate whose knockout lowers it most.
    """
    if analysis.source_length is not None or analysis.options.zoom is not None or not analysis.tokens:
        return None
    ids = [t.id for t in analysis.model_tokens]
    if any(i is None for i in ids) or len(ids) > MAX_TOKENS or not (analysis.model or model is not None):
        return None
    net, tok = (model, tokenizer) if model is not None else load(str(analysis.model))
    if isinstance(net, LensModel) or not is_causal_config(net.config) or tok is None:
        return None
    chosen = candidates(analysis, max(CANDIDATES, BATCH_TOKENS // len(ids) - 1))
    if not chosen:
        return None
    units = analysis.units
    knockouts = [units.pieces([u]).tolist() for u in chosen]
    probs = _ablation.next_token_probs(net, [int(i) for i in ids if i is not None], knockouts)
    token = int(np.argmax(probs[0]))
    texts = piece_texts(tok)([token, *(int(np.argmax(p)) for p in probs[1:])])
    if not any(c.isalnum() for c in texts[0]):
        return None  # a space, a line break, punctuation: not a next word
    words = [word_label(analysis.tokens[u].text) for u in chosen]
    tried = [
        {"node": u, "text": word, "after": float(p[token]), "instead": instead}
        for u, word, p, instead in zip(chosen, words, probs[1:], texts[1:], strict=True)
    ]
    best = rests_on(tried)
    return {
        "token": texts[0], "probability": float(probs[0][token]), "position": len(ids) - 1,
        "last": len(analysis.tokens) - 1,
        "candidates": tried, "node": best["node"], "text": best["text"], "after": best["after"],
    }  # fmt: skip
