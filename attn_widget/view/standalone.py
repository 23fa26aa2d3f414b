"""Export an analysis as one standalone HTML page that works offline, with no kernel.

:func:`save_html` inlines the widget's own bundle and CSS, the state (buffers
base64-encoded) and the page's bootstrap ``static/standalone.js`` (built from
``js/src/standalone.ts``: it loads the bundle and renders it with a local model
in place of the kernel), so the same front-end code runs offline; the sweep's
precomputed partitions keep the slider working, and the drill-down says it
needs a kernel. The page's Content-Security-Policy forbids
every network request. Figures for papers (SVG, PNG) are in
:mod:`attn_widget.view.figures`.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from ..core import Analysis
from . import assets
from .firstscreen import first_screen
from .knobs import lens_trait
from .wire import to_jsonable, to_state

NEEDS_KERNEL = (
    "The BertViz drill-down needs a running Python kernel, and this is an exported page. "
    "In a notebook: attn_widget.AttentionExplainer(attn_widget.Analysis.load(path))."
)

_PAGE_CSS = """
:root { --jp-layout-color1: #ffffff; --jp-layout-color2: #f3f3f3; --jp-content-font-color1: #1f1f1f;
  --jp-content-font-color2: #5f5f5f; --jp-border-color2: #d0d0d0; --jp-brand-color1: #1976d2;
  --jp-error-color3: #fde7e7; --jp-error-color0: #b71c1c; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --jp-layout-color1: #111418; --jp-layout-color2: #1d2127;
  --jp-content-font-color1: #e8e8e8; --jp-content-font-color2: #a8a8a8; --jp-border-color2: #454b54;
  --jp-brand-color1: #64b5f6; --jp-error-color3: #3b1717; --jp-error-color0: #ff8a80; } }
body { margin: 16px; background: var(--jp-layout-color1); color: var(--jp-content-font-color1); }
.aw-page-title { font: 600 15px system-ui, sans-serif; margin: 0 0 8px; }
"""

def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' survive as themselves."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _bundle() -> tuple[str, str, str]:
    """The widget's bundle, its CSS and the page's bootstrap, as built by ``npm run build``."""
    files = [assets.STATIC / name for name in ("widget.js", "widget.css", "standalone.js")]
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(assets.MISSING_BUNDLE.format(path=path))
    js, css, boot = (path.read_text(encoding="utf-8") for path in files)
    if "</script" in boot.lower():  # esbuild escapes it in strings; anything else would end the element
        raise ValueError(f"{files[2]} contains '</script' and cannot be inlined; rebuild it (npm run build)")
    return js, css, boot


def to_html(analysis: Analysis, title: str | None = None, token_map: Any = None) -> str:
    """The standalone page as a string (see :func:`save_html`)."""
    js, css, boot = _bundle()
    o = analysis.options
    traits = {
        "threshold": float(analysis.threshold),
        "threshold_mode": o.threshold_mode,
        "method": o.method,
        "aggregation": o.aggregation,
        "layers": None if o.layers is None else list(o.layers),
        "heads": None if o.heads is None else [list(h) for h in o.heads],
        "selected_cluster": None,
        "status": "ready",
        "progress": "",
        "error": "",
        "notices": list(analysis.notices),
        "methods": [o.method],
        "aggregations": [o.aggregation],
        "measure": o.measure,
        "lens": lens_trait(o.lens),
        "links_lens": "",
        "measures": [o.measure],
        "lenses": [o.lens] if isinstance(o.lens, str) else [],
        "unit": o.unit,
        "zoom": None,
        "needs_kernel": NEEDS_KERNEL,
    }
    words = sum(1 for t in analysis.tokens if not t.special)
    title = title or f"attn_widget: {words} {o.unit}{'' if words == 1 else 's'}" + (
        f" ({analysis.model})" if analysis.model else ""
    )
    arcs, findings = first_screen(analysis)
    state = _script_json(to_jsonable(to_state(analysis, token_map=token_map, arcs=arcs, findings=findings)))
    bundle_b64 = base64.b64encode(js.encode()).decode()
    css_text = css.replace("</", "<\\/")  # CSS cannot end the <style> element early
    csp = "default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; img-src data:"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_PAGE_CSS}\n{css_text}</style>",
            "</head><body>",
            f'<h1 class="aw-page-title">{html.escape(title)}</h1>',
            '<div id="attn-widget-root"></div>',
            f'<script type="application/json" id="attn-widget-state">{state}</script>',
            f'<script type="application/json" id="attn-widget-traits">{_script_json(traits)}</script>',
            f'<script type="text/plain" id="attn-widget-bundle">{bundle_b64}</script>',
            f'<script type="module">{boot}</script>',
            "</body></html>",
        ]
    )


def save_html(analysis: Analysis, path: str | Path, title: str | None = None, token_map: Any = None) -> Path:
    """Write one standalone HTML file that shows ``analysis`` offline, with no kernel.

    The slider keeps working over the sweep's precomputed partitions; the
    aggregation/method controls, the drill-down and hand edits say they need a
    kernel. A refined partition is shown as refined, with its edits listed;
    ``token_map`` (``(method, seed, [T, 2] coordinates)``, as the widget keeps
    its last map) puts the token map in the page too.
    """
    path = Path(path)
    path.write_text(to_html(analysis, title, token_map), encoding="utf-8")
    return path
