"""The golden state: a real state written by Python, decoded by the front-end's own decoder.

``js/tests/fixtures/state.json`` holds :func:`attn_widget.view.wire.to_state` of a
small planted, explained analysis (buffers base64-encoded by ``to_jsonable``, as
the exported page carries them), and beside it every array as numpy reads it
(dtype, shape, values). ``js/tests/wire/golden.test.ts`` decodes the state with
``js/src/wire/state.ts`` and must get the same values; the test here fails as soon as
Python writes anything else, so a layout change on either side fails fast.

After a deliberate change of the layout (bump ``STATE_VERSION`` in wire.py and
state.ts when the front-end must change too), rewrite the fixture with::

    .venv/bin/python tests/view/test_golden_state.py
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

import attn_widget
from attn_widget.synthetic import planted_attention, tokens_from_pieces
from attn_widget.view.firstscreen import first_screen
from attn_widget.view.wire import STATE_VERSION, to_jsonable, to_state, unwire

GOLDEN = Path(__file__).resolve().parents[2] / "js" / "tests" / "fixtures" / "state.json"
PIECES = ["The", " cat", " sat", " on", " the", " mat🍕", " <b>x</b>", "."]  # 🍕: two UTF-16 units
REGENERATE = ".venv/bin/python tests/view/test_golden_state.py"


def golden_analysis() -> attn_widget.Analysis:
    """Three planted groups over eight tokens after a special first token, which is excluded;
    explained, then refined by hand (two tokens of the first group pinned together)."""
    attention, _ = planted_attention([3, 3, 2], layers=2, heads=2, seed=7)
    text, tokens = tokens_from_pieces(PIECES, bos="<s>")
    analysis = attn_widget.analyze_attention(attention, tokens, text=text, exclude=[0], model="planted")
    return attn_widget.explain(analysis).refine("pin", tokens=[1, 2])


def golden_map(n: int) -> np.ndarray:
    """A token map as the widget keeps it: fixed coordinates, NaN for the excluded first token."""
    coords = np.stack([np.arange(n, dtype=float), (np.arange(n) % 3).astype(float)], axis=1)
    coords[0] = np.nan
    return coords


def wire_arrays(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every ``{"dtype", "shape", "data"}`` record in the state, by dotted path."""
    if isinstance(node, Mapping):
        if {"dtype", "shape", "data"} <= set(node):
            yield path, node
            return
        for key, value in node.items():
            yield from wire_arrays(value, f"{path}.{key}" if path else key)


def golden() -> dict[str, Any]:
    """The fixture: the state as the exported page carries it, and its arrays as numpy reads them."""
    analysis = golden_analysis()
    arcs, findings = first_screen(analysis)
    state = to_jsonable(to_state(
        analysis, history=(1, 0), token_map=("umap", 0, golden_map(len(analysis.tokens))),
        arcs=arcs, findings=findings,
    ))  # fmt: skip
    arrays = {
        path: {
            "dtype": rec["dtype"],
            "shape": rec["shape"],
            "values": [None if v != v else v for v in unwire(rec).ravel().tolist()],  # NaN as null
        }
        for path, rec in wire_arrays(state)
    }
    return {
        "about": f"Written by tests/view/test_golden_state.py; do not edit. Rewrite: {REGENERATE}",
        "state": state,
        "arrays": arrays,
    }


def render() -> str:
    return json.dumps(golden(), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def test_the_committed_golden_state_is_what_python_writes_now():
    assert GOLDEN.is_file(), f"{GOLDEN} is missing; write it with {REGENERATE}"
    committed = GOLDEN.read_text(encoding="utf-8")
    assert committed == render(), (
        f"the state Python writes changed, so {GOLDEN.name} (decoded by js/tests/wire/golden.test.ts) "
        "is stale: "
        f"rewrite it with {REGENERATE}, run `make test-js`, and bump STATE_VERSION in wire.py and "
        "js/src/wire/state.ts if the front-end must change"
    )


def test_the_golden_state_carries_what_the_view_must_show():
    fixture = json.loads(GOLDEN.read_text(encoding="utf-8"))
    state, arrays = fixture["state"], fixture["arrays"]
    analysis = golden_analysis()
    assert state["version"] == STATE_VERSION
    assert state["tokens"] == ["<s>", *PIECES]
    assert arrays["labels"]["values"] == analysis.labels.tolist()
    assert analysis.labels[1] == analysis.labels[2]
    assert -1 in arrays["labels"]["values"]  # the excluded first token
    assert arrays["flags"]["values"][0] == 3  # special and excluded
    assert arrays["sweep.thresholds"]["values"] == analysis.sweep.thresholds.tolist()
    assert arrays["sweep.labels"]["shape"] == [analysis.sweep.thresholds.size, len(analysis.tokens)]
    assert {a["dtype"] for a in arrays.values()} == {"int32", "float32", "float16", "float64"}
    explained = [c for c in state["clusters"] if c["rationale"]]
    assert explained
    assert all(c["claims"] and c["evidence"] for c in explained)
    np.testing.assert_array_equal(unwire(state["sweep"]["labels"]), analysis.sweep.labels)
    assert state["partition"]["pins"] == [[1, 2]]
    assert state["partition"]["undo"] == 1
    assert state["partition"]["edits"][0]["op"] == "pin"
    assert arrays["map.coords"]["shape"] == [len(analysis.tokens), 2]
    assert state["map_key"]
    assert state["map"]["method"] == "umap"


if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(render(), encoding="utf-8")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")
