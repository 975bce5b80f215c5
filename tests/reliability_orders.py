"""Order-stream invariants: random bars, a random trader that records what it saw, the checks.

Used by tests/test_reliability_orders.py (hypothesis draws the knobs and seeds) and by the
determinism / look-ahead suites. Everything is derived from an explicit seed.

The trader snapshots the whole order table at the start and at the end of every ``on_bar``;
between the end of bar i and the start of bar i+1 only the broker kernel ran (phase 1 of bar i,
phase 0 of bar i+1), between the start and the end of a bar only the Python side (new orders,
cancel, replace). :func:`check_run` then holds every window to the rules below and the final
records to the accounting identities.
"""

from __future__ import annotations

import collections

import numpy as np

from data.schema import BAR
from engine import types as T
from engine.layout import A_BORROW, A_CASH, A_FEES, M_CLOSE, M_HIGH, M_LOW, M_MARK, M_OPEN
from strategies.base import Strategy

DAY = 86_400_000_000_000
HOUR = 3_600_000_000_000
T0 = 1_600_000_000_000_000_000 // DAY * DAY + 20 * HOUR

#: invariant checks made, by name (printed at the end of the pytest run)
COUNTS: collections.Counter = collections.Counter()

# status -> statuses it may have after one kernel window (several steps may collapse into one:
# NEW -> WORKING -> FILLED shows as NEW -> FILLED)
_LIVE_TO = {
    T.NEW: {T.NEW, T.WORKING, T.PARTIAL, T.FILLED, T.CANCELLED, T.REJECTED, T.EXPIRED},
    T.PENDING: {T.PENDING, T.WORKING, T.PARTIAL, T.FILLED, T.CANCELLED, T.REJECTED, T.EXPIRED},
    T.WORKING: {T.WORKING, T.PARTIAL, T.FILLED, T.CANCELLED, T.REJECTED, T.EXPIRED},
    # a reject after a partial fill is recorded as CANCELLED (step_nb._finish_nb)
    T.PARTIAL: {T.PARTIAL, T.FILLED, T.CANCELLED, T.EXPIRED},
}
_TERMINAL = set(T.TERMINAL)


# --- market data ----------------------------------------------------------------------------
def random_bars(rng: np.random.Generator, n: int, *, p0: float = 100.0, step: int = DAY,
                gap: float = 0.1, flat: float = 0.05, vol: float = 0.02) -> np.ndarray:
    """``n`` valid bars: a random walk with gaps between bars, flat bars (o = h = l = c), bars
    opening at their high or low, zero volume now and then, irregular spacing."""
    out = np.zeros(n, dtype=BAR)
    steps = step * rng.choice([1, 1, 1, 1, 2, 3], size=n)
    out["ts"] = T0 + np.cumsum(steps) - steps[0]
    c = p0
    for i in range(n):
        o = c * float(np.exp(rng.normal(0, 0.15 if rng.random() < gap else vol / 4)))
        c = o * float(np.exp(rng.normal(0, vol)))
        if rng.random() < flat:
            h = lo = c = o
        else:
            h = max(o, c) * (1 + abs(rng.normal(0, vol)) * (rng.random() > 0.2))
            lo = min(o, c) * (1 - abs(rng.normal(0, vol)) * (rng.random() > 0.2))
        out[i] = (out["ts"][i], o, h, lo, c, 0.0 if rng.random() < 0.05 else
                  float(rng.integers(1, 5_000)))
    return out


def random_market(rng: np.random.Generator, n_sym: int, n: int, *, step: int = DAY,
                  p0: float | None = None) -> dict[str, np.ndarray]:
    """{symbol: bars}; with several symbols each misses some of the common time stamps."""
    out = {}
    for k in range(n_sym):
        b = random_bars(rng, n, p0=p0 or float(np.exp(rng.uniform(np.log(0.05), np.log(5e4)))),
                        step=step)
        if n_sym > 1:
            keep = rng.random(n) > 0.2
            keep[:2] = True
            b = b[keep]
        out[f"S{k}"] = b
    return out


