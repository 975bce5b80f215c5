"""report.html does not depend on the matplotlib settings the calling process left behind.

Regression: the charts were drawn under the caller's rcParams with a few of the report's own
on top, so a notebook style, or a module that restyled matplotlib on import, changed the
report (a chart test passed alone and failed after other test modules ran in the same process).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.style
import pytest

import engine

GOOG = Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" / (
    "GOOG_2004-2013_backtesting.csv")

#: what a user's notebook or another library may have set before saving a run
CALLER_RC = {
    "font.size": 15,
    "font.family": "serif",
    "lines.linewidth": 4.0,
    "axes.edgecolor": "#ff00ff",
    "axes.facecolor": "#eeeeff",
    "axes.labelcolor": "#00aa00",
    "axes.grid": False,
    "axes.prop_cycle": matplotlib.cycler(color=["#123456", "#654321"]),
    "axes.formatter.use_mathtext": True,
    "xtick.labelsize": 20,
    "figure.dpi": 144,
    "figure.figsize": (3.0, 2.0),
    "savefig.format": "png",
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "svg.fonttype": "path",
    "timezone": "America/New_York",
    "path.simplify": False,
}


@pytest.fixture(scope="module")
def result():
    return engine.run(market=str(GOOG), strategy="sma_cross", params={"fast": 10, "slow": 40},
                      cash=10_000, commission=0.001, seed=3)  # fmt: skip


def _report(res, root: Path) -> bytes:
    return (res.save(root / "run") / "report.html").read_bytes()


def test_report_html_is_the_same_whatever_rcparams_the_caller_set(result, tmp_path):
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        reference = _report(result, tmp_path / "defaults")
    with matplotlib.style.context("ggplot"), matplotlib.rc_context(CALLER_RC):
        before = dict(matplotlib.rcParams)
        styled = _report(result, tmp_path / "styled")
        assert dict(matplotlib.rcParams) == before  # the caller's settings are left alone
    assert styled == reference
    assert b"<svg" in reference


def test_report_html_ignores_a_style_set_globally(result, tmp_path):
    """The same with rcParams changed for good (``plt.style.use`` in a notebook), then put
    back (the test must not leak its settings into the process)."""
    reference = _report(result, tmp_path / "first")
    saved = matplotlib.rcParams.copy()
    try:
        matplotlib.style.use("dark_background")
        matplotlib.rcParams.update(CALLER_RC)
        styled = _report(result, tmp_path / "second")
    finally:
        matplotlib.rcParams.update(saved)
    assert styled == reference


def test_model_section_charts_too():
    """The ML section's charts build their figures in the report's style as well."""
    from reports.model_section import calibration_chart, importance_chart

    imp = {"ret_1": 0.31, "ret_5": -0.12, "vol_20": 0.05}
    cal = {"model": {"calibration": [{"mean_pred": 0.4, "observed": 0.45},
                                     {"mean_pred": 0.6, "observed": 0.55}]}}  # fmt: skip
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        ref = importance_chart(imp, "importance", "imp"), calibration_chart(cal, "classification")
    with matplotlib.style.context("ggplot"), matplotlib.rc_context(CALLER_RC):
        got = importance_chart(imp, "importance", "imp"), calibration_chart(cal, "classification")
    assert got == ref and all("<svg" in s for s in ref)
