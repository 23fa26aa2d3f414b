"""Export an analysis without a kernel: one standalone HTML page, SVG and PNG figures.

:func:`save_html` inlines the widget's own bundle and CSS, the state (buffers
base64-encoded) and a small local model shim, so the same front-end code runs
offline; the sweep's precomputed partitions keep the slider working, and the
drill-down says it needs a kernel. The page's Content-Security-Policy forbids
every network request. :func:`save_svg` / :func:`save_png` draw the
highlighted text with its legend for papers; the PNG is drawn with Pillow
(pure Python wheels, no browser, no system libraries), the SVG by hand.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import Analysis
from .state import to_jsonable, to_state

PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
"""Okabe–Ito, the same list as ``js/src/colors.ts`` (a test keeps them equal)."""
EXTRA = ("#999933", "#EE3377", "#AA7744")
"""Clusters 8–10: olive, magenta, brown (``EXTRA`` in ``js/src/colors.ts``)."""
COLOURS = PALETTE + EXTRA
PATTERNS = ("solid", "dashed", "dotted", "double")
FILL_ALPHA = 0.38

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

_SHIM = """
const read = (id) => document.getElementById(id).textContent;
const traits = JSON.parse(read("attn-widget-traits"));
traits.state = JSON.parse(read("attn-widget-state"));
const bytes = Uint8Array.from(atob(read("attn-widget-bundle").trim()), (c) => c.charCodeAt(0));
const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
const widget = (await import(url)).default;
const listeners = new Map();
const emit = (event, ...args) => (listeners.get(event) || []).forEach((cb) => cb(...args));
const model = {
  standalone: true,
  get: (key) => traits[key],
  set: (key, value) => { traits[key] = value; emit("change:" + key); },
  save_changes() {},
  on(event, cb) { if (!listeners.has(event)) listeners.set(event, new Set()); listeners.get(event).add(cb); },
  off(event, cb) {
    if (!event) listeners.clear();
    else if (!cb) listeners.delete(event);
    else listeners.get(event)?.delete(cb);
  },
  send(msg) {
    if (!msg || msg.type !== "drilldown") return;
    const reply = { type: "drilldown_reply", id: msg.id, error: traits.needs_kernel };
    setTimeout(() => emit("msg:custom", reply, []), 0);
  },
};
widget.initialize?.({ model });
widget.render({ model, el: document.getElementById("attn-widget-root") });
"""


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' survive as themselves."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _bundle() -> tuple[str, str]:
    from .widget import MISSING_BUNDLE, STATIC

    js, css = STATIC / "widget.js", STATIC / "widget.css"
    if not (js.is_file() and css.is_file()):
        raise FileNotFoundError(MISSING_BUNDLE.format(path=js))
    return js.read_text(encoding="utf-8"), css.read_text(encoding="utf-8")


def to_html(analysis: Analysis, title: str | None = None) -> str:
    """The standalone page as a string (see :func:`save_html`)."""
    js, css = _bundle()
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
        "needs_kernel": NEEDS_KERNEL,
    }
    title = title or f"attn_widget: {len(analysis.tokens)} tokens" + (
        f" ({analysis.model})" if analysis.model else ""
    )
    state = _script_json(to_jsonable(to_state(analysis)))
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
            f'<script type="module">{_SHIM}</script>',
            "</body></html>",
        ]
    )


def save_html(analysis: Analysis, path: str | Path, title: str | None = None) -> Path:
    """Write one standalone HTML file that shows ``analysis`` offline, with no kernel.

    The slider keeps working over the sweep's precomputed partitions; the
    aggregation/method controls and the drill-down say they need a kernel.
    """
    path = Path(path)
    path.write_text(to_html(analysis, title), encoding="utf-8")
    return path


# ---------------------------------------------------------------- figures
# One layout (lines of measured boxes) feeds both the SVG and the PNG. Widths
# come from the PNG's font; the SVG pins each piece to its measured width with
# textLength, so the figure looks the same whatever font the viewer has.

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


class _ApproxFont:
    """Width estimate when Pillow is absent (SVG only: its text is pinned with textLength)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def getlength(self, text: str) -> float:
        return 0.56 * self.size * len(text)


