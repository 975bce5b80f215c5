"""`tape run --param` takes engine options as `tape sweep --param` does, and `tape run --help`
shows the defaults the flags fall back to.

Regression: `tape run -p lot_size=0` failed with "unknown parameter of strategy 'sma_cross'"
while `tape sweep -p lot_size=0` worked, and --cash/--commission/--fill-at/--mode/--seed showed
no default in --help.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[1]
GOOG = str(ROOT / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv")


def test_param_takes_engine_options(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(main, ["run", "-s", "sma_cross", "-d", GOOG, "-p", "fast=10",
                                    "-p", "lot_size=0", "-p", "max_leverage=2", "-o", str(out),
                                    "-q"])
    assert res.exit_code == 0, res.output
    cfg = tomllib.loads((out / "config.toml").read_text())
    assert cfg["broker"]["lot_size"] == 0.0 and cfg["broker"]["max_leverage"] == 2.0
    assert cfg["strategy"]["params"]["fast"] == 10
    sizes = pd.read_csv(out / "trades.csv")["size"]
    assert (sizes % 1 != 0).any()  # fractional units: lot_size 0 took effect


def test_param_and_flag_for_the_same_option_is_an_error(tmp_path):
    res = CliRunner().invoke(main, ["run", "-s", "sma_cross", "-d", GOOG, "--cash", "5000",
                                    "-p", "cash=7000", "-o", str(tmp_path / "r")])
    assert res.exit_code == 3, res.output
    assert "cash is given twice" in res.output and "--param cash" in res.output


def test_run_help_shows_defaults():
    res = CliRunner().invoke(main, ["run", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.split("Options:", 1)[1].split())
    for flag, default in (("--cash", "10000"), ("--commission", "0"), ("--slippage", "0"),
                          ("--fill-at", "next_open"), ("--mode", "auto"), ("--seed", "0")):
        part = text.split(flag, 1)[1].split(" --", 1)[0]
        assert f"[default: {default}]" in part, (flag, part)
    assert "inclusive" in text.split("--end", 1)[1][:120]


TOO_BIG = '''
from strategies.base import Strategy


class TooBig(Strategy):
    name = "too_big"

    def on_bar(self, ctx):
        if ctx.position() == 0 and len(ctx.open_orders()) == 0:
            ctx.buy(size=1e9)
'''


def test_rejected_orders_are_reported(tmp_path):
    """Regression: a strategy whose every order was refused for buying power ended with
    '0 closed trades' and no word why."""
    path = tmp_path / "too_big.py"
    path.write_text(TOO_BIG)
    args = ["run", "-s", f"{path}:TooBig", "-d", GOOG, "-o", str(tmp_path / "r")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    orders = pd.read_csv(tmp_path / "r" / "orders.csv")
    n = int((orders["status"] == "rejected").sum())
    assert n > 2000
    assert f"warning: {n} of {len(orders)} orders were rejected (buying_power {n})" in res.output
    import json

    res = CliRunner().invoke(main, args + ["--json"])
    assert json.loads(res.stdout)["rejected_orders"] == {"buying_power": n}
    demo = CliRunner().invoke(main, ["run", "-s", "sma_cross", "-d", GOOG, "-o",
                                     str(tmp_path / "ok")])
    assert "warning" not in demo.output and demo.exit_code == 0


def test_second_run_into_the_same_folder_says_it_replaced_the_first(tmp_path):
    out = tmp_path / "r"
    args = ["run", "-s", "sma_cross", "-d", GOOG, "-o", str(out)]
    first = CliRunner().invoke(main, args + ["-p", "fast=10"])
    assert first.exit_code == 0 and "(replaced the run" not in first.output
    second = CliRunner().invoke(main, args + ["-p", "fast=5"])
    assert second.exit_code == 0
    assert f"run folder: {out} (replaced the run that was there)" in second.output
    assert tomllib.loads((out / "config.toml").read_text())["strategy"]["params"]["fast"] == 5
