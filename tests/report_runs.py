"""Run folders and equity curves for the report / metrics tests, built with plain pandas on the
shipped samples (independent of the engine): buy-and-hold and a long-only SMA rule with all-in
fractional sizing, marked at the close. Also a synthetic long run for size / time checks.

``write_run(...)`` writes the files of docs/RUN_FOLDER.md (atomic writes are the engine's job;
plain writes are enough here).
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from data.readers import read_bars
from reports.timeutil import ns

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
GOOG = SAMPLES / "equities_daily" / "GOOG_2004-2013_backtesting.csv"
SP500 = SAMPLES / "equities_daily" / "arch_SP500_index_1999-2018.csv.gz"
BTC_D = SAMPLES / "crypto" / "Bitstamp_BTCUSD_d_2014-2022.csv"
BTC_H = SAMPLES / "crypto" / "Bitstamp_BTCUSD_1h_2018-2022.csv.gz"
TARDIS = SAMPLES / "crypto" / "tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"


def bars_frame(path: Path, symbol: str | None = None) -> pd.DataFrame:
    """OHLCV of a sample file, indexed by the bars' close time (tz-aware UTC)."""
    b = read_bars(path, symbol=symbol)
    idx = pd.DatetimeIndex(pd.to_datetime(b.data["ts"], utc=True), name="time")
    df = pd.DataFrame({k: b.data[k] for k in ("open", "high", "low", "close", "volume")}, index=idx)
    df.attrs["symbol"] = b.symbol
    df.attrs["sha256"] = b.sha256
    df.attrs["source"] = str(path)
    return df


def buy_and_hold(close: pd.Series, cash: float = 10_000.0) -> pd.Series:
    return (cash * close / close.iloc[0]).rename("equity")


def sma_rule(bars: pd.DataFrame, n: int = 50, cash: float = 10_000.0, fee: float = 0.0):
    """Long when the close is above its n-bar SMA (decided at a close, held from that close to
    the next); all-in fractional sizing; ``fee`` is a fraction of the traded notional charged at
    entry and exit. Returns ``(equity, position_units, trades)``."""
    close = bars["close"]
    want = (close > close.rolling(n).mean()).to_numpy()
    px = close.to_numpy()
    eq = np.empty(len(px))
    units = np.zeros(len(px))
    cash_now, held = cash, 0.0
    trades, entry = [], None
    for i in range(len(px)):
        if want[i] and not held:
            notional = cash_now / (1 + fee)
            f = notional * fee
            held, cash_now = notional / px[i], 0.0
            entry = (i, px[i], held, f)
        elif not want[i] and held:
            gross = held * px[i]
            f = gross * fee
            cash_now, held = gross - f, 0.0
            ei, ep, size, ef = entry
            trades.append(_trade(len(trades), bars, ei, i, ep, px[i], size, ef + f, "closed"))
            entry = None
        value = cash_now + held * px[i]
        eq[i], units[i] = value, held
    if entry is not None:
        ei, ep, size, ef = entry
        trades.append(_trade(len(trades), bars, ei, len(px) - 1, ep, px[-1], size, ef, "open"))
    idx = close.index
    cols = ["trade_id", "symbol", "side", "size", "entry_time", "entry_ts", "entry_price",
            "exit_time", "exit_ts", "exit_price", "pnl", "return", "fees", "duration_s", "status"]
    return (pd.Series(eq, index=idx, name="equity"), pd.Series(units, index=idx),
            pd.DataFrame(trades, columns=cols))


def _trade(tid, bars, i, j, ep, xp, size, fees, status):
    t_in, t_out = bars.index[i], bars.index[j]
    pnl = size * (xp - ep) - fees
    return {
        "trade_id": tid, "symbol": bars.attrs.get("symbol", "X"), "side": "long", "size": size,
        "entry_time": _iso(t_in), "entry_ts": t_in.value, "entry_price": ep,
        "exit_time": _iso(t_out), "exit_ts": t_out.value, "exit_price": xp,
        "pnl": pnl, "return": pnl / (size * ep), "fees": fees,
        "duration_s": (t_out.value - t_in.value) / 1e9, "status": status,
    }


