"""The Python side of the broker: the run's state arrays, order entry and capacity growth.

Everything that changes fills, cash or positions happens in the kernels of
:mod:`engine.step_nb`; this class owns the arrays, writes new orders with the same kernel the
compiled path uses (``submit_nb``), grows arrays by doubling, and applies cancel / replace
requests (state changes at the strategy's "now", which no kernel needs to see).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from data.errors import StrategyError
from engine import types as T
from engine.layout import (
    A_CASH,
    A_INIT,
    C_DAY,
    C_FILLS,
    C_FIRST,
    C_ORDERS,
    C_SNAPS,
    C_TRADES,
    K_AT_CLOSE,
    K_BORROW,
    K_FIXED,
    K_FRAC,
    K_FRAC_MAKER,
    K_IMPACT,
    K_MARGIN_SCAN,
    K_MAXLEV,
    K_MIN,
    K_PER_SHARE,
    K_SLIP_BPS,
    K_SPREAD,
    K_VOLCAP,
    M_CLOSE,
    M_MARK,
    N_ACCT,
    N_CFG,
    N_CNT,
    N_SYM,
    S_LOT,
    S_MAINT,
    S_MAXPOS,
    S_SHORTABLE,
    SNAP0,
)
from engine.step_nb import process_bar_into_nb, submit_nb

TIF_CODES = {name: code for code, name in enumerate(T.TIF_NAMES)}


#: closes the margin check looks ahead to find the next one that can fail (engine/margin_nb.py):
#: the numba loops pay little per call, the Python loop much more (only speed depends on it)
MARGIN_SCAN_COMPILED = 64
MARGIN_SCAN_PYTHON = 256


def make_cfg(cfg) -> np.ndarray:
    """RunConfig -> the kernels' float64 cfg vector."""
    out = np.zeros(N_CFG)
    c, s = cfg.commission, cfg.slippage
    out[K_FRAC] = c.rate
    out[K_FRAC_MAKER] = c.rate if c.maker is None else c.maker
    out[K_PER_SHARE] = c.per_share
    out[K_MIN] = c.minimum
    out[K_FIXED] = c.fixed
    out[K_SLIP_BPS] = s.bps
    out[K_SPREAD] = s.spread
    out[K_IMPACT] = s.coef
    out[K_VOLCAP] = cfg.volume_cap
    out[K_MAXLEV] = cfg.max_leverage
    out[K_BORROW] = cfg.borrow_rate
    out[K_AT_CLOSE] = 1.0 if cfg.fill_at == "signal_close" else 0.0
    out[K_MARGIN_SCAN] = MARGIN_SCAN_COMPILED
    return out


def make_symcfg(cfg, market) -> np.ndarray:
    from data.errors import ConfigError

    syms = market.symbols
    for key in ("lot_size", "shortable", "max_position", "maintenance_margin"):
        v = getattr(cfg, key)
        if isinstance(v, dict):
            unknown = sorted(set(v) - set(syms))
            if unknown:
                raise ConfigError("per-symbol value for a symbol not in the run",
                                  argument=f"broker.{key}.{unknown[0]}", value=unknown,
                                  fix=f"use symbols of the run: {syms}")

    def pick(v, sym, default):
        if isinstance(v, dict):
            return v.get(sym, default)
        return default if v is None else v

    out = np.zeros((len(syms), N_SYM))
    for k, inst in enumerate(market.instruments):
        sym = syms[k]
        out[k, S_LOT] = pick(cfg.lot_size, sym, inst.lot_size)
        out[k, S_SHORTABLE] = float(pick(cfg.shortable, sym, inst.shortable))
        out[k, S_MAXPOS] = pick(cfg.max_position, sym, math.inf)
        out[k, S_MAINT] = pick(cfg.maintenance_margin, sym, 0.0)
    return out


