"""The example configs run from the CLI on the shipped data and leave complete run folders
whose stats.json carries each strategy's own numbers; the agent's log replays exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

REPO = Path(__file__).resolve().parents[1]
TWEETS = [
    f"data/samples/sentiment/stocknet_{s}_tweets_2014-2016.jsonl.gz" for s in ("GOOG", "MSFT")
]


def tape(*args: str) -> str:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.output


def stats(run_dir: Path) -> dict:
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    return json.loads((run_dir / "stats.json").read_text())


@pytest.mark.parametrize("example", ["pairs_ko_pep", "pairs_gld_gdx", "pairs_ewa_ewc"])
def test_pair_examples_write_eg_stats(example, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    tape("run", f"examples/{example}.toml", "-o", str(tmp_path / "r"), "--no-report")
    s = stats(tmp_path / "r")
    assert 0.0 < s["pair_eg_pvalue"] < 1.0 and s["pair_half_life"] > 0
    assert s["pair_entries"] >= 3 and s["pair_leg_rejects"] == 0


def test_basket_example_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    tape("run", "examples/basket_sp20.toml", "--start", "2015-01-01", "-o", str(tmp_path / "r"),
         "--no-report")  # fmt: skip
    s = stats(tmp_path / "r")
    assert s["basket_decisions"] > 50 and s["orders_rejected"] == 0
    assert abs(s["basket_mean_net_weight"]) < 0.1


def test_sentiment_and_agent_examples_with_exact_replay(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    sig = tmp_path / "sent.csv"
    tape("sentiment", *TWEETS, "--cutoff", "20:00", "--out", str(sig))
    tape("run", "examples/sentiment_longshort.toml", "-p", f"signals={sig}", "-o",
         str(tmp_path / "ls"), "--no-report")  # fmt: skip
    s = stats(tmp_path / "ls")
    bars = json.loads((tmp_path / "ls" / "manifest.json").read_text())["counts"]["bars"]
    assert bars == 565  # 2014-01-02 .. 2016-03-31, both days included
    assert s["signal_decisions"] == bars and s["signal_ok"] > 1000
    log = tmp_path / "agent.jsonl"
    tape("run", "examples/agent_rules.toml", "-p", f"log={log}", "-o", str(tmp_path / "a"),
         "--no-report")  # fmt: skip
    a = stats(tmp_path / "a")
    assert a["agent_steps"] == bars and a["agent_invalid"] == 0
    tape("run", "examples/agent_rules.toml", "-p", f"agent=replay:{log}", "-p", "log=",
         "-o", str(tmp_path / "b"), "--no-report")  # fmt: skip
    for f in ("equity.csv", "fills.csv", "orders.csv", "trades.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
