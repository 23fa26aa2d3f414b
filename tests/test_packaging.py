"""The package installs like any other: sdist, wheel built from it, fresh virtualenv without Node.js.

The sdist is built from this checkout with no Node.js on the PATH (it holds
sources only), the wheel is built from the unpacked sdist in an isolated build
environment (as pip does for a user), and the wheel is installed with its
declared dependencies into a new virtualenv whose PATH has no Node.js. Builds
that would produce a wheel without the front-end bundle must fail. Everything
is written under pytest's temporary directories, never into the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
WHEEL_HOOKS = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]
BUNDLE = WHEEL_HOOKS["jupyter-builder"]["ensured-targets"]
"""The bundle's files (paths in the checkout and in the wheel), listed once in pyproject.toml."""

SOURCES_FOR_THE_WHEEL = [
    "pyproject.toml", "README.md", "hatch_build.py",
    "js/package.json", "js/package-lock.json", "js/tsconfig.json",
]  # fmt: skip
NEVER_IN_THE_SDIST = {"node_modules", ".venv", "test-artifacts", "__pycache__", "site", "demo-out"}
DEV_BIN = Path(sys.executable).parent


def clean_env(path: list[Path | str], **extra: str) -> dict[str, str]:
    """This process's environment (pip's settings included) with ``PATH`` set and no virtualenv leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update(PATH=os.pathsep.join(map(str, path)), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


def assert_no_node(env: dict[str, str]) -> None:
    for tool in ("node", "npm", "nodejs"):
        assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} is on the test's PATH {env['PATH']}"


def run(args: list[str | Path], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    """Run a command; on failure, fail the test with its output."""
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(map(str, args))} exited {proc.returncode}:\n{output[-6000:]}"
    return output


def unpack(sdist: Path, into: Path) -> Path:
    """The unpacked sdist's top folder."""
    with tarfile.open(sdist) as archive:
        if sys.version_info >= (3, 12):
            archive.extractall(into, filter="data")
        else:
            archive.extractall(into)
    (top,) = into.iterdir()
    return top


def checkout_listing() -> set[str]:
    """Top-level entries of the checkout and of the folders a build could write into."""
    found = set()
    for folder in (ROOT, ROOT / "js", ROOT / "attn_widget"):
        found |= {str(p.relative_to(ROOT)) for p in folder.iterdir()}
    return found


# --------------------------------------------------------------------- the builds
@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``python -m build --sdist`` of this checkout with no Node.js on the PATH."""
    out = tmp_path_factory.mktemp("sdist")
    env = clean_env([DEV_BIN])
    assert_no_node(env)
    before = checkout_listing()
    run([sys.executable, "-m", "build", "--sdist", "--outdir", out, ROOT], env, cwd=out)
    (path,) = out.glob("*.tar.gz")
    return {"path": path, "listing_before": before, "listing_after": checkout_listing()}


@pytest.fixture(scope="module")
def wheel(sdist: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the unpacked sdist in an isolated environment (npm builds the bundle)."""
    work = tmp_path_factory.mktemp("wheel")
    source = unpack(sdist["path"], work / "src")
    out = work / "dist"
    env = clean_env([DEV_BIN, *os.get_exec_path()])
    run([sys.executable, "-m", "build", "--wheel", "--outdir", out, source], env, cwd=work)
    (path,) = out.glob("*.whl")
    return path


