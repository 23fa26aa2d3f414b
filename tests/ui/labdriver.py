"""Drive JupyterLab (and marimo apps) in headless Chromium: servers, a notebook page, a network guard.

Helpers for the fixtures in ``conftest.py``. The lab is started with
``expose_app_in_browser`` so the tests can call JupyterLab's own commands
(``notebook:run-all-cells``, ``notebook:run-cell``, the theme switch) instead
of clicking menus, and read the cell models for execution counts and outputs.
Widgets themselves are always driven through their real DOM (keyboard, mouse).
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about", "file", "chrome-extension", "devtools"}


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_local(url: str) -> bool:
    """True for loopback, data:, blob:, about: and file: URLs (nothing from the internet)."""
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES or url in {"", "about:blank", "about:srcdoc"}:
        return True
    return (parsed.hostname or "") in LOCAL_HOSTS


def venv_executable(name: str) -> str:
    """The venv's ``name`` command (or the one beside the running interpreter)."""
    for candidate in (VENV_BIN / name, Path(sys.executable).parent / name):
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"no {name} executable in {VENV_BIN}; run `make setup` first")


def jupyter_executable() -> str:
    """The venv's ``jupyter`` (or the one beside the running interpreter)."""
    return venv_executable("jupyter")


@dataclass
class ServerProcess:
    """A server started in its own process group, its output in a log file; stopped by :meth:`stop`."""

    LABEL: ClassVar[str] = "server"

    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    log_path: Path | None = field(default=None, init=False)

    def start(self, state_dir: Path, timeout: float = 90.0) -> None:
        raise NotImplementedError

    @contextmanager
    def running(self, state_dir: Path) -> Iterator[ServerProcess]:
        """The server, started for the ``with`` block and stopped after it (also when it fails)."""
        self.start(state_dir)
        try:
            yield self
        finally:
            self.stop()

    def spawn(self, args: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.log_path = log_path
        log = log_path.open("wb")
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_until_up(self, url: str, timeout: float) -> None:
        """Poll ``url`` until it answers 200; stop the server and raise with its log if it never does."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.LABEL} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.LABEL} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Shut the server (and its kernels) down; kill its process group if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # jupyter_server and marimo shut kernels down on SIGTERM
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_tail(self, n: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def offline_env(**extra: str) -> dict[str, str]:
    """This environment, offline, with this checkout first on the kernel's import path."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        **extra,
    )
    return env


@dataclass
class LabServer(ServerProcess):
    """A JupyterLab server on a free loopback port serving ``root``."""

    APP: ClassVar[str] = "lab"  # the `jupyter` subcommand
    APP_CLASS: ClassVar[str] = "LabApp"  # whose options set workspaces, settings, expose_app_in_browser
    LABEL: ClassVar[str] = "JupyterLab"

    root: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def start(self, state_dir: Path, timeout: float = 90.0) -> None:
        """Start ``jupyter lab`` (``APP``) and wait until its API answers."""
        env = offline_env(
            JUPYTER_CONFIG_DIR=str(state_dir / "config"),
            JUPYTER_RUNTIME_DIR=str(state_dir / "runtime"),
        )
        args = [
            jupyter_executable(), self.APP,
            "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--{self.APP_CLASS}.workspaces_dir={state_dir / 'workspaces'}",
            f"--{self.APP_CLASS}.user_settings_dir={state_dir / 'settings'}",
            f"--{self.APP_CLASS}.expose_app_in_browser=True",
            # the jupyterlab server extension also loads beside Notebook 7: keep it from phoning home
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        news = state_dir / "settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True, exist_ok=True)  # no "get Jupyter news?" toast over the screenshots
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}', encoding="utf-8")
        self.spawn(args, env, self.root, state_dir / f"jupyter-{self.APP}.log")
        self.wait_until_up(self.url("api/status"), timeout)


