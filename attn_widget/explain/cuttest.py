"""Moved: the partition cut test lives in :mod:`attn_widget.evaluate.cuttest`.

Kept for one release so ``from attn_widget.explain.cuttest import cut_test``
still works (with a ``DeprecationWarning``). The name is looked up when it is
asked for, so ``explain/`` does not import the evaluation layer beside it.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_NEW = "attn_widget.evaluate.cuttest"


def __getattr__(name: str) -> Any:
    module = importlib.import_module(_NEW)
    if name.startswith("__") or not hasattr(module, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"attn_widget.explain.cuttest.{name} moved to {_NEW}.{name}; import it from there "
        "(this alias goes in the next release)",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(module, name)
