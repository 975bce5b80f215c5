"""The tape command as a whole: every command has help, --json / --quiet on the research
commands, the documented exit codes, Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import exit_code_for, main
from data.errors import ConfigError, DataError, RunError, StrategyError

REPO = Path(__file__).resolve().parents[1]
GOOG = REPO / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv"


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help():
    seen = []
    for path, _ in _commands(main):
        r = CliRunner().invoke(main, [*path, "--help"])
        assert r.exit_code == 0, (path, r.output)
        assert "Usage:" in r.output
        seen.append(path[0])
    assert {"run", "demo", "sweep", "walkforward", "grid", "strategies", "report", "compare",
            "data", "book"} <= set(seen)


@pytest.mark.parametrize("name", ["run", "demo", "sweep", "walkforward", "grid", "report",
                                  "compare"])
def test_research_commands_take_json_and_quiet(name):
    params = {p.name for p in main.commands[name].params}
    assert {"as_json", "quiet"} <= params


@pytest.mark.parametrize("path", [("book", "check"), ("book", "binance"), ("tick", "impact"),
                                  ("ml", "run"), ("ml", "audit")])
def test_book_tick_ml_subcommands_take_json_and_quiet(path):
    """docs/cli.md: --json / --quiet on every command of tape book, tape tick and tape ml (the
    behaviour is tested with each: tests/test_book_commands.py, test_tick_run.py,
    test_ml_pipeline.py)."""
    group, name = path
    params = {p.name: p for p in main.commands[group].commands[name].params}
    assert {"as_json", "quiet"} <= set(params)
    assert "-q" in params["quiet"].opts and "--json" in params["as_json"].opts


def test_run_json_and_quiet(tmp_path):
    args = ["run", "--strategy", "sma_cross", "--data", str(GOOG), "--param", "fast=10",
            "--param", "slow=30", "--out", str(tmp_path / "r"), "--no-report"]
    r = CliRunner().invoke(main, args + ["--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["strategy"] == "sma_cross" and doc["params"]["fast"] == 10
    assert doc["stats"]["final_equity"] == json.loads(
        (tmp_path / "r" / "stats.json").read_text())["final_equity"]
    r = CliRunner().invoke(main, args + ["--quiet"])
    assert r.exit_code == 0 and r.stdout == ""


def test_demo_json(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "d"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["report"].endswith("report.html")


def test_exit_code_mapping():
    assert exit_code_for(ConfigError("x")) == 3
    assert exit_code_for(DataError("x")) == 4
    assert exit_code_for(StrategyError("x")) == 5
    assert exit_code_for(RunError("x")) == 6
    assert exit_code_for(ValueError("x")) == 1


def test_exit_codes_of_real_failures(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[strategy]\nname = "sma_cross"\n[data]\npath = "{GOOG}"\n[broker]\ncahs = 5\n')
    r = CliRunner().invoke(main, ["run", str(cfg), "--out", str(tmp_path / "a")])
    assert r.exit_code == 3 and "broker.cash" in r.output  # unknown key, nearest valid key
    bad = tmp_path / "s.py"
    bad.write_text("from strategies.base import Strategy\nclass S(Strategy):\n    x: int = 1\n")
    r = CliRunner().invoke(main, ["run", "--strategy", f"{bad}:S", "--data", str(GOOG),
                                  "--out", str(tmp_path / "b")])
    assert r.exit_code == 5 and "neither on_bar nor targets" in r.output
    r = CliRunner().invoke(main, ["run", "--strategy", "sma_cross", "--param", "fast=50",
                                  "--param", "slow=20", "--data", str(GOOG),
                                  "--out", str(tmp_path / "c")])
    assert r.exit_code == 5 and "fast must be shorter than slow" in r.output
    r = CliRunner().invoke(main, ["sweep", "--strategy", "sma_cross", "--data", str(GOOG),
                                  "--grid", "fast=5", "--grid", "slow=20", "--bogus", "1"])
    assert r.exit_code == 2


def test_ctrl_c_exits_130_and_the_sweep_resumes(tmp_path):
    strat = tmp_path / "stop.py"
    strat.write_text(
        "from strategies.builtin.sma_cross import SmaCross\n"
        "class Stop(SmaCross):\n"
        "    name = 'stop'\n"
        "    def targets(self, data):\n"
        "        if self.fast == 15:\n"
        "            raise KeyboardInterrupt\n"
        "        return super().targets(data)\n")
    args = ["sweep", "--strategy", f"{strat}:Stop", "--data", str(GOOG), "--grid",
            "fast=5:25:5", "--grid", "slow=40", "--out", str(tmp_path / "s"), "--workers", "1"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 130 and "resume" in r.output
    spec = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert spec["status"] == "interrupted" and spec["n_done"] == 2