@dataclass
class MarimoServer(ServerProcess):
    """``marimo run NOTEBOOK`` (the app view) on a free loopback port: no token, no update check."""

    LABEL: ClassVar[str] = "marimo"

    notebook: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, state_dir: Path, timeout: float = 90.0) -> None:
        """Start the server (its config and state under ``state_dir``) and wait until it answers."""
        env = offline_env(
            MARIMO_SKIP_UPDATE_CHECK="1",
            XDG_CONFIG_HOME=str(state_dir / "config"),  # no user marimo.toml changes what is tested
            XDG_STATE_HOME=str(state_dir / "state"),
        )
        args = [
            venv_executable("marimo"), "run", str(self.notebook), "--headless", "--no-token",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-sandbox",
        ]  # fmt: skip
        self.spawn(args, env, self.notebook.parent, state_dir / "marimo.log")
        self.wait_until_up(self.url, timeout)


@dataclass
class NetworkLog:
    """Every request a browser context makes; external ones and failures kept apart."""

    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    count: int = 0

    def attach(self, context: Any) -> None:
        context.on("request", self._on_request)
        context.on("requestfailed", self._on_failed)
        context.on("page", lambda page: page.on("websocket", lambda ws: self._check(ws.url)))

    def _check(self, url: str) -> None:
        self.count += 1
        if not is_local(url):
            self.external.append(url)

    def _on_request(self, request: Any) -> None:
        self._check(request.url)

    def _on_failed(self, request: Any) -> None:
        self.failed.append(f"{request.method} {request.url}: {request.failure}")


def watch_dialogs(page: Any, net: NetworkLog) -> None:
    """Record (and dismiss) every alert/confirm/prompt the page opens: injected script would fire one."""

    def on_dialog(dialog: Any) -> None:
        net.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)


_READY_JS = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.sessionContext || !w.context || !w.context.isReady) return 'loading';
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : 'no kernel';
}"""

_CELLS_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  return nb.widgets.map(c => {
    const m = c.model;
    if (m.type !== 'code') return null;
    return {count: m.executionCount, outputs: m.outputs.toJSON()};
  });
}"""

_RUN_CODE_JS = """async (code) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  const i = nb.model.cells.length;
  nb.model.sharedModel.insertCell(i, {cell_type: 'code', source: code});
  nb.activeCellIndex = i;
  await app.commands.execute('notebook:run-cell');
  return i;
}"""


class CellError(AssertionError):
    """A notebook cell raised in the kernel."""


def output_text(outputs: list[dict[str, Any]]) -> str:
    """Plain text of a cell's outputs (streams, results, errors)."""
    parts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
        elif kind in {"execute_result", "display_data"}:
            plain = out.get("data", {}).get("text/plain", "")
            parts.append("".join(plain) if isinstance(plain, list) else plain)
        elif kind == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(parts)


