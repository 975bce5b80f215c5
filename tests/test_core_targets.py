"""Target orders converge to the latest target and never overshoot it (docs/fills.md).

A target order is resolved at its first fill (size = target - position then); under a volume
cap it fills over several bars. A newer target for the same symbol cancels the older live ones
(reason ``superseded``) on the bar it starts working, so a partly filled older target never
carries the position past the newer one.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.compiled import Targets
from strategies.base import Strategy
from tests.core_helpers import DAY, T0, Scripted, bars

N = 40
RNG = np.random.default_rng(7)
_C = 100 * np.exp(np.cumsum(RNG.normal(0, 0.01, N)))
B = bars([(c, c * 1.01, c * 0.99, c) for c in _C], volume=200.0)  # cap 0.1 -> 20 units a bar


def test_newer_target_supersedes_a_partly_filled_older_one():
    # +100 at bar 0 fills 20 a bar (cap); +30 sent at bar 1: before, the old order kept buying
    # past 30 (resolved at 100 - 0) while the new one resolved against the position
    r = engine.run(market={"X": B}, strategy=Scripted({
        0: lambda c: c.order_target_size(None, 100), 1: lambda c: c.order_target_size(None, 30)}),
        cash=1e6, volume_cap=0.1)
    f = r.fills
    pos = np.cumsum(np.where(f["side"] == "buy", 1, -1) * f["size"])
    assert list(pos) == [20.0, 30.0]
    o = r.orders
    assert list(o["status"]) == ["cancelled", "filled"]
    assert list(o["reject_reason"]) == ["superseded", ""]
    assert o["update_ts"].iloc[0] == T0 + 2 * DAY  # when the new one started working


class TargetSeq(Strategy):
    """order_target_size at given bars (``plan``: {bar: units}); ``targets()`` is the same."""

    name = "target_seq"

    def __init__(self, plan, **kw):
        super().__init__(**kw)
        self.plan = plan

    def on_bar(self, ctx):
        if ctx.i in self.plan:
            ctx.order_target_size(None, self.plan[ctx.i])

    def targets(self, data):
        t = np.full(len(data["close"]), np.nan)
        for i, v in self.plan.items():
            t[i] = v
        return Targets(t, "size", repeat=True)


def _check_never_past_latest(res, plan, at_close):
    """Every fill moves the position toward the latest target sent before it, never past."""
    f = res.fills_rec
    o = res.orders_rec
    sent = sorted(plan.items())
    pos = 0.0
    for k in range(len(f)):
        bar = int((f["ts"][k] - T0) // DAY)
        # fills at the open see targets sent before the bar; at-close fills (signal_close)
        # come after this bar's on_bar, so its target counts too
        now = o["ts"][f["order_id"][k]] == f["ts"][k]
        assert at_close or not now
        latest = [v for i, v in sent if i < bar or (now and i == bar)]
        assert latest, "a fill before any target"
        tgt = latest[-1]
        new = pos + f["side"][k] * f["size"][k]
        assert (new - tgt) * (pos - tgt) >= 0 and abs(new - tgt) <= abs(pos - tgt), (
            f"fill {k} at bar {bar}: {pos} -> {new} passes the latest target {tgt}")
        pos = new
    return pos


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=st.dictionaries(st.integers(0, N - 2), st.integers(-80, 80), min_size=1,
                            max_size=12),
       vcap=st.sampled_from([0.02, 0.05, 0.1, 0.3]),
       fill_at=st.sampled_from(["next_open", "signal_close"]))
def test_random_target_sequences_never_overshoot(plan, vcap, fill_at):
    plan = {i: float(v) for i, v in plan.items()}
    runs = [engine.run(market={"X": B}, strategy=TargetSeq(plan), cash=1e7, volume_cap=vcap,
                       fill_at=fill_at, mode=mode) for mode in ("python", "compiled")]
    a, b = runs
    pos = _check_never_past_latest(a, plan, fill_at == "signal_close")
    # converged when the cap allowed it: enough bars after the last target
    last_bar, last = max(plan.items())
    if (N - 1 - last_bar) * vcap * 200.0 >= 161:
        assert pos == last
    for name in ("fills_rec", "equity_rec", "orders_rec"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
