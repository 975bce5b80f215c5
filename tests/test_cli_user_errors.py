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
