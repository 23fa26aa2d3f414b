"""The widget conveniences every result shares: ``.widget`` (made once), ``.show()``, notebook display.

The widget lives in the view layer, which ``core`` never imports: it is looked
up through :data:`attn_widget.core.ops.OPERATIONS` (``"widget"``), which the
package's facade registers.
"""

from __future__ import annotations

from typing import Any

from . import ops


class Viewable:
    """Mixin for frozen results that :class:`attn_widget.AttentionExplainer` can show."""

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
