"""Strict config resolution and strategy parameters: unknown keys name the nearest valid one."""

from __future__ import annotations

import math

import pytest

from data.errors import ConfigError, StrategyError
from engine.config import resolve_config
from strategies.base import Param, Strategy
from strategies.builtin import BUILTINS


class Demo(Strategy):
    name = "demo"
    fast: int = 10
    slow: int = Param(20, min=2, max=500)
    ratio: float = 0.5
    flag: bool = False
    label: str = "x"


def test_params_defaults_and_overrides():
    s = Demo()
    assert (s.fast, s.slow, s.ratio, s.flag, s.label) == (10, 20, 0.5, False, "x")
    s = Demo(fast="7", slow=30.0, ratio=1, flag="true")
    assert (s.fast, s.slow, s.ratio, s.flag) == (7, 30, 1.0, True)
    assert isinstance(s.fast, int) and isinstance(s.ratio, float)
    assert s.params == {"fast": 7, "slow": 30, "ratio": 1.0, "flag": True, "label": "x"}


def test_unknown_param_suggests():
    with pytest.raises(StrategyError) as e:
        Demo(fats=3)
    assert "'fats'" in str(e.value) and "did you mean 'fast'" in str(e.value)


def test_bad_param_values():
    with pytest.raises(StrategyError, match="must be int"):
        Demo(fast="ten")
    with pytest.raises(StrategyError, match="out of range"):
        Demo(slow=1)
    with pytest.raises(StrategyError, match="shorter than slow"):
        BUILTINS["sma_cross"](fast=30, slow=20)


def test_builtins_registry():
    assert set(BUILTINS) >= {"sma_cross", "buy_and_hold"}
    for name, cls in BUILTINS.items():
        assert cls.name == name and issubclass(cls, Strategy)


def test_config_resolves_and_validates():
    c = resolve_config({"strategy": {"name": "sma_cross", "params": {"fast": 5}},
                        "broker": {"cash": 5000, "commission": 0.001}}, params={"slow": 40})
    assert c.cash == 5000.0 and c.commission.rate == 0.001 and c.strategy == "sma_cross"
    assert c.params == {"fast": 5, "slow": 40}
    c = resolve_config(None, params={"slow": 40}, max_position=math.inf)
    assert c.params == {"slow": 40}


@pytest.mark.parametrize("bad, key, near", [
    ({"broker": {"cahs": 1}}, "broker.cahs", "broker.cash"),
    ({"brokr": {}}, "brokr", "broker"),
    ({"broker": {"fill_at": "next_opn"}}, "broker.fill_at", "next_open"),
    ({"broker": {"cash": -1}}, "broker.cash", ">"),
    ({"broker": {"commission": {"model": "fractoin"}}}, "commission.model", "fraction"),
    ({"broker": {"commission": {"rat": 0.1}}}, "commission.rat", "rate"),
    ({"broker": {"slippage": {"model": "bps", "bsp": 1}}}, "slippage.bsp", "bps"),
    ({"run": {"mode": "compild"}}, "run.mode", "compiled"),
    ({"run": {"seed": -1}}, "run.seed", "seed"),
])
def test_config_errors_name_key_value_and_nearest(bad, key, near):
    with pytest.raises(ConfigError) as e:
        resolve_config(bad)
    msg = str(e.value)
    assert key in msg and near in msg


def test_unknown_flat_option():
    with pytest.raises(ConfigError, match="did you mean 'commission'"):
        resolve_config(None, comission=0.1)
