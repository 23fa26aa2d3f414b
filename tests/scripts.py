"""Texts in many scripts, for the tests of exact highlights and readable pieces (issue 20).

Emoji (ZWJ sequences, flags, skin tones, keycaps, tag sequences), letters outside
the Basic Multilingual Plane (𝔸, 𝑥, Gothic, hieroglyphs), combining marks, CJK,
Korean, Thai, Devanagari, Cyrillic, Greek, Arabic, Hebrew and mixed directions.
"""

from __future__ import annotations

SCRIPT_TEXTS: tuple[str, ...] = (
    "I love pizza 🍕🍕 and my cat sat on the mat because she was tired.",
    "The family 👩‍👩‍👧 went to Paris 🇫🇷 and Tokyo 🇯🇵 last summer.",
    "Let 𝔸 be an algebra and 𝑥 ∈ 𝔸 a unit; then 𝑥⁻¹ exists.",
    "Café, naïve, résumé: e\u0301 and a\u0308 are combining marks.",
    "東京は日本の首都です。人口は約1400万人。",
    "我爱北京天安门，天安门上太阳升。",
    "한국어 문장도 잘 처리되어야 합니다.",
    "مرحبا بالعالم، هذه جملة عربية قصيرة.",
    "שלום עולם, זה משפט בעברית.",
    "He said مرحبا to her and she replied שלום before leaving.",
    "The price is 100 ₪ or ٣٤٥ ريال, okay?",
    "Thumbs 👍🏽 and keycap 1️⃣ and a heart ❤️ here.",
    "Ancient scripts: 𐌰𐌱𐌲 (Gothic) and 𓀀 (a hieroglyph).",
    "Привет, мир! Это тест на кириллице.",
    "Γειά σου κόσμε, αυτό είναι ελληνικά.",
    "नमस्ते दुनिया, यह हिंदी वाक्य है।",
    "สวัสดีชาวโลก นี่คือภาษาไทย",
    "Math: ∑ᵢ xᵢ² ≤ 𝜀 and ℝⁿ → ℂ.",
    "Tab\tand newline\nthen 🎉 party 🎉🎉🎉 time!",
    "Zalgo: Z̴̡a̶l̷g̸o̵ text.",
    "Rainbow 🏳️‍🌈, pirate 🏴‍☠️ and England 🏴󠁧󠁢󠁥󠁮󠁧󠁿 flags.",
    "日本語とEnglishとعربيが混在する文章 😀.",
)


def utf16_slice(text: str, start: int, end: int) -> str:
    """``text.slice(start, end)`` as JavaScript reads it (offsets in UTF-16 code units)."""
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def highlights(text: str, offsets: list[tuple[int, int]]) -> list[tuple[list[int], str]]:
    """The front-end's token pieces (js/src/text/layout.ts) as ``(member tokens, text)``,
    from UTF-16 offsets: tokens whose offsets overlap the piece before share it."""
    pieces: list[tuple[list[int], str]] = []
    units = len(text.encode("utf-16-le")) // 2
    cursor, last = 0, None
    for i, (start, end) in enumerate(offsets):
        if start < 0 or end < 0 or start > units:
            last = None
            continue
        if last is not None and start < cursor:
            to = min(max(end, cursor), units)
            pieces[last] = ([*pieces[last][0], i], pieces[last][1] + utf16_slice(text, cursor, to))
            cursor = to
            continue
        lo = max(start, cursor)
        hi = min(max(end, lo), units)
        pieces.append(([i], utf16_slice(text, lo, hi)))
        last = len(pieces) - 1
        cursor = max(cursor, hi)
    return pieces
