"""The headline benchmark runs end to end (so it cannot rot) and reports what it measured."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_headlines.py"


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_headlines", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_sentence_shape_blanks_quoted_words_and_numbers_but_keeps_the_wording() -> None:
    shape = bench_module().shape
    one = shape("'she' gives 39% of its attention to 'Mary': the strongest tie here.")
    two = shape("'it' gives 4% of its attention to \"don't\": the strongest tie here.")
    assert one == two == "Q gives N% of its attention to Q: the strongest tie here."
    lens = shape("In the model's late layers, 'a b' is one run.")
    assert lens == "In the model's late layers, Q is one run."
    assert shape("'x' stands alone.") != shape("'x' stands apart.")


@pytest.mark.parametrize("lens", ["all", "late"])
def test_the_benchmark_prints_its_figures_for_every_model_and_lens(tiny_gpt2_dir, lens) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", str(tiny_gpt2_dir), "--lens", lens, "--show"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("12 texts, clusters of 2+ tokens")
    row = re.search(
        rf"lens={lens}:\s+(\d+) headlines \| words median (\d+) max (\d+) \| numbers max (\d+) \| "
        r"FK grade median (-?[\d.]+) \| verified (\d+)/(\d+) \| (\d+) sentence shapes", out
    )
    assert row, out
    n, _median, longest, most_numbers, _grade, verified, of, shapes = (float(x) for x in row.groups())
    assert n == of > 0
    assert verified == n  # every headline the package writes passes the verifier
    assert longest <= 25
    assert most_numbers <= 2
    assert 1 <= shapes <= n
    shown = re.findall(r"^  \[[^\]]+\] (.*)$", out, flags=re.M)
    assert len(shown) == n  # --show prints every headline measured
    assert all(len(line.split()) <= 25 for line in shown)
    if lens != "all":
        assert all(line.startswith("In the model's late layers") for line in shown), shown


def test_the_held_out_fortunes_are_short_one_line_quotations_fixed_by_the_seed() -> None:
    pick = bench_module().fortune_texts
    texts = pick(12, 1)
    assert len(texts) == len(set(texts)) == 12
    assert all(60 <= len(t) <= 200 and "\n" not in t for t in texts)
    assert pick(12, 1) == texts
    assert pick(12, 2) != texts
