"""Where the built front-end lives, and what the widget shows when it is missing.

``npm run build`` in ``js/`` (run by the wheel build) writes ``widget.js``,
``widget.css``, ``standalone.js`` (the exported page's bootstrap), ``study.js``
and BertViz's offline scripts into ``static/``.
"""

from __future__ import annotations

import json
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
"""Where ``npm run build`` (in ``js/``) and the wheel build put ``widget.js`` / ``widget.css``."""

MISSING_BUNDLE = (
    "attn_widget's front-end bundle is missing ({path}). The widget cannot be drawn. "
    "Install the package with `pip install attn_widget` (or `pip install -e .` in a checkout, "
    "which builds it), or build it by hand: `cd js && npm ci && npm run build`."
)

def bundle(static: Path = STATIC) -> tuple[Path | str, Path | str]:
    """``(_esm, _css)``: the built files, or a tiny module that shows what to do when they are missing."""
    js, css = static / "widget.js", static / "widget.css"
    if js.is_file() and css.is_file():
        return js, css
    message = json.dumps(MISSING_BUNDLE.format(path=js))
    esm = (
        "export default { render({ el }) { const p = document.createElement('pre');"
        " p.dataset.testid = 'error'; p.style.whiteSpace = 'pre-wrap'; p.style.color = '#b71c1c';"
        f" p.textContent = {message}; el.replaceChildren(p); }} }};"
    )
    return esm, ""
