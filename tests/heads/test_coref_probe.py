"""The coreference probe (generated + real), the report set kept apart, cross-validated heads, confidence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import attn_widget
from attn_widget.core.records import Link
from attn_widget.heads import coref, coref_fit, probe_gen

REPORT = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "coref_report.json"
FORMS = {"he", "she", "it", "they", "his", "her", "its", "their", "him", "them"}


def spans_hold(item):
    text = item["text"]
    for key in ("pronoun", "antecedent", "distractor"):
        if item[key] is not None:
            assert text[slice(*item[key])].lower() == item[f"{key}_word"].lower(), (item["id"], key)
    assert item["antecedent"][0] < item["pronoun"][0], item["id"]
    if item["far"]:  # a distracting noun sits between the antecedent and the pronoun
        assert item["antecedent"][0] < item["distractor"][0] < item["pronoun"][0], item["id"]


def test_the_probe_has_400_generated_and_100_real_items_with_every_pronoun_and_marked_spans():
    items = coref.probe_items()
    generated = [i for i in items if i["source"].startswith("template: ")]
    real = [i for i in items if i["source"].startswith("fortunes: ")]
    assert len(generated) >= 400
    assert len(generated) + len(real) == len(items)
    assert len(real) >= 100
    assert {i["pronoun_word"].lower() for i in generated} == FORMS
    assert {i["pronoun_word"].lower() for i in real} == FORMS
    assert {i["source"] for i in generated} == {f"template: {f}" for f in probe_gen.FAMILIES}
    assert 0.3 < np.mean([i["far"] for i in items]) < 0.7
    for item in items:
        spans_hold(item)


def test_the_packaged_probe_is_what_the_seeded_generator_writes():
    assert probe_gen.generate() + probe_gen.real_items() == coref.probe_items()
    assert probe_gen.generate(seed=1) != probe_gen.generate()


def test_the_report_set_is_apart_from_the_probe_half_far_and_partly_real():
    report = json.loads(REPORT.read_text())
    assert len(report) >= 80
    assert sum(i["far"] for i in report) * 2 >= len(report)
    assert sum(i["source"].startswith("wordnet-base") for i in report) >= 20
    probe_texts = {i["text"] for i in coref.probe_items()}
    assert not probe_texts & {i["text"] for i in report}
    template_words = {
        w.lower()
        for i in coref.probe_items()
        if i["source"].startswith("template")
        for w in re.findall(r"[a-z]+", i["text"].lower())
    }
    antecedents = {i["antecedent_word"].lower() for i in report}
    assert len(antecedents - template_words) > 0.8 * len(antecedents)  # other words, not the templates'
    for item in report:
        spans_hold(item)


def planted_features(n_items=120, shape=(3, 4), good=((1, 2), (2, 0)), seed=0, wrong=0.2):
    """Items where the ``good`` heads put most of the pronoun's attention on the antecedent; others random."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_items):
        t = int(rng.integers(8, 14))
        w = rng.dirichlet(np.ones(t), size=(*shape, t))
        p, a = t - 1, int(rng.integers(1, t - 2))
        for la, h in good:
            w[la, h, p] = 0.02
            w[la, h, p, a] = 1.0
            if rng.random() < wrong:  # sometimes wrong, so confidence has something to tell
                w[la, h, p, a - 1 if a > 1 else a + 1] = 2.0
            w[la, h, p] /= w[la, h, p].sum()
        rows.append(coref_fit.item_features(w, [0], p, [a], 16))
    return coref_fit.stack(rows, [False] * n_items, shape)


def test_cross_validation_finds_the_planted_heads_and_reports_held_out_accuracy():
    f = planted_features()
    chosen = coref_fit.choose(f)
    assert set(chosen["heads"]) == {(1, 2), (2, 0)}
    assert chosen["cv"]["top1"] > 0.7
    assert chosen["cv"]["top1"] <= chosen["cv"]["top3"]
    wrong = coref_fit.ranks(coref_fit.combined(f, np.ones(f.out.shape[1])), f.ante)
    assert (wrong == 0).mean() < chosen["cv"]["top1"]  # every head together does worse


def test_the_calibrated_confidence_rises_with_margin_and_agreement_and_is_higher_when_right():
    f = planted_features(seed=3)
    chosen = coref_fit.choose(f)
    _, b1, b2 = chosen["calibration"]
    assert b1 > 0 or b2 > 0
    p = coref_fit.probability(chosen["calibration"], chosen["cv"]["features"])
    right = chosen["cv"]["ranks"] == 0
    assert p[right].mean() > p[~right].mean()
    assert np.all((p >= 0) & (p <= 1))


