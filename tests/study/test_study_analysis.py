"""Study analysis on generated data: summaries, CIs, the paired test, exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pandas", reason="needs the 'study' extra: pip install 'attn_widget[study]'")

import pandas as pd
from scipy import stats as sps

from attn_widget.study import Study
from attn_widget.study import stats as st
from attn_widget.study.synthetic import demo_config, simulate


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Study, pd.DataFrame]:
    study = Study.create(demo_config(24), tmp_path_factory.mktemp("study") / "s.sqlite")
    return study, simulate(study, effect=0.8, seed=3)


def test_simulated_sessions_cover_every_step(data: tuple[Study, pd.DataFrame]) -> None:
    study, df = data
    assert df.participant_id.nunique() == 24
    for pid, rows in df.groupby("participant_id"):
        steps = study.schedule(str(pid))
        assert set(zip(rows.condition, rows.task_id, strict=False)) == {
            (s.condition.id, s.task.id) for s in steps
        }
        questions = sum(s.task.question is not None for s in steps)
        assert (rows.kind == "task").sum() == questions
    assert df.response_id.is_unique


def test_summary_is_participant_level_mean_and_t_interval(data: tuple[Study, pd.DataFrame]) -> None:
    _, df = data
    summary = st.summarize(df)
    assert set(summary.measure) == {"clarity", "usefulness", "trust", "accuracy", "time_s"}
    row = summary[(summary.measure == "trust") & (summary.condition == "explanations")].iloc[0]
    per_person = (
        df[(df.kind == "explanation") & (df.condition == "explanations")]
        .groupby("participant_id")
        .trust.mean()
        .astype(float)
    )
    lo, hi = sps.t.interval(0.95, len(per_person) - 1, loc=per_person.mean(), scale=sps.sem(per_person))
    assert row["mean"] == pytest.approx(per_person.mean())
    assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
    assert row.participants == 24
    assert ((summary.ci_low <= summary["mean"]) & (summary["mean"] <= summary.ci_high)).all()


def test_planted_effect_is_found_in_every_measure(data: tuple[Study, pd.DataFrame]) -> None:
    _, df = data
    table = st.compare(df).set_index("measure")
    assert (table.p_holm < 0.05).all(), table
    assert (table.p_holm >= table.p_value).all()
    for m in ("clarity", "usefulness", "trust", "accuracy"):
        assert table.loc[m, "mean_a"] > table.loc[m, "mean_b"]
        assert table.loc[m, "r"] > 0
    assert table.loc["time_s", "mean_a"] < table.loc["time_s", "mean_b"]  # explanations are faster


def test_paired_matches_scipy_wilcoxon(data: tuple[Study, pd.DataFrame]) -> None:
    _, df = data
    result = st.paired(df, "clarity")
    means = st.participant_means(df, "clarity")
    expected = sps.wilcoxon(means["explanations"], means["bertviz_only"])
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.n == 24


def test_no_effect_gives_no_false_alarm_on_most_seeds(tmp_path: Path) -> None:
    hits = 0
    for seed in range(6):
        study = Study.create(demo_config(16, study_id=f"null{seed}"), tmp_path / "null.sqlite")
        df = simulate(study, effect=0.0, seed=seed)
        hits += st.paired(df, "trust").p_value < 0.05
    assert hits <= 1


def test_paired_needs_both_conditions(data: tuple[Study, pd.DataFrame]) -> None:
    _, df = data
    with pytest.raises(ValueError, match="no 'trust' values for condition"):
        st.paired(df, "trust", a="explanations", b="nope")
    with pytest.raises(ValueError, match="unknown study measure 'speed'"):
        st.summarize(df, ["speed"])


def test_a_revised_rating_replaces_the_first(tmp_path: Path) -> None:
    study = Study.create(demo_config(2, study_id="revise"), tmp_path / "r.sqlite")
    pid = study.enroll()
    step = study.schedule(pid)[0]
    base = {
        "participant_id": pid,
        "condition": step.condition.id,
        "task_id": step.task.id,
        "kind": "explanation",
    }
    study.record({**base, "trust": 1})
    study.record({**base, "trust": 5})  # the participant changed their mind and saved again
    df = study.responses()
    assert len(df) == 2
    assert st.participant_means(df, "trust").loc[pid, step.condition.id] == 5


def test_holm_adjustment() -> None:
    assert st.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert st.holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])


def test_mean_ci_small_samples() -> None:
    assert st.mean_ci([])[3] == 0
    m, lo, hi, n = st.mean_ci([4.0])
    assert (m, n) == (4.0, 1)
    assert np.isnan(lo)
    assert np.isnan(hi)


def test_export_csv_and_parquet_round_trip(data: tuple[Study, pd.DataFrame], tmp_path: Path) -> None:
    study, df = data
    back = pd.read_parquet(study.export(tmp_path / "r.parquet"))
    pd.testing.assert_frame_equal(back, df)
    csv = pd.read_csv(study.export(tmp_path / "r.csv"))
    assert len(csv) == len(df)
    assert list(csv.columns) == list(df.columns)
    assert csv.clarity.dropna().between(1, 5).all()
    with pytest.raises(ValueError, match=r"use a file ending in \.csv or \.parquet"):
        study.export(tmp_path / "r.xlsx")


def test_plot_draws_one_panel_per_measure(data: tuple[Study, pd.DataFrame]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = st.plot(st.summarize(df := data[1]))
    assert len(fig.axes) == 5
    assert [a.get_title() for a in fig.axes] == ["clarity", "usefulness", "trust", "accuracy", "time_s"]
    assert len(df) > 0


def test_the_headline_task_finds_the_planted_effect_per_measure(tmp_path: Path) -> None:
    from attn_widget.study.synthetic import headline_config

    study = Study.create(headline_config(12, study_id="h"), tmp_path / "h.sqlite")
    df = simulate(study, effect={"clarity": 1.0, "usefulness": -0.6}, better="headline", seed=3)
    assert set(df.condition) == {"headline", "full"}
    assert (df.kind == "cluster").sum() == 12 * 4 * 3  # every step rates three clusters
    table = st.compare(df, a="headline", b="full", measures=st.HEADLINE_MEASURES)
    rows = table.set_index("measure")
    assert list(rows.index) == ["cluster_clarity", "cluster_usefulness"]
    assert rows.loc["cluster_clarity", "mean_a"] > rows.loc["cluster_clarity", "mean_b"]
    assert rows.loc["cluster_clarity", "p_holm"] < 0.05
    assert rows.loc["cluster_usefulness", "mean_a"] < rows.loc["cluster_usefulness", "mean_b"]
    summary = st.summarize(df, list(st.HEADLINE_MEASURES))
    assert set(summary.condition) == {"headline", "full"}
    assert summary.participants.eq(12).all()
