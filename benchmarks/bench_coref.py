"""Issue 22's figures: coreference heads chosen by cross-validation, their links' confidence and faithfulness.

    .venv/bin/python benchmarks/bench_coref.py                       # SmolLM2 and MiniLM
    .venv/bin/python benchmarks/bench_coref.py --models minilm --quick

Per model:

- the probe run (one pass per item of ``attn_widget/heads/data/coref_probe.json``),
  timed (wall and CPU seconds), and the cross-validated table of every selection
  variant (:data:`attn_widget.heads.coref_fit.RULES` x head counts): held-out top-1,
  top-3, far top-3 on the probe. The package's rule picks among the adoptable ones
  by held-out top-1; nothing here looks at the report set to choose;
- on the report set (``benchmarks/data/coref_report.json``, never used for a
  choice): every variant refitted on the whole probe (the link computed as
  :meth:`Analysis.links` computes it), the heads of the rule before this change when
  its cache file is at hand, and the package's lens through the real API
  (``analysis.links(pronoun, k=3, lens="coreference")``): top-1, top-3, far top-3;
- confidence: :func:`attn_widget.heads.coref.reference_links` on each report item, and the
  solid (confident) reference arcs of :meth:`Analysis.arcs` the first screen draws;
  precision (the link is the antecedent) against coverage as the threshold moves,
  and at the model's own threshold (``Link.confident``, chosen on the probe by
  :func:`attn_widget.heads.coref_fit.threshold`); the same curve on the probe's
  held-out predictions (each from a calibration fitted without it), where the
  threshold was picked;
- faithfulness: the drawn link's edge (query -> key, every head) knocked out vs the
  edge from the same query to another content word at the most similar distance;
  how far the output moves at the query and after it (causal: mean JS divergence of
  the next-token distributions; encoder: mean 1 - cosine of the tokens' last hidden
  states); the median over items of the ratio.

Prints the tables, writes JSON to ``--out``. No assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "data" / "coref_report.json"
EVAL48 = ROOT / "benchmarks" / "data" / "coref_eval.json"
"""The 48 sentences the README's links table used before this report set (written with the old probe)."""
THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.72, 0.75, 0.8, 0.85, 0.9, 0.95)
_STOP = """the a an and or but of to in on at by for with from that which who this these those is was were be
been are as so then than because before after while when until not no his her its their he she it they him
them i you we me my your our us"""
STOP = frozenset(_STOP.split())


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scores(r: np.ndarray, far: np.ndarray) -> dict[str, float]:
    return {
        "top1": float((r == 0).mean()),
        "top3": float((r < 3).mean()),
        "far_top3": float((r[far] < 3).mean()) if far.any() else float("nan"),
        "n": len(r),
    }


def curve(conf: np.ndarray, right: np.ndarray) -> list[dict[str, float]]:
    """Precision and coverage of the links at or above each threshold."""
    out = []
    for t in THRESHOLDS:
        kept = conf >= t
        out.append(
            {
                "threshold": t,
                "coverage": float(kept.mean()),
                "precision": float(right[kept].mean()) if kept.any() else float("nan"),
            }
        )
    return out


def content_words(tokens: Sequence[Any], skip: set[int]) -> list[int]:
    """Tokens that start a word of letters and are not function words (candidates for the control edge)."""
    out = []
    for i, t in enumerate(tokens):
        word = t.text.strip().lower()
        if i in skip or t.special or not word.isalpha() or word in STOP:
            continue
        if t.text[:1] in " \u0120" or i == 0 or not tokens[i - 1].text.strip().isalpha() or len(word) > 2:
            out.append(i)
    return out


