"""Score every attention head for the standard roles, with a control against chance.

A role is a *pattern*: for each query row, the key positions a head with that
role attends to. As in TransformerLens' head detector, a head's score for a role
is the share of its attention mass that falls on the pattern, averaged over the
rows where the pattern is defined (a row with no earlier duplicate says nothing
about duplicate-token behaviour, so it is left out rather than counted as 0).

Roles (:data:`ROLES`, with a plain-English gloss in :data:`GLOSSES`):

- ``previous-token``: query ``i`` looks at ``i - 1``;
- ``duplicate-token``: at earlier copies of the current token;
- ``induction``: at the token *after* an earlier copy of the current token;
- ``first-token sink``: at position 0;
- ``self``: at itself;
- ``broad``: spreads attention evenly (mean normalised entropy of its rows).

The control: a head is labelled with a role only if its score is at least
``min_score``, beats the chance level (uniform attention over the keys it may
see) by ``margin``, and is ``z_min`` standard deviations above the score the
same head would get if each row's weights were shuffled among its keys (an
exact permutation baseline, computed in closed form). Random heads therefore
stay unlabelled. ``broad`` has no pattern; it needs a normalised entropy of at
least ``broad_min``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.registry import Registry
from ..core.types import Attention
from ..extract.forward import forward
from ..extract.loading import describe

Pattern = Callable[[np.ndarray, np.ndarray], np.ndarray]
ROLES: Registry[Pattern] = Registry("head role")
"""Role name → ``pattern(keys, allowed) -> bool [T, T]`` (``keys``: token identities)."""

GLOSSES: dict[str, str] = {
    "previous-token": "looks at the token just before",
    "duplicate-token": "looks at earlier copies of the same token",
    "induction": "looks at the token that followed an earlier copy of the current token",
    "first-token sink": "parks attention on the first token",
    "self": "looks at the token itself",
    "broad": "spreads attention evenly over the text",
}
"""One plain-English phrase per role, used wherever a role is shown."""


MIN_KEYS = 3
"""Rows with fewer keys to choose from say little about a head and are not scored."""
MIN_ROWS = 4
"""A role needs at least this many scored rows; fewer → NaN (not measurable on this input)."""


@ROLES.register("previous-token")
def previous_token(keys: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    return np.eye(len(keys), k=-1, dtype=bool)


@ROLES.register("duplicate-token")
def duplicate_token(keys: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    same = keys[:, None] == keys[None, :]
    np.fill_diagonal(same, False)
    return same & np.tril(np.ones_like(same), k=-1)


@ROLES.register("induction")
def induction(keys: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    dup = duplicate_token(keys, allowed)
    out = np.zeros_like(dup)
    out[:, 1:] = dup[:, :-1]  # the token after each earlier copy
    return out & np.tril(np.ones_like(out))


@ROLES.register("first-token sink")
def first_token(keys: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    out = np.zeros((len(keys), len(keys)), dtype=bool)
    out[1:, 0] = True
    return out


@ROLES.register("self")
def current_token(keys: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    out = np.eye(len(keys), dtype=bool)
    return out


@dataclass(frozen=True, eq=False)
class HeadReport:
    """Role scores of every head, the chance levels and the labels that passed the control.

    Attributes
    ----------
    scores
        Role → ``[layer, head]`` share of attention on the role's pattern
        (``broad``: mean normalised entropy). NaN where the input has no row
        the pattern applies to.
    chance
        Role → ``[layer, head]`` score of uniform attention (the random baseline).
    z
        Role → ``[layer, head]`` standard deviations above the shuffled-row baseline.
    labels
        ``(layer, head)`` → ``((role, score), ...)`` for labelled heads, best first.
    probe
        Induction labels measured on a repeated random-token probe
        (:func:`induction_probe`), when a model was available; else empty.
    """

    scores: Mapping[str, np.ndarray]
    chance: Mapping[str, np.ndarray]
    z: Mapping[str, np.ndarray]
    labels: Mapping[tuple[int, int], tuple[tuple[str, float], ...]] = field(default_factory=dict)
    probe: Mapping[tuple[int, int], tuple[tuple[str, float], ...]] = field(default_factory=dict)

    def roles(self, layer: int, head: int) -> list[dict[str, Any]]:
        """JSON-able roles of one head: ``[{"role", "score", "gloss", "measured_on"}, ...]``.

        ``measured_on`` is ``"input"`` (this text) or ``"probe"`` (repeated random
        tokens); a role found on the input is not repeated from the probe.
        """
        found = [
            {"role": r, "score": round(s, 3), "gloss": GLOSSES[r], "measured_on": "input"}
            for r, s in self.labels.get((layer, head), ())
        ]
        on_input = {r["role"] for r in found}
        return found + [
            {"role": r, "score": round(s, 3), "gloss": GLOSSES[r], "measured_on": "probe"}
            for r, s in self.probe.get((layer, head), ())
            if r not in on_input
        ]

    def with_probe(self, probe: HeadReport) -> HeadReport:
        """This report plus the labels of an :func:`induction_probe` report."""
        return dataclasses.replace(self, probe=dict(probe.labels))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able scores and labels (``"layer.head"`` keys)."""
        return {
            "scores": {r: np.round(v, 4).tolist() for r, v in self.scores.items()},
            "chance": {r: np.round(v, 4).tolist() for r, v in self.chance.items()},
            "labels": {f"{la}.{h}": self.roles(la, h) for la, h in sorted({*self.labels, *self.probe})},
        }