def _font(size: int, *, required: bool = False) -> Any:
    """A Pillow font: DejaVu Sans when the system has it, else Pillow's built-in font.

    Without Pillow: an estimate for the SVG, or (``required``, for the PNG) an
    ImportError that says what to install.
    """
    try:
        from PIL import ImageFont
    except ImportError:
        if not required:
            return _ApproxFont(size)
        raise ImportError(
            "PNG export draws with Pillow, which is not installed: pip install pillow"
        ) from None
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def _pieces(analysis: Analysis) -> list[tuple[str, int, str]]:
    """``(kind, token index or -1, text)`` covering the text, as ``js/src/layout.ts`` does."""
    text = analysis.text
    if not text:
        return [("token", i, t.text) for i, t in enumerate(analysis.tokens)]
    out: list[tuple[str, int, str]] = []
    cursor = 0
    for i, tok in enumerate(analysis.tokens):
        if tok.start is None or tok.end is None or tok.start > len(text):
            out.append(("chip", i, tok.text))
            continue
        if tok.start > cursor:
            out.append(("gap", -1, text[cursor : tok.start]))
        lo = max(tok.start, cursor)
        hi = min(max(tok.end, lo), len(text))
        out.append(("token", i, text[lo:hi]))
        cursor = max(cursor, hi)
    if cursor < len(text):
        out.append(("gap", -1, text[cursor:]))
    return out


def colours(labels: np.ndarray) -> dict[int, tuple[str, str]]:
    """``{cluster id: (colour, pattern)}`` for clusters of 2+ tokens, as ``assignColors`` in JS."""
    ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
    big = sorted(int(i) for i in ids[sizes > 1])
    return {cid: swatch(k) for k, cid in enumerate(big)}


def swatch(k: int) -> tuple[str, str]:
    """Colour and underline pattern of the k-th coloured cluster, as ``swatchIndex`` in JS.

    Ten colours (Okabe–Ito, then three extra); the extra three and every later
    round of ten move on to the next underline pattern.
    """
    colour = k % len(COLOURS)
    round_ = k // len(COLOURS) + (1 if colour >= len(PALETTE) else 0)
    return COLOURS[colour], PATTERNS[round_ % len(PATTERNS)]


def _layout(
    analysis: Analysis, labels: np.ndarray, width: float, size: int, font: Any
) -> tuple[list[dict], float]:
    """Boxes ``{x, y, w, text, label, kind}`` wrapped to ``width``; returns them and the height used."""
    line_h = size * 1.75
    x, y, boxes = 0.0, size * 1.3, []
    for kind, index, piece in _pieces(analysis):
        for n, part in enumerate(piece.split("\n")):
            if n:
                x, y = 0.0, y + line_h
            shown = part if kind != "chip" else f" {part} "
            if not shown:
                continue
            w = font.getlength(shown)
            if x > 0 and x + w > width:
                x, y = 0.0, y + line_h
                shown = shown.lstrip() if kind == "gap" else shown
                w = font.getlength(shown)
            lead = font.getlength(shown) - font.getlength(shown.lstrip())
            core = shown.strip()
            if core:
                boxes.append(
                    {
                        "x": x + lead,
                        "y": y,
                        "w": font.getlength(core),
                        "text": core,
                        "label": int(labels[index]) if index >= 0 else None,
                        "kind": kind,
                    }
                )
            x += w
    return boxes, y + line_h * 0.5


def _legend(analysis: Analysis, labels: np.ndarray) -> list[tuple[int, str, str, str]]:
    rows = []
    for cid, (colour, pattern) in colours(labels).items():
        members = np.flatnonzero(labels == cid)
        words = " ".join(analysis.tokens[i].text.strip() or "·" for i in members[:6])
        more = " …" if members.size > 6 else ""
        rows.append((cid, colour, pattern, f"cluster {cid} ({members.size}): {words}{more}"))
    return rows