def _iso(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso_index(idx: pd.DatetimeIndex) -> list[str]:
    return list(idx.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """Fast CSV with round-trip floats (pyarrow), quoting only where needed."""
    pacsv.write_csv(pa.Table.from_pandas(df, preserve_index=False), path,
                    pacsv.WriteOptions(quoting_style="needed"))


def orders_fills_from_trades(trades: pd.DataFrame, latency: bool = False):
    """One market order and one fill per trade entry and (closed) exit."""
    orders, fills = [], []
    for t in trades.itertuples(index=False):
        legs = [("buy", t.entry_ts, t.entry_price)]
        if t.status == "closed":
            legs.append(("sell", t.exit_ts, t.exit_price))
        for side, ts, px in legs:
            oid = len(orders)
            stamp = pd.Timestamp(int(ts), tz="UTC")
            orders.append({
                "order_id": oid, "time": _iso(stamp), "ts": int(ts), "symbol": t.symbol,
                "side": side, "type": "market", "tif": "gtc", "size": t.size,
                "limit_price": np.nan, "stop_price": np.nan, "status": "filled",
                "filled_size": t.size, "avg_fill_price": px, "reject_reason": "",
                "parent_id": -1, "tag": "",
            })
            fill = {
                "fill_id": len(fills), "order_id": oid, "time": _iso(stamp), "ts": int(ts),
                "symbol": t.symbol, "side": side, "size": t.size, "price": px,
                "fee": t.fees / len(legs), "liquidity": "taker", "slippage": 0.0,
            }
            if latency:
                fill["queue_ahead"] = float(oid % 7)
                fill["latency_ns"] = 250_000 + 1000 * oid
            fills.append(fill)
    return pd.DataFrame(orders), pd.DataFrame(fills)


def write_run(
    run_dir: Path,
    *,
    bars: dict[str, pd.DataFrame],
    equity: pd.Series,
    benchmark: pd.Series,
    exposure: pd.Series,
    trades: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    fills: pd.DataFrame | None = None,
    strategy: str = "sma_cross",
    params: dict | None = None,
    seed: int = 7,
    stats: dict | None = None,
) -> Path:
    """Write a run folder (docs/RUN_FOLDER.md) from pandas objects."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    params = params or {"n": 50}
    idx = equity.index
    eq = pd.DataFrame({
        "time": _iso_index(idx), "ts": ns(idx), "equity": equity.to_numpy(),
        "cash": equity.to_numpy() * (1 - exposure.to_numpy()),
        "exposure": exposure.to_numpy(), "net_exposure": exposure.to_numpy(),
        "positions_value": equity.to_numpy() * exposure.to_numpy(),
        "fees": np.zeros(len(idx)), "benchmark": benchmark.to_numpy(),
    })
    _write_csv(eq, run_dir / "equity.csv")
    trades.to_csv(run_dir / "trades.csv", index=False, float_format="%.17g")
    if orders is None or fills is None:
        orders, fills = orders_fills_from_trades(trades)
    orders.to_csv(run_dir / "orders.csv", index=False, float_format="%.17g")
    fills.to_csv(run_dir / "fills.csv", index=False, float_format="%.17g")
    frames = []
    for sym, df in bars.items():
        f = df.reset_index(drop=True)
        f.insert(0, "symbol", sym)
        f.insert(0, "ts", ns(df.index))
        frames.append(f)
    pd.concat(frames, ignore_index=True).to_parquet(run_dir / "prices.parquet", index=False)
    lines = [f'[strategy]\nname = {json.dumps(strategy)}\n', "[strategy.params]"]
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in params.items()]
    lines += ["", "[run]", "cash = 10000.0", f"seed = {seed}", ""]
    config = "\n".join(lines)
    (run_dir / "config.toml").write_text(config, encoding="utf-8")
    if stats is not None:
        (run_dir / "stats.json").write_text(json.dumps(stats, indent=1), encoding="utf-8")
    manifest = {
        "status": "complete",
        "versions": {"tapereader": "0.1.0", "python": platform.python_version(),
                     "numpy": np.__version__, "pandas": pd.__version__},
        "data": [{"symbol": s, "source": Path(d.attrs.get("source", "synthetic")).name,
                  "sha256": d.attrs.get("sha256", "")} for s, d in bars.items()],
        "seed": seed,
        "config_hash": hashlib.sha256(config.encode()).hexdigest(),
        "timings": {"load": 0.01, "compile": 0.0, "run": 0.02, "report": 0.0, "total": 0.03},
        "created_at": "2026-11-20T12:00:00Z",
        "counts": {"bars": int(len(idx)), "orders": int(len(orders)),
                   "fills": int(len(fills)), "trades": int(len(trades))},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return run_dir


def synthetic_bars(n: int, seed: int = 1, start: str = "2020-01-01", freq: str = "1min"):
    """A seeded random-walk OHLCV frame of ``n`` bars (for size and speed checks only)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="time")
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    spread = np.abs(rng.normal(0, 0.0005, n)) * close
    open_ = np.concatenate(([close[0]], close[:-1]))
    df = pd.DataFrame({"open": open_, "high": np.maximum(open_, close) + spread,
                       "low": np.minimum(open_, close) - spread, "close": close,
                       "volume": rng.integers(1, 1000, n).astype(float)}, index=idx)
    df.attrs["symbol"] = "SYN"
    return df


def synthetic_run(run_dir: Path, n_bars: int = 1_000_000, n_trades: int = 10_000, seed: int = 1,
                  freq: str = "1min") -> Path:
    """A long run: ``n_bars`` bars and about ``n_trades`` alternating long trades."""
    bars = synthetic_bars(n_bars, seed, freq=freq)
    rng = np.random.Generator(np.random.PCG64(seed + 1))
    cuts = np.sort(rng.choice(np.arange(1, n_bars - 1), size=2 * n_trades, replace=False))
    want = np.zeros(n_bars, dtype=bool)
    for a, b in cuts.reshape(-1, 2):
        want[a:b] = True
    close = bars["close"].to_numpy()
    ret = np.concatenate(([0.0], close[1:] / close[:-1] - 1.0))
    held = np.concatenate(([False], want[:-1]))
    equity = pd.Series(10_000.0 * np.cumprod(1.0 + np.where(held, ret, 0.0)), index=bars.index)
    trades = []
    for k, (a, b) in enumerate(cuts.reshape(-1, 2)):
        size = equity.iloc[a] / close[a]
        trades.append(_trade(k, bars, a, b, close[a], close[b], size, 0.0, "closed"))
    cols = list(trades[0].keys())
    tdf = pd.DataFrame(trades, columns=cols)
    return write_run(run_dir, bars={"SYN": bars}, equity=equity,
                     benchmark=buy_and_hold(bars["close"]),
                     exposure=pd.Series(want.astype(float), index=bars.index), trades=tdf,
                     strategy="random_entries", params={"n_trades": n_trades}, seed=seed)


def goog_run(run_dir: Path, *, symbol: str = "GOOG", params: dict | None = None,
             strategy: str = "sma_cross", n: int = 50) -> Path:
    """The GOOG demo-style run: SMA rule with a 0.1 % fee, benchmark buy-and-hold."""
    goog = bars_frame(GOOG)
    goog.attrs["symbol"] = symbol
    eq, units, trades = sma_rule(goog, n, fee=0.001)
    expo = units * goog["close"] / eq
    return write_run(run_dir, bars={symbol: goog}, equity=eq,
                     benchmark=buy_and_hold(goog["close"]), exposure=expo, trades=trades,
                     strategy=strategy, params=params or {"n": n})


def tick_run(run_dir: Path, n: int = 200) -> Path:
    """A tick run on real Binance futures trades (tardis sample): SMA rule over ``n`` ticks,
    equity at every tick, fills with queue position and latency (feed latency of the sample),
    prices resampled to one-second OHLC for the chart."""
    raw = pd.read_csv(TARDIS)
    idx = pd.DatetimeIndex(pd.to_datetime(raw["timestamp"], unit="us", utc=True), name="time")
    ticks = pd.DataFrame({"close": raw["price"].to_numpy(float)}, index=idx)
    ticks.attrs["symbol"] = "BTCUSDT"
    eq, units, trades = sma_rule(ticks, n, fee=0.0004)
    expo = units * ticks["close"] / eq
    orders, fills = orders_fills_from_trades(trades, latency=True)
    lat = (raw["local_timestamp"] - raw["timestamp"]).to_numpy() * 1000
    fills["latency_ns"] = lat[np.arange(len(fills)) % len(lat)].astype(np.int64)
    ohlc = ticks["close"].resample("1s").ohlc().dropna()
    ohlc["volume"] = raw.set_index(idx)["amount"].resample("1s").sum().reindex(ohlc.index)
    ohlc.index = ohlc.index + pd.Timedelta(seconds=1)  # close-time stamps
    ohlc.attrs.update(symbol="BTCUSDT", source=str(TARDIS))
    return write_run(run_dir, bars={"BTCUSDT": ohlc}, equity=eq,
                     benchmark=buy_and_hold(ticks["close"]), exposure=expo, trades=trades,
                     orders=orders, fills=fills, strategy="tick_sma", params={"n": n})
