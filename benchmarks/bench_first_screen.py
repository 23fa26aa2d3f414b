"""What the first screen costs beside the analysis: arcs, head report, findings, and the next word.

For each text (the cat sentence, and ~500 tokens of prose from the first-screen
browser test), in word units as the widget shows it: the analysis itself
(``analyze``, timed in a fresh process so the model is loaded before the clock
starts), then what the first screen adds — the arcs (``Analysis.arcs``), the
head report, the findings from them (the synchronous part, issue 21's target:
at most 15% of the analysis at 500 tokens) — and the next-word evidence (one
batched knockout pass, :func:`attn_widget.runs.depends.prediction_evidence`),
which the widget computes after them in the background.

Run: ``.venv/bin/python benchmarks/bench_first_screen.py [--model smollm2] [--repeat 3]``.
Prints the best of ``--repeat`` wall and CPU seconds per step and the load; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROSE = ROOT / "tests" / "ui" / "data" / "first_screen_500.txt"
CAT = "The cat sat on the mat because it was tired."


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import attn_widget
    from attn_widget.explain.findings import make_findings
    from attn_widget.extract.loading import load
    from attn_widget.heads.roles import analysis_report
    from attn_widget.runs.depends import prediction_evidence

    load(args.model)
    for name, text in [("cat sentence", CAT), ("prose", PROSE.read_text())]:
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeat):
            a, *analysis = timed(lambda: attn_widget.analyze(text, model=args.model, unit="word"))  # noqa: B023
            arcs, *arc_t = timed(a.arcs)
            report, *report_t = timed(lambda: analysis_report(a))  # noqa: B023
            said, *next_t = timed(lambda: prediction_evidence(a))  # noqa: B023
            found, *find_t = timed(lambda: make_findings(a, arcs, report, said))  # noqa: B023
            for step, t in [("analysis", analysis), ("arcs", arc_t), ("head report", report_t),
                            ("findings", find_t), ("next word", next_t)]:  # fmt: skip
                best[step] = min(best.get(step, (1e9, 1e9)), tuple(t), key=lambda x: x[0])  # type: ignore[arg-type]
        whole = best["analysis"][0]
        first = best["arcs"][0] + best["head report"][0] + best["findings"][0]
        load = os.getloadavg()[0]
        print(f"== {name}: {len(a.model_tokens)} tokens, {len(a.tokens)} words, load {load:.1f}")
        for step, (wall, cpu) in best.items():
            share = 100 * wall / whole
            print(f"  {step:12s} {wall:7.3f} s wall  {cpu:7.3f} s CPU  {share:6.1f}% of the analysis")
        print(f"  arcs + head report + findings: {100 * first / whole:.1f}% of the analysis (target <= 15%)")
        print(f"  findings: {[f.text for f in found]}")


if __name__ == "__main__":
    main()
