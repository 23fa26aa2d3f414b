"""benchmarks/bench_long.py runs end to end on a short text (so it cannot rot) and prints its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_long.py"


@pytest.mark.parametrize("keep", ["summary", "attention"])
def test_the_long_document_benchmark_prints_forward_after_and_peak_memory(keep, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "48", "--models", "gpt2", "--no-browser", "--keep", keep,
         "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    row = next(line.split() for line in done.stdout.splitlines() if line.strip().startswith("gpt2"))
    assert row[1] in ("47", "48")  # tokens (a cut text may tokenise to one fewer)
    assert float(row[-2]) > 100  # peak RSS in MB: the model alone is more
    assert f"kept': '{keep}'" in done.stderr
    assert "Targets:" in done.stdout
    assert list(tmp_path.glob("gpt2-*.attn"))  # kept where asked (not left in the system's temp folder)