def to_svg(analysis: Analysis, labels: np.ndarray | None = None, width: int = 760, size: int = 16) -> str:
    """The highlighted text and its legend as an SVG document (white background, for papers)."""
    labels = analysis.labels if labels is None else np.asarray(labels)
    font = _font(size)
    boxes, height = _layout(analysis, labels, width, size, font)
    cmap = colours(labels)
    esc = html.escape
    dash = {
        "solid": "",
        "dashed": ' stroke-dasharray="5 3"',
        "dotted": ' stroke-dasharray="1.5 2"',
        "double": "",
    }
    body = []
    for b in boxes:
        top, bottom = b["y"] - size * 1.05, b["y"] + size * 0.35
        colour = cmap.get(b["label"]) if b["label"] is not None else None
        if colour:
            body.append(
                f'<rect x="{b["x"]:.1f}" y="{top:.1f}" width="{b["w"]:.1f}" height="{bottom - top:.1f}" '
                f'fill="{colour[0]}" fill-opacity="{FILL_ALPHA}"/>'
            )
            body.append(
                f'<line x1="{b["x"]:.1f}" x2="{b["x"] + b["w"]:.1f}" y1="{bottom:.1f}" y2="{bottom:.1f}" '
                f'stroke="{colour[0]}" stroke-width="2"{dash[colour[1]]}/>'
            )
        excluded = b["label"] == -1
        if excluded or b["kind"] == "chip":
            body.append(
                f'<rect x="{b["x"]:.1f}" y="{top:.1f}" width="{b["w"]:.1f}" height="{bottom - top:.1f}" '
                'fill="none" stroke="#777" stroke-dasharray="1.5 2"/>'
            )
        fill = "#666" if excluded else "#111"
        body.append(
            f'<text x="{b["x"]:.1f}" y="{b["y"]:.1f}" textLength="{b["w"]:.1f}" '
            f'lengthAdjust="spacingAndGlyphs" fill="{fill}">{esc(b["text"])}</text>'
        )
    y = height + size
    for _cid, hex_colour, _pattern, words in _legend(analysis, labels):
        body.append(
            f'<rect x="0" y="{y - size * 0.8:.1f}" width="{size:.0f}" height="{size * 0.8:.1f}" '
            f'fill="{hex_colour}" fill-opacity="{FILL_ALPHA}" stroke="{hex_colour}"/>'
        )
        small = f'font-size="{size * 0.8:.1f}" fill="#111"'
        body.append(f'<text x="{size * 1.4:.1f}" y="{y:.1f}" {small}>{esc(words)}</text>')
        y += size * 1.3
    total = y + size * 0.2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 20}" height="{total:.0f}" '
        f'viewBox="-10 0 {width + 20} {total:.0f}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" '
        f'font-size="{size}"><rect x="-10" y="0" width="{width + 20}" height="{total:.0f}" fill="#fff"/>'
        + "".join(body)
        + "</svg>\n"
    )


def save_svg(analysis: Analysis, path: str | Path, labels: np.ndarray | None = None, **kwargs: Any) -> Path:
    """Write :func:`to_svg` to ``path``."""
    path = Path(path)
    path.write_text(to_svg(analysis, labels, **kwargs), encoding="utf-8")
    return path


def save_png(
    analysis: Analysis,
    path: str | Path,
    labels: np.ndarray | None = None,
    width: int = 760,
    size: int = 16,
    scale: float = 2.0,
) -> Path:
    """Write the highlighted text and its legend as a PNG (drawn with Pillow at ``scale``x)."""
    font = _font(round(size * scale), required=True)  # first: a clear error without Pillow
    small = _font(round(size * 0.8 * scale), required=True)
    from PIL import Image, ImageDraw

    labels = analysis.labels if labels is None else np.asarray(labels)
    boxes, height = _layout(analysis, labels, width * scale, round(size * scale), font)
    legend = _legend(analysis, labels)
    s = size * scale
    total = height + s + len(legend) * s * 1.3 + s * 0.2
    img = Image.new("RGBA", (round((width + 20) * scale), round(total)), "white")
    over = Image.new("RGBA", img.size, (0, 0, 0, 0))
    tint = ImageDraw.Draw(over)
    pad = 10 * scale
    cmap = colours(labels)

    def rgb(hex_colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
        n = int(hex_colour[1:], 16)
        return (n >> 16) & 255, (n >> 8) & 255, n & 255, alpha

    for b in boxes:
        x0, top, bottom = b["x"] + pad, b["y"] - s * 1.05, b["y"] + s * 0.35
        colour = cmap.get(b["label"]) if b["label"] is not None else None
        if colour:
            tint.rectangle([x0, top, x0 + b["w"], bottom], fill=rgb(colour[0], round(255 * FILL_ALPHA)))
            tint.line([x0, bottom, x0 + b["w"], bottom], fill=rgb(colour[0]), width=max(1, round(2 * scale)))
        if b["label"] == -1 or b["kind"] == "chip":
            tint.rectangle([x0, top, x0 + b["w"], bottom], outline=(119, 119, 119, 255), width=1)
    rows = [
        (height + s + k * s * 1.3, hex_colour, words) for k, (_c, hex_colour, _p, words) in enumerate(legend)
    ]
    for y, hex_colour, _words in rows:
        tint.rectangle(
            [pad, y - s * 0.8, pad + s, y],
            fill=rgb(hex_colour, round(255 * FILL_ALPHA)),
            outline=rgb(hex_colour),
        )
    img = Image.alpha_composite(img, over)
    draw = ImageDraw.Draw(img)
    for b in boxes:
        fill = (102, 102, 102) if b["label"] == -1 else (17, 17, 17)
        draw.text((b["x"] + pad, b["y"]), b["text"], font=font, fill=fill, anchor="ls")
    for y, _colour, words in rows:
        draw.text((pad + s * 1.4, y), words, font=small, fill=(17, 17, 17), anchor="ls")
    path = Path(path)
    img.convert("RGB").save(path, format="PNG")
    return path