# --- the random trader ----------------------------------------------------------------------
class RandomTrader(Strategy):
    """Sends every kind of order, cancels and replaces at random, and records what it saw."""

    name = "reliability_random_trader"
    seed: int = 0
    rate: float = 0.5  # chance of acting on a bar
    lot: float = 1.0  # the run's lot size (orders are sized in lots; some are deliberately off)

    def init(self, ctx):
        self.rng = np.random.default_rng(self.seed)
        self.pre: list = []  # (bar, orders copy, n fills, cash, fees, borrow, positions)
        self.post: list = []
        self.fill_log: list = []
        self.order_log: list = []
        self.errors: list[str] = []

    def _snap(self, ctx, into):
        b = ctx._b
        n = int(b.cnt[0])
        into.append((ctx.i, b.orders[:n].copy(), int(b.cnt[1]), float(b.acct[A_CASH]),
                     float(b.acct[A_FEES]), float(b.acct[A_BORROW]),
                     np.array([ctx.position(s) for s in range(len(ctx.symbols))]),
                     float(ctx.equity)))

    def on_bar(self, ctx):
        self._snap(ctx, self.pre)
        rng = self.rng
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < self.rate:
                self._act(ctx, rng)
        self._snap(ctx, self.post)

    def on_fill(self, ctx, fill):
        self.fill_log.append((ctx.i, fill.copy()))

    def on_order(self, ctx, order):
        self.order_log.append((ctx.i, order.copy()))

    def _size(self, rng):
        r = rng.random()
        if r < 0.03:
            return 0.0  # rejected: invalid size
        if r < 0.06 and self.lot > 0:
            return self.lot * 1.5  # rejected: not a whole lot
        if r < 0.10:
            return 1e9 * max(self.lot, 1.0)  # rejected: buying power / leverage
        return float(rng.integers(1, 20)) * (self.lot or float(rng.uniform(0.1, 3)))

    def _act(self, ctx, rng):
        s = int(rng.integers(0, len(ctx.symbols)))
        px = ctx.price(s)
        kind = int(rng.integers(0, 14))
        if not (px == px) and kind < 11:
            return  # no price seen yet for this symbol
        side = 1 if rng.random() < 0.5 else -1
        send = ctx.buy if side > 0 else ctx.sell
        size = self._size(rng)
        off = px * float(rng.choice([0.0, 0.002, 0.01, 0.03, 0.1]))
        tif = str(rng.choice(["GTC", "GTC", "DAY", "IOC", "FOK", "GTD"]))
        expire = ctx.now + int(rng.integers(1, 5)) * HOUR * 12 if tif == "GTD" else None
        if kind == 0:
            send(s, size=size, tif=tif if tif != "GTD" else "GTC")
        elif kind == 1:  # limit: passive or marketable
            lim = px - side * off if rng.random() < 0.7 else px + side * off
            send(s, size=size, limit=lim, tif=tif, expire=expire)
        elif kind == 2:
            send(s, size=size, stop=px + side * off, tif=tif, expire=expire)
        elif kind == 3:
            stop = px + side * off
            send(s, size=size, stop=stop, limit=stop + side * off * float(rng.uniform(-1, 1)),
                 tif=tif, expire=expire)
        elif kind == 4:
            send(s, size=size, trail=off + px * 1e-3)
        elif kind == 5:
            send(s, size=size, trail_pct=float(rng.uniform(0.001, 0.2)))
        elif kind in (6, 7):  # brackets: sl and/or tp (sometimes on the wrong side)
            which = int(rng.integers(0, 3))
            wrong = rng.random() < 0.1
            sl = px - side * (off + px * 0.01) * (-1 if wrong else 1) if which != 1 else None
            tp = px + side * (off + px * 0.01) if which != 0 else None
            lim = px - side * off if kind == 7 else None
            send(s, size=size, limit=lim, sl=sl, tp=tp,
                 tif="GTC" if kind == 6 else str(rng.choice(["GTC", "DAY", "IOC"])))
        elif kind == 8:
            ctx.order_target_percent(s, float(rng.choice([-1.0, -0.5, 0.0, 0.3, 1.0, 2.0])))
        elif kind == 9:
            ctx.order_target_size(s, float(rng.integers(-30, 30)) * (self.lot or 0.7))
        elif kind == 10:
            ctx.order_target_value(s, float(rng.uniform(-1, 1)) * ctx.equity)
        elif kind in (11, 12):  # cancel: parents, children, anything live (or dead)
            live = ctx.open_orders()
            if len(live) and rng.random() < 0.9:
                ctx.cancel(int(rng.choice(live["order_id"])))
            else:
                ctx.cancel(int(rng.integers(-1, int(ctx._b.cnt[0]) + 2)))
        else:  # replace a live order with values legal for its type
            live = ctx.open_orders()
            if not len(live):
                return
            o = live[int(rng.integers(0, len(live)))]
            oid = int(o["order_id"])
            kw = {}
            # (bracket children keep their size: resizing one is allowed but voids the check
            # that children never fill more than their parent)
            if rng.random() < 0.5 and not (o["flags"] & T.F_TARGETS) and o["parent_id"] < 0:
                kw["size"] = float(o["filled_size"]) + float(rng.integers(1, 10)) * (self.lot or 1)
            p = ctx.price(int(o["sym"]))
            if p == p and o["type"] in (T.LIMIT, T.STOP_LIMIT) and rng.random() < 0.5:
                kw["limit"] = p * float(rng.uniform(0.9, 1.1))
            if p == p and o["type"] in (T.STOP, T.STOP_LIMIT, T.TRAILING_STOP) and rng.random() < 0.5:
                kw["stop"] = p * float(rng.uniform(0.9, 1.1))
            ctx.replace(oid, **kw)


