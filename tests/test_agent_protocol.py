"""Agent decision protocol, deciders, decision log, observations and the risk overlay
(no engine needed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from data.errors import DataError, RunError, StrategyError
from strategies.agent.deciders import (
    LLMDecider,
    ReplayDecider,
    RuleAgent,
    load_decider,
    parse_json_object,
)
from strategies.agent.decisions import DecisionRules, InvalidDecision, apply_decision
from strategies.agent.log import DecisionLog, read_log
from strategies.agent.observation import NewsFeed, build_observation, indicators
from strategies.agent.risk import RiskOverlay

RULES = DecisionRules(("A", "B"), trade_weight=0.5, max_allocation=0.4, max_gross=1.0)


def test_actions_and_weights_by_hand():
    t, clipped = apply_decision({"actions": {"A": "buy"}}, {"B": 0.3}, RULES)
    assert t == {"A": 0.4, "B": 0.3} and clipped == ["A"]  # buy 0.5 clipped to 0.4; B held
    t, _ = apply_decision({"actions": {"A": "sell", "B": "close"}}, {"A": 0.4, "B": 0.3}, RULES)
    assert t == {"A": 0.0, "B": 0.0}  # no shorting: sell = flat
    short = DecisionRules(("A", "B"), 0.5, 1.0, 1.0, allow_short=True)
    assert apply_decision({"actions": {"A": "sell"}}, {}, short)[0] == {"A": -0.5, "B": 0.0}
    t, _ = apply_decision({"weights": {"A": 0.25}, "reason": "x"}, {"B": 0.3}, RULES)
    assert t == {"A": 0.25, "B": 0.0}  # weights are complete: B not named -> 0


@pytest.mark.parametrize(
    "decision,match",
    [
        ([1, 2], "must be an object"),
        ({}, "exactly one"),
        ({"actions": {}, "weights": {}}, "exactly one"),
        ({"actions": {"C": "buy"}}, "unknown symbol"),
        ({"actions": {"A": "moon"}}, "unknown action"),
        ({"weights": {"A": "0.5"}}, "must be a number"),
        ({"weights": {"A": True}}, "must be a number"),
        ({"weights": {"A": math.nan}}, "finite"),
        ({"weights": {"A": -0.1}}, "shorting"),
        ({"weights": {"A": 0.6, "B": 0.6}}, "gross"),
        ({"actions": {"A": "buy"}, "why": 1}, "unknown key"),
        ({"weights": ["A"]}, "symbol -> value"),
    ],
)
def test_invalid_decisions_are_named(decision, match):
    with pytest.raises(InvalidDecision, match=match):
        apply_decision(decision, {}, RULES)


def test_parse_json_object_and_llm_decider_with_a_fake_client():
    assert parse_json_object('Sure!\n```json\n{"actions": {"A": "buy"}}\n```') == {
        "actions": {"A": "buy"}
    }
    with pytest.raises(ValueError):
        parse_json_object("no idea")

    class Fake:
        def __init__(self):
            self.prompts = []

        def complete(self, prompt: str) -> str:
            self.prompts.append(prompt)
            return '{"weights": {"A": 0.1}}'

    fake = Fake()
    dec = LLMDecider(fake)
    assert dec({"symbols": ["A"], "x": 1.5}) == {"weights": {"A": 0.1}}
    assert fake.prompts[0].endswith('{"symbols": ["A"], "x": 1.5}')
    with pytest.raises(StrategyError, match="complete"):
        LLMDecider(object())


def test_rule_agent_is_deterministic_by_hand():
    obs = {
        "symbols": ["A", "B", "C"],
        "indicators": {
            "A": {"momentum_20": 0.1},
            "B": {"momentum_20": -0.1},
            "C": {"momentum_20": None},
        },  # fmt: skip
        "news": [
            {"symbol": "B", "text": "downgrade, weak quarter"},
            {"symbol": "A", "text": "nothing"},
        ],  # fmt: skip
    }
    out = RuleAgent()(obs)
    assert out["actions"] == {"A": "buy", "B": "sell", "C": "hold"}
    assert RuleAgent()(obs) == out


def test_log_round_trip_and_replay_checks_observations(tmp_path):
    log = DecisionLog({"symbols": ["A"]})
    obs0 = {"step": 0, "v": 0.1 + 0.2}
    log.add(
        {
            "type": "step",
            "step": 0,
            "observation": obs0,
            "raw": {"decision": {"weights": {"A": 0.3}}},
        }
    )
    log.add(
        {"type": "step", "step": 1, "observation": {"step": 1}, "raw": {"error": "ValueError: x"}}
    )
    path = log.write(tmp_path / "d.jsonl")
    recs = read_log(path)
    assert recs[1]["observation"]["v"] == 0.1 + 0.2  # floats round-trip exactly
    rep = ReplayDecider(path)
    assert rep(dict(obs0)) == {"weights": {"A": 0.3}}
    with pytest.raises(Exception, match="ValueError: x"):
        rep({"step": 1})
    with pytest.raises(RunError, match="more decisions"):
        rep({"step": 2})
    rep2 = ReplayDecider(path)
    with pytest.raises(RunError, match="diverged.*'/v'"):
        rep2({"step": 0, "v": 0.3})
    with pytest.raises(ValueError):
        log.add({"type": "step", "x": math.nan})
    (tmp_path / "bad.jsonl").write_text('{"type": "step"}\n')
    with pytest.raises(DataError, match="header"):
        read_log(tmp_path / "bad.jsonl")


def test_load_decider_specs(tmp_path):
    assert isinstance(load_decider("rules"), RuleAgent)
    f = tmp_path / "my_agent.py"
    f.write_text("def decide(obs):\n    return {'actions': {}}\n")
    assert load_decider(f"{f}:decide")({}) == {"actions": {}}
    with pytest.raises(StrategyError, match="cannot load"):
        load_decider(f"{f}:missing")
    with pytest.raises(StrategyError, match="cannot load"):
        load_decider("no_such_module_xyz:decide")
    with pytest.raises(StrategyError, match="spec"):
        load_decider("rules-ish")


def test_indicators_and_observation_are_json_exact():
    c = np.arange(1.0, 31.0)
    ind = indicators(c)
    assert ind["close"] == 30.0
    assert ind["momentum_20"] == pytest.approx(30 / 10 - 1)
    assert ind["sma_20_ratio"] == pytest.approx(30 / np.mean(np.arange(11.0, 31.0)) - 1)
    assert indicators(c[:3])["momentum_5"] is None
    obs = build_observation(step=3, now_ns=10**18, symbols=["A"], closes={"A": c}, cash=50.0,
                            equity=110.0, positions={"A": 2.0}, news=[])  # fmt: skip
    assert obs["positions"]["A"] == {"size": 2.0, "value": 60.0, "weight": 60.0 / 110.0}
    assert obs["time"] == "2001-09-09T01:46:40Z"
    assert json.loads(json.dumps(obs)) == obs


def test_news_feed_releases_items_after_delay_only():
    H = 3600 * 10**9
    feed = NewsFeed([1 * H, 2 * H, 3 * H, 4 * H], ["A", "B", "A", "A"], ["a1", "b1", "a2", "a3"],
                    delay_ns=H, max_items=1)  # fmt: skip
    got = feed.between(0, 3 * H, ["A", "B"])  # released: a1 at 2h, b1 at 3h; a2 only at 4h
    assert [n["text"] for n in got] == ["a1", "b1"]
    assert [n["text"] for n in feed.between(3 * H, 5 * H, ["A"])] == ["a3"]  # newest 1 of a2, a3


def test_risk_overlay_trailing_stop_and_take_profit_by_hand():
    r = RiskOverlay(stop_loss=0.1, take_profit=0.25, trailing=True)
    r.on_target("A", 0.5, 100.0)
    assert r.check("A", 110.0) is None  # new high 110
    assert r.check("A", 99.5) is None  # above 110 * 0.9 = 99
    assert r.check("A", 98.9) == ("stop_loss", 110.0)
    fixed = RiskOverlay(stop_loss=0.1, take_profit=0.25, trailing=False)
    fixed.on_target("A", 0.5, 100.0)
    assert fixed.check("A", 95.0) is None and fixed.check("A", 125.0) == ("take_profit", 100.0)
    fixed.on_target("B", -0.5, 50.0)
    assert fixed.check("B", 55.1) == ("stop_loss", 50.0)
    fixed.on_target("B", 0.0, 50.0)
    assert fixed.check("B", 80.0) is None
