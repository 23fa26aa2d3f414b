"""summarize: head-role prevalence, clusters against length, and token pairs with their PMI, on tables
whose answers are worked out by hand (the corpus notebook runs it on real SmolLM2 output)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from attn_widget.corpus import summarize
from attn_widget.corpus.engine import identity_options
from attn_widget.corpus.runs import RunFolder
from attn_widget.corpus.schema import ROLE_NAMES, error_row, heads_table, role_column, texts_table
from attn_widget.corpus.summary import normal_form

# text id → its clusters, as token texts (every token is in exactly one cluster)
TEXTS = {
    "1": [["The", " cat"], [" sat"], ["."]],
    "2": [["the", " cat", " sat"]],
    "3": [[" the"], [" cat"]],
    "4": [[" dog", " barked"]],
}
# (layer, head) → the texts on which it carries a role
CARRIED = {(0, 1, "previous-token"): {"1", "2", "3"}, (1, 0, "induction"): {"4"}}


def text_row(text_id: str, clusters: list[list[str]]) -> dict:
    tokens = [t for c in clusters for t in c]
    labels = [i for i, c in enumerate(clusters) for _ in c]
    entries = [{"id": i, "size": len(c), "token_texts": c} for i, c in enumerate(clusters)]
    return {"id": text_id, "position": int(text_id), "text": "".join(tokens), "n_tokens": len(tokens),
            "n_clusters": sum(len(c) > 1 for c in clusters), "threshold": 0.1, "modularity": 0.3,
            "tokens": tokens, "labels": labels, "clusters": entries, "model": "tiny", "error": None}


def head_columns(text_id: str) -> dict:
    cells = [(layer, head) for layer in range(2) for head in range(2)]
    roles = [[role for (la, h, role), ids in CARRIED.items() if (la, h) == cell and text_id in ids]
             for cell in cells]
    scores = {role_column(r): [0.9 if r in rs else 0.1 for rs in roles] for r in ROLE_NAMES}
    return {"id": [text_id] * 4, "layer": [c[0] for c in cells], "head": [c[1] for c in cells], **scores,
            "roles": roles}


@pytest.fixture
def run(tmp_path: Path) -> Path:
    identity = {"model": "tiny", "options": identity_options({}), "head_roles": True}
    folder = RunFolder.create(tmp_path, identity)
    rows = [text_row(i, c) for i, c in TEXTS.items()] + [error_row("5", "", "ValueError: empty", "tiny")]
    folder.write("part-x", texts_table(rows, batch="part-x"),
                 heads_table([head_columns(i) for i in TEXTS], batch="part-x"))
    return folder.path


def test_head_role_prevalence_is_the_share_of_analysed_texts_carrying_the_role(run: Path):
    summary = summarize(run)
    assert (summary.texts, summary.errors) == (4, 1)
    previous = summary.role_share("previous-token")
    assert previous.shape == (2, 2)
    assert previous[0, 1] == pytest.approx(0.75)
    assert previous.sum() == pytest.approx(0.75)
    assert summary.role_share("induction")[1, 0] == pytest.approx(0.25)
    assert summary.role_share("broad").sum() == 0
    top = summary.top_heads("previous-token", 1)
    assert (top.loc[0, "layer"], top.loc[0, "head"], top.loc[0, "texts"]) == (0, 1, 3)
    assert top.loc[0, "mean_score"] == pytest.approx((0.9 * 3 + 0.1) / 4)
    with pytest.raises(ValueError, match="unknown role 'copying'"):
        summary.role_share("copying")


def test_cluster_counts_and_sizes_per_text_and_by_length(run: Path):
    summary = summarize(run)
    first = summary.per_text.set_index("id").loc["1"]
    assert (first["n_tokens"], first["n_clusters"], first["mean_size"], first["largest"]) == (4, 1, 2.0, 2)
    assert first["alone"] == pytest.approx(0.5)  # " sat" and "." of 4 tokens
    assert sorted(summary.clusters["size"]) == [2, 2, 3]
    assert summary.by_length.loc[0, "tokens"] == "0–15"
    assert summary.by_length.loc[0, "texts"] == 4
    assert summary.by_length.loc[0, "n_clusters"] == pytest.approx(3 / 4)


def test_token_pairs_are_counted_once_per_text_with_pmi_against_their_frequency(run: Path):
    pairs = summarize(run, min_together=1).pairs
    got = [(r.a, r.b, r.together, r.both) for r in pairs.itertuples()]
    assert got == [("cat", "the", 2, 3), ("barked", "dog", 1, 1), ("cat", "sat", 1, 2), ("sat", "the", 1, 2)]
    by_pair = pairs.set_index(["a", "b"])
    assert by_pair.loc[("cat", "the"), "pmi"] == pytest.approx(math.log2(2 * 4 / (3 * 3)))
    assert by_pair.loc[("cat", "the"), "share"] == pytest.approx(2 / 3)
    assert by_pair.loc[("barked", "dog"), "pmi"] == pytest.approx(2.0)
    assert by_pair.loc[("barked", "dog"), "npmi"] == pytest.approx(1.0)  # only ever seen together
    assert list(summarize(run).pairs["a"]) == ["cat"]  # min_together=2 by default
    assert (normal_form(" The", True), normal_form(".", True), normal_form(" .", False)) == ("the", None, ".")


def test_the_summary_prints_the_leading_heads_and_pairs(run: Path):
    text = str(summarize(run))
    assert "4 texts analysed with tiny (1 errors)" in text
    assert "previous-token: 0.1: 75%" in text
    assert "'cat' + 'the': together in 2 texts (both in 3)" in text
    assert isinstance(summarize(run).role_share("self"), np.ndarray)
