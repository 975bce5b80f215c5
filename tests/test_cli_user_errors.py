"""Mistakes users make on the command line get a message naming the argument, the value and
the fix, the documented exit code, and no traceback (real samples, the installed CLI entry)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[1]
GOOG = str(ROOT / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv")


def _run(args: list[str]):
    res = CliRunner().invoke(main, args, catch_exceptions=True)
    out = res.output  # stdout and stderr (click >= 8.2)
    assert "Traceback" not in out
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"unhandled {res.exception!r}")
    return res.exit_code, out


def test_start_after_end_is_a_configuration_error(tmp_path):
    code, out = _run(["run", "-s", "sma_cross", "-d", GOOG, "--start", "2010-01-01",
                      "--end", "2009-01-01", "-o", str(tmp_path / "r"), "-q"])
    assert code == 3, out
    assert "start is after end" in out and "2010-01-01" in out and "2009-01-01" in out
    assert "swap them" in out
    assert not (tmp_path / "r").exists()


def test_range_outside_the_data_says_where_the_data_is(tmp_path):
    code, out = _run(["run", "-s", "sma_cross", "-d", GOOG, "--start", "2030-01-01",
                      "-o", str(tmp_path / "r"), "-q"])
    assert code == 4, out
    assert "no bars left" in out and "2030-01-01" in out
    assert "2004-08-19" in out and "2013-03-01" in out  # the data's own range, to pick from


@pytest.mark.parametrize("param, expect", [("fast=-3", "fast >= 1"), ("fast=0", "fast >= 1")])
def test_out_of_range_parameter_names_the_bound(tmp_path, param, expect):
    code, out = _run(["run", "-s", "sma_cross", "-d", GOOG, "-p", param,
                      "-o", str(tmp_path / "r"), "-q"])
    assert code == 5, out
    assert expect in out and "None" not in out


BUGGY = '''
import numpy as np
from strategies.base import Strategy


class Buggy(Strategy):
    name = "buggy"
    fail_at: int = 40

    def on_bar(self, ctx):
        if ctx.i == self.fail_at:
            return {}["missing"]
        if ctx.position() == 0:
            ctx.buy(size=1)


class BadTargets(Strategy):
    name = "bad_targets"

    def targets(self, data):
        return np.log(data["close"]) / undefined_name  # noqa: F821
'''


def _buggy(tmp_path: Path) -> Path:
    path = tmp_path / "my_strats.py"
    path.write_text(BUGGY)
    return path


def test_exception_in_strategy_code_names_file_line_and_bar(tmp_path):
    path = _buggy(tmp_path)
    code, out = _run(["run", "-s", f"{path}:Buggy", "-d", GOOG, "-o", str(tmp_path / "r")])
    assert code == 5, out
    assert f"file {path}, line 12, in on_bar()" in out
    assert "KeyError: 'missing'" in out and "return {}[\"missing\"]" in out
    assert "at bar 40 (2004-10-15T20:00:00Z)" in out
    assert not (tmp_path / "r" / "manifest.json").exists()


def test_exception_in_compiled_targets_names_file_and_line(tmp_path):
    path = _buggy(tmp_path)
    code, out = _run(["run", "-s", f"{path}:BadTargets", "-d", GOOG, "-o", str(tmp_path / "r")])
    assert code == 5, out
    assert f"file {path}, line 21, in targets()" in out and "NameError" in out


def test_python_api_keeps_the_exception_and_adds_where(tmp_path):
    import engine

    path = _buggy(tmp_path)
    with pytest.raises(KeyError) as e:
        engine.run(market=GOOG, strategy=f"{path}:Buggy", params={"fail_at": 3})
    assert any("at bar 3 (2004-08-24T20:00:00Z) by Buggy" in n for n in e.value.__notes__)


def test_missing_relative_data_path_names_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = _run(["run", "-s", "sma_cross", "-d", "data/GOOG.csv", "-o", "r", "-q"])
    assert code == 3, out
    assert "data file not found" in out and "'data/GOOG.csv'" in out
    assert f"current folder, {tmp_path}" in " ".join(out.split())


UNKNOWN_SYMBOL = '''
from strategies.base import Strategy


class WrongSymbol(Strategy):
    name = "wrong_symbol"

    def on_bar(self, ctx):
        if ctx.i == 5:
            ctx.buy("AAPL", size=1)
'''


def test_tape_error_from_a_hook_names_the_calling_line(tmp_path):
    path = tmp_path / "wrong_symbol.py"
    path.write_text(UNKNOWN_SYMBOL)
    code, out = _run(["run", "-s", f"{path}:WrongSymbol", "-d", GOOG, "-o", str(tmp_path / "r")])
    assert code == 3, out
    assert "unknown symbol" in out and "'AAPL'" in out and "GOOG" in out
    assert f"called from {path}, line 10, in on_bar(), raised at bar 5 (2004-08-26T20:00:00Z)" in out
