"""Numba kernels of the bar-mode trading environments (single, portfolio, vectorised).

Every environment is a slot ``e`` of a batch: its broker state is the engine's own arrays
(:mod:`engine.layout`) with one extra leading axis (``orders[e]``, ``open_tr[e]``, ``acct[e]``,
``cnt[e]``, ``snap[e]`` ...). One step of slot ``e`` is exactly one bar of the compiled path
(:func:`engine.step_nb.run_targets_nb`) — the same kernels in the same order:

1. at bar ``i``'s close, for each symbol whose new target differs from the last one sent, a
   target market order (``submit_nb``; percent of equity or units, resolved at the fill);
2. with ``fill_at = "signal_close"`` those orders fill at this close (``process_bar_nb`` phase 1);
3. the clock moves to bar ``i + 1``; working orders meet that bar (``process_bar_nb`` phase 0,
   called on the same condition as in ``run_targets_nb``: orders live, or a borrow charge due);
4. equity at bar ``i + 1``'s close = cash + positions at their marks (``close_value_nb``).

So an episode's P&L equals the P&L of a backtest replaying the same targets (tests prove it).
Records are not kept: when every order is terminal after a step the order / fill / trade /
snapshot counters go back to zero (positions live in ``open_tr``), so capacity stays small.

Rewards (``REWARD_*``): the step's P&L as a fraction of the starting cash, the log return of
equity, or the differential Sharpe ratio of Moody & Saffell (1998, "Reinforcement learning for
trading"), with exponential moving moments of rate ``eta``::

    D_t = (B_{t-1} dA_t - A_{t-1} dB_t / 2) / (B_{t-1} - A_{t-1}^2)^{3/2},
    A_t = A_{t-1} + eta (R_t - A_{t-1}),  B_t = B_{t-1} + eta (R_t^2 - B_{t-1})

with ``R_t`` the step's simple return (0 while the variance estimate is not positive).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from engine.layout import (
    A_CASH,
    A_INIT,
    C_DAY,
    C_FILLS,
    C_FIRST,
    C_ORDERS,
    C_SNAPS,
    C_TRADES,
    C_WATCH,
    K_AT_CLOSE,
    K_BORROW,
    M_CLOSE,
    M_MARK,
)
from engine.margin_nb import margin_check_nb
from engine.portfolio_nb import close_value_nb
from engine.step_nb import process_bar_nb, submit_nb
from engine.types import F_AT_CLOSE, MARKET

NS_DAY = 86_400_000_000_000
i64 = np.int64  # typed constants: the engine's kernels get the signatures the core uses

REWARD_PNL = 0
REWARD_LOG = 1
REWARD_DSR = 2
REWARDS = {"pnl": REWARD_PNL, "log_return": REWARD_LOG, "sharpe": REWARD_DSR}

ACT_INDEX = 0  # action value = index into ``levels`` (discrete)
ACT_WEIGHT = 1  # action value = the target itself (continuous), clipped to [-1, 1]
ACT_ROW = 2  # one action per slot (column 0) = a row of ``levels`` (a target per symbol)

# per-slot scalars (float64[n_env, N_ST])
ST_EQ = 0  # equity at the current bar's close
ST_A = 1  # differential Sharpe: first moment
ST_B = 2  # second moment
N_ST = 4
# per-slot integers (int64[n_env, N_IST])
I_BAR = 0  # current bar (its close is "now")
I_END = 1  # last bar of the episode
I_START = 2
N_IST = 4

ST_OK = 0
ST_BANKRUPT = 1  # equity <= 0: terminated
ST_FULL = 2  # order arrays full (the caller grows nothing: configuration error)


@njit(cache=True)
def _obs_nb(e, i, feat, window, mkt, open_tr, acct, st, out):
    """Observation of slot ``e`` at bar ``i``: the last ``window`` feature rows (time, symbol,
    feature order), then each symbol's weight (position value / equity), cash / equity and
    log(equity / starting cash)."""
    n_sym = feat.shape[1]
    n_f = feat.shape[2]
    k = 0
    for r in range(i - window + 1, i + 1):
        for s in range(n_sym):
            for f in range(n_f):
                out[k] = feat[r, s, f]
                k += 1
    eq = st[e, ST_EQ]
    inv = 1.0 / eq if eq > 0.0 else 0.0
    for s in range(n_sym):
        ot = open_tr[e, s]
        out[k] = ot.side * ot.size * mkt[M_MARK, i, s] * inv if ot.size > 0.0 else 0.0
        k += 1
    out[k] = acct[e, A_CASH] * inv
    out[k + 1] = math.log(eq / acct[e, A_INIT]) if eq > 0.0 else -10.0


@njit(cache=True)
def _reset_one_nb(e, start, end, feat, window, mkt, open_tr, acct, cnt, last, st, ist, cash,
                  obs):
    n_sym = mkt.shape[2]
    for s in range(n_sym):
        ot = open_tr[e, s]
        ot.side = 0
        ot.size = 0.0
        ot.entry_price = np.nan
        ot.entry_ts = 0
        ot.fees = 0.0
        ot.sym = s
        last[e, s] = np.nan
    acct[e, :] = 0.0
    acct[e, A_CASH] = cash
    acct[e, A_INIT] = cash
    cnt[e, :] = 0
    cnt[e, C_DAY] = -1
    st[e, :] = 0.0
    st[e, ST_EQ] = cash
    ist[e, I_BAR] = start
    ist[e, I_END] = end
    ist[e, I_START] = start
    _obs_nb(e, start, feat, window, mkt, open_tr, acct, st, obs[e])


@njit(cache=True)
def reset_slots_nb(slots, starts, ends, feat, window, mkt, open_tr, acct, cnt, last, st, ist,
                   cash, obs):
    """Start a fresh episode in each slot of ``slots`` at bar ``starts[k]`` (ending at
    ``ends[k]``): flat, ``cash`` in the account; writes the first observation."""
    for k in range(slots.shape[0]):
        _reset_one_nb(slots[k], starts[k], ends[k], feat, window, mkt, open_tr, acct, cnt, last,
                      st, ist, cash, obs)


@njit(cache=True)
def _step_one_nb(e, actions, act_mode, levels, kind_flags, reward_kind, eta, feat, window, mkt,
                 ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last, st, ist,
                 obs, rew, term, trunc, status, tgt):
    """One step of slot ``e`` (see the module docstring)."""
    n_sym = mkt.shape[2]
    at_close = cfg[K_AT_CLOSE] != 0.0
    borrow = cfg[K_BORROW] > 0.0
    flags = kind_flags | (F_AT_CLOSE if at_close else 0)
    rew[e] = 0.0
    term[e] = False
    trunc[e] = False
    status[e] = ST_OK
    o_e = orders[e]
    c_e = cnt[e]
    i = ist[e, I_BAR]
    if c_e[C_ORDERS] + 3 * n_sym > o_e.shape[0]:  # targets + liquidations (margin calls)
        status[e] = ST_FULL
        term[e] = True
        return
    # (1) targets at bar i's close
    gross = 0.0
    if act_mode == ACT_WEIGHT:
        for s in range(n_sym):
            gross += abs(min(1.0, max(-1.0, actions[e, s])))
    sent = False
    for s in range(n_sym):
        if act_mode == ACT_INDEX:
            x = levels[int(actions[e, s]), 0]
        elif act_mode == ACT_ROW:
            x = levels[int(actions[e, 0]), s]
        else:
            x = min(1.0, max(-1.0, actions[e, s]))
            if gross > 1.0:
                x /= gross
        tgt[e, s] = x
        if x == x and x != last[e, s]:
            last[e, s] = x
            side = 1 if x >= 0 else -1
            submit_nb(o_e, c_e, ts[i], s, side, i64(MARKET), i64(0), flags, abs(x), np.nan,
                      np.nan, np.nan, i64(0), i64(-1), i64(-1), i64(0), mkt[M_CLOSE, i, s])
            sent = True
    a_e = acct[e]
    t_e = open_tr[e]
    if sent and at_close:  # (2)
        process_bar_nb(i, i64(1), mkt, ts, o_e, fills[e], trades[e], t_e, a_e, c_e, cfg,
                       symcfg, snap[e])
    # (3) the next bar
    i += 1
    ist[e, I_BAR] = i
    call = c_e[C_FIRST] < c_e[C_ORDERS]
    if not call and borrow and ts[i] // NS_DAY != ts[i - 1] // NS_DAY:
        for s in range(n_sym):
            if t_e[s].side < 0:
                call = True
    if call:
        process_bar_nb(i, i64(0), mkt, ts, o_e, fills[e], trades[e], t_e, a_e, c_e, cfg,
                       symcfg, snap[e])
    elif i >= c_e[C_WATCH]:  # the margin check alone (engine/margin_nb.py)
        margin_check_nb(i, mkt, ts, o_e, t_e, a_e, c_e, cfg, symcfg)
    if c_e[C_FIRST] == c_e[C_ORDERS]:  # nothing working: recycle the record arrays
        c_e[C_ORDERS] = 0
        c_e[C_FIRST] = 0
        c_e[C_FILLS] = 0
        c_e[C_TRADES] = 0
        c_e[C_SNAPS] = 0
    # (4) equity and reward
    eq0 = st[e, ST_EQ]
    eq = a_e[A_CASH] + close_value_nb(mkt, i, t_e)
    st[e, ST_EQ] = eq
    if reward_kind == REWARD_PNL:
        r = (eq - eq0) / a_e[A_INIT]
    elif reward_kind == REWARD_LOG:
        r = math.log(eq / eq0) if eq > 0.0 and eq0 > 0.0 else -10.0
    else:
        ret = (eq - eq0) / eq0 if eq0 > 0.0 else -1.0
        a0 = st[e, ST_A]
        b0 = st[e, ST_B]
        da = ret - a0
        db = ret * ret - b0
        var = b0 - a0 * a0
        r = (b0 * da - 0.5 * a0 * db) / var**1.5 if var > 1e-12 else 0.0
        st[e, ST_A] = a0 + eta * da
        st[e, ST_B] = b0 + eta * db
    rew[e] = r
    if not (eq > 0.0):
        term[e] = True
        status[e] = ST_BANKRUPT
    elif i >= ist[e, I_END]:
        trunc[e] = True
    _obs_nb(e, i, feat, window, mkt, open_tr, acct, st, obs[e])


@njit(cache=True)
def step_slots_nb(actions, act_mode, levels, kind_flags, reward_kind, eta, feat, window, mkt,
                  ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last, st,
                  ist, skip, obs, rew, term, trunc, status, tgt):
    """One step of every slot not flagged in ``skip`` (slots that were reset this call).
    ``actions[e, s]``: an index into ``levels[:, 0]`` (ACT_INDEX), a target (ACT_WEIGHT), or
    ``actions[e, 0]`` picks the row of targets ``levels[a]`` (ACT_ROW);
    ``kind_flags``: F_TARGET_PCT or F_TARGET (units). Writes obs, reward, terminated,
    truncated, a status code and the targets sent at this bar (``tgt[e, s]``) per slot."""
    for e in range(actions.shape[0]):
        if skip[e]:
            rew[e] = 0.0
            term[e] = False
            trunc[e] = False
            continue
        _step_one_nb(e, actions, act_mode, levels, kind_flags, reward_kind, eta, feat, window,
                     mkt, ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last,
                     st, ist, obs, rew, term, trunc, status, tgt)


@njit(cache=True, parallel=True)
def step_slots_par_nb(actions, act_mode, levels, kind_flags, reward_kind, eta, feat, window,
                      mkt, ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap,
                      last, st, ist, skip, obs, rew, term, trunc, status, tgt):
    """:func:`step_slots_nb` with the slots spread over numba's threads (independent slots:
    the same results)."""
    for e in prange(actions.shape[0]):
        if skip[e]:
            rew[e] = 0.0
            term[e] = False
            trunc[e] = False
            continue
        _step_one_nb(e, actions, act_mode, levels, kind_flags, reward_kind, eta, feat, window,
                     mkt, ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last,
                     st, ist, obs, rew, term, trunc, status, tgt)


@njit(cache=True)
def _rollout_slot_nb(e, table, act_mode, levels, kind_flags, reward_kind, eta, feat, window, mkt,
                     ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last, st,
                     ist, obs, rew, term, trunc, status, tgt, starts, ends, cash):
    """Slot ``e``'s part of :func:`rollout_nb`: its rewards summed over the pre-drawn steps."""
    total = 0.0
    for k in range(table.shape[0]):
        _step_one_nb(e, table[k], act_mode, levels, kind_flags, reward_kind, eta, feat, window,
                     mkt, ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last,
                     st, ist, obs, rew, term, trunc, status, tgt)
        total += rew[e]
        if term[e] or trunc[e]:
            _reset_one_nb(e, starts[e], ends[e], feat, window, mkt, open_tr, acct, cnt, last, st,
                          ist, cash, obs)
    return total


