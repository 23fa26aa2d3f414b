"""A 2-D map of the tokens: each token a dot, placed by the graph the clusters come from.

:func:`token_map` places every kept token with a named method:

``"clusters"`` (the default)
    The partition drawn as discs (:func:`attn_widget.graph.layout.clusters_layout`):
    each cluster a disc, discs placed by the links between clusters that exceed
    what attention at their distance usually gets, members placed inside by the
    same excess among them. Groups the clustering separates are separated, and
    the order of the text does not decide where a cluster goes. Numpy only,
    milliseconds, deterministic.
``"spectral"``
    The raw graph's Laplacian eigenvectors (:func:`attn_widget.graph.layout.spectral_layout`):
    no partition, no baseline; on real text mostly reading order.
``"umap"``
    UMAP (``umap-learn``, the ``map`` extra) on each token's attention profile
    (a key of :data:`FEATURES`): keeps neighbourhoods and some global layout.
``"tsne"``
    t-SNE (scikit-learn, the ``cluster`` extra) on the same profiles: keeps neighbourhoods.

All are deterministic for a seed (UMAP then runs single-threaded; t-SNE starts
from the principal components; the graph layouts use no randomness). Tokens
left out of the graph (sinks) get NaN coordinates. Below :data:`MIN_EMBED`
kept tokens UMAP and t-SNE have no neighbourhood to learn and the map is the
features' first two principal components. Results are cached by their
inputs, method and seed, so asking again costs nothing.
``benchmarks/bench_map_layout.py`` measures how well each method separates
the clusters and how much the text order shows.

This module does not draw: the widget's ``js/src/extras/map.ts`` does.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.cache import LRU
from ..core.registry import Registry
from ..core.types import Matrix
from .layout import clusters_layout, spectral_layout
from .threshold import symmetrise
from .units import pool

if TYPE_CHECKING:
    from ..core import Analysis

Embed = Callable[[np.ndarray, int], np.ndarray]
Features = Callable[["Analysis", np.ndarray], np.ndarray]
Layout = Callable[[Matrix, np.ndarray, np.ndarray], np.ndarray]

MAP_METHODS: Registry[Embed] = Registry("token map method")
"""Name → ``embed(features [N, D], seed) -> [N, 2]``: methods that place feature vectors."""
GRAPH_LAYOUTS: Registry[Layout] = Registry("token map method")
"""Name → ``layout(graph [N, N], positions [N], labels [N]) -> [N, 2]``: methods that draw the graph."""
FEATURES: Registry[Features] = Registry("token map feature set")
"""Name → ``features(analysis, kept token indices) -> [N, D]``."""

DEFAULT_METHOD = "clusters"
"""The token map's default method (measured best: ``benchmarks/bench_map_layout.py``)."""

MIN_EMBED = 8
"""Fewer kept tokens than this are placed by principal components, not UMAP/t-SNE."""

_CACHE: LRU[tuple[str, tuple[int, ...], str, int], np.ndarray] = LRU(32)


def _needs(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"the token map's {module.split('.')[0]} method needs the package "
            f"{'umap-learn' if module == 'umap' else 'scikit-learn'}: pip install 'attn_widget[{extra}]'"
        ) from err


# ------------------------------------------------------------------ features
def _hellinger_rows(m: Matrix) -> np.ndarray:
    """Rows as distributions (each summing to 1, zero rows stay zero), square-rooted."""
    total = m.sum(axis=1, keepdims=True)
    return np.sqrt(np.divide(m, total, out=np.zeros_like(m), where=total > 0))


@FEATURES.register("profile")
def profile_features(analysis: Analysis, kept: np.ndarray) -> np.ndarray:
    """Each token's row (what it attends to) and column (what attends to it) of the graph.

    Both over the kept tokens, the token itself left out, normalised to sum to
    1 and square-rooted, so Euclidean distance between two tokens is the
    Hellinger distance between their attention profiles: ``[N, 2N]``.
    """
    w = np.asarray(analysis.weights, dtype=np.float64)[np.ix_(kept, kept)].copy()
    np.fill_diagonal(w, 0.0)
    return np.hstack([_hellinger_rows(w), _hellinger_rows(w.T)])


