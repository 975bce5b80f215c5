"""Ctrl-C in `tape run`: the run folder is never left half-written, and the message says
what happened (exit 130).

Regression: a Ctrl-C while the folder was written left the new CSVs without report.html or
manifest.json (the earlier run's manifest already removed) and said "finished work is saved;
run the same command to resume", which `tape run` cannot do.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
import reports.html
from cli import main

GOOG = str(Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" /
           "GOOG_2004-2013_backtesting.csv")


@pytest.fixture
def default_sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _args(out: Path, fast: int) -> list[str]:
    return ["run", "-s", "sma_cross", "-d", GOOG, "-p", f"fast={fast}", "-o", str(out), "-q"]


def test_ctrl_c_while_saving_completes_the_folder(tmp_path, monkeypatch, default_sigint):
    out = tmp_path / "r"
    assert CliRunner().invoke(main, _args(out, 10)).exit_code == 0
    real = reports.html.write_report

    def interrupted_report(run_dir, **kw):  # the user presses Ctrl-C mid-save
        os.kill(os.getpid(), signal.SIGINT)
        return real(run_dir, **kw)

    monkeypatch.setattr(reports.html, "write_report", interrupted_report)
    res = CliRunner().invoke(main, _args(out, 5))
    assert res.exit_code == 130, res.output
    assert "was completed first" in res.output and "resume" not in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["params"]["fast"] == 5
    assert (out / "report.html").exists()
    config = (out / "config.toml").read_text()
    assert "fast = 5" in config


def test_ctrl_c_during_the_run_leaves_the_folder_alone(tmp_path, monkeypatch):
    out = tmp_path / "r"
    assert CliRunner().invoke(main, _args(out, 10)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "run", interrupted)
    res = CliRunner().invoke(main, _args(out, 5))
    assert res.exit_code == 130, res.output
    assert "was not changed" in res.output and "resume" not in res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
