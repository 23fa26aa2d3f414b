"""Figures of an analysis for papers: the highlighted text with its legend, as SVG or PNG.

:func:`save_svg` / :func:`save_png` draw the text coloured by cluster; the PNG
is drawn with Pillow (pure Python wheels, no browser, no system libraries), the
SVG by hand.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Analysis

PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
"""Okabe–Ito, the same list as ``js/src/common/colors.ts`` (a test keeps them equal)."""
EXTRA = ("#999933", "#EE3377", "#AA7744")
"""Clusters 8–10: olive, magenta, brown (``EXTRA`` in ``js/src/common/colors.ts``)."""
COLOURS = PALETTE + EXTRA
PATTERNS = ("solid", "dashed", "dotted", "double")
FILL_ALPHA = 0.38


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
    """``(kind, token index or -1, text)`` covering the text, as ``js/src/text/layout.ts`` does."""
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
        groups = _piece_groups(analysis, [int(i) for i in members])
        words = _words(analysis, groups[:6])
        more = " …" if len(groups) > 6 else ""
        rows.append((cid, colour, pattern, f"cluster {cid} ({members.size}): {words}{more}"))
    return rows


def _piece_groups(analysis: Analysis, members: list[int]) -> list[list[int]]:
    """``members`` grouped as ``js/src/common/words.ts`` does: neighbours whose spans overlap
    (the pieces of one character, byte-level BPE) form one group."""
    groups: list[list[int]] = []
    end = -1
    for i in members:
        t, prev = analysis.tokens[i], analysis.tokens[i - 1] if i else None
        joins = bool(groups) and groups[-1][-1] == i - 1 and t.start is not None and prev is not None \
            and prev.end is not None and t.start < end
        if joins:
            groups[-1].append(i)
        else:
            groups.append([i])
        if t.end is not None:
            end = max(end, t.end) if joins else t.end
    return groups


def _words(analysis: Analysis, groups: list[list[int]], limit: int = 40) -> str:
    """The groups' text as a person reads it: runs of neighbouring tokens as the text they
    cover (a split character once, a word whole), runs apart joined by a space, cut with "…"."""
    runs: list[list[int]] = []
    for g in groups:
        if runs and runs[-1][-1] == g[0] - 1:
            runs[-1].extend(g)
        else:
            runs.append(list(g))
    parts = []
    for run in runs:
        toks = [analysis.tokens[i] for i in run]
        starts = [t.start for t in toks if t.start is not None]
        ends = [t.end for t in toks if t.end is not None]
        whole = analysis.text and len(starts) == len(ends) == len(toks)
        piece = analysis.text[min(starts) : max(ends)] if whole else "".join(t.text for t in toks)
        parts.append(" ".join(piece.split()) or "·")
    words = " ".join(parts)
    return words if len(words) <= limit else words[: limit - 1] + "…"


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