class NotebookPage:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page: Any, lab: LabServer, name: str) -> None:
        self.page = page
        self.lab = lab
        self.name = name

    def open(self, timeout: float = 90.0) -> NotebookPage:
        self.page.goto(self.lab.url(f"lab/tree/{self.name}") + "&reset", wait_until="domcontentloaded")
        self.wait_idle(timeout)
        return self

    def kernel_status(self) -> str:
        return str(self.page.evaluate(_READY_JS))

    def wait_idle(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        status = "loading"
        while time.monotonic() < deadline:
            try:
                status = self.kernel_status()
            except Exception:  # the page may still be booting JupyterLab
                status = "loading"
            if status == "idle":
                return
            time.sleep(0.2)
        raise TimeoutError(f"kernel of {self.name} not idle after {timeout:.0f} s (status {status!r})")

    def cells(self) -> list[dict[str, Any] | None]:
        return list(self.page.evaluate(_CELLS_JS))

    def run_all(self, timeout: float = 180.0) -> None:
        """Run All, retrying when JupyterLab drops the first request; raise on any cell error."""
        deadline = time.monotonic() + timeout
        while True:
            self.wait_idle(max(1.0, deadline - time.monotonic()))
            self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            started = time.monotonic()
            while time.monotonic() < deadline:
                code = [c for c in self.cells() if c is not None]
                if code and all(c["count"] is not None for c in code) and self.kernel_status() == "idle":
                    self._raise_errors(code)
                    return
                busy = self.kernel_status() == "busy" or any(c["count"] is not None for c in code)
                if not busy and time.monotonic() - started > 10:
                    break  # the Run All was lost: issue it again
                time.sleep(0.25)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"Run All in {self.name} did not finish within {timeout:.0f} s")

    def run_code(self, code: str, timeout: float = 60.0) -> str:
        """Append a code cell, run it in the notebook's kernel, return its text output."""
        self.wait_idle(timeout)
        index = int(self.page.evaluate(_RUN_CODE_JS, code))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cell = self.cells()[index]
            if cell is not None and cell["count"] is not None:
                self._raise_errors([cell])
                return output_text(cell["outputs"])
            time.sleep(0.1)
        raise TimeoutError(f"cell did not finish within {timeout:.0f} s: {code!r}")

    def set_theme(self, theme: str) -> None:
        """Switch JupyterLab's theme ('JupyterLab Light' or 'JupyterLab Dark')."""
        self.page.evaluate(
            "t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme
        )
        self.page.wait_for_function("t => document.body.dataset.jpThemeName === t", arg=theme, timeout=15_000)
        # JupyterLab shows its splash screen while the theme's CSS loads: wait until it has gone
        self.page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=15_000)

    def open_drilldown(self, timeout: float = 60.0) -> tuple[Any, Any]:
        """Open the drill-down (its toggle, then its button) and wait for its iframe.

        Returns the iframe element and a frame locator for what it shows.
        """
        self.page.get_by_test_id("drilldown-toggle").click()
        self.page.get_by_test_id("drilldown-button").click()
        element = self.page.get_by_test_id("drilldown-frame")
        element.wait_for(timeout=timeout * 1000)
        return element, self.page.frame_locator("[data-testid=drilldown-frame]")

    @staticmethod
    def _raise_errors(cells: list[dict[str, Any]]) -> None:
        for cell in cells:
            for out in cell["outputs"]:
                if out.get("output_type") == "error":
                    tb = "\n".join(out.get("traceback", []))
                    raise CellError(f"{out.get('ename')}: {out.get('evalue')}\n{tb}")


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a Python notebook whose code cells are ``cells`` (no outputs)."""
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
             "outputs": [], "source": src}
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


# ------------------------------------------------------- the small widget notebook
SMALL_WORDS = [
    "<s>", "The", " cat", " sat", " down", " because", " it", " was", " very", " tired", " today", ".",
]  # fmt: skip
"""Twelve tokens (a BOS then eleven words) in three planted groups."""

SMALL_WIDGET_CELLS = [
    f"""import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
att, groups = planted_attention([4, 3, 4], layers=2, heads=2, strength=1.0, seed=1)
words = {SMALL_WORDS!r}
text, tokens = tokens_from_pieces(words[1:], bos=words[0])  # tokens with character offsets
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text)
w = attn_widget.AttentionExplainer(a)""",
    "w",
]
"""Cells that show ``w``, an explainer of :data:`SMALL_WORDS` (``a`` is its Analysis)."""

READY_JS = "() => document.querySelector('[data-testid=attn-widget]').dataset.status === 'ready'"


def widget(nb: NotebookPage, i: int) -> Any:
    """The ``i``-th widget on the notebook's page."""
    return nb.page.get_by_test_id("attn-widget").nth(i)


def shoot_widget(root: Any, bottom: str, path: Path) -> None:
    """Screenshot widget ``root`` from its top to the bottom of its ``bottom`` test id (a guide's picture)."""
    root.scroll_into_view_if_needed()
    top, end = root.bounding_box(), root.get_by_test_id(bottom).bounding_box()
    height = end["y"] + end["height"] - top["y"] + 4
    clip = {"x": top["x"], "y": top["y"], "width": top["width"], "height": height}
    root.page.screenshot(path=str(path), clip=clip)


