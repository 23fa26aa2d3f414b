"""The drill-down: BertViz's head or model view of the raw heads, offline and capped.

:func:`render` chooses what to show, drives BertViz (``head_view`` /
``model_view`` with ``html_action='return'``) on that subset of the analysis's
raw attention, and has :mod:`attn_widget.view.bertviz_page` turn its output
into ONE self-contained, offline HTML document. Show it in an iframe with
``sandbox="allow-scripts"`` (``srcdoc``), as :meth:`Drilldown._repr_html_` does.

BertViz embeds every weight as JSON text (~100 MiB for GPT-2 small's 144 heads
at 128 tokens), so the page shows a subset: the chosen tokens plus their
strongest neighbours (``max_tokens``), the layers where those tokens attend to
each other most (``max_layers``), and at most ``max_bytes`` in all.
:attr:`Drilldown.note` says in plain words what was cut. Weights are rounded to
:data:`DIGITS` decimals (invisible in the drawing) and never renormalised: a
row keeps only its weights to the shown tokens, so it can sum to less than 1.
"""

from __future__ import annotations

import html as _html
import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Analysis, Cluster
from ..core.registry import Registry
from ..graph.topk import has_top, inside_mass, sub_attention
from . import bertviz_page
from .bertviz_page import DISPLAY_MODES, document, room, vendor, visible, with_note

DIGITS = 4
"""Decimals kept per attention weight in the page."""

MIN_TOKENS = 2

