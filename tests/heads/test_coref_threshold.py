"""Each model's own threshold of a sure reference link, by one rule on its held-out probe links (issue 22)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from attn_widget.heads import coref, coref_fit

BINS = (0.55, 0.65, 0.75, 0.85, 0.95)


def calibration(rates: tuple[float, ...], per_bin: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``per_bin`` held-out links at each confidence of :data:`BINS`, exactly ``rate`` of them right."""
    conf, right = [], []
    for c, rate in zip(BINS, rates, strict=True):
        k = round(rate * per_bin)
        conf += [c] * per_bin
        right += [True] * k + [False] * (per_bin - k)
    return np.array(conf), np.array(right)


def test_a_weak_model_gets_the_lowest_threshold_whose_links_are_right_85_percent_of_the_time():
    conf, right = calibration((0.30, 0.60, 0.80, 0.90, 0.98))  # all links: 0.716
    t, cover, precision, base = coref_fit.threshold(conf, right)
    # above 0.55: (60+80+90+98)/400 = 0.82 < 0.85; above 0.65: 268/300 = 0.893, 0.18 over all links
    assert t == 0.66
    assert (cover, precision, base) == pytest.approx((0.6, 268 / 300, 358 / 500))


def test_a_strong_model_needs_a_higher_threshold_for_its_sure_links_to_stand_out_by_a_tenth():
    conf, right = calibration((0.60, 0.75, 0.90, 0.95, 1.00))  # all links: 0.84
    t, cover, precision, base = coref_fit.threshold(conf, right)
    # above 0.55: 0.90 (+0.06); above 0.65: 0.95 (+0.11, but within one standard error, 0.013, of +0.10);
    # above 0.75: 0.975 (+0.135)
    assert t == 0.76
    assert (cover, precision, base) == pytest.approx((0.4, 0.975, 0.84))
    weak = coref_fit.threshold(*calibration((0.30, 0.60, 0.80, 0.90, 0.98)))[0]
    assert t > weak  # one rule, two thresholds


def test_a_model_right_nearly_always_has_every_link_sure_without_a_lift_it_cannot_have():
    conf, right = calibration((0.90, 0.95, 0.97, 0.99, 1.00))  # all links: 0.962; +0.10 is out of reach
    t, cover, _, _ = coref_fit.threshold(conf, right)
    assert (t, cover) == (0.5, 1.0)  # 0.962 less one standard error (0.009) is over CEILING (0.95)
    worse = calibration((0.86, 0.95, 0.97, 0.99, 1.00))  # 0.954: 0.945 less its error, under 0.95
    assert coref_fit.threshold(*worse)[0] == 0.56


def test_when_no_threshold_separates_right_from_wrong_links_none_is_sure():
    conf, right = calibration((0.5, 0.5, 0.5, 0.5, 0.5))
    t, _, _, base = coref_fit.threshold(conf, right)
    assert math.isnan(t)
    assert base == 0.5
    conf = np.r_[np.full(200, 0.6), np.full(19, 0.97)]
    few = coref_fit.threshold(conf, conf > 0.9)
    assert math.isnan(few[0])  # 19 right links at 0.97 are too few to judge (MIN_LINKS)


def test_each_links_nested_confidence_comes_from_a_calibration_fitted_without_it():
    rng = np.random.default_rng(0)
    x = rng.random((200, 2))
    y = rng.random(200) < x[:, 0]
    before = coref_fit.nested_probability(x, y)
    k = 17
    flipped = y.copy()
    flipped[k] = not flipped[k]
    after = coref_fit.nested_probability(x, flipped)
    (fold,) = [f for f in coref_fit.folds(200) if k in f]
    others = np.setdiff1d(np.arange(200), fold)
    np.testing.assert_array_equal(after[fold], before[fold])  # its own fold's fit never saw its label
    assert np.abs(after[others] - before[others]).max() > 0  # every other fold's fit did


def heads(**kw) -> coref.CorefHeads:
    return coref.CorefHeads("m", "attention", ((0, 0),), {"accuracy": np.ones((1, 1))}, **kw)


def test_the_threshold_is_cached_with_the_heads_and_a_missing_one_survives_json():
    found = heads(threshold=0.81, threshold_cross=float("nan"), sure=(0.4, 0.9, 0.7))
    back = coref.CorefHeads.from_dict(json.loads(json.dumps(found.to_dict())))
    assert back.threshold == 0.81
    assert math.isnan(back.threshold_cross)
    assert back.sure == (0.4, 0.9, 0.7)
    assert back.threshold_for(cross=False) == 0.81
    assert math.isnan(back.threshold_for(cross=True))


def test_the_lens_notice_says_the_models_threshold_and_what_it_kept_on_the_probe():
    said = coref.sure_words(heads(threshold=0.7, threshold_cross=0.86, calibration_cross=(0, 1, 1, 1, 1),
                                  sure=(0.503, 0.935, 0.822)))  # fmt: skip
    assert "drawn as sure at confidence 0.86 or more" in said
    assert "right 94% of the time (50% of them; all links 82%)" in said
    none = coref.sure_words(heads(threshold_cross=float("nan"), calibration_cross=(0, 1, 1, 1, 1),
                                  sure=(0.0, float("nan"), 0.5)))  # fmt: skip
    assert "so no pronoun's link is drawn as sure" in none
    assert coref.sure_words(heads()) == ""  # made by hand: no measured threshold to tell
