"""benchmarks/bench_knob_storm.py runs end to end on the tiny GPT-2 (so it cannot rot) and prints a table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_knob_storm.py"


def test_the_knob_storm_benchmark_settles_on_the_final_knobs_with_one_backward_pass(tmp_path):
    out = tmp_path / "storm.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "tiny", "--changes", "8", "--seconds", "0.4",
         "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = json.loads(out.read_text())
    (s,) = row["storms"]
    assert s["changes"] == 8
    assert s["model_passes"] == 1  # the changes made while the gradient ran started no second pass
    assert s["shows_final_knobs"], s
    assert s["error"] == ""
    assert s["final_knobs"]["measure"] == "norm"  # the 6th change, made while the gradient ran
    assert "| tiny | 33 |" in done.stdout
    assert "Target: settle after the last change" in done.stdout
