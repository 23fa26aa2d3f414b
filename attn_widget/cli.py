"""Command line: ``attn-widget explain "text" ...`` and ``attn-widget corpus INPUT --out DIR ...``.

``explain``: the first line of output names the model that ran (and says so
when the default GPT-2 could not be loaded and SmolLM2 was used instead) and,
for an encoder–decoder model (``--target``, or the model's own output), how many
tokens are the source's and the target's; then
a table of clusters, each followed by its headline (one plain sentence: what
binds the group and why); ``--explain`` adds each cluster's full rationale.
``corpus``: runs :func:`attn_widget.corpus.analyze_corpus` with a progress bar
and ends with one line of counts and the run folder; an interrupted run
(Ctrl-C, SIGTERM) keeps what it wrote and exits with status 130, and the same
command resumes it. User errors print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .core.units import UNITS

EXIT_USER_ERROR = 2


EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, not the whole usage block
        self.exit(EXIT_USER_ERROR, f"attn-widget: error: {message} (see {self.prog} --help)\n")


def _threshold(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number or 'auto'") from None


def _lens(value: str) -> str | list[tuple[int, int]]:
    if not any(c.isdigit() for c in value):
        return value
    try:
        return [(int(a), int(b)) for a, b in (pair.strip().split(".") for pair in value.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give a lens name or layer.head pairs like 5.1,6.9"
        ) from None


def parser() -> argparse.ArgumentParser:
    """The ``attn-widget`` argument parser."""
    top = _Parser(prog="attn-widget", description="Group a transformer's tokens by attention.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ex = sub.add_parser("explain", help="cluster the tokens of a text and print the clusters")
    ex.add_argument("text", nargs="?", help="text to analyse (or use --text-file)")
    ex.add_argument("--text-file", type=Path, help="read the text from this file (UTF-8)")
    ex.add_argument(
        "--model",
        help="hub name, local folder, 'smollm2' or 'minilm' (default: gpt2, "
        "falling back to smollm2 with a notice when GPT-2 cannot be loaded)",
    )
    ex.add_argument(
        "--target",
        help="with an encoder–decoder --model (T5, BART, Marian): the text the decoder "
        "reads, the text argument being the source (default: the model writes its own)",
    )
    ex.add_argument("--json", type=Path, dest="json_out", help="write Analysis.to_dict() here")
    ex.add_argument("--html", type=Path, dest="html_out", help="write a standalone offline HTML page here")
    add_analysis_options(ex)
    ex.add_argument(
        "--unit",
        choices=UNITS,
        default="word",
        help="graph nodes: whole words (the default, as the widget shows a text), the model's tokens, "
        "or sentences (pieces pooled; long texts)",
    )
    ex.add_argument(
        "--explain",
        action="store_true",
        help="print each cluster's full evidence-backed rationale after the table",
    )
    ex.add_argument(
        "--no-headlines",
        action="store_true",
        help="skip explaining the clusters (no headline under each row; faster on long texts)",
    )
    ex.add_argument("--min-size", type=int, default=1, help="hide clusters smaller than this in the table")
    add_corpus_parser(sub)
    return top


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """The options of ``analyze`` that both commands take (see :func:`analysis_options`)."""
    from .core.options import DEFAULTS
    from .graph.aggregate import AGGREGATIONS
    from .graph.cluster import METHODS
    from .graph.measures import MEASURES
    from .graph.threshold import THRESHOLDS
    from .heads.lenses import LENSES

    p.add_argument(
        "--threshold", type=_threshold, default=DEFAULTS["threshold"], help="a number or 'auto' (default)"
    )
    p.add_argument("--threshold-mode", choices=THRESHOLDS.names(), default=DEFAULTS["threshold_mode"])
    p.add_argument("--method", choices=METHODS.names(), default=DEFAULTS["method"])
    p.add_argument("--aggregation", choices=AGGREGATIONS.names(), default=DEFAULTS["aggregation"])
    p.add_argument(
        "--measure",
        choices=MEASURES.names(),
        default=DEFAULTS["measure"],
        help="edge measure per head (norm: attention times what the head moves; gradient: one backward pass)",
    )
    p.add_argument(
        "--lens",
        type=_lens,
        default=DEFAULTS["lens"],
        help=f"heads that make the graph: {', '.join(LENSES.names())}, or layer.head pairs like 5.1,6.9",
    )
    p.add_argument(
        "--keep-sinks",
        action="store_true",
        help="keep the attention sinks in the graph (default: found and left out)",
    )
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--truncate", action="store_true", help="analyse the first tokens of an over-long text")
    p.add_argument("--no-bos", action="store_true", help="do not prepend a BOS token")


def analysis_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``analyze`` keyword arguments of the options :func:`add_analysis_options` added."""
    return {
        "threshold": args.threshold,
        "threshold_mode": args.threshold_mode,
        "method": args.method,
        "aggregation": args.aggregation,
        "measure": args.measure,
        "lens": args.lens,
        "exclude": [] if args.keep_sinks else "auto",
        "seed": args.seed,
        "overlength": "truncate" if args.truncate else "error",
        "prepend_bos": False if args.no_bos else None,
    }