@FEATURES.register("heads")
def head_features(analysis: Analysis, kept: np.ndarray) -> np.ndarray:
    """Per head, how much attention each token receives and how spread its own attention is.

    ``[N, 2 * layers * heads]``: the mean attention the token receives from the
    kept queries that can see it, and the entropy of its own attention row
    over the kept keys, each standardised over tokens. Needs the raw attention;
    for a word or sentence analysis each head's map is first pooled into units
    by the graph's own rule (:func:`attn_widget.graph.units.pool`).
    """
    att = analysis.attentions
    if att is None:
        raise ValueError(
            "features='heads' needs the raw attention, and this analysis has none (saved as .json?); "
            "use features='profile', re-run analyze(), or save with another suffix (e.g. 'x.attn')"
        )
    a = np.asarray(att, dtype=np.float64)
    units = analysis.units
    if units.kind != "token":  # the raw attention is over model tokens: each head's map pooled into units
        a = np.stack([np.stack([pool(head, units) for head in layer]) for layer in a])
    a = a[:, :, kept][:, :, :, kept]  # [L, H, N, N]
    seen = (a > 0).sum(axis=2).clip(min=1)  # queries that can attend to each key
    received = a.sum(axis=2) / seen  # [L, H, N]
    rows = a / a.sum(axis=3, keepdims=True).clip(min=1e-12)
    entropy = -(np.where(rows > 0, rows * np.log(rows.clip(min=1e-300)), 0.0)).sum(axis=3)
    x = np.concatenate([received.reshape(-1, len(kept)), entropy.reshape(-1, len(kept))]).T
    sd = x.std(axis=0)
    return np.divide(x - x.mean(axis=0), sd, out=np.zeros_like(x), where=sd > 0)


# ------------------------------------------------------------------ methods
@MAP_METHODS.register("umap")
def umap_embed(x: np.ndarray, seed: int) -> np.ndarray:
    """UMAP with 15 neighbours (fewer for short texts), ``min_dist=0.1``, spectral start."""
    umap = _needs("umap", "map")
    n = len(x)
    model = umap.UMAP(
        n_components=2, n_neighbors=max(2, min(15, n - 1)), min_dist=0.1, random_state=seed, n_jobs=1
    )
    with warnings.catch_warnings():  # "n_jobs overridden by random_state", spectral fallbacks
        warnings.simplefilter("ignore")
        return np.asarray(model.fit_transform(x), dtype=np.float64)


@MAP_METHODS.register("tsne")
def tsne_embed(x: np.ndarray, seed: int) -> np.ndarray:
    """t-SNE with perplexity 30 (less for short texts), PCA start, automatic learning rate."""
    manifold = _needs("sklearn.manifold", "cluster")
    n = len(x)
    model = manifold.TSNE(
        n_components=2,
        perplexity=float(min(30.0, max(2.0, (n - 1) / 3))),
        init="pca",
        learning_rate="auto",
        random_state=seed,
    )
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    # one thread: OpenMP's spinning threads made Barnes-Hut t-SNE 10-30x slower on a busy machine
    with threadpool_limits(1):
        return np.asarray(model.fit_transform(x), dtype=np.float64)