# --- the checks -----------------------------------------------------------------------------
def _fail(msg: str) -> None:
    raise AssertionError(msg)


def _same_record(a, b) -> bool:
    return a.tobytes() == b.tobytes()


def check_window_kernel(before, after, fills, bar_lo, bar_hi, market) -> None:
    """Between two snapshots only the broker kernel ran; ``fills`` were made in between."""
    ob, oa = before[1], after[1]
    per_order = collections.defaultdict(float)
    for f in fills:
        per_order[int(f["order_id"])] += float(f["size"])
    # the kernel creates orders only on a margin call: reduce-only market liquidations
    for j in range(len(ob), len(oa)):
        o = oa[j]
        if not (o["flags"] & T.F_LIQUIDATION and o["flags"] & T.F_REDUCE_ONLY
                and o["type"] == T.MARKET and o["reject_reason"] == T.R_LIQUIDATION):
            _fail(f"the kernel created order {j} that is no liquidation: {o}")
        if abs(float(o["filled_size"]) - per_order.get(j, 0.0)) > 1e-9 * max(1.0, o["size"]):
            _fail(f"liquidation order {j}: filled_size != its fills")
        COUNTS["liquidation orders"] += 1
    for j in range(len(ob)):
        a, b = ob[j], oa[j]
        sa, sb = int(a["status"]), int(b["status"])
        oid = int(a["order_id"])
        if sa in _TERMINAL:
            if not _same_record(a, b):
                _fail(f"terminal order {oid} ({T.STATUS_NAMES[sa]}) changed: {a} -> {b}")
            if oid in per_order:
                _fail(f"fill after {T.STATUS_NAMES[sa]}: order {oid} filled "
                      f"{per_order[oid]} in bars {bar_lo}..{bar_hi}")
            continue
        if sb not in _LIVE_TO[sa]:
            _fail(f"illegal transition of order {oid}: {T.STATUS_NAMES[sa]} -> "
                  f"{T.STATUS_NAMES[sb]}")
        dq = float(b["filled_size"]) - float(a["filled_size"])
        if abs(dq - per_order.get(oid, 0.0)) > 1e-9 * max(1.0, float(b["size"])):
            _fail(f"order {oid}: filled_size grew by {dq} but its fills sum to "
                  f"{per_order.get(oid, 0.0)}")
        if sa == T.PENDING and per_order.get(oid) and sb == T.PENDING:
            _fail(f"pending bracket child {oid} filled")
    COUNTS["kernel windows"] += 1
    COUNTS["order transitions"] += len(ob)