def add_corpus_parser(sub: Any) -> None:
    """``attn-widget corpus INPUT --out DIR [--model M] [--workers N] [--address A] ...``."""
    co = sub.add_parser("corpus", help="analyse every text of a file on Dask; write Parquet under --out")
    co.add_argument("input", help="a .csv, .tsv, .jsonl, .parquet (file or folder) or .txt (a text a line)")
    co.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for the results (one run folder per model and options inside it; running again resumes)",
    )
    co.add_argument("--model", help="hub name, local folder, 'smollm2' or 'minilm' (default as for explain)")
    co.add_argument(
        "--workers",
        type=int,
        help="local worker processes (default: one per core); with --address, wait for this many",
    )
    co.add_argument("--address", help="a running Dask scheduler, tcp://host:port (default: start one here)")
    co.add_argument("--text-column", default="text", help="column holding the texts (default: text)")
    co.add_argument("--id-column", help="column holding each text's id (default: the row number)")
    co.add_argument("--limit", type=int, help="analyse only the first N texts")
    co.add_argument("--batch-size", type=int, help="texts per task and per Parquet file (default: automatic)")
    co.add_argument("--torch-threads", type=int, help="torch threads per worker (default: cores / workers)")
    co.add_argument("--retry-errors", action="store_true", help="analyse again the texts with error rows")
    co.add_argument("--no-head-roles", action="store_true", help="do not write the per-head role table")
    co.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_analysis_options(co)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``attn-widget``; returns the exit status."""
    from .extract.loading import quiet_transformers

    args = parser().parse_args(argv)
    try:
        with quiet_transformers():  # transformers' info lines and progress bars stay out of the output
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("attn-widget: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # user-facing: one clear line, no traceback
        from .extract.errors import ModelLoadError

        user_error = isinstance(err, (ModelLoadError, ValueError, TypeError, OSError, ImportError))
        if not user_error or os.environ.get("ATTN_WIDGET_DEBUG"):
            raise
        message = str(err).replace("pass overlength='truncate'", "pass --truncate")
        message = message.replace("target= is read", "--target is read").replace(
            "without target=", "without --target"
        )
        print(f"attn-widget: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR


def _read_text(args: argparse.Namespace) -> str:
    if args.text_file is not None and args.text is not None:
        raise ValueError("give the text as an argument or with --text-file, not both")
    if args.text_file is not None:
        if not args.text_file.is_file():
            raise ValueError(f"--text-file {str(args.text_file)!r} does not exist")
        return str(args.text_file.read_text(encoding="utf-8"))
    if args.text is None:
        raise ValueError('no text: attn-widget explain "some text" (or --text-file FILE)')
    return str(args.text)


def _explain(args: argparse.Namespace) -> int:
    text = _read_text(args)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .api import analyze
    from .core.options import DEFAULT_MODEL
    from .extract.loading import FALLBACK_NOTICE
    from .graph.pipeline import SINK_NOTICE

    options = {**analysis_options(args), "unit": args.unit, "target": args.target}
    analysis = analyze(text, DEFAULT_MODEL if args.model is None else args.model, **options)
    if args.explain or not args.no_headlines:
        analysis = analysis.explain()
    print(headline(analysis))
    for notice in analysis.notices:
        if not notice.startswith((FALLBACK_NOTICE, SINK_NOTICE)):  # both are said in the first line
            print(f"note: {notice}")
    for finding in analysis.findings or ():  # what stands out, before the table
        print(f"* {finding.text}")
    print(analysis.table(min_size=args.min_size))
    if args.explain:
        print()
        for c in analysis.clusters:
            if c.rationale and c.size >= max(2, args.min_size):
                print(f"cluster {c.id}: {c.rationale}")
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        arcs = [arc.to_dict() for arc in analysis.arcs()]  # what the views draw
        out = {**analysis.to_dict(), "arcs": arcs}
        args.json_out.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
        print(f"wrote {args.json_out}")
    if args.html_out is not None:
        from .view.standalone import save_html  # the widget's standalone page

        args.html_out.parent.mkdir(parents=True, exist_ok=True)
        print(f"wrote {save_html(analysis, args.html_out)}")
    return 0


def _corpus(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .core.options import DEFAULT_MODEL
    from .corpus import analyze_corpus

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # the same clean stop as Ctrl-C: workers shut down, written batches kept

    signal.signal(signal.SIGTERM, stop)
    try:
        run = analyze_corpus(
            args.input,
            DEFAULT_MODEL if args.model is None else args.model,
            out=args.out,
            text_column=args.text_column,
            id_column=args.id_column,
            limit=args.limit,
            workers=args.workers,
            address=args.address,
            torch_threads=args.torch_threads,
            batch_size=args.batch_size,
            head_roles=not args.no_head_roles,
            retry_errors=args.retry_errors,
            progress=not args.no_progress,
            **analysis_options(args),
        )
    except KeyboardInterrupt:
        print(
            f"attn-widget: interrupted; the texts finished so far are kept under {args.out}: "
            "run the same command again to analyse the rest",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(run)
    return 0


COMMANDS = {"explain": _explain, "corpus": _corpus}


def headline(analysis: Any) -> str:
    """First output line: which model ran, the tokens left out as sinks, and the fallback notice."""
    from .extract.loading import FALLBACK_NOTICE

    fallback = next((n for n in analysis.notices if n.startswith(FALLBACK_NOTICE)), None)
    big = sum(1 for c in analysis.clusters if c.size > 1)
    s, unit = analysis.source_length, f"{analysis.options.unit}s"

    def shown(nodes: Any) -> int:  # a BOS is not a word
        return len(nodes) if unit == "tokens" else sum(not t.special for t in nodes)

    nodes = analysis.tokens
    count = f"{shown(nodes)} {unit}"
    if s is not None:
        count += f" ({shown(nodes[:s])} source → {shown(nodes[s:])} target)"
    line = (
        f"model: {analysis.model} | {count}, {big} clusters of 2+ {unit}, "
        f"threshold {analysis.threshold:.4g} ({analysis.options.threshold_mode}), "
        f"modularity {analysis.modularity:.3f}"
    )
    if analysis.excluded:
        left = ", ".join(
            f"{analysis.tokens[i].text.strip() or repr(analysis.tokens[i].text)} ({i})"
            for i in analysis.excluded
        )
        how = "sinks" if analysis.options.exclude_auto else "excluded"
        line += f" | left out ({how}): {left}"
    return f"{line} | {fallback}" if fallback else line


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