def _grow(arr: np.ndarray, need: int, *, exact: bool = False) -> np.ndarray:
    cap = max(arr.shape[0], 16)
    if exact:  # (a reservation sized from what the run will need: no power-of-two slack)
        cap = max(cap, need)
    while cap < need:
        cap *= 2
    if cap == arr.shape[0]:
        return arr
    if arr.dtype.names:  # records: unused rows get the defaults (ids -1, prices nan)
        out = T.empty(arr.dtype, cap)
    else:
        out = np.zeros((cap,) + arr.shape[1:], dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


class Broker:
    """State of one run (see :mod:`engine.layout`) and the Python-side order entry."""

    def __init__(self, market, cfg, strategy=None, *, order_cap: int = 64) -> None:
        self.market = market
        self.config = cfg
        self.strategy = strategy
        n_sym = len(market.symbols)
        self.cfg = make_cfg(cfg)
        self.symcfg = make_symcfg(cfg, market)
        self.orders = T.empty(T.ORDER, order_cap)
        self.fills = T.empty(T.FILL, 2 * order_cap)
        self.trades = T.empty(T.TRADE_REC, 2 * order_cap)
        self.open_tr = T.empty(T.TRADE_REC, n_sym)
        self.open_tr["sym"] = np.arange(n_sym)
        self.acct = np.zeros(N_ACCT)
        self.acct[A_CASH] = self.acct[A_INIT] = cfg.cash
        self.cnt = np.zeros(8 if N_CNT <= 8 else N_CNT, dtype=np.int64)
        self.cnt[C_DAY] = -1
        self.snap = np.zeros((64, SNAP0 + n_sym))
        self.fine, self.fine_at = market.fine, market.fine_at  # (engine/intrabar.py)
        self._used, self._p = np.empty(n_sym), np.empty(4)  # the broker kernel's scratch
        self.at_close = bool(self.cfg[K_AT_CLOSE])
        self.close_pending = False
        self.changed: list[int] = []  # orders changed by cancel / replace (for on_order)

    # --- capacity -------------------------------------------------------------------------
    def ensure(self, new_orders: int = 0) -> None:
        """Room for ``new_orders`` more orders, a bar of fills / trades, and a snapshot."""
        c = self.cnt
        if c[C_ORDERS] + new_orders > self.orders.shape[0]:
            self.orders = _grow(self.orders, int(c[C_ORDERS] + new_orders))
        room = 2 * int(c[C_ORDERS] - c[C_FIRST]) + 4
        if c[C_FILLS] + room > self.fills.shape[0]:
            self.fills = _grow(self.fills, int(c[C_FILLS] + room))
        if c[C_TRADES] + room > self.trades.shape[0]:
            self.trades = _grow(self.trades, int(c[C_TRADES] + room))
        if c[C_SNAPS] + 2 > self.snap.shape[0]:
            self.snap = _grow(self.snap, int(c[C_SNAPS] + 2))

    def reserve(self, n_orders: int, *, per_order: int = 2, exact: bool = False) -> None:
        """Pre-size the arrays for about ``n_orders`` orders (fewer restarts when compiled):
        ``per_order`` fills, round trips and snapshots each; ``exact``: these sizes, not the
        next power of two (a run that needs more grows, as always)."""
        n = max(int(n_orders), 16)
        self.orders = _grow(self.orders, n, exact=exact)
        self.fills = _grow(self.fills, per_order * n, exact=exact)
        self.trades = _grow(self.trades, per_order * n, exact=exact)
        self.snap = _grow(self.snap, per_order * n, exact=exact)

    def step(self, i: int, phase: int) -> int:
        """Run the broker kernel on bar ``i``; returns the number of fills."""
        self.ensure(self.symcfg.shape[0])  # room for the liquidation orders of a margin call
        m = self.market
        return process_bar_into_nb(i, phase, m.mkt, m.ts, self.orders, self.fills, self.trades,
                                   self.open_tr, self.acct, self.cnt, self.cfg, self.symcfg,
                                   self.snap, self._used, self._p, self.fine, self.fine_at)

    # --- views ----------------------------------------------------------------------------
    def equity_now(self, i: int) -> float:
        mark = self.market.mkt[M_MARK, max(i, 0)]
        ot = self.open_tr
        return float(self.acct[A_CASH] + np.sum(ot["side"] * ot["size"] * np.nan_to_num(mark)))

    def open_orders(self, s: int | None) -> np.ndarray:
        lo, hi = int(self.cnt[C_FIRST]), int(self.cnt[C_ORDERS])
        o = self.orders[lo:hi]
        keep = ~np.isin(o["status"], T.TERMINAL)
        if s is not None:
            keep &= o["sym"] == s
        return o[keep].copy().view(T.OrderRecords)

    # --- order entry ----------------------------------------------------------------------
    def _t(self, i: int) -> int:
        return int(self.market.ts[i]) if i >= 0 else int(self.market.ts[0]) - 1

    def _check_time(self, i: int, what: str) -> None:
        if i < 0:
            raise StrategyError(f"{what} in init(): orders can only be sent from on_bar",
                                argument=what, value=i, fix="send orders in on_bar()")

    def send(self, i: int, s: int, side: int, size: Any, limit, stop, tif: str, sl, tp, trail,
             trail_pct, expire, tag: int) -> int:
        self._check_time(i, "buy/sell")
        try:
            size = float(size)
        except (TypeError, ValueError):
            raise StrategyError("order size must be a number", argument="size", value=size,
                                fix="give a positive number of units") from None
        if tif not in TIF_CODES:
            from engine.config import nearest

            raise StrategyError("unknown time in force", argument="tif", value=tif,
                                fix=f"did you mean {nearest(tif, TIF_CODES)!r}?")
        flags = 0
        tr = math.nan
        if trail is not None or trail_pct is not None:
            if limit is not None or stop is not None:
                raise StrategyError("a trailing stop takes no limit/stop price",
                                    argument="trail", value=trail,
                                    fix="send trail= (amount) or trail_pct= (fraction) alone")
            otype = T.TRAILING_STOP
            tr = float(trail if trail is not None else trail_pct)
            if trail_pct is not None:
                flags |= T.F_TRAIL_PERCENT
            if not (tr > 0):
                raise StrategyError("trail must be > 0", argument="trail", value=tr,
                                    fix="give a positive amount or fraction")
        elif limit is not None and stop is not None:
            otype = T.STOP_LIMIT
        elif limit is not None:
            otype = T.LIMIT
        elif stop is not None:
            otype = T.STOP
        else:
            otype = T.MARKET
            if self.at_close:
                flags |= T.F_AT_CLOSE
        expire_ts = 0
        if expire is not None:
            from engine.market import parse_time

            expire_ts = int(parse_time(expire, "expire"))
            if tif == "GTC":
                tif = "GTD"
        elif tif == "GTD":
            raise StrategyError("GTD needs expire=", argument="expire", value=None,
                                fix="give expire= a date/time or int ns")
        n_children = (sl is not None) + (tp is not None)
        self.ensure(1 + n_children)
        m = self.market
        t = self._t(i)
        ref = float(m.mkt[M_CLOSE, i, s])
        lim = math.nan if limit is None else float(limit)
        stp = math.nan if stop is None else float(stop)
        oid = submit_nb(self.orders, self.cnt, t, s, side, otype, TIF_CODES[tif], flags, size,
                        lim, stp, tr, expire_ts, -1, -1, int(tag), ref)
        if n_children:
            ids = []
            if sl is not None:
                ids.append(submit_nb(self.orders, self.cnt, t, s, -side, T.STOP, T.GTC,
                                     T.F_STOP_LOSS, size, math.nan, float(sl), math.nan, 0, oid,
                                     -1, int(tag), ref))
            if tp is not None:
                ids.append(submit_nb(self.orders, self.cnt, t, s, -side, T.LIMIT, T.GTC,
                                     T.F_TAKE_PROFIT, size, float(tp), math.nan, math.nan, 0,
                                     oid, -1, int(tag), ref))
            if len(ids) == 2:
                self.orders[ids[0]]["oco_id"] = ids[1]
                self.orders[ids[1]]["oco_id"] = ids[0]
        if otype == T.MARKET and self.at_close:
            self.close_pending = True
        return int(oid)

    def send_target(self, i: int, s: int, flag: int, value: float, tag: int) -> int:
        self._check_time(i, "order_target_*")
        if not math.isfinite(value):
            raise StrategyError("target must be finite", argument="target", value=value,
                                fix="give a finite size, value or fraction")
        self.ensure(1)
        flags = flag | (T.F_AT_CLOSE if self.at_close else 0)
        oid = submit_nb(self.orders, self.cnt, self._t(i), s, 1 if value >= 0 else -1,
                        T.MARKET, T.GTC, flags, abs(value), math.nan, math.nan, math.nan, 0,
                        -1, -1, int(tag), float(self.market.mkt[M_CLOSE, i, s]))
        if self.at_close:
            self.close_pending = True
        return int(oid)

    def _live(self, oid: int) -> bool:
        """A live order the strategy may cancel / replace (not the broker's liquidations)."""
        return (0 <= oid < self.cnt[C_ORDERS] and self.orders[oid]["status"] not in T.TERMINAL
                and not self.orders[oid]["flags"] & T.F_LIQUIDATION)

    def cancel(self, i: int, oid: int) -> bool:
        """Cancel a live order (and its bracket children); False when it is not live."""
        if not self._live(oid):
            return False
        t = self._t(i)
        o = self.orders[oid]
        o["status"], o["update_ts"] = T.CANCELLED, t
        self.changed.append(oid)
        for k in range(oid + 1, min(oid + 3, int(self.cnt[C_ORDERS]))):
            c = self.orders[k]
            if c["parent_id"] == oid and c["status"] not in T.TERMINAL:
                if o["filled_size"] > 0 and c["status"] == T.PENDING:
                    c["size"], c["status"], c["update_ts"] = o["filled_size"], T.WORKING, t
                else:
                    c["status"], c["reject_reason"], c["update_ts"] = T.CANCELLED, T.R_PARENT, t
                self.changed.append(k)
        if o["oco_id"] >= 0 and self._live(int(o["oco_id"])):
            sib = self.orders[int(o["oco_id"])]
            sib["oco_id"] = -1
        return True

    def replace(self, i: int, oid: int, size, limit, stop) -> bool:
        """Change size / limit / stop of a live order in place (it keeps its id)."""
        if not self._live(oid):
            return False
        o = self.orders[oid]
        if size is not None:
            size = float(size)
            if not (size > o["filled_size"]):
                raise StrategyError("new size must exceed the filled size", argument="size",
                                    value=size, fix=f"give more than {o['filled_size']}")
            o["size"] = size
        if limit is not None:
            if o["type"] not in (T.LIMIT, T.STOP_LIMIT):
                raise StrategyError("only limit / stop-limit orders have a limit price",
                                    argument="limit", value=limit, fix="cancel and send anew")
            o["limit_price"] = float(limit)
        if stop is not None:
            if o["type"] not in (T.STOP, T.STOP_LIMIT, T.TRAILING_STOP):
                raise StrategyError("only stop orders have a stop price", argument="stop",
                                    value=stop, fix="cancel and send anew")
            o["stop_price"] = float(stop)
        o["update_ts"] = self._t(i)
        self.changed.append(oid)
        return True
