"""The one kind of cache the package keeps: a small, thread-safe, least-recently-used map.

Loaded models, the widget's derived arrays, aggregated maps, faithfulness
scores and explanations are all kept in an :class:`LRU`; :func:`memoize` puts
one in front of a function of hashable arguments.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
F = TypeVar("F", bound=Callable[..., Any])
_MISSING = object()


class LRU(Generic[K, V]):
    """At most ``size`` entries; the least recently used goes first. Safe across threads.

    Parameters
    ----------
    size
        Largest number of entries kept (``None``: no limit).
    """

    def __init__(self, size: int | None = 128) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: K, default: Any = None) -> Any:
        """The value under ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> V:
        """Store ``value`` under ``key``, dropping the oldest entries beyond :attr:`size`; return it."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while self.size is not None and len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value under ``key``, made by ``make()`` (outside the lock) and stored when missing."""
        hit = self.get(key, _MISSING)
        if hit is not _MISSING:
            return hit
        return self.put(key, make())

    def pop(self, key: K, default: Any = None) -> Any:
        with self._lock:
            return self._items.pop(key, default)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def memoize(size: int | None = 128) -> Callable[[F], F]:
    """Decorator: cache a function of hashable arguments in an :class:`LRU` (``fn.cache`` is it)."""

    def wrap(fn: F) -> F:
        cache: LRU[Hashable, Any] = LRU(size)

        @functools.wraps(fn)
        def cached(*args: Any, **kwargs: Any) -> Any:
            key = (args, tuple(sorted(kwargs.items())))
            return cache.get_or_make(key, lambda: fn(*args, **kwargs))

        cached.cache = cache  # type: ignore[attr-defined]
        return cached  # type: ignore[return-value]

    return wrap
