"""attn_widget: group a transformer's tokens by attention and explain each group.

Quickstart::

    import attn_widget
    result = attn_widget.analyze("The cat sat on the mat because it was tired.")
    print(result.table())
    attn_widget.AttentionExplainer(result)   # in a notebook
"""

from __future__ import annotations

from typing import Any

from .analysis import Analysis, Cluster, Options, Sweep, Token
from .models import DEFAULT_MODEL
from .pipeline import analyze_attention

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "AttentionExplainer",
    "Cluster",
    "Options",
    "Sweep",
    "Token",
    "__version__",
    "analyze",
    "analyze_attention",
]


def analyze(text: str, model: Any = DEFAULT_MODEL, **options: Any) -> Analysis:
    """Run ``model`` on ``text`` and cluster its tokens by attention.

    ``model`` defaults to GPT-2 small; when it was not named and cannot be
    loaded (no network, no cache), SmolLM2-135M-Instruct is used if installed,
    with a notice in ``Analysis.notices``. A model you name never falls back.

    See :func:`attn_widget.extract.analyze` for every option.
    """
    from .extract import analyze as _analyze

    return _analyze(text, model, **options)


def __getattr__(name: str) -> Any:
    if name == "AttentionExplainer":  # lazy: importing the widget pulls in anywidget
        from .widget import AttentionExplainer

        return AttentionExplainer
    raise AttributeError(f"module 'attn_widget' has no attribute {name!r}")
