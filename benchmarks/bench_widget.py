"""Widget benchmark: first-view payload vs BertViz's head view, and slider latency in a real browser.

For 128, 512 and 1,024 tokens of a random-weight model with GPT-2 small's exact
shapes (12 layers x 12 heads; tokenizer and config from ``tests/fixtures/gpt2``):

* **payload**: the bytes the widget's first view sends to the browser — its
  synced state as JSON plus its binary buffers (``ipywidgets``' own split), and
  the same with the JS/CSS bundle added — against the size of BertViz's
  ``head_view(..., html_action="return")`` HTML for the same attention. BertViz's
  page embeds every weight as JSON text; its size is computed exactly by
  serialising one head at a time with the same ``json.dumps`` (checked against a
  real ``head_view`` call at 128 tokens), because at 1,024 tokens the page is
  several GB.
* **latency**: in headless Chromium, the exported standalone page
  (``save_html``) is opened and its real slider moved ~30 times between far-apart
  positions; each move is timed with ``performance.now()`` from the input event
  until the token colours have changed (a MutationObserver on ``data-cluster``)
  and the next frame has been produced (``requestAnimationFrame``).
* **kernel round trip** (skip with ``--no-lab``): the same moves on the widget
  in JupyterLab, timed to the local repaint and to the moment the kernel's
  re-clustered state has been drawn (the token spans are rebuilt); the slider's
  ``change`` event flushes the debounced write, as releasing it does.

Targets: payload <= 1/50 of BertViz's; p95 <= 100 ms at 512 tokens and <= 250 ms
at 1,024. Prints a table; asserts nothing.

Run: ``.venv/bin/python benchmarks/bench_widget.py [--sizes 128 512 1024] [--moves 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GPT2 = ROOT / "tests" / "fixtures" / "gpt2"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PROSE = (
    "The committee that reviewed the proposal said it would decide after the summer break, "
    "although several members had already argued that the budget was too small for the work. "
    "When the chair asked them why, they pointed to the costs of the previous project, which "
    "had doubled in two years while the team that ran it shrank. "
)


def gpt2_shaped_model() -> tuple[Any, Any]:
    """GPT-2 small's tokenizer and config with random weights (seeded), eager attention."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    if not GPT2.is_dir():
        raise SystemExit(f"GPT-2 fixture folder {GPT2} is missing (it ships in tests/fixtures)")
    torch.manual_seed(0)
    config = GPT2Config.from_pretrained(GPT2)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).eval()
    return model, AutoTokenizer.from_pretrained(GPT2)


