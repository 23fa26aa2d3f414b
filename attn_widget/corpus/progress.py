"""The progress of a corpus run: texts done / total, rate and time left, as a bar or a callback.

``progress=True`` shows a ``tqdm.auto`` bar: a widget in a notebook, a text bar
on a terminal's stderr, with the rate and the time left. ``progress=False``
shows nothing. A function ``progress(stage, fraction)`` gets the same
information as :func:`attn_widget.analyze`'s progress callback does: a line such
as ``"120/500 texts, 4.2 texts/s, 1:30 left"`` and the fraction done. This
module only reports; it does not count or time the texts itself beyond that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

ProgressArg = bool | Callable[[str, float], Any]


class Progress:
    """Report a run's progress (see the module docstring).

    Parameters
    ----------
    progress
        ``True``, ``False`` or a callable ``progress(stage, fraction)``.
    total
        Texts in the source.
    done
        Texts already in the run folder when it starts.
    """

    def __init__(self, progress: ProgressArg, total: int, done: int) -> None:
        check(progress)
        self.total, self.done, self._start_done = total, done, done
        self._start = time.perf_counter()
        self._callback = progress if callable(progress) and not isinstance(progress, bool) else None
        self._bar: Any = None
        if progress is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, unit="text", desc="texts", dynamic_ncols=True)
        self._tell()

    def update(self, n: int) -> None:
        """``n`` more texts are done."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        self._tell()

    def close(self) -> None:
        """Stop the bar (it stays on screen)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def rate(self) -> float:
        """Texts per second since this run started."""
        elapsed = time.perf_counter() - self._start
        return (self.done - self._start_done) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """``"120/500 texts, 4.2 texts/s, 1:30 left"``."""
        rate = self.rate
        left = (self.total - self.done) / rate if rate > 0 else None
        when = "time left unknown" if left is None else f"{clock(left)} left"
        return f"{self.done}/{self.total} texts, {rate:.1f} texts/s, {when}"

    def _tell(self) -> None:
        if self._callback is not None:
            self._callback(self.line(), self.done / self.total if self.total else 1.0)


def check(progress: Any) -> None:
    """Refuse a ``progress`` that is neither a bool nor a function."""
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress={progress!r}: pass True (a bar), False, or a function "
                        "progress(stage: str, fraction: float)")


def clock(seconds: float) -> str:
    """``90.4`` → ``"1:30"``; ``3725`` → ``"1:02:05"``."""
    s = round(seconds)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
