"""Griffe extension: Sphinx roles in the docstrings become checked cross-references on the API site.

The docstrings are numpydoc and name other objects with Sphinx roles
(:func:`attn_widget.graph.sweep.threshold_grid`, :class:`Analysis`, with
``~`` for the short title and ``title <target>``). mkdocstrings does not read
roles, so before the docstrings are rendered this extension rewrites each role
whose target is attn_widget's into an mkdocs-autorefs link to the full path.

A short name is looked up as a reader would: the documented object's own
members, then those of each enclosing class, module and package up to
``attn_widget``. A name not found there becomes a link to the name as written,
which mkdocs-autorefs reports as a broken reference, so ``mkdocs build
--strict`` fails on a stale name. Builtins, other packages' names
(``TypeError``, ``scipy.stats.wilcoxon``) and private names stay as code: the
site needs no other project's inventory and works offline.
"""

from __future__ import annotations

import builtins
import importlib.util
import re
from typing import Any

import griffe

PACKAGE = "attn_widget"
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`(?P<body>[^`]+)`")
TITLED = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^>]+)>$")


def _member(scope: griffe.Object, dotted: str) -> griffe.Object | griffe.Alias | None:
    """``scope``'s member at the dotted path ``dotted``, or None."""
    found: Any = scope
    for part in dotted.split("."):
        try:
            members = found.members
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None
        if part not in members:
            return None
        found = members[part]
    return found  # type: ignore[no-any-return]


def _canonical(found: griffe.Object | griffe.Alias) -> str | None:
    """The path the object is documented under, or None when it lives outside attn_widget."""
    try:
        path = found.final_target.path if isinstance(found, griffe.Alias) else found.path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return path if path == PACKAGE or path.startswith(PACKAGE + ".") else None


def resolve(name: str, obj: griffe.Object, package: griffe.Object) -> str | None:
    """The full path of ``name`` seen from ``obj``'s docstring, or None when it is not attn_widget's."""
    if name.startswith(PACKAGE + "."):
        found = _member(package, name.removeprefix(PACKAGE + "."))
        return _canonical(found) if found is not None else name
    scope: griffe.Object | None = obj
    while scope is not None:
        found = _member(scope, name.lstrip("."))
        if found is not None:
            return _canonical(found)
        scope = scope.parent
    head = name.split(".")[0]
    if hasattr(builtins, head) or ("." in name and head != PACKAGE and importlib.util.find_spec(head)):
        return None  # a builtin, or another package's name (scipy.stats.wilcoxon)
    return name  # unknown: let autorefs report it


def rewrite(text: str, obj: griffe.Object, package: griffe.Object) -> str:
    """``text`` with each role turned into an autorefs link (or code, for names outside attn_widget)."""

    def one(match: re.Match[str]) -> str:
        body = match.group("body").strip()
        titled = TITLED.match(body)
        target = titled.group("target") if titled else body
        short = target.startswith("~")
        target = target.lstrip("~")
        title = titled.group("title") if titled else target.split(".")[-1] if short else target.lstrip(".")
        if any(part.startswith("_") and not part.endswith("__") for part in target.split(".")):
            return f"`{title}`"  # private: not on the site
        path = resolve(target, obj, package)
        return f"[`{title}`][{path}]" if path else f"`{title}`"

    return ROLE.sub(one, text)


def _walk(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not isinstance(member, griffe.Alias):
            yield from _walk(member)


class SphinxRolesToAutorefs(griffe.Extension):
    """Rewrite the roles of every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.path != PACKAGE:
            return
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj.docstring.value, obj, pkg)
