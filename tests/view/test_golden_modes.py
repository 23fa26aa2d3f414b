"""The golden generation, comparison and ablation payloads, decoded by the front-end's own guards.

``js/tests/fixtures/modes.json`` holds :mod:`attn_widget.view.modes_wire`'s
payloads for a small planted generation, a comparison and an ablation (buffers
base64-encoded as an exported page carries them); ``js/tests/modes/modes.test.ts``
checks and draws them with ``js/src/wire/modes.ts``. The test here fails as soon as
Python writes anything else. After a deliberate change of the layout (bump
``MODES_VERSION`` in modes_wire.py and wire/modes.ts), rewrite the fixture with::

    .venv/bin/python tests/view/test_golden_modes.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import attn_widget
from attn_widget.core import Ablation, Candidate, PredictionChange, Token
from attn_widget.graph.steps import build_generation, step_analyses
from attn_widget.synthetic import planted_attention, tokens_from_pieces
from attn_widget.view.modes_wire import (
    MODES_VERSION,
    ablation_payload,
    comparison_payload,
    generation_payload,
)
from attn_widget.view.wire import to_jsonable, to_state

GOLDEN = Path(__file__).resolve().parents[2] / "js" / "tests" / "fixtures" / "modes.json"
REGENERATE = ".venv/bin/python tests/view/test_golden_modes.py"
PIECES = ["The", " cat", " sat", " on", " the", " mat", " and", " then", " <b>it</b>", " slept", "."]
PROMPT_PIECES = 7


def golden_generation() -> attn_widget.Generation:
    """Four steps over planted attention: a BOS, a seven-token prompt, four generated tokens."""
    attention, _ = planted_attention([4, 3, 4], layers=2, heads=2, seed=3)
    text, tokens = tokens_from_pieces(PIECES, bos="<s>")
    p = PROMPT_PIECES + 1
    analyses = step_analyses(attention, tokens, text, p, model="planted", sinks=(0,))
    choices = [
        (0.5 - 0.1 * k, tuple(Candidate(t, i, 0.5 - 0.1 * k - 0.01 * i) for i, t in enumerate(PIECES[:5])))
        for k in range(len(analyses))
    ]
    settings = {
        "max_new_tokens": 4,
        "sample": False,
        "seed": 0,
        "temperature": 1.0,
        "top_k": 0,
        "top_p": 1.0,
        "chat": False,
    }
    return build_generation(
        text[: tokens[p].start],
        text[tokens[p].start :],
        analyses,
        choices,
        prompt_length=p,
        model="planted",
        settings=settings,
    )


def golden_pair() -> tuple[attn_widget.Analysis, attn_widget.Analysis]:
    """A changed word and a changed grouping: ' cat' → ' dog', groups of 4+3+4 → 2+5+4."""
    a_att, _ = planted_attention([4, 3, 4], layers=2, heads=2, seed=3)
    b_att, _ = planted_attention([2, 5, 4], layers=2, heads=2, seed=3)
    text_a, tokens_a = tokens_from_pieces(PIECES, bos="<s>")
    text_b, tokens_b = tokens_from_pieces([PIECES[0], " dog", *PIECES[2:]], bos="<s>")
    a = attn_widget.analyze_attention(a_att, tokens_a, text=text_a, model="planted")
    b = attn_widget.analyze_attention(b_att, tokens_b, text=text_b, model="planted")
    return a, b


def golden_ablation() -> Ablation:
    a, _ = golden_pair()
    b_att, _ = planted_attention([2, 5, 4], layers=2, heads=2, seed=3)
    after = attn_widget.analyze_attention(b_att, a.tokens, text=a.text, model="planted")
    before = (Candidate(" mat", 6, 0.6), Candidate(" rug", 7, 0.2))
    after_top = (Candidate(" rug", 7, 0.5), Candidate(" mat", 6, 0.1))
    change = PredictionChange(11, before, after_top, before[0], 0.6, 0.1, 0.42)
    return Ablation(a, after, (4,), ((1, 0),), (), change, attn_widget.compare(a, after), ("A notice.",))


def golden() -> dict[str, Any]:
    """The three payloads, and the states the widget shows with them (the last step's; ``a``)."""
    generation = golden_generation()
    comparison = attn_widget.compare(*golden_pair())
    return {
        "about": f"Written by tests/view/test_golden_modes.py; do not edit. Rewrite: {REGENERATE}",
        "generation": generation_payload(generation),
        "step_state": to_jsonable(to_state(generation.analysis)),
        "comparison": to_jsonable(comparison_payload(comparison)),
        "a_state": to_jsonable(to_state(comparison.a)),
        "ablation": to_jsonable(ablation_payload(golden_ablation(), request=3)),
    }


def render() -> str:
    return json.dumps(golden(), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def test_the_committed_golden_modes_are_what_python_writes_now():
    assert GOLDEN.is_file(), f"{GOLDEN} is missing; write it with {REGENERATE}"
    assert GOLDEN.read_text(encoding="utf-8") == render(), (
        f"the payloads Python writes changed, so {GOLDEN.name} (decoded by js/tests/modes/modes.test.ts) "
        "is stale: "
        f"rewrite it with {REGENERATE}, run `make test-js`, and bump MODES_VERSION in modes_wire.py and "
        "js/src/wire/modes.ts if the front-end must change"
    )


def test_the_golden_modes_carry_what_the_views_must_show():
    fixture = json.loads(GOLDEN.read_text(encoding="utf-8"))
    g, c, ab = fixture["generation"], fixture["comparison"], fixture["ablation"]
    assert g["version"] == c["version"] == ab["version"] == MODES_VERSION
    assert len(g["steps"]) == len(PIECES) - PROMPT_PIECES
    assert [s["token"] for s in g["steps"]] == PIECES[PROMPT_PIECES:]
    assert all(len({slot for _, slot in s["slots"]}) == len(s["slots"]) for s in g["steps"])
    assert all(i < g["prompt_length"] for s in g["steps"] for i, _, _ in s["links"])
    assert any(s["events"] for s in g["steps"])  # the planted groups grow, split or form along the way
    assert c["unit"] == "token"
    assert c["moved"]
    assert c["summary"]
    assert c["b"]["tokens"][2] == " dog"
    assert ab["id"] == 3
    assert ab["prediction"]["changed"] is True
    matched = dict(map(tuple, c["b_slots"]))
    assert set(matched.values()) >= set(dict(map(tuple, c["a_slots"])).values()) - {None}


def test_tokens_the_text_does_not_show_never_lead_the_links_into_the_prompt():
    g = golden_generation()
    hidden = type(g)(**{**g.__dict__, "hidden": (1, 2)})
    links = generation_payload(hidden)["steps"][0]["links"]
    assert links
    assert not {i for i, _, _ in links} & {0, 1, 2}
    assert np.all(np.diff([w for _, _, w in links]) <= 0)
    assert isinstance(hidden.steps[0].token, Token)


if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(render(), encoding="utf-8")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")
