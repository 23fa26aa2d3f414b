"""analyze_corpus from a plain script: the missing main guard named before any worker starts;
a finished run found again without starting a cluster."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from attn_widget.corpus import analyze_corpus
from attn_widget.corpus import cluster as _cluster


def run_script(folder: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = folder / "my_corpus.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=folder
    )


def test_a_script_calling_analyze_corpus_at_its_top_level_is_told_to_add_the_main_guard(
    tmp_path, tiny_gpt2_dir
):
    out = tmp_path / "out"
    done = run_script(tmp_path, f"""\
        from attn_widget.corpus import analyze_corpus

        run = analyze_corpus(["The cat sat on the mat."], {str(tiny_gpt2_dir)!r}, out={str(out)!r})
        print(run)
        """)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()
    said = "RuntimeError: analyze_corpus() is called at the top level of"
    assert any(line.startswith(said) for line in last)
    assert "my_corpus.py (line 3)" in done.stderr
    assert 'if __name__ == "__main__":' in done.stderr
    assert "Nanny failed to start" not in done.stderr
    assert not out.exists()  # nothing started, nothing written

    nested = run_script(tmp_path, f"""\
        from attn_widget.corpus import analyze_corpus


        def main():
            return analyze_corpus(["The cat sat on the mat."], {str(tiny_gpt2_dir)!r}, out={str(out)!r})


        main()
        """)
    assert nested.returncode == 1
    assert "my_corpus.py (line 8)" in nested.stderr  # the top-level line that leads to the call


@pytest.fixture
def finished(quotations, tiny_gpt2_dir, tmp_path):
    texts = quotations[:12]
    run = analyze_corpus(texts, str(tiny_gpt2_dir), out=tmp_path / "out", progress=False, workers=1)
    assert run.analysed == 12
    return texts, run


def test_a_rerun_with_every_text_done_starts_no_cluster(
    finished, tiny_gpt2_dir, tmp_path, monkeypatch, capsys
):
    texts, first = finished

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started with nothing to do")

    monkeypatch.setattr(_cluster, "connect", no_cluster)
    again = analyze_corpus(texts, str(tiny_gpt2_dir), out=tmp_path / "out")
    assert (again.path, again.skipped, again.analysed, again.total) == (first.path, 12, 0, 12)
    assert again.model == first.model
    assert "All 12 texts are already there; nothing to analyse" in capsys.readouterr().out
    assert str(again).startswith("0 texts analysed (0 errors), 12 already there, 12 in the source")
    with pytest.raises(AssertionError, match="a cluster was started"):  # one text more: work to do
        analyze_corpus([*texts, "One more text."], str(tiny_gpt2_dir), out=tmp_path / "out", progress=False)
    with pytest.raises(AssertionError, match="a cluster was started"):  # other options: another run
        analyze_corpus(texts, str(tiny_gpt2_dir), out=tmp_path / "out", progress=False, method="leiden")


def test_a_guarded_script_rerunning_a_finished_run_passes_the_guard(finished, tiny_gpt2_dir, tmp_path):
    texts, _ = finished
    done = run_script(tmp_path, f"""\
        from attn_widget.corpus import analyze_corpus

        if __name__ == "__main__":
            run = analyze_corpus({texts!r}, {str(tiny_gpt2_dir)!r}, out={str(tmp_path / "out")!r})
            print(run.skipped, run.analysed, run.workers)
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "12 0 0"
