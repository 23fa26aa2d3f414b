"""A real Dask cluster on loopback for the corpus tests, started as a user would in a terminal.

:class:`DaskCluster` runs ``dask scheduler`` (on a port the system picks:
``--port 0``, the address read back from its scheduler file) and ``dask worker``
processes, and stops them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


class DaskCluster:
    """A scheduler and ``n`` workers as separate processes; ``address`` is the scheduler's."""

    def __init__(
        self, folder: Path, workers: int = 2, *, nanny: bool = False, env: dict[str, str] | None = None
    ) -> None:
        self.folder = folder
        self.env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
        self.file = folder / "scheduler.json"
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(self.file)], "scheduler")
        self.address = self._wait_for_address()
        flags = ["--nanny" if nanny else "--no-nanny", "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1"]
        self.workers = [self._start(["worker", self.address, *flags], f"worker{i}") for i in range(workers)]
        self.wait_for_workers(workers)

    def _start(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        return subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT,
                                env=self.env, start_new_session=True)

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.file.exists():
                try:
                    return str(json.loads(self.file.read_text())["address"])
                except (ValueError, KeyError):
                    pass  # being written
            time.sleep(0.1)
        log = (self.folder / "scheduler.log").read_text()
        raise RuntimeError(f"dask scheduler did not start: {log[-2000:]}")

    def client(self):
        from distributed import Client

        return Client(self.address, timeout="20s")

    def wait_for_workers(self, n: int) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=120)

    def worker_pids(self) -> dict[str, int]:
        """Worker address → pid of the process that runs the tasks."""
        with self.client() as client:
            return {k: int(v) for k, v in client.run(os.getpid).items()}

    def stop(self) -> None:
        """Workers first, then the scheduler; a process still up after 5 s is killed."""
        for group in (self.workers, [self.scheduler]):
            for process in group:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in group:
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def part_files(out: Path) -> list[Path]:
    """The finished ``texts`` files of every run under ``out``."""
    return sorted(out.glob("*/texts/part-*.parquet"))