def check_window_python(before, after) -> None:
    """Between the start and end of on_bar only the Python side ran: no fills; existing orders
    only get cancelled (children of a cancelled partly filled parent start working) or
    replaced."""
    ob, oa = before[1], after[1]
    if after[2] != before[2]:
        _fail(f"bar {before[0]}: fills made outside the kernel")
    for j in range(len(ob)):
        a, b = ob[j], oa[j]
        sa, sb = int(a["status"]), int(b["status"])
        if sa in _TERMINAL and not _same_record(a, b):
            _fail(f"terminal order {int(a['order_id'])} changed by the Python side")
        if sa != sb and not (sb == T.CANCELLED or (sa == T.PENDING and sb == T.WORKING)):
            _fail(f"order {int(a['order_id'])}: {T.STATUS_NAMES[sa]} -> {T.STATUS_NAMES[sb]} "
                  f"outside the kernel")
        if a["filled_size"] != b["filled_size"]:
            _fail(f"order {int(a['order_id'])}: filled_size changed outside the kernel")
    for j in range(len(ob), len(oa)):
        if int(oa[j]["status"]) not in (T.NEW, T.PENDING, T.CANCELLED):
            _fail(f"new order {j} starts as {T.STATUS_NAMES[int(oa[j]['status'])]}")
    COUNTS["python windows"] += 1


def check_fill_prices(res) -> None:
    """Every fill's reference price (fill price less slippage) lies within its bar's
    low..high; at-close fills are at the close; every fill is on a bar of its symbol, after
    the order was sent (or at its close, for at-close orders)."""
    m = res.market
    f = res.fills_rec
    o = res.orders_rec
    at = np.searchsorted(m.ts, f["ts"])
    for k in range(len(f)):
        i, s = int(at[k]), int(f["sym"][k])
        if i >= len(m.ts) or m.ts[i] != f["ts"][k]:
            _fail(f"fill {k} at a time that is no bar")
        op, hi, lo = m.mkt[M_OPEN, i, s], m.mkt[M_HIGH, i, s], m.mkt[M_LOW, i, s]
        if not (op == op):
            _fail(f"fill {k} on a bar where symbol {s} did not trade")
        ref = float(f["price"][k]) - float(f["side"][k]) * float(f["slippage"][k])
        tol = 1e-9 * max(1.0, hi)
        if not (lo - tol <= ref <= hi + tol):
            _fail(f"fill {k}: reference price {ref} outside the bar [{lo}, {hi}]")
        oo = o[int(f["order_id"][k])]
        if f["ts"][k] == oo["ts"]:
            if not (oo["flags"] & T.F_AT_CLOSE):
                _fail(f"fill {k} on the bar its order {int(oo['order_id'])} was sent")
            if abs(ref - m.mkt[M_CLOSE, i, s]) > tol:
                _fail(f"at-close fill {k} not at the close")
        elif f["ts"][k] < oo["ts"]:
            _fail(f"fill {k} before its order was sent")
        if oo["parent_id"] >= 0:
            parent = o[int(oo["parent_id"])]
            if parent["filled_size"] <= 0:
                _fail(f"bracket child {int(oo['order_id'])} filled but its parent never did")
    COUNTS["fill prices"] += len(f)