def text_of_length(tokenizer: Any, n: int) -> str:
    """Text that GPT-2's tokenizer splits into ``n - 1`` tokens (a BOS makes ``n``)."""
    ids = tokenizer(PROSE * (n // 40 + 2), truncation=True, max_length=n - 1)["input_ids"]
    return str(tokenizer.decode(ids))


# ------------------------------------------------------------------ payloads
def widget_payload(widget: Any) -> tuple[int, int, int]:
    """(state JSON bytes, buffer bytes, bundle bytes) of the widget's first view."""
    from ipywidgets.widgets.widget import _remove_buffers

    state = widget.get_state()
    bundle = 0
    for key in ("_esm", "_css"):
        value = state.pop(key, "")
        bundle += len(value.encode() if isinstance(value, str) else Path(value).read_bytes())
    state, _, buffers = _remove_buffers(state)
    return len(json.dumps(state).encode()), sum(memoryview(b).nbytes for b in buffers), bundle


def bertviz_html_size(attention: np.ndarray, tokens: list[str]) -> int:
    """Exact byte size of ``bertviz.head_view(..., html_action="return").data``, one head at a time.

    The page is BertViz's fixed HTML and script around ``json.dumps(params)``.
    The fixed part is measured on a real one-token call; the params are
    rebuilt with the attention replaced by a marker, and the attention lists
    are serialised head by head (``json.dumps`` joins items with ", ").
    """
    import bertviz

    layers, heads = attention.shape[:2]
    attn = 2 + 2 * (layers - 1)
    for layer in range(layers):
        attn += 2 + 2 * (heads - 1)
        for head in range(heads):
            attn += len(json.dumps(attention[layer, head].tolist()))
    # head_view.js holds the PYTHON_PARAMS marker twice (once in a comment): the params are embedded twice.
    copies = (
        (Path(bertviz.__file__).parent / "head_view.js").read_text(encoding="utf-8").count("PYTHON_PARAMS")
    )
    tiny = np.ones((layers, 1, 1, 1), dtype=np.float32)
    page = bertviz.head_view([_torch(tiny[i][None]) for i in range(layers)], ["a"], html_action="return")
    fixed = len(page.data.encode()) - copies * _params_bytes(tiny.tolist(), ["a"], layers)
    marker = "@"
    return fixed + copies * (_params_bytes(marker, tokens, layers) - len(json.dumps(marker)) + attn)


def _params_bytes(attention_json: Any, tokens: list[str], layers: int) -> int:
    """Bytes of head_view's ``json.dumps(params)`` (its div id is a 32-hex uuid: fixed length)."""
    from bertviz.util import format_special_chars

    shown = format_special_chars(tokens)
    params = {"attention": [{"name": None, "attn": attention_json, "left_text": shown, "right_text": shown}],
              "default_filter": "0", "root_div_id": "bertviz-" + "0" * 32, "layer": None, "heads": None,
              "include_layers": list(range(layers))}  # fmt: skip
    return len(json.dumps(params).encode())


def _torch(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.array(a, copy=True))


def check_bertviz_size(attention: np.ndarray, tokens: list[str]) -> tuple[int, int]:
    """(computed, real) size of BertViz's page for a small input: they must agree."""
    import bertviz

    real = bertviz.head_view([_torch(attention[i][None]) for i in range(attention.shape[0])], tokens,
                             html_action="return").data  # fmt: skip
    return bertviz_html_size(attention, tokens), len(real.encode())


# ------------------------------------------------------------------- latency
LATENCY_JS = """async (moves) => {
  const slider = document.querySelector('[data-testid=slider]');
  const text = document.querySelector('[data-testid=text]');
  const max = Number(slider.max);
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const times = [], changed = [];
  await frame();
  for (let k = 0; k < moves; k++) {
    const target = k % 2 === 0 ? max - (k % 3) : (k % 3);  // far apart: the partition really changes
    let mutated = false;
    const observer = new MutationObserver(() => { mutated = true; });
    observer.observe(text, {subtree: true, attributes: true, attributeFilter: ['data-cluster']});
    const t0 = performance.now();
    slider.value = String(target);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    await Promise.resolve();  // MutationObserver callbacks run as a microtask
    await frame();  // the re-rendered view has been produced
    times.push(performance.now() - t0);
    observer.disconnect();
    changed.push(mutated);
  }
  return {times, changed: changed.filter(Boolean).length};
}"""


def browser_latency(html: Path, n_tokens: int, moves: int, browser: Any) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None,
    )
    t0 = time.perf_counter()
    page.goto(html.as_uri())
    page.wait_for_function("n => document.querySelectorAll('[data-testid=token]').length === n", arg=n_tokens,
                           timeout=120_000)  # fmt: skip
    first_render = time.perf_counter() - t0
    result = page.evaluate(LATENCY_JS, moves)
    page.close()
    times = np.asarray(result["times"])
    return {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95)),
            "changed": result["changed"], "moves": moves, "first_render_s": first_render,
            "external": external}  # fmt: skip


LAB_JS = """async (moves) => {
  const root = document.querySelector('[data-testid=attn-widget]');
  const slider = root.querySelector('[data-testid=slider]');
  const text = root.querySelector('[data-testid=text]');
  const max = Number(slider.max);
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const local = [], kernel = [];
  for (let k = 0; k < moves; k++) {
    const target = k % 2 === 0 ? max - (k % 3) : (k % 3);
    let done;
    const rebuilt = new Promise(r => { done = r; });
    const observer = new MutationObserver(ms => {
      if (ms.some(m => m.type === 'childList')) done(performance.now());
    });
    observer.observe(text, {childList: true});  // the kernel's new state rebuilds the spans
    const t0 = performance.now();
    slider.value = String(target);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    slider.dispatchEvent(new Event('change', {bubbles: true}));  // release: the debounced write goes now
    await frame();
    local.push(performance.now() - t0);
    const t1 = await Promise.race([rebuilt, new Promise(r => setTimeout(() => r(null), 30000))]);
    observer.disconnect();
    kernel.push(t1 === null ? null : t1 - t0);
    await frame();
  }
  return {local, kernel};
}"""


