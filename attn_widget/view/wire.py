"""The widget's view of an :class:`~attn_widget.Analysis`: one versioned state.

:func:`to_state` turns an analysis into a JSON-able dict whose arrays are
``{"dtype", "shape", "data"}`` records with ``data`` a :class:`memoryview`;
ipywidgets sends those as binary buffers (never ``.tolist()``), and
:mod:`attn_widget.view.standalone` base64-encodes them for a standalone page. The
front-end's ``js/src/wire/state.ts`` decodes the same layout; bump
:data:`STATE_VERSION` in both when it changes. A golden state written by
``tests/view/test_golden_state.py`` into ``js/tests/fixtures/state.json`` is
decoded by vitest, so the two sides cannot drift apart unnoticed.

Layout (``T`` tokens, ``G`` sweep grid values, ``K`` links per token)::

    version, text, tokens[T] (readable token text),
    offsets int32 [T, 2] (-1 unknown; UTF-16 code units, see below),
    flags int32 [T] (1 special, 2 excluded), labels int32 [T],
    threshold, threshold_mode, auto, modularity, method, aggregation, measure, lens (a name, or
    "N heads"), lens_heads (heads the lens keeps; null: all), links_lens ("" : the clusters'),
    model, notices, range [lo, hi], n_layers, n_heads,
    unit ("token", "word" or "sentence": what each of the T nodes is), zoomed (the nodes are the
    inside of one cluster of a coarser analysis, :func:`attn_widget.zoom`),
    source_length (an encoder–decoder pair: nodes ``[0, source_length)`` are the source, shown above
    the rest, the decoder's start token and the target; null for one text; may be absent in older states),
    clusters [{id, size, modularity, internal, evidence, claims, rationale, headline, scores}],
    sweep {mode, best, thresholds float64 [G], modularity float32 [G], n_clusters int32 [G],
           contiguity float32 [G] (share of neighbouring tokens in one cluster),
           labels int32 [G, T], facts float32 [N, 4] (grid index, cluster id, modularity, inside share)},
    links {k, out_index int32 [T, K], out_weight float16 [T, K], in_index, in_weight},
    map_key (the graph a token map belongs to), map null | {method, seed, coords float32 [T, 2]},
    partition {edits [{op, text, before, after}], pins [[token, ...]], undo, redo},
    arcs null | [{source, target, weight, kind, confident, lens, measure, confidence, baseline,
                  source_text, target_text}] (:meth:`Analysis.arcs`; null: still being computed),
    findings null | [{kind, text, tokens}] (3–5 plain sentences; null: still being computed)

Offsets on the wire count UTF-16 code units, the unit JavaScript strings are
sliced in (``text.slice(start, end)``), not Python's code points: an emoji or a
mathematical letter (𝔸) is one code point but two units, and every highlight
after it would shift. :func:`utf16_offsets` converts them, once, here; Python
code (figures, exports) keeps reading :class:`~attn_widget.core.Token`'s code
points. Pieces of one character split by byte-level BPE have overlapping
offsets; the front-end highlights that character once for all of them.

The links are the clusters' graph's unless ``to_state(..., link_weights=W, links_lens=name)``
reads them off another lens's graph (the widget's ``links_lens``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core import Analysis
from ..core.cache import LRU
from ..core.serialize import jsonable
from ..core.types import EXCLUDED, Matrix
from ..graph.metrics import community_terms, community_terms_many, contiguity
from ..graph.symmetric import BLOCK_BYTES, Symmetric
from ..graph.threshold import threshold_range
from .messages import ClusterInfo

STATE_VERSION = 7
"""Layout version shared with ``js/src/wire/state.ts``."""

LINKS_PER_TOKEN = 5
"""Strongest incoming and outgoing links sent per token (for hover)."""

FLAG_SPECIAL = 1
FLAG_EXCLUDED = 2

_DTYPES = {"int32", "float32", "float16", "float64", "uint8"}


def wire(array: Any, dtype: str) -> dict[str, Any]:
    """An array as ``{"dtype", "shape", "data": memoryview}`` (C order, little-endian)."""
    if dtype not in _DTYPES:
        raise ValueError(f"dtype {dtype!r} cannot be sent to the front-end; use one of {sorted(_DTYPES)}")
    arr = np.ascontiguousarray(np.asarray(array), dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(arr.shape), "data": memoryview(arr.tobytes())}


def unwire(record: Mapping[str, Any]) -> np.ndarray:
    """Inverse of :func:`wire` (``data`` may be bytes, a memoryview or base64 text)."""
    data = record["data"]
    raw = base64.b64decode(data) if isinstance(data, str) else bytes(data)
    return np.frombuffer(raw, dtype=np.dtype(record["dtype"]).newbyteorder("<")).reshape(record["shape"])


def utf16_offsets(text: str, offsets: np.ndarray) -> np.ndarray:
    """Code-point offsets ``[T, 2]`` into ``text`` as UTF-16 code-unit offsets (-1 stays -1).

    A character above U+FFFF (emoji, 𝔸, rare CJK) takes two UTF-16 units, so
    every offset after one moves by one more unit per such character.
    """
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    units = np.concatenate([[0], np.cumsum(np.where(points > 0xFFFF, 2, 1))]).astype(np.int64)
    out = np.asarray(offsets, dtype=np.int64)
    known = (out >= 0) & (out <= len(text))
    return np.where(known, units[np.clip(out, 0, len(text))], out).astype(np.int32)


def top_links(
    weights: Matrix, k: int = LINKS_PER_TOKEN
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per token, its ``k`` strongest outgoing (row) and incoming (column) links, self excluded.

    Returns ``out_index, out_weight, in_index, in_weight``, each ``[T, k]``;
    missing links (zero weight) have index -1.
    """
    w = np.asarray(weights)
    n = w.shape[0]
    k = max(1, min(k, max(n - 1, 1)))
    step = max(1, BLOCK_BYTES // (8 * max(n, 1)))  # a block of rows at a time: no T x T copy

    def strongest(rows: Any, a: int) -> tuple[np.ndarray, np.ndarray]:
        m = np.array(rows, dtype=np.float64, copy=True)
        m[np.arange(len(m)), np.arange(a, a + len(m))] = 0.0
        idx = np.argsort(-m, axis=1, kind="stable")[:, :k]
        val = np.take_along_axis(m, idx, axis=1)
        idx = np.where(val > 0, idx, -1)
        return idx.astype(np.int32), np.where(val > 0, val, 0.0)

    out = [strongest(w[a : a + step], a) for a in range(0, n, step)]
    into = [strongest(w[:, a : a + step].T, a) for a in range(0, n, step)]
    if not out:
        return tuple(np.zeros((0, k), dtype=d) for d in (np.int32, np.float64) * 2)  # type: ignore[return-value]
    return (
        np.concatenate([i for i, _ in out]),
        np.concatenate([v for _, v in out]),
        np.concatenate([i for i, _ in into]),
        np.concatenate([v for _, v in into]),
    )


def grid_facts(sym: Matrix | Symmetric, labels: np.ndarray) -> np.ndarray:
    """``[N, 4]`` rows ``(grid index, cluster id, modularity, inside share)`` for clusters of 2+ tokens.

    One pass over ``sym`` per grid partition (:func:`attn_widget.graph.metrics.community_terms`), or
    one for all of them when ``sym`` is a :class:`~attn_widget.graph.symmetric.Symmetric`.
    """
    rows: list[np.ndarray] = []
    terms = (
        community_terms_many(sym, labels)
        if isinstance(sym, Symmetric)
        else [community_terms(sym, lab) for lab in labels]
    )
    for g, (lab, (ids, inside, degree)) in enumerate(zip(labels, terms, strict=True)):
        sizes = np.bincount(np.searchsorted(ids, lab[lab != EXCLUDED]), minlength=ids.size)
        two_m = float(degree.sum())
        q = inside / two_m - (degree / two_m) ** 2 if two_m > 0 else np.zeros(ids.size)
        share = np.divide(inside, degree, out=np.zeros(ids.size), where=degree > 0)
        big = sizes > 1
        rows.append(np.column_stack([np.full(big.sum(), g), ids[big], q[big], share[big]]))
    return np.concatenate(rows).astype(np.float32).reshape(-1, 4) if rows else np.zeros((0, 4), np.float32)


def cluster_info(c: Any) -> ClusterInfo:
    """One cluster as the view reads it (the layout of ``state["clusters"]`` items)."""
    return {
        "id": c.id,
        "size": c.size,
        "modularity": c.modularity,
        "internal": c.internal,
        "evidence": jsonable(c.evidence),
        "claims": jsonable(c.claims),
        "rationale": c.rationale,
        "headline": c.headline,
        "scores": jsonable(c.scores),
    }


def map_key(a: Analysis) -> str:
    """Names the graph a token map is made from: its weights and the tokens left out."""
    return _derived(a, LINKS_PER_TOKEN)[4]


def _digest(a: Analysis) -> str:
    h = hashlib.blake2b(digest_size=12)
    w = np.asarray(a.weights)
    step = max(1, BLOCK_BYTES // (8 * max(len(w), 1)))
    for start in range(0, len(w), step):  # the same bytes as the whole array's, a block of rows at a time
        h.update(np.ascontiguousarray(w[start : start + step], dtype=np.float64).tobytes())
    h.update(repr(a.excluded).encode())
    return h.hexdigest()


_CACHE: LRU[tuple[int, int], tuple[Any, ...]] = LRU(4)


def _derived(
    a: Analysis, links: int
) -> tuple[Symmetric, np.ndarray, np.ndarray, tuple[np.ndarray, ...], str]:
    """Symmetrised graph, grid facts and links: unchanged when only the threshold moves, so cached.

    Keyed on the identity of the sweep (``recluster`` reuses it when only the
    threshold changes) and checked against the weights' values; the entry keeps
    the sweep alive, so its id cannot be reused while cached.
    """
    key = (id(a.sweep), links)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is a.sweep and (hit[1] is a.weights or np.array_equal(hit[1], a.weights)):
        return hit[2], hit[3], hit[4], hit[5], hit[6]
    sym = Symmetric(a.weights)  # read in blocks of rows: no T x T copy kept in the cache
    facts = grid_facts(sym, a.sweep.labels)
    runs = np.array([contiguity(labels) for labels in a.sweep.labels], dtype=np.float32)
    linked = top_links(a.weights, links)
    digest = _digest(a)
    _CACHE.put(key, (a.sweep, a.weights, sym, facts, runs, linked, digest))
    return sym, facts, runs, linked, digest


def to_state(
    analysis: Analysis,
    *,
    links: int = LINKS_PER_TOKEN,
    link_weights: Matrix | None = None,
    links_lens: str = "",
    history: tuple[int, int] = (0, 0),
    token_map: tuple[str, int, np.ndarray] | None = None,
    arcs: list[dict[str, Any]] | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The versioned state the front-end renders (see the module docstring for the layout).

    ``link_weights``: the ``[T, T]`` graph the hover links are read from, when not the
    clusters' own (``links_lens`` names its lens). ``history``: the undo and redo steps
    the widget holds; ``token_map``: a map already made of this graph, ``(method, seed,
    [T, 2] coordinates)``. ``arcs``, ``findings``: the first screen's, as
    :mod:`attn_widget.view.firstscreen` wires them (``None``: not computed yet).
    """
    a = analysis
    n = len(a.tokens)
    offsets = np.array(
        [[-1 if t.start is None else t.start, -1 if t.end is None else t.end] for t in a.tokens],
        dtype=np.int32,
    ).reshape(n, 2)
    offsets = utf16_offsets(a.text, offsets)
    flags = np.array([FLAG_SPECIAL if t.special else 0 for t in a.tokens], dtype=np.int32)
    flags[list(a.excluded)] |= FLAG_EXCLUDED
    sym, facts, runs, linked, key = _derived(a, links)
    out_i, out_w, in_i, in_w = linked if link_weights is None else top_links(link_weights, links)
    sweep = a.sweep
    o = a.options
    shape = a.head_shape
    return {
        "version": STATE_VERSION,
        "text": a.text,
        "tokens": [t.text for t in a.tokens],
        "offsets": wire(offsets, "int32"),
        "flags": wire(flags, "int32"),
        "labels": wire(a.labels, "int32"),
        "threshold": float(a.threshold),
        "threshold_mode": a.options.threshold_mode,
        "auto": bool(a.options.auto_threshold),
        "modularity": float(a.modularity),
        "method": a.options.method,
        "aggregation": a.options.aggregation,
        "measure": o.measure,
        "lens": o.lens if isinstance(o.lens, str) else f"{len(o.lens)} heads",
        "lens_heads": None if o.lens_heads is None else len(o.lens_heads),
        "links_lens": links_lens if link_weights is not None else "",
        "model": a.model,
        "notices": list(a.notices),
        "range": list(threshold_range(sym, a.options.threshold_mode)),
        "n_layers": None if shape is None else int(shape[0]),
        "n_heads": None if shape is None else int(shape[1]),
        "unit": o.unit,
        "zoomed": o.zoom is not None,
        "source_length": a.source_length,
        "clusters": [cluster_info(c) for c in a.clusters],
        "sweep": {
            "mode": sweep.mode,
            "best": int(sweep.best),
            "thresholds": wire(sweep.thresholds, "float64"),
            "modularity": wire(sweep.modularity, "float32"),
            "n_clusters": wire(sweep.n_clusters, "int32"),
            "contiguity": wire(runs, "float32"),
            "labels": wire(sweep.labels, "int32"),
            "facts": wire(facts, "float32"),
        },
        "links": {
            "k": int(out_i.shape[1]),
            "out_index": wire(out_i, "int32"),
            "out_weight": wire(out_w, "float16"),
            "in_index": wire(in_i, "int32"),
            "in_weight": wire(in_w, "float16"),
        },
        "map_key": key,
        "map": None
        if token_map is None
        else {
            "method": token_map[0],
            "seed": int(token_map[1]),
            "coords": wire(token_map[2], "float32"),
        },
        "partition": partition_info(a, history),
        "arcs": arcs,
        "findings": findings,
    }


def partition_info(a: Analysis, history: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """The hand edits as the view lists them, the pins, and the undo/redo steps available."""
    p = a.partition
    edits = (
        []
        if p is None
        else [
            {"op": e.op, "text": e.text, "before": float(e.before), "after": float(e.after)} for e in p.edits
        ]
    )
    pins = [] if p is None else [list(g) for g in p.pins]
    return {"edits": edits, "pins": pins, "undo": int(history[0]), "redo": int(history[1])}


def to_jsonable(state: Mapping[str, Any]) -> Any:
    """The state with every buffer base64-encoded (for a standalone HTML page)."""
    if isinstance(state, memoryview):
        return base64.b64encode(state).decode("ascii")
    if isinstance(state, Mapping):
        return {k: to_jsonable(v) for k, v in state.items()}
    if isinstance(state, list):
        return [to_jsonable(v) for v in state]
    return state