def check_orders(res, lot: float | None = None, vcap: float = 0.0) -> None:
    o = res.orders_rec
    f = res.fills_rec
    filled = np.bincount(f["order_id"], weights=f["size"], minlength=len(o))
    if not np.allclose(filled, o["filled_size"], rtol=1e-12, atol=1e-9):
        _fail("fills per order do not add up to filled_size")
    if np.any(o["filled_size"] > o["size"] * (1 + 1e-12) + 1e-12):
        _fail("an order filled more than its size")
    st = o["status"]
    done = st == T.FILLED
    if not np.allclose(o["filled_size"][done], o["size"][done], rtol=1e-12):
        _fail("a FILLED order is not completely filled")
    part = st == T.PARTIAL
    if np.any(o["filled_size"][part] <= 0) or np.any(o["filled_size"][part] >= o["size"][part]):
        _fail("a PARTIAL order that is not partly filled")
    if np.any(o["filled_size"][st == T.REJECTED] != 0):
        _fail("a REJECTED order with fills")
    if np.any(st == T.NEW) and not np.all(o["ts"][st == T.NEW] >= 0):
        _fail("bad NEW order")
    # brackets: the children together never fill more than the parent did (OCO: never both)
    for j in np.flatnonzero(o["parent_id"] >= 0):
        p = int(o["parent_id"][j])
        kids = np.flatnonzero(o["parent_id"] == p)
        tot = float(o["filled_size"][kids].sum())
        if tot > float(o["filled_size"][p]) * (1 + 1e-12) + 1e-12:
            _fail(f"bracket children of order {p} filled {tot} > parent's "
                  f"{float(o['filled_size'][p])} (OCO both filled?)")
        if len(kids) == 2 and (o["status"][kids] == T.FILLED).all():
            _fail(f"both OCO children of order {p} filled")
    if lot:
        q = f["size"] / lot
        if np.any(np.abs(q - np.round(q)) > 1e-6):
            _fail("a fill that is not a whole number of lots")
    if vcap > 0:
        m = res.market
        at = np.searchsorted(m.ts, f["ts"])
        used = collections.defaultdict(float)
        for k in range(len(f)):
            used[(int(at[k]), int(f["sym"][k]))] += float(f["size"][k])
        for (i, s), q in used.items():
            if q > vcap * m.mkt[4, i, s] * (1 + 1e-9) + 1e-9:
                _fail(f"fills of bar {i} symbol {s} exceed the volume cap: {q}")
    COUNTS["orders checked"] += len(o)


def check_accounts(res, cash0: float) -> None:
    """Cash, positions and equity re-derived from the fill log at every bar; trades conserve
    quantity and P&L."""
    m = res.market
    eq = res.equity_rec
    f = res.fills_rec
    n, n_sym = len(eq), len(m.symbols)
    at = np.searchsorted(m.ts, f["ts"])
    signed = f["side"] * f["size"]
    pos = np.zeros((n, n_sym))
    np.add.at(pos, (at, f["sym"]), signed)
    pos = np.cumsum(pos, axis=0)
    dcash = np.zeros(n)
    np.add.at(dcash, at, -(signed * f["price"]) - f["fee"])
    fill_fees = np.cumsum(np.bincount(at, weights=f["fee"], minlength=n))
    borrow = eq["fees"] - fill_fees
    cash = cash0 + np.cumsum(dcash) - borrow
    scale = max(1.0, cash0, float(np.abs(eq["equity"]).max()), float(np.abs(eq["cash"]).max()))
    tol = 1e-9 * scale
    if not np.allclose(eq["cash"], cash, rtol=0, atol=tol):
        _fail("recorded cash != cash re-derived from the fills")
    if np.any(borrow < -tol) or np.any(np.diff(borrow) < -tol):
        _fail("borrow fees negative or decreasing")
    pv = np.nansum(pos * m.mkt[M_MARK], axis=1)
    if not np.allclose(eq["positions_value"], pv, rtol=0, atol=tol):
        _fail("recorded positions value != positions from the fills x marks")
    if not np.allclose(eq["equity"], eq["cash"] + eq["positions_value"], rtol=0, atol=tol):
        _fail("equity != cash + positions value")
    tr = res.trades_rec
    for s in range(n_sym):
        fs = f["sym"] == s
        ts_ = tr["sym"] == s
        closed = ts_ & (tr["status"] == T.TRADE_CLOSED)
        open_ = ts_ & (tr["status"] == T.TRADE_OPEN)
        open_pos = float((tr["side"][open_] * tr["size"][open_]).sum())
        if abs(open_pos - pos[-1, s]) > 1e-9 * max(1.0, abs(pos[-1, s])):
            _fail(f"symbol {s}: open trade {open_pos} != position {pos[-1, s]}")
        moved = float(f["size"][fs].sum())
        booked = 2 * float(tr["size"][closed].sum()) + float(tr["size"][open_].sum())
        if abs(moved - booked) > 1e-9 * max(1.0, moved):
            _fail(f"symbol {s}: fills moved {moved} units, trades account for {booked}")
    pnl = tr["side"] * tr["size"] * (tr["exit_price"] - tr["entry_price"]) - tr["fees"]
    if not np.allclose(tr["pnl"], pnl, rtol=1e-9, atol=1e-9 * scale):
        _fail("trade pnl != side x size x (exit - entry) - fees")
    if abs(cash0 + float(tr["pnl"].sum()) - float(eq["equity"][-1])) > 1e-8 * scale:
        _fail("starting cash + trade P&L != final equity")
    COUNTS["equity rows"] += n


