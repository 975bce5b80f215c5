"""The run configuration: TOML file + flags + Python keywords -> one strictly validated config.

Sections and keys (every key optional except the strategy and the data):

```toml
[strategy]
name = "sma_cross"
params = { fast = 10, slow = 20 }
[data]
path = "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv"   # or a list, catalog://...
symbol = "GOOG"            # single file only
start = "2005-01-01"       # ISO, UTC when naive; inclusive
end = "2012-12-31"         # inclusive; a date alone means the whole (UTC) day
intrabar = "hourly.csv"    # finer bars that decide a bar reaching both a stop-loss and a
                           # take-profit (engine/intrabar.py); a list, or { SYM = path }
[broker]
cash = 10000.0
commission = 0.002         # or a table, see engine/costs.py
slippage = 0               # bps, or a table
fill_at = "next_open"      # or "signal_close"
lot_size = 1.0             # default: the instrument's (1 = whole units, 0 = fractional)
shortable = true           # lot_size, shortable, max_position: one value or { SYM = value }
max_position = inf
max_leverage = 1.0          # initial margin = 1 / max_leverage (checked at each fill adding exposure)
maintenance_margin = 0.0   # fraction of |position value| equity must cover at each close, else a
                           # margin call closes every position (one value or { SYM = value });
                           # 0: only a blown account (equity <= 0) is liquidated
volume_cap = 0.0           # max share of a bar's volume (0: no cap)
borrow_rate = 0.0          # annual, on short positions, accrued daily
[run]
seed = 0
mode = "auto"              # python | compiled | auto (python when the strategy has on_bar)
[metrics]                  # reports.metrics.Conventions
periods_per_year = "auto"
```

Unknown sections / keys and bad values raise :class:`ConfigError` naming the key, the value and
the nearest valid key. ``engine.run(**options)`` takes the same keys flat (``cash=...``,
``params={...}``, ``start=...``).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from data.errors import ConfigError
from engine.costs import Commission, Slippage, parse_commission, parse_slippage

SECTIONS: dict[str, tuple[str, ...]] = {
    "strategy": ("name", "params"),
    "data": ("path", "symbol", "start", "end", "intrabar"),
    "broker": ("cash", "commission", "slippage", "fill_at", "lot_size", "shortable",
               "max_position", "max_leverage", "maintenance_margin", "volume_cap",
               "borrow_rate"),
    "run": ("seed", "mode"),
    "metrics": ("periods_per_year", "risk_free", "ddof", "sampling", "var_level",
                "rolling_window", "step", "periods_basis"),
    # tick runs (order-book data): engine/tick/backtest.py TICK_KEYS, validated there
    "tick": ("book", "tick_size", "lot_size", "queue", "queue_power", "entry_latency",
             "response_latency", "feed_latency", "maker_fee", "taker_fee", "partial_fills",
             "impact", "impact_coef", "impact_tau_ns", "timer_ns", "sample_ns", "sample", "session",
             "calendar", "chunk_rows", "stop_trigger"),
}
#: flat option name -> (section, key)
FLAT: dict[str, tuple[str, str]] = {
    "strategy": ("strategy", "name"),
    "params": ("strategy", "params"),
    "data": ("data", "path"),
    "market": ("data", "path"),
    **{k: (sec, k) for sec in ("broker", "run") for k in SECTIONS[sec]},
    "symbol": ("data", "symbol"),
    "start": ("data", "start"),
    "end": ("data", "end"),
    "intrabar": ("data", "intrabar"),
    "metrics": ("metrics", "*"),
    "tick": ("tick", "*"),
}
FILL_AT = ("next_open", "signal_close")
MODES = ("auto", "python", "compiled")


def nearest(word: str, choices) -> str:
    m = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.0)
    return m[0] if m else ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    strategy: str = ""
    params: dict = dataclasses.field(default_factory=dict)
    data: tuple = ()
    symbol: str | None = None
    start: str | None = None
    end: str | None = None
    intrabar: str | tuple | dict | None = None  # finer bars (engine/intrabar.py); paths
    cash: float = 10_000.0
    commission: Commission = Commission(model="none")
    slippage: Slippage = Slippage()
    fill_at: str = "next_open"
    lot_size: float | dict | None = None  # one value or {symbol: value}
    shortable: bool | dict | None = None
    max_position: float | dict = math.inf
    max_leverage: float = 1.0
    maintenance_margin: float | dict = 0.0  # one value or {symbol: value}
    volume_cap: float = 0.0
    borrow_rate: float = 0.0
    seed: int = 0
    mode: str = "auto"
    metrics: dict = dataclasses.field(default_factory=dict)
    tick: dict = dataclasses.field(default_factory=dict)  # [tick]: order-book runs

    def to_dict(self) -> dict[str, Any]:
        """The nested TOML layout with every value resolved."""
        data: dict[str, Any] = {"path": list(self.data)}
        for k in ("symbol", "start", "end"):
            if getattr(self, k) is not None:
                data[k] = getattr(self, k)
        if self.intrabar is not None:  # (left out when absent: config digests stay)
            iv = self.intrabar
            data["intrabar"] = list(iv) if isinstance(iv, tuple) else iv
        broker: dict[str, Any] = {
            "cash": self.cash, "commission": self.commission.as_dict(),
            "slippage": self.slippage.as_dict(), "fill_at": self.fill_at,
            "max_position": self.max_position, "max_leverage": self.max_leverage,
            "volume_cap": self.volume_cap, "borrow_rate": self.borrow_rate,
        }
        if self.lot_size is not None:
            broker["lot_size"] = self.lot_size
        if self.shortable is not None:
            broker["shortable"] = self.shortable
        if self.maintenance_margin != 0.0:  # (left out at the default: config digests stay)
            broker["maintenance_margin"] = self.maintenance_margin
        out = {"strategy": {"name": self.strategy, "params": dict(self.params)},
               "data": data, "broker": broker, "run": {"seed": self.seed, "mode": self.mode}}
        if self.metrics:
            out["metrics"] = dict(self.metrics)
        if self.tick:
            out["tick"] = dict(self.tick)
        return out

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def digest(self) -> str:
        return hashlib.sha256(self.to_toml().encode()).hexdigest()


def _check_keys(section: str, table: Any, where: str) -> dict:
    if not isinstance(table, dict):
        raise ConfigError("expected a table", argument=f"{where}{section}", value=table,
                          fix=f"write [{section}] with keys {', '.join(SECTIONS[section])}")
    for k in table:
        if k not in SECTIONS[section]:
            raise ConfigError("unknown config key", argument=f"{section}.{k}", value=table[k],
                              fix=f"did you mean {section}.{nearest(k, SECTIONS[section])}? "
                                  f"valid keys: {', '.join(SECTIONS[section])}")
    return table


def load_toml(path: str | Path) -> dict:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config file not found", file=str(path), fix="check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(path),
                          fix="see engine/config.py for the layout") from None


def _num(v: Any, key: str, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError("expected a number", argument=key, value=v, fix="write a number")
    v = float(v)
    bad = v != v or (lo is not None and (v < lo or (lo_open and v == lo))) or (
        hi is not None and v > hi)
    if bad:
        rng = f"{'>' if lo_open else '>='} {lo}" if lo is not None else ""
        if hi is not None:
            rng += f" and <= {hi}"
        raise ConfigError(f"out of range (must be {rng.strip()})", argument=key, value=v,
                          fix=f"give a value {rng.strip()}")
    return v


def _bool(v: Any, key: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError("expected true or false", argument=key, value=v,
                          fix="write true or false")
    return v


def _per_symbol(v: Any, key: str, check) -> Any:
    """One value for every symbol, or a {symbol: value} table."""
    if isinstance(v, dict):
        if not v:
            raise ConfigError("empty per-symbol table", argument=key, value=v,
                              fix="give {SYMBOL = value, ...} or one value")
        return {str(s): check(x, f"{key}.{s}") for s, x in v.items()}
    return check(v, key)


def _intrabar(v: Any) -> str | tuple | dict:
    """[data] intrabar: a path, a list of paths or a {symbol: path} table; in-memory data
    (arrays, Bars) is kept as '<in-memory>' (engine.run loads it from the object)."""
    if isinstance(v, str | Path):
        return str(v)
    if isinstance(v, list | tuple):
        return tuple(str(x) if isinstance(x, str | Path) else "<in-memory>" for x in v)
    if isinstance(v, dict):
        return {str(k): (str(x) if isinstance(x, str | Path) else "<in-memory>")
                for k, x in v.items()}
    if hasattr(v, "dtype") or hasattr(v, "data"):
        return "<in-memory>"
    raise ConfigError("data.intrabar must be a path, a list of paths or a table of them",
                      argument="data.intrabar", value=v,
                      fix='intrabar = "hourly.csv" or intrabar = { SYM = "hourly.csv" }')


def resolve_config(config: Any = None, **options: Any) -> RunConfig:
    """Merge a config (path, dict or RunConfig) with flat options (which win) and validate."""
    if isinstance(config, RunConfig):
        base = config.to_dict()
    elif isinstance(config, str | Path):
        base = load_toml(config)
    elif config is None:
        base = {}
    elif isinstance(config, dict):
        base = dict(config)
    else:
        raise ConfigError("config must be a TOML path, a dict or a RunConfig",
                          argument="config", value=type(config).__name__, fix="pass a path")
    tree: dict[str, dict] = {}
    for sec, table in base.items():
        if sec not in SECTIONS:
            raise ConfigError("unknown config section", argument=sec, value=table,
                              fix=f"did you mean [{nearest(sec, SECTIONS)}]? "
                                  f"sections: {', '.join(SECTIONS)}")
        tree[sec] = dict(_check_keys(sec, table, ""))
    for k, v in options.items():
        if v is None:
            continue
        if k not in FLAT:
            raise ConfigError("unknown option", argument=k, value=v,
                              fix=f"did you mean {nearest(k, FLAT)!r}? valid: {', '.join(FLAT)}")
        sec, key = FLAT[k]
        if key == "*":
            tree.setdefault(sec, {}).update(_check_keys(sec, v, ""))
        elif key == "params":
            tree.setdefault(sec, {}).setdefault("params", {})
            tree[sec]["params"] = {**tree[sec]["params"], **dict(v)}
        else:
            tree.setdefault(sec, {})[key] = v
    s, d = tree.get("strategy", {}), tree.get("data", {})
    b, r = tree.get("broker", {}), tree.get("run", {})
    kw: dict[str, Any] = {}
    name = s.get("name", "")
    if not isinstance(name, str):
        name = getattr(name, "name", None) or type(name).__name__
    kw["strategy"] = name
    params = s.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError("strategy.params must be a table", argument="strategy.params",
                          value=params, fix="params = { fast = 10, slow = 20 }")
    kw["params"] = dict(params)
    path = d.get("path", ())
    if isinstance(path, str | Path):
        path = (str(path),)
    elif isinstance(path, list | tuple) and all(isinstance(x, str | Path) for x in path):
        path = tuple(str(x) for x in path)
    else:
        path = ("<in-memory>",)
    kw["data"] = path
    for k in ("symbol", "start", "end"):
        if k in d and d[k] is not None:
            if not isinstance(d[k], str):
                d[k] = str(d[k])
            kw[k] = d[k]
    if d.get("intrabar") is not None:
        kw["intrabar"] = _intrabar(d["intrabar"])
    if "cash" in b:
        kw["cash"] = _num(b["cash"], "broker.cash", lo=0.0, lo_open=True)
    kw["commission"] = parse_commission(b.get("commission"))
    kw["slippage"] = parse_slippage(b.get("slippage"))
    fill_at = b.get("fill_at", "next_open")
    if fill_at not in FILL_AT:
        raise ConfigError("unknown fill_at", argument="broker.fill_at", value=fill_at,
                          fix=f"did you mean {nearest(fill_at, FILL_AT)!r}? "
                              f"valid: {', '.join(FILL_AT)}")
    kw["fill_at"] = fill_at
    if b.get("lot_size") is not None:
        kw["lot_size"] = _per_symbol(b["lot_size"], "broker.lot_size",
                                     lambda v, k: _num(v, k, lo=0.0))
    if "shortable" in b:
        kw["shortable"] = _per_symbol(b["shortable"], "broker.shortable", _bool)
    if "max_position" in b:
        kw["max_position"] = _per_symbol(b["max_position"], "broker.max_position",
                                         lambda v, k: _num(v, k, lo=0.0, lo_open=True))
    if "max_leverage" in b:
        kw["max_leverage"] = _num(b["max_leverage"], "broker.max_leverage", lo=0.0, lo_open=True)
    if "maintenance_margin" in b:
        lev = kw.get("max_leverage", 1.0)

        def _maint(v, k):
            v = _num(v, k, lo=0.0, hi=1.0)
            if v >= 1.0 or v * lev >= 1.0:
                raise ConfigError("maintenance margin must be below the initial margin "
                                  f"1 / max_leverage = {1.0 / lev:g} (and below 1)", argument=k,
                                  value=v, fix=f"give a fraction < {min(1.0, 1.0 / lev):g}, "
                                               "e.g. 0.25, or lower max_leverage")
            return v

        kw["maintenance_margin"] = _per_symbol(b["maintenance_margin"],
                                               "broker.maintenance_margin", _maint)
    if "volume_cap" in b:
        kw["volume_cap"] = _num(b["volume_cap"], "broker.volume_cap", lo=0.0, hi=1.0)
    if "borrow_rate" in b:
        kw["borrow_rate"] = _num(b["borrow_rate"], "broker.borrow_rate", lo=0.0, hi=10.0)
    if "seed" in r:
        if isinstance(r["seed"], bool) or not isinstance(r["seed"], int) or r["seed"] < 0:
            raise ConfigError("seed must be an integer >= 0", argument="run.seed",
                              value=r["seed"], fix="e.g. seed = 42")
        kw["seed"] = int(r["seed"])
    mode = r.get("mode", "auto")
    if mode not in MODES:
        raise ConfigError("unknown run mode", argument="run.mode", value=mode,
                          fix=f"did you mean {nearest(mode, MODES)!r}? valid: {', '.join(MODES)}")
    kw["mode"] = mode
    if "metrics" in tree:
        from reports.runfolder import conventions_from

        try:
            conventions_from(tree["metrics"])
        except Exception as exc:  # Conventions validates with ConfigError / ValueError
            raise ConfigError(f"bad metrics conventions: {exc}", argument="metrics",
                              value=tree["metrics"], fix="see docs/metrics.md") from None
        kw["metrics"] = dict(tree["metrics"])
    if "tick" in tree:
        kw["tick"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in tree["tick"].items()}
    return RunConfig(**kw)


# --- a small TOML writer for the resolved config (tomllib only reads) --------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        return '""'
    if hasattr(v, "item"):
        return _value(v.item())
    return json.dumps(str(v))


def dumps_toml(tree: dict[str, dict]) -> str:
    lines = []
    for sec, table in tree.items():
        lines.append(f"[{_key(sec)}]")
        for k, v in table.items():
            lines.append(f"{_key(str(k))} = {_value(v)}")
        lines.append("")
    return "\n".join(lines)