def faithfulness(model: Any, analysis: Any, p: int, link: Any, antecedent: set[int]) -> dict[str, Any] | None:
    """How far the output moves with the drawn link's edge knocked out, vs a control edge of like length."""
    from attn_widget.extract.cut import CutRunner
    from attn_widget.extract.loading import is_causal_config

    j = link.index
    query, key = (p, j) if link.direction == "out" else (j, p)
    causal = is_causal_config(model.config)
    if causal and key > query:
        query, key = key, query
    skip = {p, query, key, *antecedent, *analysis.excluded}
    controls = [c for c in content_words(analysis.tokens, skip) if not causal or c < query]
    if not controls:
        return None
    dist = abs(query - key)
    control = min(controls, key=lambda c: (abs(abs(query - c) - dist), c))
    n = len(analysis.tokens)
    base = np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool)
    masks = []
    for k in (key, control):
        m = base.copy()
        m[query, k] = False
        masks.append(m)
    runner = CutRunner(model, [int(t.id) for t in analysis.tokens])
    outs = runner._forward(masks)
    full = runner.full
    moved = []
    for out in outs:
        if causal:
            lp, lq = full[query:], out[query:]
            pp, qq = lp.exp(), lq.exp()
            lm = ((pp + qq) / 2).log()
            d = float((0.5 * ((pp * (lp - lm)).sum(-1) + (qq * (lq - lm)).sum(-1)) / np.log(2)).mean())
        else:
            import torch

            d = float((1 - torch.nn.functional.cosine_similarity(full, out, dim=-1)).mean())
        moved.append(d)
    return {
        "link": moved[0],
        "control": moved[1],
        "ratio": moved[0] / max(moved[1], 1e-12),
        "edge": [query, key],
        "control_edge": [query, control],
    }


def report_links(name: str, items: list[dict[str, Any]], faith: bool, unit: str = "token") -> dict[str, Any]:
    """Through the real API on each report item: the lens's top-3 ranks, reference links, faithfulness.

    ``unit="word"`` reads the arcs as the widget's default view draws them (a word of several
    pieces is one node, its pieces' attention summed)."""
    import attn_widget
    from attn_widget.extract.loading import load
    from attn_widget.heads.coref import reference_links, span_tokens

    model = load(name)[0]
    rank, conf, right, faithful, solid, sure = [], [], [], [], [], []
    for it in items:
        a = attn_widget.analyze(it["text"], model=name, unit=unit)
        p = span_tokens(a.tokens, it["pronoun"])[0]
        ante = set(span_tokens(a.tokens, it["antecedent"]))
        found = [link.index for link in a.links(p, k=3, lens="coreference")]
        hit = [k for k, i in enumerate(found) if i in ante]
        rank.append(hit[0] if hit else 3)
        refs = dict(reference_links(a))
        link = refs.get(p)
        conf.append(link.confidence if link else 0.0)
        sure.append(bool(link and link.confident))
        right.append(bool(link and link.index in ante))
        arc = [x for x in a.arcs() if x.kind == "reference" and x.source == p]
        solid.append((bool(arc and arc[0].confident), bool(arc and arc[0].target in ante)))
        if faith and link is not None:
            f = faithfulness(model, a, p, link, ante)
            if f is not None:
                faithful.append({"id": it["id"], **f})
    return {
        "ranks": np.asarray(rank),
        "confidence": np.asarray(conf),
        "right": np.asarray(right),
        "faithfulness": faithful,
        "solid_arcs": np.asarray(solid, dtype=bool).reshape(-1, 2),
        "sure": np.asarray(sure, dtype=bool),
    }


