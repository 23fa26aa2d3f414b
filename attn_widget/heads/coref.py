"""Coreference heads: the heads whose strongest link from a pronoun is its antecedent.

Found once per model (and edge measure) on a packaged probe set of 56 labelled
pronoun sentences (``data/coref_probe.json``, written for this project): each
item marks the pronoun, its antecedent and a distracting noun; in half of them
the distractor sits between antecedent and pronoun, so a head that just links
the nearer noun fails them.

Per head, with the first-token sinks left out and rows renormalised, the link
between the pronoun and another token is the stronger of the two directions:

``accuracy``
    Share of items whose antecedent is the pronoun's strongest link.
``preference``
    Share of items where the antecedent beats the distractor; a head that
    tracks position scores about 0.5 on this balanced set.
``far``
    ``preference`` on the half where the distractor is nearer.

The rule, the same for every model and measure: the preference beats 0.5 by a
one-sided sign test at ``p < 0.05 / number of heads``; ``far > 0.5``;
``accuracy >= ACC_MIN``; of those, the ``max(3, 3% of heads)`` with the highest
accuracy. Results are cached in memory and on disk (next to converted models),
keyed by model, measure and the probe set's content.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..core.cache import LRU
from ..extract.forward import forward_pass
from ..extract.gradient import attention_gradient
from ..extract.loading import is_causal_config, load
from ..extract.offline import cache_dir
from ..extract.tokens import tokenize
from ..graph.measures import measure_weights
from ..graph.sinks import detect_sinks

ACC_MIN = 0.25
"""A coreference head links a pronoun to its antecedent on at least this share of the probe items."""
TOP_SHARE = 0.03
"""At most this share of the model's heads (and at least 3) are kept, the most accurate first."""
ALPHA = 0.05
"""Family-wise error of the sign test on the preference, Bonferroni-corrected over the heads."""
PROBE = "coref_probe.json"

_CACHE: LRU[tuple[str, str, str], CorefHeads] = LRU(8)


@dataclass(frozen=True)
class CorefHeads:
    """The coreference heads of one model under one edge measure, and every head's probe scores.

    ``scores`` maps ``accuracy``, ``preference``, ``far`` to ``[layer, head]`` arrays.
    """

    model: str
    measure: str
    heads: tuple[tuple[int, int], ...]
    scores: dict[str, np.ndarray] = field(repr=False)
    n_items: int = 0
    chance: float = 0.0

    def describe(self, limit: int = 4) -> str:
        """The heads in words, with their accuracy, e.g. ``12.3 (84%), 14.1 (79%) …``."""
        acc = self.scores["accuracy"]
        shown = [f"{la}.{h} ({round(100 * float(acc[la, h]))}%)" for la, h in self.heads[:limit]]
        more = f" and {len(self.heads) - limit} more" if len(self.heads) > limit else ""
        return ", ".join(shown) + more

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "measure": self.measure, "heads": [list(h) for h in self.heads],
            "scores": {k: np.round(v, 4).tolist() for k, v in self.scores.items()},
            "n_items": self.n_items, "chance": self.chance,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CorefHeads:
        return cls(
            d["model"], d["measure"], tuple((int(a), int(b)) for a, b in d["heads"]),
            {k: np.asarray(v, dtype=np.float64) for k, v in d["scores"].items()}, int(d["n_items"]),
            float(d["chance"]),
        )


def probe_items() -> list[dict[str, Any]]:
    """The packaged probe set (text, and character spans of pronoun, antecedent and distractor)."""
    probe = resources.files(__package__).joinpath("data").joinpath(PROBE)
    return json.loads(probe.read_text(encoding="utf-8"))


def _span_tokens(tokens: Any, span: list[int]) -> list[int]:
    a, b = span
    inside = [t.start is not None and t.end is not None and t.start < b and t.end > a for t in tokens]
    return [i for i, yes in enumerate(inside) if yes]


