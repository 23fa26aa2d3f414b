"""BertViz's HTML made offline and safe: one self-contained page for a sandboxed iframe.

BertViz (``head_view`` / ``model_view`` with ``html_action='return'``) emits a
page that loads require.js from a CDN and configures d3 and jQuery paths.
:func:`document` replaces those with require.js 2.3.6, d3 5.7.0 and jQuery
2.1.0 inlined from ``attn_widget/static/vendor/`` (copied there by
``js/scripts/vendor.mjs`` during ``npm run build``), escapes the embedded JSON
so token text cannot end a script, and adds a Content-Security-Policy that
forbids every fetch.
"""

from __future__ import annotations

import html as _html
import json
import re
from pathlib import Path

from ..core.cache import memoize

VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
"""Where ``js/scripts/vendor.mjs`` puts BertViz's three scripts."""

VENDOR = {
    "d3": ("5.7.0", "d3.min.js"),
    "jquery": ("2.1.0", "jquery.min.js"),
    "requirejs": ("2.3.6", "require.js"),
}
"""Package → (exact version, file name) expected in :data:`VENDOR_DIR`."""

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:"
)
DISPLAY_MODES = {
    "light": "body{background:#fff;color:#111}.attn-note{color:#444}",
    "dark": "body{background:#111;color:#ddd}.attn-note{color:#bbb}#vis svg text{fill:#ddd}"
            "#vis svg rect.background{fill:#3a3a3a}"  # head view's hover box (lightgray) under light text
            "select{background:#222;color:#ddd;border:1px solid #555}",
}
"""Page colours per ``display_mode`` (BertViz's own names). ``head_view`` in BertViz 1.4 has no
``display_mode``: its token text takes the page's colours, which is what the dark rules set."""

_STYLE = (
    "body{margin:8px;font:13px 'Helvetica Neue',Helvetica,Arial,sans-serif}"
    ".attn-note{margin:0 0 8px}#vis svg{overflow:visible}"
)
_CDN_TAG = re.compile(r'<script src="https?://[^"]*require[^"]*"></script>')
_CDN_CONFIG = re.compile(r"require\.config\(\{\s*paths:\s*\{[^{}]*\}\s*\}\);")
_HEADER = re.compile(r"/\*\*\s*\n \* @fileoverview.*?\*\*/", re.DOTALL)
_PARAMS = "const params = "
_MARKER, _MARKER_END = "; // HACK: ", " is a template marker that is replaced by actual params."
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_VISIBLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible(text: str) -> str:
    """Token text as BertViz should draw it: whitespace-only pieces made visible."""
    out = "".join(_VISIBLE.get(ch, ch) for ch in text)
    return out if out.strip() else out.replace(" ", "\u2423") or "\u2205"


def room(texts: list[str]) -> int:
    """Pixels to add on the left so BertViz's right-aligned token column (~100 px wide) is not
    clipped by long tokens (~9 px per character at its 15 px font), at most 600."""
    return int(min(600, max(0, 9 * max(map(len, texts)) - 100)))


HEIGHT_MESSAGE = "attn-widget-height"
"""``postMessage`` type of the page's height report to its parent (``js/src/extras/drillview.ts``)."""

_REPORT_HEIGHT = (
    "<script>\n(function () {\n"
    "  var last = -1;\n"
    "  function report() {\n"
    "    var h = Math.ceil(document.body.getBoundingClientRect().height) + 16;\n"
    "    if (h !== last && window.parent !== window) {\n"
    f"      last = h; window.parent.postMessage({{type: '{HEIGHT_MESSAGE}', height: h}}, '*');\n"
    "    }\n  }\n"
    "  if (typeof ResizeObserver !== 'undefined') new ResizeObserver(report).observe(document.body);\n"
    "  window.addEventListener('load', report);\n  setTimeout(report, 300);\n"
    "})();\n</script>\n"
)
"""Tells the widget how tall the drawing is, so its iframe fits it (a sandboxed page cannot be measured)."""


def with_note(page: str, note: str) -> str:
    """``page`` with ``note`` as its first paragraph (a saved file has no widget around it to say it)."""
    at = page.index(">", page.index("<body")) + 1
    return f'{page[:at]}\n<p class="attn-note">{_html.escape(note)}</p>{page[at:]}'


def document(bertviz_html: str, room: int = 0, display_mode: str = "light") -> str:
    """BertViz's output made offline and safe, inside one complete HTML page.

    The page reports its height to its parent frame; the note saying what was cut
    is shown by whatever shows the page (:func:`with_note` for a file of its own).
    """
    page, count = _CDN_TAG.subn("", bertviz_html)
    page, count2 = _CDN_CONFIG.subn("/* d3 and jquery are inlined above (view/drilldown.py) */", page)
    start = page.find(_PARAMS)
    end = page.find("\n", start)
    params = _params_json(page[start + len(_PARAMS):end]) if start >= 0 and end > start else None
    if count != 1 or count2 != 1 or params is None:
        raise RuntimeError(
            "BertViz's HTML no longer has the layout attn_widget rewrites for offline use "
            "(one require.js <script src>, one require.config, one `const params = ...` line); "
            "report this with the output of `pip show bertviz`"
        )
    # BertViz's str.replace also pastes the JSON into the comment after it: keep one copy, and
    # escape <, >, & so token text like "</script>" cannot end the script (JSON escapes are valid JS).
    params = re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], params)
    page = _HEADER.sub("", page[:start], count=1) + _PARAMS + params + ";" + page[end:]
    d3, jquery, requirejs = vendor(VENDOR_DIR)
    modules = "define('d3', [], function () { return window.d3; });\n" \
              "define('jquery', [], function () { return window.jQuery; });"
    scripts = "".join(f"<script>\n{code}\n</script>\n" for code in (d3, jquery, requirejs, modules))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        "<title>Attention heads (BertViz)</title>\n"
        f"<style>{_STYLE}{DISPLAY_MODES[display_mode]}#vis{{padding-left:{room}px}}</style>\n"
        f'</head>\n<body data-display-mode="{display_mode}">\n'
        f"{scripts}{page}\n{_REPORT_HEIGHT}</body>\n</html>\n"
    )


def _params_json(line: str) -> str | None:
    """The JSON in BertViz's ``const params = J; // HACK: J is a template marker ...`` line."""
    body = line.removesuffix(_MARKER_END)
    size = (len(body) - len(_MARKER)) // 2
    json_text = body[:size]
    return json_text if body == json_text + _MARKER + json_text else None


@memoize(size=4)
def vendor(folder: Path) -> tuple[str, str, str]:
    """The inlined scripts (d3, jQuery, require.js), checked against :data:`VENDOR`."""
    fix = "build the front-end: `cd js && npm install && npm run build` (pip install of the project runs it)"
    try:
        found = json.loads((folder / "versions.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise FileNotFoundError(f"BertViz's offline scripts are missing from {folder}; {fix}") from None
    out = []
    for name, (version, file) in VENDOR.items():
        path = folder / file
        if found.get(name, {}).get("version") != version or not path.is_file():
            raise FileNotFoundError(f"{folder} lacks {name} {version} ({file}) for BertViz; {fix}")
        code = re.sub(r"^//# sourceMappingURL=.*$", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        out.append(re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE))
    return out[0], out[1], out[2]
