"""Files several processes may write at once: atomic replacement and an exclusive lock.

Converted models and cached head selections live in one cache folder shared by
every kernel and test worker on a machine. A reader must never see half a file,
and two processes must not convert the same model over each other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` (created if missing) for the ``with`` block.

    Other processes entering the same block wait. Where the platform has no
    ``fcntl`` (Windows), the block runs unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on the machines we test
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
