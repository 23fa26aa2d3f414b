"""A background thread that runs jobs in order, for requests the view sends the kernel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, wait


class Worker:
    """One daemon thread that runs jobs in order; :meth:`join` waits for those submitted so far."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._jobs: list[tuple[Future[None], Callable[[], None]]] = []
        self._futures: list[Future[None]] = []
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()] + [future]
            self._jobs.append((future, job))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._wake.notify()
        return future

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._wake.wait()
                future, job = self._jobs.pop(0)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

    def join(self, timeout: float | None = None) -> None:
        with self._lock:
            pending = list(self._futures)
        _, not_done = wait(pending, timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} {self.name} request(s) still running after {timeout} s")
        for f in pending:
            f.result()
