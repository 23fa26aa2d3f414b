"""Connect to Dask: a ``distributed.LocalCluster`` sized to the machine, or an existing scheduler.

:func:`connect` is a context manager yielding a :class:`Connection` (the
client, the worker count, the dashboard link when the dashboard runs). A local
cluster runs one single-threaded worker process per core (fewer when memory
would not hold one copy of the model per worker) and gives each worker's
torch ``cores // workers`` threads, so workers do not fight over cores. On an
existing cluster torch threads are left as the workers have them unless
``torch_threads`` is given. The :class:`TorchThreads` worker plugin sets them
on every worker, including workers that join or restart mid-run.

Dask is imported here, lazily by callers, with an error naming the extra.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .task import set_torch_threads

try:
    from distributed import WorkerPlugin
except ImportError:  # the corpus extra is missing: connect() names it
    WorkerPlugin = object  # type: ignore[assignment,misc]

CONNECT_TIMEOUT = "10s"
ADDRESS = r"([a-z]+://)?(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+):\d+"
"""A scheduler address: ``tcp://host:port``, ``tls://host:port``, ``host:port``, ``tcp://[::1]:port``."""
PROFILE = False
"""Whether local workers run Dask's statistical profiler (its 10 ms sampling slows a forward pass)."""
WORKER_OVERHEAD = 600 * 2**20
"""Memory a worker process needs besides the model's weights (Python, torch, one text's attention)."""


def require_dask() -> Any:
    """The ``distributed`` module, or an :class:`ImportError` naming the extra to install."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as err:
        raise ImportError(
            "corpus runs need Dask: pip install 'attn_widget[corpus]' (dask and distributed)"
        ) from err
    return distributed


@dataclass(frozen=True)
class Connection:
    """A connected client and what the user should be told about it."""

    client: Any
    workers: int
    dashboard: str | None
    local: bool


class TorchThreads(WorkerPlugin):
    """Worker plugin: ``torch.set_num_threads(threads)`` on each worker as it starts."""

    name = "attn-widget-torch-threads"
    idempotent = False

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def setup(self, worker: Any) -> None:
        set_torch_threads(self.threads)


def default_workers(model_bytes: int | None = None) -> int:
    """One worker per core, fewer when ``workers × (model + overhead)`` exceeds 80% of free memory."""
    try:
        import psutil

        free = int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil comes with distributed
        return cores()
    per_worker = (model_bytes or 2**30) + WORKER_OVERHEAD
    return max(1, min(cores(), int(free * 0.8 // per_worker)))


def model_bytes(model: str) -> int | None:
    """Size of a local model folder's weight files, or ``None`` when it is not a local folder."""
    from ..extract.offline import OFFLINE_MODELS

    folder = Path(model).expanduser()
    if model in OFFLINE_MODELS:
        return None if model != "smollm2" else 540 * 2**20  # dequantized to float32 on first load
    if not folder.is_dir():
        return None
    weights = [p for p in folder.iterdir() if p.suffix in {".safetensors", ".bin", ".pt", ".gguf"}]
    return sum(p.stat().st_size for p in weights) or None


def cores() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def connect(
    address: str | None, workers: int | None, torch_threads: int | None, model: str
) -> Iterator[Connection]:
    """Start a local cluster (``address=None``) or join the scheduler at ``address``; close on exit."""
    distributed = require_dask()
    if address is not None:
        with _remote(distributed, address, workers) as client:
            if torch_threads is not None:
                _check_positive("torch_threads", torch_threads)
                client.register_plugin(TorchThreads(torch_threads))
            n = len(client.scheduler_info(n_workers=-1)["workers"])
            yield Connection(client, n, _dashboard(client), local=False)
        return
    n = workers if workers is not None else default_workers(model_bytes(model))
    _check_positive("workers", n)
    threads = torch_threads if torch_threads is not None else max(1, cores() // n)
    _check_positive("torch_threads", threads)
    with _spawn_environ(threads), distributed.LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, silence_logs=logging.ERROR,
        dashboard_address=":0",
    ) as cluster, distributed.Client(cluster) as client:
        client.register_plugin(TorchThreads(threads))
        yield Connection(client, n, _dashboard(client), local=True)


@contextlib.contextmanager
def _spawn_environ(threads: int) -> Iterator[None]:
    """Dask's worker-spawn environment, minus what slows a torch forward pass.

    Dask starts each worker process with ``MALLOC_TRIM_THRESHOLD_=65536`` (to
    hand freed memory back to the system promptly). Setting it also freezes
    glibc's mmap threshold at 128 KiB, so every activation tensor of a forward
    pass is a fresh ``mmap`` with its page faults: measured on SmolLM2, a plain
    loop of ``analyze`` ran at 3.79 texts/s with that variable against 4.49
    without it. Local workers start without it, and with the OpenMP/MKL thread
    counts torch will be given (Dask sets 1, before torch reads them). The
    Nanny also writes these variables into this process's environment; the
    caller's values are put back on exit.
    """
    import dask

    thread_vars = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    environ: dict[str, int | None] = {"MALLOC_TRIM_THRESHOLD_": None, **dict.fromkeys(thread_vars, threads)}
    before = {name: os.environ.pop(name, None) for name in environ}  # the caller's would win over the config
    try:
        config: dict[str, Any] = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}
        config["distributed.worker.profile.enabled"] = PROFILE
        with dask.config.set(config):
            yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r}: give a whole number of at least 1")


@contextlib.contextmanager
def _remote(distributed: Any, address: str, workers: int | None) -> Iterator[Any]:
    if not isinstance(address, str) or not re.fullmatch(ADDRESS, address):
        raise ValueError(f"address={address!r} is not a scheduler address; give 'tcp://host:port'")
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except OSError as err:
        raise OSError(
            f"could not reach a Dask scheduler at {address!r} ({err}); start one with `dask scheduler` "
            "and workers with `dask worker ADDRESS`, or leave address out to start a local cluster"
        ) from None
    try:
        if workers is not None:
            _check_positive("workers", workers)
            client.wait_for_workers(workers, timeout=60)
        elif not client.scheduler_info(n_workers=-1)["workers"]:
            client.wait_for_workers(1, timeout=60)
        yield client
    except TimeoutError:
        raise TimeoutError(f"the scheduler at {address!r} has fewer than {workers or 1} workers after 60 s; "
                           "start workers with `dask worker ADDRESS`") from None
    finally:
        client.close()


def _dashboard(client: Any) -> str | None:
    """The dashboard's URL when the scheduler serves one (it needs bokeh)."""
    try:
        services = client.scheduler_info(n_workers=0).get("services", {})
    except Exception:  # pragma: no cover - a scheduler that cannot say: no link
        return None
    return str(client.dashboard_link) if "dashboard" in services else None
