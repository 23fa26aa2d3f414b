"""A tiny registry of named functions, so choices are names, not if/else ladders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

F = TypeVar("F", bound=Callable[..., object])


class Registry(Generic[F]):
    """Map names (``"louvain"``, ``"rollout"``) to functions.

    Parameters
    ----------
    kind
        What the names choose, used in error messages (``"clustering method"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator that adds ``fn`` under ``name``."""

        def add(fn: F) -> F:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = fn
            return fn

        return add

    def __getitem__(self, name: str) -> F:
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(repr(n) for n in self._items)
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {choices}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._items)
