"""The lens benchmark runs end to end (so it cannot rot), and its shortcuts give what the API gives."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attn_widget
from attn_widget.evaluate.cuttest import cut_test
from attn_widget.extract.cut import CutRunner

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lenses.py"
ORACLE = SCRIPT.with_name("bench_cut_oracle.py")
TEXT = "The old lighthouse keeper climbed the stairs every night, because the ships needed his light."


def script(path: Path):
    """A benchmark script imported as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    """benchmarks/bench_lenses.py imported as a module."""
    return script(SCRIPT)


def test_the_quick_run_prints_every_measure_and_lens_and_writes_its_json(bench, tiny_gpt2_dir, tmp_path):
    out = tmp_path / "bench.json"
    # the tiny model's coreference heads are measured in tmp_path, not written to the user's cache
    env = {**os.environ, "ATTN_WIDGET_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--models", str(tiny_gpt2_dir), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    for name, model in result["models"].items():
        assert set(model["summary"]) == {f"{m}/{lens}" for m, lens in bench.COMBOS}
        for combo, s in model["summary"].items():
            assert f"| {combo} |" in done.stdout
            assert 0.0 <= s["contiguity"] <= 1.0
            assert 0.0 <= s["top1"] <= s["top3"] <= 1.0
            assert np.isfinite(s["cut"]["main"]["vs_contiguous"]), (name, combo)
            assert s["cost_x_baseline"] > 0
        assert model["summary"]["attention/all"]["cost_x_baseline"] == pytest.approx(1.0)
        assert model["n_texts"] == 3
        assert model["n_items"] == 8
        rows = model["raw"]["texts"]["norm/middle"]["cut"]
        assert len(rows) == 3
        assert model["summary"]["norm/middle"]["cut"]["main"]["vs_random"] == pytest.approx(
            bench.ratio(rows, "main", "random")
        )
        lo, hi = model["summary"]["norm/middle"]["cut"]["main"]["ci_contiguous"]
        assert lo <= hi
    assert result["models"][str(tiny_gpt2_dir)]["readouts"] == ["js_all", "js_last"]
    assert result["sinks"]["mean"]["oracle"] > result["sinks"]["mean"]["none"]
    assert "coreference heads (gradient):" in done.stdout
    assert "targets, " in done.stdout
    assert "planted groups with an undeclared first-token sink" in done.stdout


def test_each_combination_is_the_partition_analyze_gives_with_those_options(bench, minilm):
    """The benchmark reclusters one gradient analysis; a user calls analyze() with each option."""
    base = attn_widget.analyze(TEXT, model="minilm", measure="gradient")
    for combo, a in bench.combinations(base).items():
        measure, lens = combo.split("/")
        direct = attn_widget.analyze(TEXT, model="minilm", measure=measure, lens=lens)
        assert a.options.lens_heads == direct.options.lens_heads, combo
        np.testing.assert_array_equal(a.labels, direct.labels, err_msg=combo)
        np.testing.assert_allclose(a.weights, direct.weights, rtol=1e-6, atol=1e-9, err_msg=combo)


def test_batched_cut_rows_give_the_ratios_cut_test_gives(bench, minilm):
    base = attn_widget.analyze(TEXT, model="minilm", measure="gradient")
    made = bench.combinations(base)
    runner = CutRunner(minilm[0], [int(t.id) for t in base.tokens])
    rows = bench.cut_rows(runner, {k: np.asarray(a.labels) for k, a in made.items()}, 5, seed=7)
    for key in ("attention/all", "norm/late"):
        direct = cut_test(made[key], minilm[0], n_random=5, seed=7)
        for readout, vs, field in (
            ("main", "contiguous", "ratio_contiguous"),
            ("main", "random", "ratio_random"),
            ("other", "contiguous", "other_ratio_contiguous"),
        ):
            got = bench.ratio([rows[key]], readout, vs)
            assert got == pytest.approx(direct[field], rel=1e-5), (key, field)


@pytest.fixture(scope="module")
def oracle():
    """benchmarks/bench_cut_oracle.py imported as a module."""
    return script(ORACLE)


def test_every_swap_is_one_token_pair_of_different_clusters_and_keeps_the_sizes(oracle):
    labels = np.array([-1, 0, 0, 1, 1, 2])
    moved = oracle.swaps(labels)
    # 5 kept tokens in clusters of 2, 2 and 1: 10 pairs, 2 of them inside a cluster
    assert len(moved) == 8
    for m in moved:
        assert m[0] == -1  # a left-out token never moves
        assert np.sum(m != labels) == 2
        assert sorted(m.tolist()) == sorted(labels.tolist())


class CountingRunner:
    """A stand-in for CutRunner: the "divergence" of a partition is the number of neighbours it separates."""

    def divergences(self, partitions):
        return [{"main": float(np.sum(p[1:] != p[:-1])), "other": 0.0} for p in partitions]


def test_the_greedy_search_takes_the_best_swap_until_none_helps(oracle):
    def cuts(p):
        return CountingRunner().divergences([p])[0]["main"]

    one = np.array([0, 1, 0, 1, 1, 0])  # 4 neighbouring pairs cut; swapping tokens 1 and 5 leaves 1
    found, taken, cut = oracle.search(CountingRunner(), one, steps=10)
    assert (cuts(found), taken) == (1.0, 1)
    assert cut == 1 + 2 * 9  # the start, then the 9 swaps of each step (the second finds no gain)
    three = np.array([0, 1, 2, 0, 1, 2])  # 5 pairs cut; three runs (2 cut) take two swaps
    found, taken, cut = oracle.search(CountingRunner(), three, steps=10)
    assert sorted(found.tolist()) == sorted(three.tolist())
    assert cuts(found) == 2.0
    assert taken >= 2
    assert cut == 1 + (taken + 1) * 12
    capped = oracle.search(CountingRunner(), three, steps=1)
    assert capped[1] == 1
    assert cuts(capped[0]) > 2.0
    stuck, none, _ = oracle.search(CountingRunner(), np.array([0, 0, 1, 1]), steps=5)
    assert none == 0
    np.testing.assert_array_equal(stuck, [0, 0, 1, 1])


def test_the_run_on_a_real_model_keeps_sizes_never_ends_worse_and_reports_both_readouts(
    oracle, tiny_gpt2_dir, tmp_path
):
    out = tmp_path / "oracle.json"
    env = {**os.environ, "ATTN_WIDGET_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(ORACLE), "--models", str(tiny_gpt2_dir), "--texts", "1", "--steps", "1"]
    done = subprocess.run(
        [*command, "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    model = json.loads(out.read_text())["models"][str(tiny_gpt2_dir)]
    (row,) = model["rows"]
    assert row["sizes_kept"]
    assert row["swaps"] in (0, 1)
    assert row["searched"]["partition"]["main"] <= row["default"]["partition"]["main"] + 1e-12
    changed = np.sum(np.array(row["labels"]["searched"]) != np.array(row["labels"]["default"]))
    assert changed == 2 * row["swaps"]
    assert row["forward_passes"] > 1
    s = model["summary"]
    assert np.isfinite(s["searched_main_vs_contiguous"])
    assert np.isfinite(s["default_other_vs_contiguous"])
    assert "cut / chunks (main readout): default" in done.stdout
