"""The Agent strategy on the engine: rule agent with news, exact replay from the JSONL log,
invalid decisions, a fake LLM client, the risk overlay and no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest
from statarb_helpers import TWEETS, frame_bytes, goog_msft, run, truncate

from data.errors import RunError, StrategyError
from strategies.agent.deciders import LLMDecider, RuleAgent
from strategies.agent.log import read_log
from strategies.agent.strategy import Agent

NEWS = ",".join(str(p) for p in TWEETS)


@pytest.fixture(scope="module")
def market():
    return goog_msft("2014-01-01", "2014-12-31")


def test_rule_agent_logs_every_step_and_replays_exactly(tmp_path, market):
    log = tmp_path / "agent.jsonl"
    a = Agent(news=NEWS, stop_loss=0.08, log=str(log))
    res_a = run(market, a)
    recs = read_log(log)
    steps = [r for r in recs if r["type"] == "step"]
    assert len(steps) == len(market["GOOG"])
    assert all(s["status"] == "ok" for s in steps)
    assert any(s["observation"]["news"] for s in steps)
    assert len(res_a.fills) > 4

    class Never:
        def __call__(self, obs):
            raise AssertionError("replay must not call the agent")

    b = Agent(agent=f"replay:{log}", news=NEWS, stop_loss=0.08)
    res_b = run(market, b)
    assert frame_bytes(res_a.fills) == frame_bytes(res_b.fills)
    assert frame_bytes(res_a.equity) == frame_bytes(res_b.equity)
    assert [r for r in b.journal.records[1:]] == recs[1:]
    # replaying with other data diverges loudly instead of trading something else
    with pytest.raises(RunError, match="diverged"):
        run(market, Agent(agent=f"replay:{log}", news=NEWS, stop_loss=0.08, history=5))


def test_observations_hold_only_released_news_and_past_prices(tmp_path, market):
    a = Agent(news=NEWS, news_delay="1h")
    run(market, a)
    H = 3600 * 10**9
    from data.timeutil import to_ns

    for s in a.journal.steps:
        now = s["ts_ns"]
        assert all(to_ns(n["ts"]) + H <= now for n in s["observation"]["news"])
    t = int(market["GOOG"]["ts"][120])
    part = Agent(news=NEWS, news_delay="1h")
    run(truncate(market, t), part)
    mine = [s for s in a.journal.steps if s["ts_ns"] <= t]
    assert part.journal.steps == mine and len(mine) == 121


def test_invalid_decisions_follow_the_policy(market):
    calls = []

    def flaky(obs):
        calls.append(obs["step"])
        k = obs["step"] % 4
        if k == 0:
            return {"weights": {"GOOG": 0.5, "MSFT": 0.5}}
        if k == 1:
            return {"weights": {"GOOG": float("nan")}}
        if k == 2:
            raise ValueError("model timeout")
        return "buy everything"

    a = Agent(decider=flaky)
    run(market, a)
    steps = a.journal.steps
    assert [s["status"] for s in steps[:4]] == ["ok", "invalid", "invalid", "invalid"]
    assert "not JSON-able" in steps[1]["error"] and steps[2]["error"] == "ValueError: model timeout"
    assert "must be an object" in steps[3]["error"]
    assert steps[3]["targets"] == {"GOOG": 0.5, "MSFT": 0.5}  # hold keeps the last targets
    f = Agent(decider=flaky, on_invalid="flat")
    run(market, f)
    assert f.journal.steps[1]["targets"] == {"GOOG": 0.0, "MSFT": 0.0}
    with pytest.raises(StrategyError, match="invalid agent decision"):
        run(market, Agent(decider=flaky, on_invalid="raise"))


def test_llm_client_behind_the_protocol(market):
    class FakeLLM:
        def __init__(self):
            self.n = 0

        def complete(self, prompt: str) -> str:
            self.n += 1
            assert '"symbols": ["GOOG", "MSFT"]' in prompt
            return '```json\n{"weights": {"GOOG": 0.9}, "reason": "test"}\n```'

    llm = FakeLLM()
    a = Agent(decider=LLMDecider(llm), max_allocation=0.6, decide="weekly")
    res = run(market, a)
    steps = a.journal.steps
    assert llm.n == len(steps) > 40
    assert steps[0]["targets"] == {"GOOG": 0.6, "MSFT": 0.0} and steps[0]["clipped"] == ["GOOG"]
    assert len(res.fills) >= 1


def test_risk_overlay_exits_are_logged(market):
    a = Agent(decider=lambda obs: {"weights": {"GOOG": 0.5, "MSFT": 0.5}}, stop_loss=0.03,
              decide="monthly")  # fmt: skip
    run(market, a)
    exits = [r for r in a.journal.records if r["type"] == "risk"]
    assert exits and all(r["event"] == "stop_loss" for r in exits)
    for r in exits:
        assert r["price"] <= r["reference"] * 0.97 + 1e-12
    st = a.report_stats()
    assert st["agent_risk_exits"] == len(exits)
    assert {"agent_cum_return", "agent_max_drawdown", "agent_sortino", "buy_hold_cum_return",
            "buy_hold_max_drawdown", "buy_hold_sortino"} <= set(st)  # fmt: skip
    assert st["buy_hold_max_drawdown"] <= 0


def test_rule_agent_deterministic_rerun(market):
    a, b = Agent(decider=RuleAgent(), news=NEWS), Agent(news=NEWS)
    ra, rb = run(market, a), run(market, b)
    assert frame_bytes(ra.equity) == frame_bytes(rb.equity)
    assert np.isfinite(a.report_stats()["agent_cum_return"])
