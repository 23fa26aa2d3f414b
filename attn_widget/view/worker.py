"""A background thread that runs jobs in order, for requests the view sends the kernel.

A job submitted with a ``key`` supersedes the jobs of that key still waiting
(not yet started): they are cancelled, and their ``dropped`` callback runs (to
answer the request that will never run), so at most one job per key runs and
one, the latest, waits.

At interpreter exit the jobs still waiting are dropped and the one running is
given :data:`EXIT_WAIT` seconds to end: a torch pass still running on a daemon
thread while Python finalises aborts the process ("terminate called without an
active exception"), which would turn a finished script or test run into a crash.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable, Hashable
from concurrent.futures import Future, wait
from dataclasses import dataclass


@dataclass(eq=False)
class _Job:
    future: Future[None]
    run: Callable[[], None]
    key: Hashable | None
    dropped: Callable[[], None] | None


EXIT_WAIT = 120.0
"""Seconds the job running at interpreter exit is given to end."""
_ALL: weakref.WeakSet[Worker] = weakref.WeakSet()


class Worker:
    """One daemon thread that runs jobs in order; :meth:`join` waits for those submitted so far."""

    def __init__(self, name: str) -> None:
        _ALL.add(self)
        self.name = name
        self._lock = threading.Lock()
        self._jobs: list[_Job] = []
        self._futures: list[Future[None]] = []
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def submit(
        self, job: Callable[[], None], key: Hashable | None = None, dropped: Callable[[], None] | None = None
    ) -> Future[None]:
        """Run ``job`` after those before it; with a ``key``, cancel the waiting jobs of that key first."""
        future: Future[None] = Future()
        with self._lock:
            stale = [j for j in self._jobs if key is not None and j.key == key]
            self._jobs = [j for j in self._jobs if key is None or j.key != key]
            self._jobs.append(_Job(future, job, key, dropped))
            self._futures = [f for f in self._futures if not f.done()] + [future]
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._wake.notify()
        for old in stale:  # superseded before it started: answered, never run
            old.future.cancel()
            old.future.set_running_or_notify_cancel()  # done for wait(), which ignores a bare cancel
            if old.dropped is not None:
                old.dropped()
        return future

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._wake.wait()
                job = self._jobs.pop(0)
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                job.run()
                job.future.set_result(None)
            except BaseException as exc:  # handed to whoever waits on the future
                job.future.set_exception(exc)

    def join(self, timeout: float | None = None) -> None:
        with self._lock:
            pending = list(self._futures)
        _, not_done = wait(pending, timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} {self.name} request(s) still running after {timeout} s")
        for f in pending:
            if not f.cancelled():
                f.result()

    def close(self, timeout: float | None = None) -> None:
        """Drop the jobs still waiting and wait up to ``timeout`` s for the one running."""
        with self._lock:
            waiting, self._jobs = self._jobs, []
            running = [f for f in self._futures if f.running()]
        for job in waiting:
            job.future.cancel()
            job.future.set_running_or_notify_cancel()
        wait(running, timeout)


@atexit.register
def _close_all() -> None:
    for worker in list(_ALL):
        worker.close(EXIT_WAIT)
