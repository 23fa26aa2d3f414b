"""attn_widget: group a transformer's tokens by attention and explain each group.

Quickstart::

    import attn_widget
    result = attn_widget.analyze("The cat sat on the mat because it was tired.")
    print(result.table())
    attn_widget.AttentionExplainer(result)   # in a notebook

The package is layered, each subpackage importing only those below it::

    cli ─► study │ corpus ─► view ─► api : runs ─► explain │ evaluate ─► heads ─► extract │ graph ─► core
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import evaluate
from .api import (
    DroppedData,
    ablate,
    analyze,
    analyze_attention,
    analyze_generation,
    arcs,
    compare,
    explain,
    links,
    recluster,
    refine,
    rerun,
    token_map,
    zoom,
)
from .core import (
    Ablation,
    Analysis,
    Arc,
    Cluster,
    Comparison,
    Edit,
    Generation,
    Link,
    Options,
    Partition,
    Sweep,
    Token,
)
from .core.ops import OPERATIONS
from .core.options import DEFAULT_MODEL

if TYPE_CHECKING:  # imported lazily below (the widget pulls in anywidget); named here for type checkers
    from .view.widget import AttentionExplainer

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "Ablation",
    "Analysis",
    "Arc",
    "AttentionExplainer",
    "Cluster",
    "Comparison",
    "DroppedData",
    "Edit",
    "Generation",
    "Link",
    "Options",
    "Partition",
    "Sweep",
    "Token",
    "__version__",
    "ablate",
    "analyze",
    "analyze_attention",
    "analyze_generation",
    "arcs",
    "compare",
    "evaluate",
    "explain",
    "links",
    "recluster",
    "refine",
    "rerun",
    "token_map",
    "zoom",
]


def _widget(result: Analysis | Generation | Comparison) -> Any:
    from .view.widget import AttentionExplainer  # lazy: the widget pulls in anywidget

    return AttentionExplainer(result)


# Analysis.recluster / .explain / .refine / .ablate / .widget (and the other results' .widget)
# delegate here (core never imports the layers above it).
_OPS = (
    ("recluster", recluster), ("explain", explain), ("links", links), ("refine", refine), ("ablate", ablate),
    ("widget", _widget), ("rerun", rerun), ("zoom", zoom), ("arcs", arcs),
)
for _name, _fn in _OPS:
    if _name not in OPERATIONS:
        OPERATIONS.register(_name)(_fn)


def __getattr__(name: str) -> Any:
    if name == "AttentionExplainer":  # lazy: importing the widget pulls in anywidget
        from .view.widget import AttentionExplainer

        return AttentionExplainer
    if name == "corpus":  # attn_widget.corpus.analyze_corpus(...) after a plain `import attn_widget`
        import importlib

        return importlib.import_module(".corpus", __name__)
    raise AttributeError(f"module 'attn_widget' has no attribute {name!r}")
