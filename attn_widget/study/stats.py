"""Study analysis: per-condition summaries with 95% CIs and paired comparisons.

The participant is the unit: each measure is first averaged per participant
and condition, then summarised across participants (a t interval), and
conditions are compared within participants with the Wilcoxon signed-rank
test (:func:`scipy.stats.wilcoxon`), as ratings are ordinal and samples small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

Measure = Callable[["pd.DataFrame"], "pd.Series"]
MEASURES: Registry[Measure] = Registry("study measure")
"""Measure name → function picking its values from the responses (indexed like the rows kept)."""


def _rating(name: str) -> Measure:
    def pick(df: pd.DataFrame) -> pd.Series:
        return df.loc[df.kind == "explanation", name].astype("float64")

    pick.__doc__ = f"{name} rating (1–5) of the whole explanation."
    return pick


for _name in ("clarity", "usefulness", "trust"):
    MEASURES.register(_name)(_rating(_name))


def _cluster_rating(name: str) -> Measure:
    def pick(df: pd.DataFrame) -> pd.Series:
        return df.loc[df.kind == "cluster", name].astype("float64")

    pick.__doc__ = f"{name} rating (1–5) of single clusters' texts (a rationale or a headline)."
    return pick


for _name in ("clarity", "usefulness", "trust"):
    MEASURES.register(f"cluster_{_name}")(_cluster_rating(_name))

WHOLE = ("clarity", "usefulness", "trust", "accuracy", "time_s")
"""The measures of the explanations-vs-BertViz study (the default of :func:`summarize`, :func:`compare`)."""
HEADLINE_MEASURES = ("cluster_clarity", "cluster_usefulness")
"""The measures of the headline task: per-cluster clarity and usefulness, headline vs full rationale."""


@MEASURES.register("accuracy")
def accuracy(df: pd.DataFrame) -> pd.Series:
    """Share of task answers that were correct (tasks with a known answer)."""
    rows = df[(df.kind == "task") & df.correct.notna()]
    return rows.correct.astype("float64")


@MEASURES.register("time_s")
def time_s(df: pd.DataFrame) -> pd.Series:
    """Seconds from showing a task to its answer."""
    rows = df[df.kind == "task"]
    return rows.duration_ms.astype("float64") / 1000


def latest(df: pd.DataFrame) -> pd.DataFrame:
    """Each participant's last response per task, kind and cluster (a revised rating replaces the first)."""
    keys = ["participant_id", "task_id", "kind", "cluster_id"]
    order = df.sort_values("recorded_at", kind="stable")
    return order.drop_duplicates(subset=keys, keep="last").sort_index()


def participant_means(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    """``participant × condition`` table of the participant's mean ``measure`` (over :func:`latest` rows)."""
    df = latest(df)
    values = MEASURES[measure](df)
    rows = df.loc[values.index, ["participant_id", "condition"]].assign(value=values.to_numpy())
    return rows.pivot_table(
        index="participant_id", columns="condition", values="value", aggfunc="mean", observed=True
    )


def mean_ci(values: Any, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and a t confidence interval ``(mean, low, high, n)``; NaN bounds when n < 2."""
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return (float("nan"),) * 3 + (0,)
    m = float(x.mean())
    if n < 2:
        return m, float("nan"), float("nan"), n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return m, m - half, m + half, n


def summarize(df: pd.DataFrame, measures: list[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """One row per measure and condition: mean, CI bounds and number of participants."""
    import pandas as pd

    rows = []
    for measure in measures or WHOLE:
        table = participant_means(df, measure)
        for condition in table.columns:
            m, lo, hi, n = mean_ci(table[condition], level)
            rows.append(
                {
                    "measure": measure,
                    "condition": condition,
                    "mean": m,
                    "ci_low": lo,
                    "ci_high": hi,
                    "participants": n,
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Paired:
    """A within-participant comparison of two conditions on one measure.

    ``difference`` is the median of ``a - b`` over participants with both;
    ``r`` the matched-pairs rank-biserial correlation (−1 … 1, > 0 when ``a`` is higher).
    """

    measure: str
    a: str
    b: str
    n: int
    mean_a: float
    mean_b: float
    difference: float
    statistic: float
    p_value: float
    r: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired(df: pd.DataFrame, measure: str, a: str = "explanations", b: str = "bertviz_only") -> Paired:
    """Wilcoxon signed-rank test of ``a`` vs ``b`` on participant means of ``measure``."""
    from scipy import stats

    table = participant_means(df, measure)
    missing = [c for c in (a, b) if c not in table.columns]
    if missing:
        raise ValueError(
            f"no {measure!r} values for condition(s) {missing}; conditions present: {list(table.columns)}"
        )
    both = table[[a, b]].dropna()
    if len(both) < 2:
        raise ValueError(f"{len(both)} participant(s) have {measure!r} in both conditions; need at least 2")
    d = (both[a] - both[b]).to_numpy()
    nonzero = d[d != 0]
    if len(nonzero) == 0:
        stat, p = 0.0, 1.0
    else:
        res = stats.wilcoxon(both[a], both[b], zero_method="wilcox")
        stat, p = float(res.statistic), float(res.pvalue)
    ranks = stats.rankdata(np.abs(nonzero))
    r = float((ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum()) / ranks.sum()) if len(nonzero) else 0.0
    return Paired(
        measure,
        a,
        b,
        len(both),
        float(both[a].mean()),
        float(both[b].mean()),
        float(np.median(d)),
        stat,
        p,
        r,
    )


def compare(
    df: pd.DataFrame, a: str = "explanations", b: str = "bertviz_only", measures: Any = None
) -> pd.DataFrame:
    """:func:`paired` for each measure (default :data:`WHOLE`), one row each, with Holm-adjusted
    p-values (``p_holm``) over them."""
    import pandas as pd

    table = pd.DataFrame([paired(df, m, a, b).to_dict() for m in (measures or WHOLE)])
    table["p_holm"] = holm(table.p_value.to_numpy())
    return table


def holm(p: Any) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (family-wise error over several measures)."""
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def plot(summary: pd.DataFrame) -> Any:
    """Means with 95% CIs per condition, one panel per measure (a matplotlib Figure)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'attn_widget[study]'") from e
    measures = list(dict.fromkeys(summary.measure))
    fig, axes = plt.subplots(1, len(measures), figsize=(2.6 * len(measures), 3.2), squeeze=False)
    for ax, measure in zip(axes[0], measures, strict=False):
        rows = summary[summary.measure == measure]
        x = np.arange(len(rows))
        err = np.vstack([rows["mean"] - rows.ci_low, rows.ci_high - rows["mean"]])
        ax.bar(x, rows["mean"], yerr=err, capsize=4, color=["#0072B2", "#E69F00", "#009E73"][: len(rows)])
        ax.set_xticks(x, list(rows.condition), rotation=20, ha="right")
        ax.set_title(measure)
        if measure.removeprefix("cluster_") in ("clarity", "usefulness", "trust"):
            ax.set_ylim(1, 5)
    fig.tight_layout()
    return fig
