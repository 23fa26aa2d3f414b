"""Latest wins in JupyterLab: a lens picked while the gradient is measured stays picked (issue 20).

The kernel's backward pass is slowed to 3 s (a stand-in around the real one on
a tiny random GPT-2), so the lens is surely chosen while it runs, as a person
does on a real model within a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labdriver import READY_JS, ROOT, NotebookPage, kernel, open_settings, wait_kernel

CELLS = [
    f"""import time, torch
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
import attn_widget
from attn_widget.view import jobs
torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64, vocab_size=50257)).eval()
tokenizer = AutoTokenizer.from_pretrained({str(ROOT / "tests" / "fixtures" / "gpt2")!r})
text = "The cat sat on the mat because she was tired. Then it rained."
a = attn_widget.analyze(text, model, tokenizer=tokenizer)
real = jobs.measure_data
passes = []
def slow(analysis, measure):
    passes.append(measure)
    time.sleep(3)
    return real(analysis, measure)
jobs.measure_data = slow
w = attn_widget.AttentionExplainer(a)""",
    "w",
]


@pytest.fixture(scope="module")
def nb(open_notebook: Any) -> NotebookPage:
    notebook = open_notebook("latest.ipynb", CELLS)
    notebook.page.wait_for_function("() => document.querySelectorAll('[data-testid=token]').length > 0")
    open_settings(notebook.page)  # the knobs and the plot are folded under "Settings"
    return notebook


def test_a_lens_picked_while_the_gradient_runs_stays_picked(nb: NotebookPage, artifacts: Path) -> None:
    page = nb.page
    page.wait_for_function(READY_JS)
    page.get_by_test_id("measure").select_option("gradient")
    page.get_by_test_id("lens").select_option("late")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=progress]').textContent.includes('later choices follow')"
    )
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "latest-pending.png"))
    wait_kernel(nb, "(w.analysis.options.measure, w.analysis.options.lens)", ("gradient", "late"), timeout=60)
    page.wait_for_function(READY_JS)
    assert page.eval_on_selector("[data-testid=lens]", "s => s.value") == "late"
    assert page.eval_on_selector("[data-testid=measure]", "s => s.value") == "gradient"
    assert kernel(nb, "(w.lens, w.error, passes)") == ("late", "", ["gradient"])
    page.get_by_test_id("attn-widget").screenshot(path=str(artifacts / "latest-settled.png"))