def run_model(name: str, items: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    from attn_widget.extract.loading import load
    from attn_widget.heads import coref, coref_fit

    model, tok = load(name)
    wall, cpu = time.perf_counter(), time.process_time()
    feats, cross = coref.probe_runs(model, tok, name, "attention", coref.probe_items()[: args.probe_items])
    found = coref.fit(name, feats, "attention", cross=cross)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    log(f"== {name}: probe run {wall:.0f} s wall, {cpu:.0f} s CPU ({len(feats.cand)} items)")
    chosen = coref_fit.choose(feats, rules=tuple(coref_fit.RULES), cross=cross)
    report = coref.probe_features(model, tok, name, "attention", items)
    eval48 = coref.probe_features(model, tok, name, "attention", json.loads(EVAL48.read_text()))

    def on(f: Any, c: np.ndarray) -> dict[str, float]:
        return scores(coref_fit.ranks(coref_fit.combined(f, c), f.ante), f.far)

    variants = {}
    for (rule, n), cv in chosen["table"].items():
        (c,) = coref_fit.RULES[rule](feats, (n,))
        variants[f"{rule} {n}" if rule != "best layer" else rule] = {
            "probe_cv": {k: cv[k] for k in ("top1", "top3", "far_top3")},
            "report": on(report, c),
            "eval48": on(eval48, c),
            "heads": int((c > 0).sum()),
        }
    old = before_heads(name)
    if old is not None:
        c = np.zeros(feats.out.shape[1])
        c[[la * feats.shape[1] + h for la, h in old]] = 1.0
        variants["before: significance rule, 56-item probe"] = {
            "probe_cv": None,
            "report": on(report, c),
            "eval48": on(eval48, c),
            "heads": len(old),
        }
    # the default threshold's evidence: the adopted rule's held-out probe predictions
    win = chosen["table"][found_key(found)]
    coef = found.calibration_cross or found.calibration
    probe_conf = coref_fit.nested_probability(win["features"][:, : len(coef) - 1], win["ranks"] == 0)
    coref._CACHE.put((name, "attention", coref._probe_digest()), found)  # the lens uses these heads
    api = report_links(name, items, not args.no_faith and args.unit == "token", args.unit)
    far = np.array([it["far"] for it in items])
    ratios = [f["ratio"] for f in api["faithfulness"]]
    return {
        "probe_seconds": wall,
        "probe_cpu_seconds": cpu,
        "probe_items": len(feats.cand),
        "rule": found.rule,
        "heads": found.describe(limit=len(found.heads)),
        "cv_top1": found.cv_top1,
        "cv_top3": found.cv_top3,
        "cv_far_top3": win["far_top3"],
        "calibration": found.calibration,
        "variants": variants,
        "lens": scores(api["ranks"], far),
        "curve_report": curve(api["confidence"], api["right"]),
        "curve_probe": curve(probe_conf, win["ranks"] == 0),
        "threshold": found.threshold_for(bool(found.calibration_cross)),
        "threshold_probe": found.sure,
        "at_threshold": {
            "coverage": float(api["sure"].mean()),
            "precision": float(api["right"][api["sure"]].mean()) if api["sure"].any() else float("nan"),
        },
        "all_links_precision": float(api["right"].mean()),
        "solid_arcs": {
            "coverage": float(api["solid_arcs"][:, 0].mean()),
            "precision": float(api["solid_arcs"][api["solid_arcs"][:, 0], 1].mean())
            if api["solid_arcs"][:, 0].any()
            else float("nan"),
        },
        "faithfulness": {
            "median_ratio": float(np.median(ratios)) if ratios else float("nan"),
            "items": len(ratios),
            "share_above_1": float(np.mean(np.array(ratios) > 1)) if ratios else float("nan"),
            "rows": api["faithfulness"],
        },
    }


def found_key(found: Any) -> tuple[str, int]:
    rule, n = found.rule.rsplit(", ", 1)
    return rule, int(n.split()[0]) if rule != "best layer" else 0


def before_heads(name: str) -> list[tuple[int, int]] | None:
    """The heads the rule before this change chose for ``name`` (its cache file, if this machine has it)."""
    from attn_widget.extract.offline import cache_dir

    path = cache_dir() / "coref" / f"{name}-attention-48bf77d5fb97bc60.json"  # the old probe's digest
    return [tuple(h) for h in json.loads(path.read_text())["heads"]] if path.is_file() else None


def lines_for(name: str, r: dict[str, Any]) -> list[str]:
    lines = [
        f"### {name}: probe {r['probe_items']} items, run {r['probe_seconds']:.0f} s wall "
        f"({r['probe_cpu_seconds']:.0f} s CPU); rule: {r['rule']} ({r['heads']})",
        f"held-out probe (5-fold CV): top-1 {r['cv_top1']:.2f}, top-3 {r['cv_top3']:.2f}, "
        f"far top-3 {r['cv_far_top3']:.2f}",
        "| variant | heads | probe CV top-1 | top-3 | far top-3 | report top-1 | top-3 | far top-3 "
        "| old 48 top-1 | top-3 | far top-3 |",
        "|---|" + "---:|" * 10,
    ]
    for key, v in r["variants"].items():
        cv = v["probe_cv"] or {"top1": float("nan"), "top3": float("nan"), "far_top3": float("nan")}
        rep, old = v["report"], v["eval48"]
        lines.append(
            f"| {key} | {v['heads']} | {cv['top1']:.2f} | {cv['top3']:.2f} | {cv['far_top3']:.2f} | "
            f"{rep['top1']:.2f} | {rep['top3']:.2f} | {rep['far_top3']:.2f} | {old['top1']:.2f} | "
            f"{old['top3']:.2f} | {old['far_top3']:.2f} |"
        )
    lens, d = r["lens"], r["at_threshold"]
    probe = r["threshold_probe"] or (float("nan"),) * 3
    lines += [
        f"report set through the API, lens 'coreference': top-1 {lens['top1']:.2f}, "
        f"top-3 {lens['top3']:.2f}, "
        f"far top-3 {lens['far_top3']:.2f} ({lens['n']} items)",
        f"confident links (the model's threshold {r['threshold']:.2f}): precision {d['precision']:.2f} "
        f"at coverage {d['coverage']:.2f}; all links {r['all_links_precision']:.2f} "
        f"(lift {d['precision'] - r['all_links_precision']:+.2f}); held-out probe at it: "
        f"{probe[1]:.2f} at {probe[0]:.2f}, all {probe[2]:.2f}",
        f"solid reference arcs (Analysis.arcs): precision {r['solid_arcs']['precision']:.2f} "
        f"at coverage {r['solid_arcs']['coverage']:.2f}",
        "| threshold | report coverage | report precision | probe (held-out) coverage | precision |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {a['threshold']:.2f} | {a['coverage']:.2f} | {a['precision']:.2f} | {b['coverage']:.2f} | "
            f"{b['precision']:.2f} |"
            for a, b in zip(r["curve_report"], r["curve_probe"], strict=True)
        ),
        f"faithfulness: median ratio {r['faithfulness']['median_ratio']:.2f} over "
        f"{r['faithfulness']['items']} items (link edge knocked out / control edge; "
        f"{r['faithfulness']['share_above_1']:.2f} above 1)",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["smollm2", "minilm"], help="names load() knows")
    parser.add_argument("--report", default=str(REPORT), help="the report set (JSON items)")
    parser.add_argument("--items", type=int, default=None, help="report items (default: all)")
    parser.add_argument("--probe-items", type=int, default=None, help="probe items (default: all)")
    parser.add_argument("--no-faith", action="store_true", help="skip the knock-out passes")
    parser.add_argument(
        "--unit", default="token", choices=["token", "word"], help="report nodes (word: the widget's)"
    )
    parser.add_argument("--quick", action="store_true", help="12 report and 60 probe items: a smoke run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "bench_coref.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.probe_items = args.items or 12, args.probe_items or 60
    import torch

    torch.set_num_threads(args.threads)
    items = json.loads(Path(args.report).read_text())[: args.items]
    result: dict[str, Any] = {"options": vars(args), "load_average": os.getloadavg(), "models": {}}
    lines: list[str] = []
    for name in args.models:
        result["models"][name] = r = run_model(name, items, args)
        lines += ["", *lines_for(name, r)]
    print("\n".join(lines))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(result, indent=1, default=lambda x: x.tolist() if hasattr(x, "tolist") else float(x))
    )
    log(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
