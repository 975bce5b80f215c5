"""Experiment grid TOML: validation errors name the key, the value and the nearest valid key;
cells and summaries."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from data.errors import ConfigError
from engine.experiments import parse_grid, summarize
from engine.tomlspec import Field, validate

REPO = Path(__file__).resolve().parents[1]
KO = REPO / "data" / "samples" / "pairs" / "daily-KO.csv"
PEP = REPO / "data" / "samples" / "pairs" / "daily-PEP.csv"


def _write(tmp_path, text):
    p = tmp_path / "grid.toml"
    p.write_text(text)
    return p


GOOD = f"""
strategy = "sma_cross"
baseline = "buy_and_hold"
seeds = [1, 2]
metrics = ["sharpe", "total_return"]

[params]
fast = 10
slow = 30

[run]
cash = 100000.0

[[assets]]
name = "KO"
data = "{KO}"

[[assets]]
data = "{PEP}"

[[costs]]
name = "free"
commission = 0.0

[[costs]]
name = "10bp"
commission = 0.001

[[periods]]
name = "early"
start = "2000-01-01"
end = "2004-12-31"

[[periods]]
start = "2005-01-01"
"""


def test_good_grid_cells(tmp_path):
    g = parse_grid(_write(tmp_path, GOOD))
    assert [a.name for a in g.assets] == ["KO", "daily-KO".replace("KO", "PEP")]
    assert [c for c, _ in g.costs] == ["free", "10bp"] and g.cost("10bp") == {"commission": 0.001}
    assert [p.name for p in g.periods] == ["early", "2005-01-01_end"]
    early = g.period("early")
    assert early.end == pd.Timestamp("2005-01-01", tz="UTC").value - 1  # the whole last day
    assert g.period("2005-01-01_end").end is None
    combos = g.combos()
    assert len(combos) == 2 * 2 * 2 * 2
    assert combos[0] == {"asset": "KO", "cost": "free", "period": "early", "seed": 1}
    assert g.reports is True and g.metrics == ("sharpe", "total_return")


def test_relative_paths_are_relative_to_the_grid_file(tmp_path):
    p = _write(tmp_path, f'strategy = "x"\nassets = ["{KO}"]\n')
    assert parse_grid(p).assets[0].data == str(KO)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    q = sub / "g.toml"
    q.write_text(f'strategy = "x"\nassets = ["{Path("../..") / "ko.csv"}"]\n')
    (tmp_path / "ko.csv").write_text(KO.read_text())
    assert parse_grid(q).assets[0].data == str((tmp_path / "ko.csv").resolve())


@pytest.mark.parametrize("text, argument, fragment", [
    ('strategy = "x"\nasets = ["a"]\n', "asets", "did you mean 'assets'"),
    ('strategy = "x"\nassets = []\n[[periods]]\nstrat = "2001-01-01"\n', "periods[0].strat",
     "did you mean 'periods[0].start'"),
    ('strategy = 3\nassets = ["a"]\n', "strategy", "expected string"),
    ('assets = ["a"]\n', "strategy", "missing required key"),
    ('strategy = "x"\nassets = ["nope.csv"]\n', "assets[0].data", "not found"),
    (f'strategy = "x"\nassets = ["{KO}"]\nseeds = [1, 1]\n', "seeds", "distinct"),
    ('strategy = "x"\nassets = ["a"]\nseeds = ["one"]\n', "seeds[0]", "expected integer"),
    ('strategy = "x"\nassets = ["a"]\n[[periods]]\nstart = "soon"\n', "periods[0].start",
     "not a date"),
    ('strategy = "x"\nassets = ["a"]\n[[assets]]\n', None, "not valid TOML"),
    ('strategy = "x"\nassets = [{name = "a b", data = "x"}]\n', "assets[0].name", "names are"),
])
def test_bad_grids_name_key_value_and_fix(tmp_path, text, argument, fragment):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        parse_grid(p)
    msg = str(e.value)
    assert str(p) in msg
    if argument:
        assert f"argument {argument!r}" in msg
    if fragment:
        assert fragment in msg
    assert "Fix:" in msg


def test_validate_unknown_key_lists_valid_keys():
    schema = {"cash": Field(float), "commission": Field(float)}
    with pytest.raises(ConfigError) as e:
        validate({"comission": 0.1}, schema, prefix="run.")
    assert "did you mean 'run.commission'" in str(e.value)
    assert validate({"cash": 5}, schema) == {"cash": 5.0}


def test_summarize_mean_std_and_baseline():
    t = pd.DataFrame({"asset": ["A", "A", "B", "B"], "seed": [1, 2, 1, 2],
                      "sharpe": [1.0, 2.0, 0.5, None],
                      "baseline_sharpe": [0.5, 0.5, 0.25, 0.25]})
    s = summarize(t, ["sharpe"], ["asset"])
    a, b = s.iloc[0], s.iloc[1]
    assert a["sharpe_mean"] == 1.5 and a["sharpe_std"] == pytest.approx(math.sqrt(0.5))
    assert a["sharpe_vs_baseline"] == 1.0 and a["runs"] == 2
    assert b["sharpe_mean"] == 0.5 and math.isnan(b["sharpe_std"])