def token_keys(tokens: Sequence[Any]) -> np.ndarray:
    """Identity of each token for duplicate detection: vocabulary ids when all known, else text."""
    ids = [getattr(t, "id", None) for t in tokens]
    if ids and all(i is not None for i in ids):
        return np.asarray(ids)
    texts = [getattr(t, "text", t) for t in tokens]
    _, inverse = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    return inverse


def is_causal(att: Attention) -> bool:
    """True when no head puts mass on a later token (a decoder's attention)."""
    upper = np.triu(np.ones(att.shape[-2:], dtype=bool), k=1)
    return bool(att[..., upper].max(initial=0.0) < 1e-6)


@dataclass(frozen=True, eq=False)
class RowStats:
    """Per-row summaries of every head, computed once, layer by layer (``[layer, head, query]``)."""

    mass: np.ndarray
    sumsq: np.ndarray  # sum of squared normalised weights
    entropy: np.ndarray

    @classmethod
    def of(cls, att: Attention) -> RowStats:
        shape = att.shape[:3]
        mass, sumsq, ent = np.empty(shape), np.empty(shape), np.empty(shape)
        for layer in range(att.shape[0]):
            a = att[layer].astype(np.float64)
            mass[layer] = a.sum(axis=-1)
            w = a / np.maximum(mass[layer][..., None], 1e-12)
            sumsq[layer] = (w * w).sum(axis=-1)
            ent[layer] = -(w * np.log(np.clip(w, 1e-12, None))).sum(axis=-1)
        return cls(mass, sumsq, ent)


def pattern_score(
    att: Attention, pattern: np.ndarray, allowed: np.ndarray, stats: RowStats | None = None
) -> tuple[np.ndarray, ...]:
    """Score, chance level and permutation z-score of ``pattern`` for every head.

    Only rows with at least :data:`MIN_KEYS` keys count (a decoder's second
    row has two keys: whatever it does, it is half "previous-token" and half
    "sink"). Returns three ``[layer, head]`` arrays, NaN when fewer than
    :data:`MIN_ROWS` rows have a pattern.
    """
    stats = RowStats.of(att) if stats is None else stats
    pattern = pattern & allowed
    rows = np.flatnonzero(pattern.any(axis=1) & (allowed.sum(axis=1) >= MIN_KEYS))
    shape = att.shape[:2]
    if rows.size < MIN_ROWS:
        nan = np.full(shape, np.nan)
        return nan, nan.copy(), nan.copy()
    p = pattern[rows].astype(np.float32)
    n = allowed[rows].sum(axis=1).astype(np.float64)  # keys per row
    k = p.sum(axis=1, dtype=np.float64)
    on = np.stack([np.einsum("hqk,qk->hq", att[layer][:, rows], p) for layer in range(shape[0])])
    mass = np.maximum(stats.mass[:, :, rows], 1e-12)
    score = (on / mass).mean(axis=-1)
    chance = np.full(shape, (k / n).mean())
    var_w = stats.sumsq[:, :, rows] / n - 1.0 / n**2  # population variance of each row's weights
    var = (k * (n - k) / np.maximum(n - 1, 1) * var_w).sum(axis=-1) / rows.size**2
    z = (score - chance) / np.sqrt(var + 1e-12)
    return score, chance, z


def broad_score(stats: RowStats, allowed: np.ndarray, min_keys: int = 4) -> np.ndarray:
    """``[layer, head]`` mean normalised entropy of rows with at least ``min_keys`` keys."""
    n = allowed.sum(axis=1)
    rows = np.flatnonzero(n >= min_keys)
    if rows.size == 0:
        return np.full(stats.entropy.shape[:2], np.nan)
    return (stats.entropy[:, :, rows] / np.log(n[rows])).mean(axis=-1)