def spoken(text: str) -> str:
    """A predicted token as the what-if card says it (js common/dom.ts ``spoken``): the word, or its
    whitespace in words ("a space", "2 new lines", "a new line and spaces")."""
    if text == "" or text.strip():
        return text.strip() or "∅"
    names = {" ": ("a space", "spaces"), "\n": ("a new line", "new lines"), "\t": ("a tab", "tabs")}
    runs = re.findall(r"( +|\n+|\t+|[^ \n\t]+)", text.replace("\r", ""))
    said = []
    for run in runs:
        one, many = names.get(run[0], ("a blank", "blanks"))
        said.append(one if len(run) == 1 else many if run[0] == " " else f"{len(run)} {many}")
    return " and ".join(said)


def word_span(root: Any, text: str) -> Any:
    """The first token span of ``root``'s text that reads ``text`` (spaces around it ignored)."""
    spans = root.get_by_test_id("text").get_by_test_id("token")
    texts = spans.evaluate_all("s => s.map(e => e.textContent.trim())")
    return spans.nth(texts.index(text))


def view_labels(nb: NotebookPage) -> list[int]:
    """The cluster id the view shows for every token, in order."""
    clusters = nb.page.eval_on_selector_all("[data-testid=token]", "s => s.map(e => e.dataset.cluster)")
    return [int(x) for x in clusters]


def assert_one_colour_per_cluster(nb: NotebookPage, labels: list[int]) -> dict[int, set[str]]:
    """Check the view fills each cluster's tokens with one colour, distinct between clusters.

    ``labels`` are the kernel's labels; token 0 is the left-out sink. Returns
    the fills seen for each cluster.
    """
    fills = nb.page.eval_on_selector_all(
        "[data-testid=token]:not([data-excluded])", "s => s.map(e => getComputedStyle(e).backgroundColor)"
    )
    by_cluster: dict[int, set[str]] = {}
    for lab, fill in zip(labels[1:], fills, strict=True):
        by_cluster.setdefault(lab, set()).add(fill)
    assert all(len(f) == 1 for f in by_cluster.values()), by_cluster  # one colour per cluster
    assert len({next(iter(f)) for f in by_cluster.values()}) == len(by_cluster)  # distinct colours
    return by_cluster


def kernel(nb: NotebookPage, expr: str) -> Any:
    """Run a cell printing ``repr(expr)`` in the notebook's kernel and read its value back."""
    return ast.literal_eval(nb.run_code(f"print(repr({expr}))").strip())


def wait_kernel(nb: NotebookPage, expr: str, expected: Any, timeout: float = 15.0) -> Any:
    """Poll ``expr`` in the kernel until it equals ``expected`` (comm messages arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = kernel(nb, expr)
        if value == expected:
            return value
        time.sleep(0.3)
    raise AssertionError(f"kernel-side {expr} is {value!r}, expected {expected!r}")


OPEN_SETTINGS_JS = "() => document.querySelectorAll('[data-testid=settings]').forEach(d => { d.open = true })"


def open_settings(page: Any) -> None:
    """Unfold every widget's "Settings" (measure, lens, method, … and the plot live folded there)."""
    page.evaluate(OPEN_SETTINGS_JS)


NUMBERS = (
    "{c.id: k + 1 for k, c in enumerate(sorted((c for c in w.analysis.clusters if c.size > 1), "
    "key=lambda c: c.tokens[0]))}"
)
"""Kernel expression: each coloured cluster's id -> the number the view shows (1..k in reading order)."""


def shown_number(clusters: Any, cluster_id: int) -> int:
    """The number the view shows for cluster ``cluster_id`` of ``clusters`` (an analysis's, in Python)."""
    coloured = sorted((c for c in clusters if c.size > 1), key=lambda c: c.tokens[0])
    return 1 + [c.id for c in coloured].index(cluster_id)
