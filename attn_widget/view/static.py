"""A static copy of the widget in its output, for notebooks read without a kernel or network.

A widget's output carries the live view's mimetype (JupyterLab, Notebook 7 and
VS Code draw the widget from it) and, beside it, :func:`summary` as ``text/plain``
(terminals, ``print``) and :func:`static_html` as ``text/html``: the text with each
cluster highlighted and the legend with each cluster's headline or its words, in
plain HTML with inline styles, no script and nothing from the network. That is
what ``jupyter nbconvert --to html`` shows of a notebook saved without widget state
(JupyterLab's default), and what GitHub, nbviewer and untrusted notebooks can show.
The interactive exported page (:mod:`attn_widget.view.standalone`) is not inlined:
it carries the whole front-end (some 100 kB) in every output; ``w.save_html(path)``
writes it. The copy is of the analysis on screen when the output was made; a text
still being analysed then says so (display the widget again once it has finished).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..core import Analysis
from .figures import FILL_ALPHA, _legend, _pieces, colours

MAX_PIECES = 4000
"""Longer texts are cut in the static copy (the live widget shows them whole)."""
MAX_LINES = 12
"""Clusters listed in the plain-text summary (the rest are counted)."""

_BOX = "font:14px/1.7 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60em;margin:4px 0"
_NOTE = "opacity:.7;font-size:12px;margin:4px 0"


def _cluster_lines(analysis: Analysis) -> list[tuple[int, str, str]]:
    """``(id, colour, "cluster 3 (4): the words — its headline")`` for clusters of 2+ tokens."""
    headlines = {c.id: c.headline for c in analysis.clusters if c.headline}
    rows = []
    for cid, colour, _pattern, words in _legend(analysis, analysis.labels):
        headline = headlines.get(cid)
        rows.append((cid, colour, f"{words} — {headline}" if headline else words))
    return rows


def _title(analysis: Analysis) -> str:
    n = len(analysis.tokens)
    big = sum(1 for c in analysis.clusters if c.size > 1)
    model = f", model {analysis.model!r}" if analysis.model else ""
    mode = analysis.options.threshold_mode
    return (
        f"{n} {analysis.options.unit}{'s' if n != 1 else ''}{model}, "
        f"{big} cluster{'s' if big != 1 else ''} of 2+ (threshold {analysis.threshold:.4g}, {mode})"
    )


def summary(analysis: Analysis | None, waiting: str = "") -> str:
    """The plain-text fallback: the model, the number of clusters and one line per cluster."""
    if analysis is None:
        return f"AttentionExplainer: {waiting or 'no analysis yet'}"
    rows = _cluster_lines(analysis)
    lines = [f"AttentionExplainer: {_title(analysis)}"] + [f"  {text}" for _, _, text in rows[:MAX_LINES]]
    if len(rows) > MAX_LINES:
        lines.append(f"  … and {len(rows) - MAX_LINES} more clusters")
    return "\n".join(lines)


def _alpha(colour: str) -> str:
    return f"{colour}{round(FILL_ALPHA * 255):02x}"


def static_html(analysis: Analysis | None, waiting: str = "") -> str:
    """The static copy as an HTML fragment (escaped token text, inline styles, no script)."""
    esc = html.escape
    if analysis is None:
        return f'<div style="{_BOX}">{esc(summary(None, waiting))}</div>'
    labels = np.asarray(analysis.labels)
    cmap = colours(labels)
    runs: list[tuple[str, int | None, str]] = []  # neighbouring pieces of one cluster drawn as one span
    pieces = _pieces(analysis)
    for kind, index, text in pieces[:MAX_PIECES]:
        label = int(labels[index]) if index >= 0 else None
        if runs and kind == "token" and runs[-1][0] == "token" and runs[-1][1] == label and label in cmap:
            runs[-1] = (kind, label, runs[-1][2] + text)
        else:
            runs.append((kind, label, text))
    spans = []
    for kind, label, text in runs:
        if kind == "gap":
            spans.append(esc(text))
            continue
        style = "border:1px dotted #888;padding:0 2px;" if kind == "chip" or label == -1 else ""
        if label in cmap:
            colour = cmap[label][0]
            style += f"background:{_alpha(colour)};border-bottom:2px solid {colour};"
        title = "left out" if label == -1 else f"cluster {label}"
        spans.append(f'<span data-cluster="{label}" title="{title}" style="{style}">{esc(text)}</span>')
    if len(pieces) > MAX_PIECES:
        spans.append(f" … ({len(pieces) - MAX_PIECES} more pieces in the live widget)")
    legend = "".join(
        f'<li data-cluster="{cid}"><span style="display:inline-block;width:.9em;height:.9em;'
        f'margin-right:.4em;vertical-align:-1px;background:{_alpha(colour)};border:1px solid {colour}">'
        f"</span>{esc(text)}</li>"
        for cid, colour, text in _cluster_lines(analysis)
    )
    return (
        f'<div class="attn-widget-static" style="{_BOX}">'
        f'<div style="font-weight:600">attn_widget: {esc(_title(analysis))}</div>'
        f'<p dir="auto" style="white-space:pre-wrap;overflow-wrap:anywhere;margin:6px 0">{"".join(spans)}</p>'
        f'<ul style="list-style:none;padding:0;margin:4px 0">{legend}</ul>'
        f'<p style="{_NOTE}">A static copy of the widget. Run the cell for the live view; '
        "w.save_html(path) writes an interactive page that works offline.</p></div>"
    )


class StaticFallback:
    """Mixin for the widget: its output bundle keeps the live view and adds the static copy."""

    analysis: Analysis | None
    progress: str
    error: str

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        waiting = self.error or (
            f"the analysis was still running when this output was made ({self.progress or 'loading'}); "
            "display the widget again once it has finished to keep a static copy"
        )
        plain, page = summary(self.analysis, waiting), static_html(self.analysis, waiting)
        return {**data, "text/plain": plain, "text/html": page}, metadata
