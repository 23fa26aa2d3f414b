"""benchmarks/bench_coref.py on the tiny GPT-2: every figure the issue asks for is printed and written."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_coref.py"


def test_the_quick_run_prints_every_figure_and_writes_its_json(tiny_gpt2_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ATTN_WIDGET_CACHE", str(tmp_path / "cache"))  # not the user's cache
    spec = importlib.util.spec_from_file_location("bench_coref", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "coref.json"
    bench.main(
        ["--quick", "--items", "6", "--probe-items", "40", "--models", str(tiny_gpt2_dir), "--out", str(out)]
    )
    printed = capsys.readouterr().out
    (model,) = json.loads(out.read_text())["models"].values()
    assert model["probe_items"] == 40
    assert model["probe_seconds"] > 0
    assert 0.0 <= model["cv_top1"] <= model["cv_top3"] <= 1.0
    assert {"top-n mean 1", "greedy mean 1", "top-n weighted 1", "best layer"} <= set(model["variants"])
    for v in model["variants"].values():
        assert 0.0 <= v["report"]["top1"] <= v["report"]["top3"] <= 1.0
        assert v["report"]["n"] == 6
    assert model["lens"]["n"] == 6
    thresholds = [row["threshold"] for row in model["curve_report"]]
    assert thresholds == sorted(thresholds)
    coverage = [row["coverage"] for row in model["curve_report"]]
    assert coverage == sorted(coverage, reverse=True)  # a higher threshold keeps fewer links
    assert model["curve_report"][0]["precision"] == model["all_links_precision"]
    assert 0.0 <= model["solid_arcs"]["coverage"] <= 1.0
    assert 0.0 <= model["at_threshold"]["coverage"] <= 1.0
    assert len(model["threshold_probe"]) == 3  # held-out coverage, precision, all links' precision
    faith = model["faithfulness"]
    assert faith["items"] == len(faith["rows"]) > 0
    assert np.isfinite(faith["median_ratio"])
    for row in faith["rows"]:
        assert row["edge"] != row["control_edge"]
        assert row["link"] >= 0
        assert row["control"] >= 0
    for figure in (
        "held-out probe (5-fold CV)",
        "| best layer |",
        "lens 'coreference': top-1",
        "confident links (the model's threshold",
        "| threshold |",
        "faithfulness: median ratio",
        "solid reference arcs (Analysis.arcs): precision",
    ):
        assert figure in printed