@njit(cache=True)
def rollout_nb(table, act_mode, levels, kind_flags, reward_kind, eta, feat, window, mkt, ts,
               cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last, st, ist, obs,
               rew, term, trunc, status, tgt, starts, ends, cash):
    """Benchmark helper: ``table.shape[0]`` steps of every slot with pre-drawn actions
    (float64[n_steps, n_env, n_sym]), slot after slot (slots are independent), a finished
    episode restarted at the slot's ``starts`` bar. Returns the sum of rewards."""
    n_env = obs.shape[0]
    part = np.zeros(n_env)
    for e in range(n_env):
        part[e] = _rollout_slot_nb(e, table, act_mode, levels, kind_flags, reward_kind, eta, feat, window,
                                 mkt, ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt,
                                 snap, last, st, ist, obs, rew, term, trunc, status, tgt, starts,
                                 ends, cash)
    return part.sum()


@njit(cache=True, parallel=True)
def rollout_par_nb(table, act_mode, levels, kind_flags, reward_kind, eta, feat, window, mkt, ts,
               cfg, symcfg, orders, fills, trades, open_tr, acct, cnt, snap, last, st, ist, obs,
               rew, term, trunc, status, tgt, starts, ends, cash):
    """:func:`rollout_nb` with the slots spread over numba's threads."""
    n_env = obs.shape[0]
    part = np.zeros(n_env)
    for e in prange(n_env):
        part[e] = _rollout_slot_nb(e, table, act_mode, levels, kind_flags, reward_kind, eta, feat, window,
                                 mkt, ts, cfg, symcfg, orders, fills, trades, open_tr, acct, cnt,
                                 snap, last, st, ist, obs, rew, term, trunc, status, tgt, starts,
                                 ends, cash)
    return part.sum()
