"""A combination whose strategy code raises is recorded with the file, line and bar.

Regression: the error column held the last lines of a Python 3.11 traceback, caret markers
included: "KeyError: 'missing' (~~^^^^^^^^^^^ | KeyError: 'missing')".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from cli import main

GOOG = str(Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" /
           "GOOG_2004-2013_backtesting.csv")

BUGGY = '''
from strategies.base import Strategy


class Buggy(Strategy):
    name = "buggy_sweep"
    fail_at: int = 3

    def on_bar(self, ctx):
        if ctx.i == self.fail_at:
            return {}["missing"]
        if ctx.position() == 0:
            ctx.buy(size=1)
'''


def test_failed_combination_names_file_line_and_bar(tmp_path):
    path = tmp_path / "buggy.py"
    path.write_text(BUGGY)
    out = tmp_path / "sweep"
    res = CliRunner().invoke(main, ["sweep", "-s", f"{path}:Buggy", "-d", GOOG,
                                    "-g", "fail_at=3,100000", "--workers", "1", "-o", str(out),
                                    "--no-report"])
    assert res.exit_code == 7, res.output
    rows = pd.read_csv(out / "results.csv")
    err = rows.loc[rows["fail_at"] == 3, "error"].iloc[0]
    assert err == (f"KeyError: 'missing' ({path}, line 11, in on_bar(): "
                   "return {}[\"missing\"]; raised at bar 3 (2004-08-24T20:00:00Z) by Buggy)")
    assert pd.isna(rows.loc[rows["fail_at"] == 100000, "error"].iloc[0])