@GRAPH_LAYOUTS.register("clusters")
def _clusters(sym: Matrix, positions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return clusters_layout(sym, positions, labels)


@GRAPH_LAYOUTS.register("spectral")
def _spectral(sym: Matrix, positions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return spectral_layout(sym)


def methods() -> list[str]:
    """Every token map method, the default first."""
    return [*GRAPH_LAYOUTS.names(), *MAP_METHODS.names()]


def principal(x: np.ndarray) -> np.ndarray:
    """The first two principal components of ``x`` (signs fixed: largest loading positive)."""
    centred = x - x.mean(axis=0)
    if len(x) < 2 or not np.any(centred):
        return np.zeros((len(x), 2))
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    out = np.zeros((len(x), 2))
    k = min(2, len(s))
    signs = np.sign(vt[np.arange(k), np.abs(vt[:k]).argmax(axis=1)])
    out[:, :k] = u[:, :k] * s[:k] * signs
    return out


# ------------------------------------------------------------------ the map
def _digest(*parts: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(repr(part.shape).encode())
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def _labels(analysis: Analysis, labels: Any) -> np.ndarray:
    """The partition to draw: ``analysis.labels`` or the caller's, checked."""
    if labels is None:
        return np.asarray(analysis.labels)
    out = np.asarray(labels)
    n = len(analysis.tokens)
    if out.shape != (n,) or not np.issubdtype(out.dtype, np.integer):
        raise ValueError(
            f"labels of shape {out.shape} ({out.dtype}): give one whole-number cluster id per unit "
            f"({n} of them), e.g. analysis.labels"
        )
    return out


def token_map(
    analysis: Analysis,
    method: str = DEFAULT_METHOD,
    seed: int = 0,
    *,
    features: str | None = None,
    labels: Any = None,
) -> np.ndarray:
    """Place every token of ``analysis`` on a 2-D map.

    Parameters
    ----------
    analysis
        The analysis whose graph (``analysis.weights``; the raw attention for
        ``features="heads"``) places the tokens.
    method
        ``"clusters"`` (default: each cluster a disc, placed by the links
        between clusters beyond what their distance in the text explains),
        ``"spectral"`` (the raw graph's eigenvectors), ``"umap"``
        (``pip install 'attn_widget[map]'``) or ``"tsne"``
        (``pip install 'attn_widget[cluster]'``) on attention profiles.
    seed
        Random seed for UMAP and t-SNE; the same seed gives the same map.
    features
        For ``"umap"`` and ``"tsne"`` only: ``"profile"`` (default: each
        token's row and column of the graph) or ``"heads"`` (per-head received
        attention and entropy), a key of :data:`FEATURES`.
    labels
        For ``"clusters"``: the partition to draw, one cluster id per unit
        (default ``analysis.labels``; the widget sends the one on screen).

    Returns
    -------
    numpy.ndarray
        ``[T, 2]`` float64 coordinates; NaN for tokens left out of the graph.

    Raises
    ------
    ValueError
        For an unknown method or feature set, features given to a graph
        method, labels that are not one id per unit, or a seed that is not a
        whole number.
    ImportError
        When the method's package is missing (the message names the extra).
    """
    graph = method in GRAPH_LAYOUTS
    if not graph and method not in MAP_METHODS:
        choices = ", ".join(repr(m) for m in methods())
        raise ValueError(f"unknown token map method {method!r}; choose one of {choices}")
    if graph and features is not None:
        raise ValueError(
            f"features={features!r} is for the 'umap' and 'tsne' maps; method={method!r} "
            "draws the graph itself: leave features out"
        )
    make = FEATURES[features or "profile"]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed={seed!r} must be a whole number (e.g. seed=0)")
    part = _labels(analysis, labels)
    n = len(analysis.tokens)
    excluded = set(analysis.excluded)
    kept = np.array([i for i in range(n) if i not in excluded], dtype=np.intp)
    out = np.full((n, 2), np.nan)
    if kept.size == 0:
        return out
    if graph:
        sym = symmetrise(np.asarray(analysis.weights, dtype=np.float64))[np.ix_(kept, kept)]
        drawn = part[kept] if method == "clusters" else np.zeros(0, dtype=np.intp)
        key = (_digest(sym, kept, drawn), (len(kept),), method, 0)
        coords = _CACHE.get(key)
        if coords is None:
            coords = GRAPH_LAYOUTS[method](sym, kept, drawn)
            _CACHE.put(key, coords)
    else:
        x = make(analysis, kept)
        key = (_digest(x), x.shape, method, int(seed))
        coords = _CACHE.get(key)
        if coords is None:
            coords = principal(x) if kept.size < MIN_EMBED else MAP_METHODS[method](x, int(seed))
            _CACHE.put(key, coords)
    out[kept] = coords
    return out
