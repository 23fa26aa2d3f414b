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
from .stats import MIN_KEYS, MIN_ROWS, HeadScorer, PatternRows, RowStats, pattern_scores

__all__ = [
    "GLOSSES", "MIN_KEYS", "MIN_ROWS", "ROLES", "HeadReport", "RowStats", "analysis_report",
    "induction_probe", "label", "pattern_score", "report", "report_arrays", "report_from", "score_heads",
    "scorer", "token_keys",
]

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


def is_causal(att: Attention, rows: int = 64) -> bool:
    """True when no head puts mass on a later token (a decoder's attention).

    Read a block of ``rows`` queries at a time: the keys after the block's last query
    whole, and the small triangle above the diagonal inside it (no mask over the square).
    """
    n = att.shape[-1]
    inside = np.triu(np.ones((rows, rows), dtype=bool), k=1)
    for r0 in range(0, att.shape[-2], rows):
        r1 = min(r0 + rows, att.shape[-2])
        if r1 < n and att[..., r0:r1, r1:].max(initial=0.0) >= 1e-6:
            return False
        block = att[..., r0:r1, r0 : min(r1, n)]
        if block[..., inside[: r1 - r0, : block.shape[-1]]].max(initial=0.0) >= 1e-6:
            return False
    return True


def pattern_score(
    att: Attention, pattern: np.ndarray, allowed: np.ndarray, stats: RowStats | None = None
) -> tuple[np.ndarray, ...]:
    """Score, chance level and permutation z-score of ``pattern`` for every head.

    Only rows with at least :data:`MIN_KEYS` keys count (a decoder's second
    row has two keys: whatever it does, it is half "previous-token" and half
    "sink"). Returns three ``[layer, head]`` arrays, NaN when fewer than
    :data:`MIN_ROWS` rows have a pattern (:func:`attn_widget.heads.stats.pattern_scores`).
    """
    stats = RowStats.of(att) if stats is None else stats
    rows = PatternRows.of(pattern, allowed)
    on = None if rows is None else np.stack([rows.on(att[layer]) for layer in range(att.shape[0])])
    return pattern_scores(on, rows, stats, att.shape[:2])


def scorer(tokens: Sequence[Any], shape: tuple[int, int, int], causal: bool) -> HeadScorer:
    """A :class:`~attn_widget.heads.stats.HeadScorer` for every role of :data:`ROLES` on ``tokens``.

    Feed it each layer's ``[head, T, T]`` attention, then :func:`report` it.
    """
    n_layers, _, n = shape
    if len(tokens) != n:
        raise ValueError(f"got {len(tokens)} tokens for attention over {n} positions")
    keys = token_keys(tokens)
    allowed = np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool)
    return HeadScorer(n_layers, {role: ROLES[role](keys, allowed) for role in ROLES}, allowed, causal)


def report(
    scored: HeadScorer,
    *,
    min_score: float = 0.4,
    margin: float = 0.2,
    z_min: float = 5.0,
    broad_min: float = 0.9,
) -> HeadReport:
    """The :class:`HeadReport` of a scorer that has seen every layer (the control: the module docstring)."""
    scores, chance, zs = scored.scores()
    return HeadReport(scores, chance, zs, label(scores, chance, zs, min_score, margin, z_min, broad_min))


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
    scored = scorer(tokens, (att.shape[0], att.shape[1], att.shape[-1]), is_causal(att))
    for layer in range(att.shape[0]):
        scored.layer(layer, att[layer])
    return report(scored, min_score=min_score, margin=margin, z_min=z_min, broad_min=broad_min)


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


def report_arrays(found: HeadReport) -> dict[str, np.ndarray]:
    """The report's scores as per-head data an analysis can keep (``head_data``): ``role_names``
    and ``role_scores`` (``[role, 3, layer, head]``: score, chance, z)."""
    names = list(found.scores)
    stacked = [np.stack([found.scores[r], found.chance[r], found.z[r]]) for r in names]
    return {"role_names": np.array(names), "role_scores": np.stack(stacked).astype(np.float64)}


def report_from(head_data: Mapping[str, np.ndarray], **control: float) -> HeadReport | None:
    """The :class:`HeadReport` kept by :func:`report_arrays` (labels re-derived with ``control``) or None."""
    if "role_scores" not in head_data or "role_names" not in head_data:
        return None
    arrays = np.asarray(head_data["role_scores"])
    names = [str(n) for n in np.asarray(head_data["role_names"]).tolist()]
    scores = {r: arrays[i, 0] for i, r in enumerate(names)}
    chance = {r: arrays[i, 1] for i, r in enumerate(names)}
    z = {r: arrays[i, 2] for i, r in enumerate(names)}
    return HeadReport(scores, chance, z, label(scores, chance, z, **control))


def analysis_report(analysis: Any) -> HeadReport | None:
    """Head roles of an :class:`~attn_widget.Analysis`: scored on its raw attention, or the ones a
    streamed analysis kept; ``None`` when it has neither."""
    if analysis.attentions is not None:
        return score_heads(analysis.attentions, analysis.model_tokens)
    return report_from(analysis.head_data)