def lab_latency(sizes: list[int], moves: int, browser: Any) -> dict[int, dict[str, float]]:
    """In JupyterLab: slider -> local repaint, and slider -> kernel re-cluster -> new state drawn."""
    sys.path.insert(0, str(ROOT / "tests" / "ui"))
    from labdriver import LabServer, NotebookPage, write_notebook

    root, state = (
        Path(tempfile.mkdtemp(prefix="bench-lab-")),
        Path(tempfile.mkdtemp(prefix="bench-lab-state-")),
    )
    server = LabServer(root=root)
    server.start(state)
    results: dict[int, dict[str, float]] = {}
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for n in sizes:
            setup = (
                f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
                "import attn_widget\nfrom bench_widget import gpt2_shaped_model, text_of_length\n"
                "model, tokenizer = gpt2_shaped_model()\n"
                f"a = attn_widget.analyze(text_of_length(tokenizer, {n}), model, tokenizer=tokenizer)\n"
                "w = attn_widget.AttentionExplainer(a)"
            )
            write_notebook(root / f"lab-{n}.ipynb", [setup, "w"])
            nb = NotebookPage(page, server, f"lab-{n}.ipynb").open()
            nb.run_all(timeout=300)
            page.wait_for_function(
                "n => document.querySelectorAll('[data-testid=token]').length === n", arg=n
            )
            got = page.evaluate(LAB_JS, moves)
            kernel = np.asarray([t for t in got["kernel"] if t is not None])
            local = np.asarray(got["local"])
            nan = float("nan")
            results[n] = {
                "local_p50": float(np.percentile(local, 50)),
                "local_p95": float(np.percentile(local, 95)),
                "kernel_p50": float(np.percentile(kernel, 50)) if kernel.size else nan,
                "kernel_p95": float(np.percentile(kernel, 95)) if kernel.size else nan,
                "lost": moves - int(kernel.size),
            }
            print(f"done JupyterLab {n} tokens", file=sys.stderr, flush=True)
        page.close()
    finally:
        server.stop()
    return results


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 1024])
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument(
        "--no-lab", action="store_true", help="skip the JupyterLab (kernel round trip) measurement"
    )
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    import attn_widget

    model, tokenizer = gpt2_shaped_model()
    out = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for n in args.sizes:
            t0 = time.perf_counter()
            analysis = attn_widget.analyze(text_of_length(tokenizer, n), model, tokenizer=tokenizer)
            analyse_s = time.perf_counter() - t0
            tokens = [t.text for t in analysis.tokens]
            assert analysis.attentions is not None
            if n <= 128:
                computed, real = check_bertviz_size(analysis.attentions, tokens)
                if computed != real:
                    raise SystemExit(
                        f"BertViz size model is off at {n} tokens: computed {computed}, real {real}"
                    )
            t0 = time.perf_counter()
            bertviz_bytes = bertviz_html_size(analysis.attentions, tokens)
            bertviz_s = time.perf_counter() - t0
            widget = attn_widget.AttentionExplainer(analysis)
            widget.first_screen.join(600)  # its arcs and findings are made on threads of this process: not
            # while the browser below is timed (the page itself needs no kernel)
            state, buffers, bundle = widget_payload(widget)
            html = widget.save_html(out / f"explainer-{n}.html")
            lat = browser_latency(html, len(analysis.tokens), args.moves, browser)
            rows.append((n, len(analysis.tokens), analyse_s, state, buffers, bundle, html.stat().st_size,
                         bertviz_bytes, bertviz_s, lat))  # fmt: skip
            print(f"done {n} tokens", file=sys.stderr, flush=True)
        lab = {} if args.no_lab else lab_latency(args.sizes, args.moves, browser)
        browser.close()

    print("\nattn_widget first view vs BertViz head_view (random-weight GPT-2 small shapes, 12x12 heads)")
    print(f"{'tokens':>6} {'state':>9} {'buffers':>9} {'+bundle':>9} {'export':>9} {'BertViz':>12} "
          f"{'ratio':>7} {'p50 ms':>7} {'p95 ms':>7} {'target':>7} {'moved':>6} {'render s':>8}")  # fmt: skip
    for _n, t, _, state, buffers, bundle, export, bv, _, lat in rows:
        total = state + buffers + bundle
        target = 100 if t <= 512 else 250
        print(f"{t:>6} {kib(state):>9} {kib(buffers):>9} {kib(total):>9} {kib(export):>9} {kib(bv):>12} "
              f"{bv / total:>6.0f}x {lat['p50']:>7.1f} {lat['p95']:>7.1f} {target:>7} "
              f"{lat['changed']:>2}/{lat['moves']:<3} {lat['first_render_s']:>8.2f}")  # fmt: skip
    print(
        "(BertViz embeds its params twice: head_view.js names the PYTHON_PARAMS marker again in a comment.)"
    )
    print("\nratio = BertViz bytes / (state + buffers + JS/CSS bundle); target >= 50x.")
    print("p50/p95: slider input -> token colours changed -> next frame; headless Chromium, standalone page.")
    print(f"moved: moves whose partition changed on screen. Exports kept in {out}")
    if lab:
        print("\nIn JupyterLab (ms): slider -> local repaint; slider -> kernel re-cluster -> new state drawn")
        head = f"{'tokens':>6} {'local p50':>9} {'local p95':>9} {'kernel p50':>10} {'kernel p95':>10}"
        print(f"{head} {'lost':>5}")
        for n, r in lab.items():
            print(f"{n:>6} {r['local_p50']:>9.1f} {r['local_p95']:>9.1f} {r['kernel_p50']:>10.1f} "
                  f"{r['kernel_p95']:>10.1f} {r['lost']:>5}")  # fmt: skip
    for _n, t, analyse_s, *_, bertviz_s, lat in rows:
        if lat["external"]:
            print(f"WARNING {t} tokens: the page requested {lat['external'][:5]}")
        print(f"{t} tokens: analyze {analyse_s:.1f} s, BertViz size computed in {bertviz_s:.1f} s")


def kib(n: int) -> str:
    return f"{n / 1024:.1f}K" if n < 1024**2 else f"{n / 1024**2:.1f}M"


if __name__ == "__main__":
    main()
