"""What the frozen results share: ``.recluster()``, ``.save()`` / ``.load()``, ``.widget``, ``.show()``.

Re-clustering and the widget live in layers above ``core``, which it never
imports: they are looked up through :data:`attn_widget.core.ops.OPERATIONS`
(``"recluster"``, ``"widget"``), which the package's facade registers. Saving
is :mod:`attn_widget.core.archive`: a ``.json`` file holds ``to_dict()``, any
other suffix a zip with the raw arrays too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from . import archive, ops


class Result:
    """Mixin for frozen results: a subclass sets ``KIND`` and has ``to_dict``, ``from_dict``, ``arrays``."""

    KIND: ClassVar[str] = ""
    """The name of the document inside a saved file (``"generation"`` → ``generation.json``)."""

    def recluster(self, **changes: Any) -> Any:
        """A copy re-clustered with changed options (no forward pass); see :func:`attn_widget.recluster`."""
        return ops.call("recluster", self, **changes)

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def arrays(self) -> dict[str, Any]:
        """The raw arrays a saved file keeps beside :meth:`to_dict` (by name)."""
        return {}

    def save(self, path: str | Path) -> Path:
        """Write to one file (``.json``: no raw arrays; any other suffix: a zip that loads back ``==``)."""
        return archive.write(path, self.KIND, self.to_dict(), self.arrays())

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Read a file written by :meth:`save`."""
        document, arrays = archive.read(path, cls.KIND, f"{cls.__name__}.save()")
        return cls.from_dict(document, arrays)  # type: ignore[attr-defined]

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
