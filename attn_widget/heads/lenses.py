"""Lenses: named selections of heads that build the graph, so clusters show what those heads do.

Averaging every head mixes a few heads that link distant, related words with
many that look at the previous token, at the token itself, at the sink, or
everywhere at once. A lens keeps the heads to look through:

``"all"``
    Every head (what the tool did before lenses).
``"early"``, ``"middle"``, ``"late"``
    The first, middle and last third of the layers.
``"content"``
    Every head except those labelled as first-token sink, previous-token,
    self or broad heads on this input (:func:`attn_widget.heads.roles.score_heads`).
``"previous-token"``, ``"duplicate-token"``, ``"induction"``
    The heads labelled with that role on this input.
``"coreference"``
    The model's coreference heads, found once per model on a packaged probe
    set of labelled pronoun sentences (:mod:`attn_widget.heads.coref`).

A lens may also be a list of ``(layer, head)`` pairs, or a function
``f(report) -> [(layer, head), ...]`` of the input's
:class:`~attn_widget.heads.roles.HeadReport`. :func:`resolve` turns any of
them into the heads to keep (``None``: all) and a notice when a role lens
finds no head on this input and falls back to every head.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.registry import Registry
from ..core.types import Attention
from .roles import HeadReport, score_heads

Heads = tuple[tuple[int, int], ...]


class NeedsReport(LookupError):
    """A lens asked for the head roles, and neither they nor the raw attention are at hand yet."""


@dataclass
class LensContext:
    """What a lens may look at: the attention (or its shape and head roles), its tokens, the model's name.

    Head roles are computed from ``attentions`` on demand, or given (``_report``)
    when the attention was streamed; :class:`NeedsReport` when neither is there.
    """

    attentions: Attention | None
    tokens: Sequence[Any]
    model: str | None = None
    measure: str = "attention"
    notices: list[str] = field(default_factory=list)
    _report: HeadReport | None = field(default=None, repr=False)
    _shape: tuple[int, int] | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        if self.attentions is None:
            assert self._shape is not None
            return self._shape
        return int(self.attentions.shape[0]), int(self.attentions.shape[1])

    @property
    def report(self) -> HeadReport:
        """The input's head roles (computed once)."""
        if self._report is None:
            if self.attentions is None:
                raise NeedsReport("this lens needs the head roles of the input")
            self._report = score_heads(self.attentions, self.tokens)
        return self._report


Lens = Callable[[LensContext], "Heads | None"]
LENSES: Registry[Lens] = Registry("lens")
"""Named lenses; each returns the heads it keeps, ``None`` for every head."""

POSITIONAL_ROLES = frozenset({"first-token sink", "previous-token", "self", "broad"})
"""Roles that say where a head looks (a position), not what it looks for: ``"content"`` drops them."""


def _band(part: int) -> Lens:
    def band(ctx: LensContext) -> Heads:
        n_layers, n_heads = ctx.shape
        edges = np.linspace(0, n_layers, 4).round().astype(int)
        return tuple((la, h) for la in range(edges[part], edges[part + 1]) for h in range(n_heads))

    return band


@LENSES.register("all")
def all_heads(ctx: LensContext) -> Heads | None:
    """Every head."""
    return None


for _k, _name in enumerate(("early", "middle", "late")):
    LENSES.register(_name)(_band(_k))


@LENSES.register("content")
def content(ctx: LensContext) -> Heads:
    """Heads with no positional role (first-token sink, previous-token, self, broad) on this input."""
    n_layers, n_heads = ctx.shape
    labels = ctx.report.labels
    return tuple(
        (la, h)
        for la in range(n_layers)
        for h in range(n_heads)
        if not {role for role, _ in labels.get((la, h), ())} & POSITIONAL_ROLES
    )


def _role(role: str) -> Lens:
    def with_role(ctx: LensContext) -> Heads:
        labels = ctx.report.labels
        return tuple(sorted(k for k, roles in labels.items() if any(r == role for r, _ in roles)))

    with_role.__doc__ = f"Heads labelled {role!r} on this input."
    return with_role


for _role_name in ("previous-token", "duplicate-token", "induction"):
    LENSES.register(_role_name)(_role(_role_name))


@LENSES.register("coreference")
def coreference(ctx: LensContext) -> Heads:
    """The model's coreference heads, from the packaged pronoun probe (needs the model)."""
    from . import coref  # the probe runs the model: only when this lens is asked for

    if not ctx.model:
        raise ValueError(
            "lens='coreference' finds the model's coreference heads by running it on a probe set, and "
            "this analysis names no model (made from attention arrays); use "
            "attn_widget.analyze(text, model=..., lens='coreference'), "
            "or pass the heads: lens=[(layer, head), ...]"
        )
    found = coref.coreference_heads(ctx.model, ctx.measure)
    if found.heads:
        held_out = (
            f" Together ({found.rule}, chosen by cross-validation) their strongest link from a pronoun is "
            f"its antecedent for {round(100 * found.cv_top1)}% of held-out probe pronouns, among the three "
            f"strongest for {round(100 * found.cv_top3)}%."
            if np.isfinite(found.cv_top1) and np.isfinite(found.cv_top3)
            else ""
        )
        ctx.notices.append(
            f"Lens 'coreference': heads {found.describe()} of {ctx.model} (layer.head, and how often each "
            f"head alone links a pronoun to its antecedent on {found.n_items} probe items).{held_out}"
            f"{coref.sure_words(found)}"
        )
    return found.heads


def resolve(
    lens: Any,
    attentions: Attention | None,
    tokens: Sequence[Any],
    model: str | None = None,
    measure: str = "attention",
    *,
    report: HeadReport | None = None,
    shape: tuple[int, int] | None = None,
) -> tuple[Heads | None, tuple[str, ...]]:
    """The heads ``lens`` keeps on this input (``None``: all) and notices for the user.

    Without the raw ``attentions`` (a streamed text), pass the ``(layers, heads)``
    ``shape`` and the head-role ``report`` when there is one; a lens that needs
    roles there is none raises :class:`NeedsReport`. A named or function lens
    that keeps no head falls back to every head, with a notice.
    """
    if lens is None:
        return None, ()
    att = None if attentions is None else np.asarray(attentions)
    ctx = LensContext(att, tokens, model, measure, _report=report, _shape=shape)
    if isinstance(lens, str):
        heads = LENSES[lens](ctx)
        name = repr(lens)
    elif callable(lens):
        heads = tuple((int(a), int(b)) for a, b in lens(ctx.report))
        name = getattr(lens, "__name__", "the lens function")
    else:
        return tuple((int(a), int(b)) for a, b in lens), ()
    if heads is not None and not heads:
        return None, (f"The lens {name} keeps no head on this input, so every head is used instead.",)
    return heads, tuple(ctx.notices)