def score_heads(
    att: Attention,
    tokens: Sequence[Any],
    *,
    min_score: float = 0.4,
    margin: float = 0.2,
    z_min: float = 5.0,
    broad_min: float = 0.9,
) -> HeadReport:
    """Score every head of ``att`` (``[layer, head, T, T]``) for every role in :data:`ROLES`.

    Parameters
    ----------
    att
        Attention probabilities.
    tokens
        ``T`` tokens (:class:`~attn_widget.Token` or strings); ids are
        used for duplicate detection when every token has one.
    min_score, margin, z_min, broad_min
        The control (see the module docstring).

    Returns
    -------
    HeadReport
    """
    att = np.asarray(att)
    n = att.shape[-1]
    if len(tokens) != n:
        raise ValueError(f"got {len(tokens)} tokens for attention over {n} positions")
    keys = token_keys(tokens)
    allowed = np.tril(np.ones((n, n), dtype=bool)) if is_causal(att) else np.ones((n, n), dtype=bool)
    stats = RowStats.of(att)
    scores, chance, zs = {}, {}, {}
    for role in ROLES:
        scores[role], chance[role], zs[role] = pattern_score(att, ROLES[role](keys, allowed), allowed, stats)
    scores["broad"] = broad_score(stats, allowed)
    chance["broad"] = np.full(att.shape[:2], np.nan)
    zs["broad"] = np.full(att.shape[:2], np.nan)
    return HeadReport(scores, chance, zs, label(scores, chance, zs, min_score, margin, z_min, broad_min))


def label(
    scores: Mapping[str, np.ndarray],
    chance: Mapping[str, np.ndarray],
    z: Mapping[str, np.ndarray],
    min_score: float = 0.4,
    margin: float = 0.2,
    z_min: float = 5.0,
    broad_min: float = 0.9,
) -> dict[tuple[int, int], tuple[tuple[str, float], ...]]:
    """Apply the control: ``(layer, head)`` → roles that pass, best score first."""
    out: dict[tuple[int, int], list[tuple[str, float]]] = {}
    for role, s in scores.items():
        with np.errstate(invalid="ignore"):
            if role == "broad":
                ok = s >= broad_min
            else:
                ok = (s >= min_score) & (s - chance[role] >= margin) & (z[role] >= z_min)
        for layer, head in np.argwhere(np.nan_to_num(ok, nan=0).astype(bool)).tolist():
            out.setdefault((layer, head), []).append((role, float(s[layer, head])))
    return {k: tuple(sorted(v, key=lambda rs: -rs[1])) for k, v in sorted(out.items())}


def induction_probe(model: Any, *, length: int = 40, seed: int = 0, **control: float) -> HeadReport:
    """Score heads on a repeated random-token sequence, the classic induction test.

    Random token ids ``r`` (``length`` of them) are fed as ``r + r`` (after the
    model's BOS token, when it has one); on the second copy an induction head
    attends to the token that followed the same token in the first copy.

    Parameters
    ----------
    model
        A causal Hugging Face model loaded with ``attn_implementation="eager"``.
    length
        Length of the random block.
    seed
        Random seed for the token ids.
    **control
        Passed to :func:`label` (``min_score``, ``margin``, ``z_min``).

    Returns
    -------
    HeadReport
        Only the ``induction`` role is scored.
    """
    config = model.config
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    if vocab < 2 * length:
        raise ValueError(f"vocab_size={vocab} is too small for a random block of {length} tokens")
    rng = np.random.default_rng(seed)
    block = rng.choice(np.arange(vocab // 10, vocab), size=length, replace=False)
    ids = np.concatenate([block, block])
    bos = getattr(config, "bos_token_id", None)
    if isinstance(bos, int) and 0 <= bos < vocab:
        ids = np.concatenate([[bos], ids])
    att = forward(model, ids.tolist(), name=describe(model), causal=True)
    n = len(ids)
    allowed = np.tril(np.ones((n, n), dtype=bool))
    pat = induction(ids, allowed)
    pat[: n - length] = False  # only the second copy is evidence of induction
    score, chance, z = pattern_score(att, pat, allowed)
    scores, chances, zs = {"induction": score}, {"induction": chance}, {"induction": z}
    return HeadReport(scores, chances, zs, label(scores, chances, zs, **control))