def head_links(weights: np.ndarray, exclude: list[int], pronoun: list[int]) -> np.ndarray:
    """``[layer, head, T]``: each token's link to the pronoun per head (stronger direction, sinks out)."""
    w = np.array(weights, dtype=np.float64, copy=True)
    w[..., exclude] = 0.0
    w[..., exclude, :] = 0.0
    sums = w.sum(-1, keepdims=True)
    w = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
    return np.maximum(w[:, :, pronoun, :].max(axis=2), w[:, :, :, pronoun].max(axis=3))


def probe_scores(model: Any, tokenizer: Any, name: str, measure: str = "attention") -> dict[str, Any]:
    """Every head's ``accuracy``, ``preference``, ``far`` and ``wins`` on the probe set."""
    causal = is_causal_config(model.config)
    items = probe_items()
    hits, wins, chance = [], [], []
    for item in items:
        ids, tokens, _ = tokenize(item["text"], tokenizer, name=name, causal=causal, prepend_bos=None,
                                  limit=None, overlength="error")
        att, data = forward_pass(model, ids, name=name, causal=causal, value_norms=measure == "norm")
        if measure == "gradient":
            data["gradient"] = attention_gradient(model, ids, name=name, causal=causal)
        weights = measure_weights(att, measure, data)
        own = {0} if causal else {i for i, t in enumerate(tokens) if t.special}
        exclude = sorted(set(detect_sinks(att)) | own)
        p, a, d = (_span_tokens(tokens, item[k]) for k in ("pronoun", "antecedent", "distractor"))
        if not (p and a and d):
            raise ValueError(f"probe item {item['id']!r}: a marked span covers no token")
        link = head_links(weights, exclude, p)
        candidates = np.ones(len(ids), dtype=bool)
        candidates[exclude] = False
        candidates[p] = False
        antecedent = link[..., a].max(-1)
        hits.append(antecedent >= np.where(candidates, link, -np.inf).max(-1))
        wins.append(antecedent > link[..., d].max(-1))
        chance.append(1.0 / candidates.sum())
    far = np.array([item["far"] for item in items])
    won = np.stack(wins).astype(float)
    return {
        "accuracy": np.stack(hits).astype(float).mean(0),
        "preference": won.mean(0),
        "far": won[far].mean(0),
        "wins": won.sum(0),
        "n_items": len(items),
        "chance": float(np.mean(chance)),
    }


def select(scores: dict[str, Any]) -> tuple[tuple[int, int], ...]:
    """The heads that pass the rule of the module docstring, the most accurate first."""
    from scipy.stats import binom

    acc = scores["accuracy"]
    n_layers, n_heads = acc.shape
    total = n_layers * n_heads
    p_value = binom.sf(np.asarray(scores["wins"]) - 1, scores["n_items"], 0.5)
    passing = (p_value < ALPHA / total) & (scores["far"] > 0.5) & (acc >= ACC_MIN)
    order = np.lexsort((-scores["preference"].ravel(), -acc.ravel()))
    chosen = [divmod(int(i), n_heads) for i in order if passing.ravel()[i]]
    return tuple(chosen[: max(3, math.ceil(TOP_SHARE * total))])


def _probe_digest() -> str:
    raw = resources.files(__package__).joinpath("data").joinpath(PROBE).read_bytes()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _disk_path(name: str, measure: str, digest: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-80:]
    return cache_dir() / "coref" / f"{safe}-{measure}-{digest}.json"


def coreference_heads(name: str, measure: str = "attention") -> CorefHeads:
    """The coreference heads of model ``name`` (a name :func:`attn_widget.extract.loading.load` knows)."""
    digest = _probe_digest()
    key = (name, measure, digest)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    path = _disk_path(name, measure, digest)
    if path.is_file():
        try:
            return _CACHE.put(key, CorefHeads.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError):
            pass  # a damaged file: measure again
    model, tokenizer = load(name)
    scores = probe_scores(model, tokenizer, name, measure)
    found = CorefHeads(
        name, measure, select(scores),
        {k: scores[k] for k in ("accuracy", "preference", "far")}, scores["n_items"], scores["chance"],
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(found.to_dict()), encoding="utf-8")
    except OSError:
        pass  # a read-only cache folder: keep it in memory only
    return _CACHE.put(key, found)
