"""Every snippet in the README runs as a newcomer would paste it: a fresh process, an empty folder.

Python blocks run as scripts (the corpus one starts a real Dask cluster); the
command-line block runs the installed ``attn-widget``. ``make demo`` and
``make test`` are the two commands this suite is run by, so they are not run
again here. The long-text snippet reads ``chapter.txt``: the test writes one
from Debian's quotations, a real text of about 1,500 tokens.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
WISDOM = Path("/usr/share/games/fortunes/wisdom")


def blocks() -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block, the two commands left out."""
    found = [(lang, code) for lang, code in BLOCK.findall(README)]
    return [(lang, code) for lang, code in found if not code.lstrip().startswith("make ")]


SNIPPETS = blocks()


def test_the_readme_is_short_and_has_a_snippet_per_use() -> None:
    assert len(README.splitlines()) <= 150
    assert [lang for lang, _ in SNIPPETS].count("python") >= 5
    assert any(code.startswith("attn-widget ") for lang, code in SNIPPETS if lang == "bash")
    uses = ("AttentionExplainer(", "analyze(", "analyze_generation(", "compare(", "ablate(")
    for use in (*uses, "analyze_corpus("):
        assert any(use in code for _, code in SNIPPETS), use


def chapter() -> str:
    """About 1,500 tokens of real English: the first quotations of Debian's ``wisdom`` file."""
    quotes = WISDOM.read_text(encoding="utf-8", errors="replace").split("\n%\n")
    text = ""
    for quote in quotes:
        if len(text) > 6_000:
            break
        text += " ".join(quote.split()) + "\n\n"
    return text


@pytest.mark.parametrize(("lang", "code"), SNIPPETS, ids=[f"snippet-{i}" for i in range(len(SNIPPETS))])
def test_readme_snippet_runs(lang: str, code: str, tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    (tmp_path / "chapter.txt").write_text(chapter(), encoding="utf-8")
    if lang == "python":
        (tmp_path / "snippet.py").write_text(code, encoding="utf-8")
        command = [sys.executable, "snippet.py"]
    else:
        lines = [line for line in code.splitlines() if line.strip() and not line.startswith("#")]
        assert len(lines) == 1, code
        assert lines[0].startswith("attn-widget "), code
        command = shlex.split(lines[0].split("  #")[0])
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    said = f"{code}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, said
    if "print(" in code or lang == "bash":
        assert proc.stdout.strip(), "the snippet printed nothing"
    if lang == "bash":
        assert (tmp_path / "cat.html").stat().st_size > 10_000
        assert "'it' looks back to" in proc.stdout