def test_sdist_holds_the_sources_of_the_wheel_and_nothing_built_or_installed(sdist: dict[str, Any]) -> None:
    with tarfile.open(sdist["path"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = set(SOURCES_FOR_THE_WHEEL)
    for folder in ("js/src", "js/scripts", "attn_widget"):
        expected |= {
            str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and "static" not in p.parts
        }  # fmt: skip
    assert sorted(expected - names) == []
    built = sorted(
        n for n in names if NEVER_IN_THE_SDIST & set(n.split("/")) or n.startswith("attn_widget/static")
    )
    assert built == []


def test_building_writes_nothing_into_the_checkout(sdist: dict[str, Any], wheel: Path) -> None:
    assert sdist["listing_after"] == sdist["listing_before"]
    assert checkout_listing() == sdist["listing_before"]


def test_wheel_ships_the_whole_bundle_and_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        entry_points = next(archive.read(n).decode() for n in sizes if n.endswith("entry_points.txt"))
    assert {target: sizes.get(target, 0) > 1000 for target in BUNDLE} == dict.fromkeys(BUNDLE, True)
    assert "attn-widget = attn_widget.cli:main" in entry_points
    tops = {name.split("/")[0] for name in sizes}
    assert tops == {"attn_widget", wheel.name.split("-py3")[0] + ".dist-info"}, tops


INSTALLED_CHECK = """
import json
import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
from attn_widget.view.assets import STATIC

att, groups = planted_attention([4, 3, 4], layers=2, heads=2, seed=1)
pieces = ["The", " cat", " sat", " down", " because", " it", " was", " very", " tired", " today", "."]
text, tokens = tokens_from_pieces(pieces, bos="<s>")
a = attn_widget.analyze_attention(att, tokens, exclude=[0], text=text)
w = attn_widget.AttentionExplainer(a)
status, auto_labels = w.status, w.analysis.labels.tolist()
w.threshold = float(a.sweep.thresholds[-1])
print(json.dumps({
    "module": attn_widget.__file__, "groups": groups.tolist(),
    "labels": a.labels.tolist(), "status": status, "auto_labels": auto_labels,
    "strict_labels": w.analysis.labels.tolist(), "esm": str(w._esm), "css": str(w._css),
    "bundle": {
        str(p.relative_to(STATIC.parent.parent)): p.stat().st_size for p in STATIC.rglob("*") if p.is_file()
    },
}))
"""


def test_wheel_installs_into_a_fresh_virtualenv_without_node_and_works(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], clean_env([DEV_BIN]), cwd=tmp_path)
    env = clean_env([venv / "bin"])
    assert_no_node(env)
    python = venv / "bin" / "python"
    # torch==2.13.0 first (the CPU build; the wheel's own `torch>=2.2` would pull GBs of CUDA),
    # then the wheel with every dependency it declares, from the package index.
    pip = [python, "-m", "pip", "install", "--quiet", "--no-compile"]
    run([*pip, "torch==2.13.0"], env, cwd=tmp_path)
    run([*pip, wheel], env, cwd=tmp_path)
    run([python, "-m", "pip", "check"], env, cwd=tmp_path)

    result = json.loads(run([python, "-c", INSTALLED_CHECK], env, cwd=tmp_path).strip().splitlines()[-1])
    assert Path(result["module"]).is_relative_to(venv), result["module"]  # not this checkout
    assert result["labels"] == result["groups"]  # the planted groups, found
    assert result["status"] == "ready"
    assert result["auto_labels"] == result["labels"]
    assert result["strict_labels"] != result["labels"]  # the threshold knob re-clusters
    assert "bundle is missing" not in result["esm"]
    assert "data-testid" in result["esm"]
    assert result["css"].strip()
    assert {t: result["bundle"].get(t, 0) > 1000 for t in BUNDLE} == dict.fromkeys(BUNDLE, True)
    usage = run([venv / "bin" / "attn-widget", "--help"], env, cwd=tmp_path)
    assert "explain" in usage


# ------------------------------------------------ a wheel without its bundle fails
FAKE_NPM = """#!{python}
# Stands in for npm: `npm install` does nothing, `npm run build` {what}.
import pathlib, sys
if sys.argv[1:2] == ["run"]:
    for target in {targets!r}:
        if {write_empty}:
            path = pathlib.Path("..", target)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
"""


def failed_build(source: Path, out: Path, env: dict[str, str]) -> str:
    """Build a wheel of ``source`` without isolation (this venv's hatchling); the output of the failure."""
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)],
        cwd=source, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"the build succeeded without the bundle:\n{output[-3000:]}"
    assert not list(out.glob("*.whl")), "a wheel without the bundle was left behind"
    return output


def fake_npm(folder: Path, *, write_empty: bool) -> Path:
    folder.mkdir()
    npm = folder / "npm"
    what = "writes each bundle file empty" if write_empty else "exits 0 and writes nothing"
    npm.write_text(FAKE_NPM.format(python=sys.executable, what=what, targets=BUNDLE, write_empty=write_empty))
    npm.chmod(0o755)
    return folder


@pytest.fixture
def source(sdist: dict[str, Any], tmp_path: Path) -> Path:
    return unpack(sdist["path"], tmp_path / "src")


def test_wheel_build_fails_when_the_npm_build_writes_no_bundle(source: Path, tmp_path: Path) -> None:
    env = clean_env([fake_npm(tmp_path / "bin", write_empty=False), DEV_BIN])
    output = failed_build(source, tmp_path / "dist", env)
    assert 'Ensured target "attn_widget/static/widget.js" does not exist' in output


def test_wheel_build_fails_when_the_bundle_files_are_empty(source: Path, tmp_path: Path) -> None:
    env = clean_env([fake_npm(tmp_path / "bin", write_empty=True), DEV_BIN])
    output = failed_build(source, tmp_path / "dist", env)
    assert "lacks the front-end bundle" in output
    assert "attn_widget/static/widget.js" in output


def test_wheel_build_fails_when_the_jupyter_builder_is_skipped(source: Path, tmp_path: Path) -> None:
    env = clean_env([DEV_BIN], SKIP_JUPYTER_BUILDER="1")
    output = failed_build(source, tmp_path / "dist", env)
    assert "lacks the front-end bundle" in output
    assert "Node.js" in output


def test_wheel_build_fails_without_npm_on_the_path(source: Path, tmp_path: Path) -> None:
    env = clean_env([DEV_BIN])
    assert_no_node(env)
    output = failed_build(source, tmp_path / "dist", env)
    assert "Could not find cmd (npm)" in output
