"""The main-module guard a local cluster needs: a clear error before any worker starts without it.

A local cluster's workers are new Python processes started with the *spawn*
method: each imports the user's script again (as ``__mp_main__``) before it can
work. A script that calls :func:`attn_widget.corpus.analyze_corpus` at its top
level, outside ``if __name__ == "__main__":``, would start the run again inside
every worker; Python refuses, and all Dask reports is "Nanny failed to start".
:func:`check_main_guard` finds the call in the script's source before anything
starts, and also refuses inside such a re-import, each time naming the fix.
Notebooks, ``python -c`` and calls from imported modules are not affected.
"""

from __future__ import annotations

import ast
import multiprocessing.process
import os
import sys
from types import FrameType

FIX = (
    "Put the call under a main guard, e.g.\n\n"
    "    if __name__ == \"__main__\":\n"
    "        run = analyze_corpus(...)\n\n"
    "A local Dask cluster starts its workers with Python's spawn method, and each worker imports "
    "your script again; code outside the guard would start the run again in every worker."
)


def check_main_guard(what: str = "analyze_corpus()") -> None:
    """Raise :class:`RuntimeError` naming the fix when ``what`` runs at a script's top level unguarded."""
    if getattr(multiprocessing.process.current_process(), "_inheriting", False):
        raise RuntimeError(f"{what} was called while a worker process imports your script. {FIX}")
    where = _unguarded_call()
    if where is not None:
        path, line = where
        raise RuntimeError(f"{what} is called at the top level of {path} (line {line}), outside "
                           f"`if __name__ == \"__main__\":`. {FIX}")


def _unguarded_call() -> tuple[str, int] | None:
    """The script and line of this call's top-level frame in ``__main__``, when no main guard holds it."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not isinstance(path, str):
        return None  # a notebook, the REPL or python -c: spawn has no script to import again
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is vars(main):
            break
        frame = frame.f_back
    if frame is None or not _same_file(frame.f_code.co_filename, path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None  # no source to read: say nothing rather than guess
    line = frame.f_lineno
    return None if _guarded(tree, line) else (path, line)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _guarded(tree: ast.Module, line: int) -> bool:
    """Whether ``line`` lies inside the body of a top-level ``if __name__ == "__main__":``."""
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_test(node.test):
            end = max(getattr(n, "end_lineno", n.lineno) or n.lineno for n in node.body)
            if node.body[0].lineno <= line <= end:
                return True
    return False


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    name = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
    value = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    return name and value