@dataclass(frozen=True)
class Drilldown:
    """An offline BertViz page for part of an analysis (see :func:`render`).

    Attributes
    ----------
    html
        One complete HTML document; loads nothing from the network. It tells its
        parent frame its height; the note is shown beside it (:meth:`save` puts it in).
    capped
        True when it shows less than the whole attention (tokens, layers or heads).
    note
        What is shown and what was cut, in plain words, for the user to read.
    tokens, layers, heads
        Token indices (sequence order), layer indices and head indices shown.
    view
        ``"head"`` or ``"model"``.
    nbytes
        Size of ``html`` in UTF-8 bytes.
    display_mode
        ``"light"`` or ``"dark"``: the colours it was drawn in.
    """

    html: str
    capped: bool
    note: str
    tokens: tuple[int, ...]
    layers: tuple[int, ...]
    heads: tuple[int, ...]
    view: str
    nbytes: int
    display_mode: str = "light"

    def save(self, path: str | Path) -> Path:
        """Write :attr:`html`, :attr:`note` above the drawing, to ``path`` (opens offline in any browser)."""
        path = Path(path)
        path.write_text(with_note(self.html, self.note), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        height = 120 + 23 * len(self.tokens) if self.view == "head" else 640
        return (
            f'<p>{_html.escape(self.note)}</p><iframe sandbox="allow-scripts" '
            f'style="width:100%;height:{height}px;border:0" srcdoc="{_html.escape(self.html)}"></iframe>'
        )


VIEWS: Registry = Registry("drill-down view")
"""BertViz views by name: ``head`` (one layer at a time, all its heads) and ``model`` (layers × heads)."""


def _layer_list(att: np.ndarray, layers: Sequence[int]) -> list[Any]:
    """The per-layer ``[1, head, T, T]`` tensors BertViz takes; unshown layers are empty, so
    BertViz labels the shown ones with their true index without copying the rest."""
    torch = _torch()
    empty = torch.empty((1, att.shape[1], 0, 0), dtype=torch.float64)
    out = [empty] * att.shape[0]
    for layer in layers:
        out[layer] = torch.from_numpy(np.round(att[layer].astype(np.float64), DIGITS))[None]
    return out


@VIEWS.register("head")
def head(att: np.ndarray, texts: list[str], layers: Sequence[int], heads: Sequence[int], first: int,
         display_mode: str = "light") -> str:
    """BertViz ``head_view``: all heads of each shown layer; ``heads`` are the ones ticked at first.

    ``display_mode`` is passed on when this BertViz's ``head_view`` takes it (1.4 does not; the
    page's colours, :data:`DISPLAY_MODES`, then do the job)."""
    from bertviz import head_view

    every = len(heads) == att.shape[1]
    takes_mode = "display_mode" in inspect.signature(head_view).parameters
    extra = {"display_mode": display_mode} if takes_mode else {}
    page = head_view(
        _layer_list(att, layers), texts, prettify_tokens=False, layer=first,
        heads=None if every else list(heads), include_layers=list(layers), html_action="return", **extra,
    )
    return str(page.data)


@VIEWS.register("model")
def model(att: np.ndarray, texts: list[str], layers: Sequence[int], heads: Sequence[int], first: int,
          display_mode: str = "light") -> str:
    """BertViz ``model_view``: a thumbnail per shown layer × head, in ``display_mode`` colours."""
    from bertviz import model_view

    page = model_view(
        _layer_list(att, layers), texts, prettify_tokens=False, display_mode=display_mode,
        include_layers=list(layers), include_heads=list(heads), html_action="return",
    )
    return str(page.data)


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        raise ImportError("the drill-down needs torch for BertViz: pip install torch==2.13.0") from None
    return torch


def render(
    analysis: Analysis,
    *,
    tokens: Sequence[int] | Cluster | None = None,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    view: str = "head",
    display_mode: str = "light",
    max_tokens: int = 48,
    max_layers: int = 4,
    max_bytes: int = 4 * 2**20,
) -> Drilldown:
    """Render an offline BertViz page for part of ``analysis``'s raw attention.

    Parameters
    ----------
    analysis
        An analysis that kept its raw attention (``analysis.attentions``).
    tokens
        Token indices (or a :class:`~attn_widget.Cluster`) to centre on;
        they are shown with their strongest neighbours (attention both ways in
        the shown heads) up to ``max_tokens``, in sequence order. ``None``: the
        largest cluster and its neighbours.
    layers
        Layers to choose from (default all); the ``max_layers`` where the
        centre tokens attend to each other most are shown.
    heads
        Head indices within a layer. The model view draws only these; the head
        view keeps every head of a layer and ticks these at first.
    view
        ``"head"`` or ``"model"`` (a key of :data:`VIEWS`).
    display_mode
        ``"light"`` (default) or ``"dark"``: the page's colours, for BertViz's
        drawing and the page around it (match the notebook's theme).
    max_tokens, max_layers, max_bytes
        Caps. Layers, then tokens, are cut further until the page fits ``max_bytes``.

    Returns
    -------
    Drilldown
        The page, what it shows, and a note saying what was cut.
    """
    draw = VIEWS[view]
    if display_mode not in DISPLAY_MODES:
        raise ValueError(f"display_mode={display_mode!r}: choose one of {sorted(DISPLAY_MODES)}")
    source = _Heads(analysis)
    n_layers, n_heads, n = source.shape
    if int(max_tokens) < MIN_TOKENS or int(max_layers) < 1:
        raise ValueError(
            f"max_tokens={max_tokens}, max_layers={max_layers}: need max_tokens >= 2 and max_layers >= 1"
        )
    head_ids = _indices(heads, n_heads, "heads", f"{n_heads} heads per layer")
    layer_ids = _indices(layers, n_layers, "layers", f"{n_layers} layers")
    centre, what = _centre(analysis, tokens, len(analysis.tokens))
    centre = analysis.units.pieces(centre).tolist()  # words and sentences are drawn token by token
    order = _rank_tokens(source.mean(layer_ids, head_ids), centre)
    judged = [i for i in centre if i not in analysis.options.exclude]
    by_layer = source.rank_layers(layer_ids, head_ids, judged)
    k, m = min(int(max_tokens), n), min(int(max_layers), len(by_layer))
    per_weight = len(json.dumps(0.1234)) + 2
    drawn_heads = n_heads if view == "head" else len(head_ids)
    fixed = sum(len(s) for s in vendor(bertviz_page.VENDOR_DIR)) + 40_000
    while fixed + m * drawn_heads * k * k * per_weight > max_bytes and (m > 1 or k > MIN_TOKENS):
        m, k = (m - 1, k) if m > 1 else (m, max(MIN_TOKENS, int(k * 0.9)))
    squeezed = False
    while True:
        shown, shown_layers = tuple(sorted(order[:k])), tuple(sorted(by_layer[:m]))
        note = _note(what, centre, shown, n, shown_layers, n_layers, head_ids, n_heads, view, max_bytes,
                     squeezed or (k, m) != (min(int(max_tokens), n), min(int(max_layers), len(by_layer))))
        if source.att is None:
            note = note[:-1] + f"; from each head's {source.top_k} strongest links per token (streamed text)."
        texts = [visible(analysis.model_tokens[i].text) for i in shown]
        sub = source.sub(shown)
        drawn = draw(sub, texts, shown_layers, head_ids, by_layer[0], display_mode=display_mode)
        page = document(drawn, room(texts), display_mode)
        size = len(page.encode("utf-8"))
        if size <= max_bytes:
            break
        if m == 1 and k == MIN_TOKENS:
            raise ValueError(
                f"max_bytes={max_bytes} is too small: the page needs {size} bytes even for one layer and "
                f"{MIN_TOKENS} tokens (BertViz's scripts alone are ~{fixed - 40_000} bytes); raise max_bytes"
            )
        m, k, squeezed = (m - 1, k, True) if m > 1 else (m, max(MIN_TOKENS, int(k * 0.9)), True)
    capped = len(shown) < n or len(shown_layers) < n_layers or (view == "model" and len(head_ids) < n_heads)
    return Drilldown(page, capped, note, shown, shown_layers, tuple(head_ids), view, size, display_mode)


class _Heads:
    """The per-head attention a drill-down reads: the kept array, or a streamed analysis's strongest links."""

    def __init__(self, analysis: Analysis):
        self.att = None if analysis.attentions is None else np.asarray(analysis.attentions, dtype=np.float32)
        self.data = analysis.head_data
        self.weights = analysis.token_weights
        if self.att is None and not has_top(self.data):
            raise ValueError(
                "this analysis has no raw attention (it was saved as .json, which drops it), so there are no "
                "heads to drill into; re-run analyze(), or save with another suffix (e.g. 'x.attn') to keep "
                "it"
            )
        if self.att is not None:
            self.shape = (int(self.att.shape[0]), int(self.att.shape[1]), int(self.att.shape[2]))
        else:
            top = np.shape(self.data["top_index"])
            self.shape, self.top_k = (int(top[0]), int(top[1]), int(top[2])), int(top[3])

    def mean(self, layer_ids: list[int], head_ids: list[int]) -> np.ndarray:
        """``[T, T]`` attention of the chosen heads, for ranking tokens (a streamed text: its aggregate)."""
        if self.att is not None:
            return self.att[np.ix_(layer_ids, head_ids)].mean(axis=(0, 1), dtype=np.float64)
        return np.asarray(self.weights, dtype=np.float64)

    def rank_layers(self, layers: list[int], head_ids: list[int], centre: list[int]) -> list[int]:
        """Layers by the share of the centre's attention that stays inside it (strongest first)."""
        if len(centre) < 2:
            return layers
        if self.att is not None:
            att = self.att[:, head_ids]
            kept = att[layers][:, :, centre][:, :, :, centre].sum(axis=-1, dtype=np.float64).mean(axis=(1, 2))
        else:
            kept = inside_mass(self.data, centre)[layers][:, head_ids].mean(axis=1)
        return [layers[i] for i in np.argsort(-kept, kind="stable")]

    def sub(self, shown: Sequence[int]) -> np.ndarray:
        """``[layer, head, k, k]`` attention among the ``shown`` tokens."""
        if self.att is not None:
            return self.att[:, :, shown][:, :, :, shown]
        return sub_attention(self.data, shown)


def _indices(chosen: Sequence[int] | None, size: int, name: str, what: str) -> list[int]:
    if chosen is None:
        return list(range(size))
    out = sorted({int(i) for i in chosen})
    bad = [i for i in out if not 0 <= i < size]
    if not out or bad:
        raise ValueError(f"{name}={list(chosen)!r}: give indices in 0..{size - 1} (the model has {what})")
    return out


def _centre(analysis: Analysis, tokens: Sequence[int] | Cluster | None, n: int) -> tuple[list[int], str]:
    """The tokens to centre on, and how to name them in the note."""
    if isinstance(tokens, Cluster):
        return list(tokens.tokens), f"cluster {tokens.id}"
    if tokens is not None:
        return _indices(tokens, n, "tokens", f"{n} tokens"), "your selection"
    big = [c for c in analysis.clusters if c.size > 1]
    if not big:
        return [i for i in range(n) if i not in analysis.excluded], "the text"
    largest = max(big, key=lambda c: (c.size, -c.id))
    return list(largest.tokens), f"the largest cluster ({largest.id})"


def _rank_tokens(mean: np.ndarray, centre: list[int]) -> list[int]:
    """Centre tokens first (most connected to the rest of the centre first), then the others
    by their attention to and from the centre."""
    both = mean + mean.T
    score = both[:, centre].sum(axis=1)
    inside = set(centre)
    first = sorted(centre, key=lambda i: (-(score[i] - both[i, i]), i))
    rest = sorted((i for i in range(len(mean)) if i not in inside), key=lambda i: (-score[i], i))
    return first + rest


def _span(ids: Sequence[int]) -> str:
    """``[4, 5, 6, 9]`` → ``"4–6, 9"``."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _note(what: str, centre: list[int], shown: tuple[int, ...], n: int, layers: tuple[int, ...],
          n_layers: int, heads: list[int], n_heads: int, view: str, max_bytes: int, squeezed: bool) -> str:
    parts = []
    if len(shown) == n:
        parts.append(f"all {n} tokens")
    else:
        kept = len(set(centre) & set(shown))
        if kept < len(centre):
            parts.append(f"showing {len(shown)} of {n} tokens: {kept} of the {len(centre)} in {what}, "
                         "the most connected ones")
        else:
            parts.append(f"showing {len(shown)} of {n} tokens: {what} and its strongest neighbours")
    plural = "layer" if len(layers) == 1 else "layers"
    why = "" if len(layers) == n_layers else f" (where {what} attends to itself most)"
    parts.append(f"{plural} {_span(layers)} of {n_layers}{why}")
    if len(heads) < n_heads:
        parts.append(f"heads {_span(heads)} of {n_heads}" + (" ticked" if view == "head" else ""))
    text = "; ".join(parts)
    if len(shown) < n:
        text += "; rows keep only their weights to the shown tokens, so they sum to less than 1"
    if squeezed:
        text += f"; cut to stay under {max_bytes / 2**20:.1f} MiB"
    return text[0].upper() + text[1:] + "."