def test_the_probe_run_gives_the_model_its_own_threshold_by_the_rule_on_nested_held_out_links():
    f = planted_features(n_items=300, seed=0, wrong=0.5)
    found = coref.fit("planted", f, "attention")
    chosen = coref_fit.choose(f)
    right = chosen["cv"]["ranks"] == 0
    assert 0.5 < right.mean() < 0.8  # many wrong links, so a threshold has something to separate
    nested = coref_fit.nested_probability(chosen["cv"]["features"], right)
    rule = coref_fit.threshold(nested, right)
    assert rule[0] in coref_fit.THRESHOLDS[1:]  # the confidence separates them, not from its lowest
    assert found.threshold == found.threshold_cross == rule[0]  # no cross measure: the plain calibration's
    assert found.sure == pytest.approx(rule[1:])
    assert found.sure[1] >= coref_fit.PRECISION
    assert found.sure[1] - found.sure[2] >= coref_fit.LIFT
    fitted = coref_fit.probability(chosen["calibration"], chosen["cv"]["features"])
    assert not np.allclose(nested, fitted)  # judged on confidences fitted without each link, not in-sample


def test_a_link_saved_before_confidences_loads_and_one_with_a_confidence_round_trips():
    old = {"index": 2, "text": " king", "weight": 0.4, "direction": "out"}
    assert Link.from_dict(old) == Link(2, " king", 0.4, "out")
    assert Link.from_dict(old).confidence is None
    new = Link(2, " king", 0.4, "out", 0.91, True)
    assert Link.from_dict(json.loads(json.dumps(new.to_dict()))) == new
    assert Link.from_dict({**old, "confidence": 0.91}).confident is None  # saved before per-model thresholds


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_WIDGET_CACHE", str(tmp_path))
    monkeypatch.setattr(coref, "_CACHE", type(coref._CACHE)(8))
    few = coref.probe_items()[::12]  # a small probe keeps the tiny model's run short
    monkeypatch.setattr(coref, "probe_items", lambda: few)
    return tmp_path


def test_reference_links_give_each_pronoun_its_coreference_link_with_a_confidence(
    tiny_gpt2_dir, isolated_cache
):
    name = str(tiny_gpt2_dir)
    a = attn_widget.analyze(
        "The farmer thanked the baker because she had saved the harvest for them.", model=name
    )
    found = coref.coreference_heads(name)
    assert found.rule
    assert found.cross_measure == "norm"  # GPT-2's value norms are known, so the confidence checks them
    assert len(found.calibration_cross) == 5
    assert 0.0 <= found.cv_top1 <= found.cv_top3 <= 1.0
    assert list((isolated_cache / "coref").glob("*.json"))  # cached with its held-out accuracy
    refs = coref.reference_links(a)
    words = [a.tokens[i].text.strip() for i, _ in refs]
    assert words == ["she", "them"]
    assert len(found.sure) == 3  # the threshold's held-out coverage, precision and all links' precision
    assert found.threshold_cross in coref_fit.THRESHOLDS or np.isnan(found.threshold_cross)
    for i, link in refs:
        assert 0.0 <= link.confidence <= 1.0
        assert link.confident is bool(link.confidence >= found.threshold_cross)  # the model's own threshold
        assert link.index == a.links(i, k=1, lens="coreference")[0].index
    words = a.recluster(unit="word")  # words, as a person reads them: the same pronouns, word links
    assert [words.tokens[i].text.strip(" .") for i, _ in coref.reference_links(words)] == ["she", "them"]
    for i, link in coref.reference_links(words):
        assert link.index == words.links(i, k=1, lens="coreference")[0].index
    lens = attn_widget.analyze("The farmer thanked the baker.", model=name, lens="coreference")
    (notice,) = [n for n in lens.notices if n.startswith("Lens 'coreference'")]
    assert f"{round(100 * found.cv_top1)}% of held-out probe pronouns" in notice
    assert coref.sure_words(found)  # measured on the probe, so the notice says when a link is sure
    assert notice.endswith(coref.sure_words(found))


def test_reference_links_need_the_raw_attention_and_say_so():
    att = np.full((1, 1, 3, 3), 1 / 3)
    a = attn_widget.analyze_attention(att, ["he", "saw", "it"])
    with pytest.raises(ValueError, match="names no model"):
        coref.reference_links(a)
