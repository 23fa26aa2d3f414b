"""What the results beside :class:`~attn_widget.core.Analysis` share: ``.recluster()``, ``.widget``.

Re-clustering and the widget live in layers above ``core``, which it never
imports: they are looked up through :data:`attn_widget.core.ops.OPERATIONS`
(``"recluster"``, ``"widget"``), which the package's facade registers.
"""

from __future__ import annotations

from typing import Any

from . import ops


class Result:
    """Mixin for frozen results that :func:`attn_widget.recluster` and the widget take."""

    def recluster(self, **changes: Any) -> Any:
        """A copy re-clustered with changed options (no forward pass); see :func:`attn_widget.recluster`."""
        return ops.call("recluster", self, **changes)

    @property
    def widget(self) -> Any:
        """The :class:`attn_widget.AttentionExplainer` for this result (created lazily, then kept)."""
        cached = self.__dict__.get("_widget")
        if cached is None:
            cached = ops.call("widget", self)
            object.__setattr__(self, "_widget", cached)
        return cached

    def show(self) -> Any:
        """Display the widget (in a notebook) and return it."""
        return self.widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:  # pragma: no cover - notebook only
        return self.widget._repr_mimebundle_(**kwargs)
