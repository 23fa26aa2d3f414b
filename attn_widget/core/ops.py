"""Operations on an :class:`~attn_widget.core.analysis.Analysis` that other layers provide.

``Analysis.recluster``, ``.explain`` and ``.widget`` are conveniences; the work
lives in the layer that owns it (``graph``, ``explain``, ``view``). Those
layers sit above ``core`` and ``core`` never imports them: the package's
facade (``attn_widget/__init__.py``) registers each operation here when
``attn_widget`` is imported, and the methods look it up by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .registry import Registry

OPERATIONS: Registry[Callable[..., Any]] = Registry("analysis operation")
"""Name (``"recluster"``, ``"explain"``, ``"widget"``, …) → function taking the analysis first."""


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run operation ``name``, registered by the facade, with the given arguments."""
    if name not in OPERATIONS:
        raise RuntimeError(
            f"Analysis.{name}() is provided by attn_widget's {name} layer, which is not loaded; "
            "import attn_widget (the package, not only attn_widget.core) first"
        )
    return OPERATIONS[name](*args, **kwargs)