def check_run(res, trader: RandomTrader, cash0: float, *, lot=None, vcap=0.0) -> None:
    """Every invariant of one Python-path run of :class:`RandomTrader`."""
    f = res.fills_rec
    pre, post = trader.pre, trader.post
    assert len(pre) == len(post) == res.market.n_bars
    for i in range(len(pre)):
        check_window_python(pre[i], post[i])
        # what the strategy saw at the start of bar i agrees with the fill log up to then
        nf = pre[i][2]
        fl = f[:nf]
        cash = cash0 - float(np.sum(fl["side"] * fl["size"] * fl["price"])) - pre[i][4]
        tol = 1e-9 * max(1.0, abs(cash), cash0)
        if abs(cash - pre[i][3]) > tol:
            _fail(f"bar {i}: ctx.cash {pre[i][3]} != {cash} from the fills")
        if abs(pre[i][4] - pre[i][5] - float(fl["fee"].sum())) > tol:
            _fail(f"bar {i}: fees != commissions + borrow")
        pos = np.zeros(len(res.symbols))
        np.add.at(pos, fl["sym"], fl["side"] * fl["size"])
        if not np.allclose(pos, pre[i][6], rtol=0, atol=1e-9):
            _fail(f"bar {i}: ctx.position != positions from the fills")
        mark = np.nan_to_num(res.market.mkt[M_MARK, i])
        if abs(pre[i][3] + float(np.sum(pos * mark)) - pre[i][7]) > tol * 10:
            _fail(f"bar {i}: ctx.equity != cash + positions x marks")
        nxt = pre[i + 1] if i + 1 < len(pre) else (None, res.orders_rec, len(f))
        if i + 1 < len(pre):
            check_window_kernel(post[i], nxt, f[post[i][2]:nxt[2]], i, i + 1, res.market)
        else:
            check_window_kernel(post[i], (None, res.orders_rec[: len(post[i][1])], len(f)),
                                f[post[i][2]:], i, i, res.market)
    # the callbacks: every fill exactly once, in order
    ids = [int(x[1]["fill_id"]) for x in trader.fill_log]
    if ids != list(range(len(f))):
        _fail(f"on_fill saw fills {ids[:10]}... instead of 0..{len(f) - 1} once each")
    check_fill_prices(res)
    check_orders(res, lot=lot, vcap=vcap)
    check_accounts(res, cash0)
    COUNTS["runs"] += 1
    COUNTS["fills"] += len(f)


def summary_lines() -> list[str]:
    if not COUNTS:
        return []
    return ["reliability counts (tests/test_reliability_*.py, all workers):"] + [
        f"  {k:<56} {v:>10,}" for k, v in sorted(COUNTS.items())]
