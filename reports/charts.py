"""matplotlib charts rendered to inline SVG strings for the HTML report.

No pyplot (no global figure state): each chart is a ``Figure`` at 72 dpi (1 px = 1 SVG unit),
text kept as text (``svg.fonttype = none``), a fixed hash salt per chart so element ids are
deterministic and unique within one page, and no date metadata (identical runs give identical
files). Every chart is built and saved inside :func:`style` (matplotlib's defaults plus this
module's settings), so the caller's rcParams (a notebook's style, a library that restyles
pyplot on import) never change a report. Long series are decimated with
:mod:`reports.decimate` before plotting.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import re

import matplotlib
import matplotlib.dates as mdates
import matplotlib.style
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from reports.decimate import envelope, minmax_decimate, minmax_decimate_multi

NS_PER_DAY = 86_400 * 1_000_000_000
BUCKETS = 1500
WIDTH = 9.6  # inches at 72 dpi = 691 px
GREEN, RED, BLUE, GREY, ORANGE = "#1a9850", "#d73027", "#2166ac", "#888888", "#e08214"

_RC = {
    "svg.fonttype": "none",
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#999999",
    "legend.frameon": False,
    "path.simplify": True,
    "path.simplify_threshold": 0.5,
}


@contextlib.contextmanager
def style():
    """The charts' fixed matplotlib settings, whatever rcParams the caller left: matplotlib's
    defaults, then :data:`_RC`; time zone UTC (``timezone`` is not part of a style). The
    caller's rcParams are back when the block ends."""
    with matplotlib.style.context(["default", _RC]), matplotlib.rc_context({"timezone": "UTC"}):
        yield


def styled(fn):
    """Decorator: build (and save) the chart inside :func:`style`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with style():
            return fn(*args, **kwargs)

    return wrapper


def safe_label(text: str) -> str:
    """A user string made safe for matplotlib (no mathtext); XML escaping is matplotlib's."""
    return str(text).replace("$", r"\$")


def days(ts_ns: np.ndarray) -> np.ndarray:
    """int64 ns -> matplotlib date numbers (days since 1970-01-01)."""
    return np.asarray(ts_ns, dtype=np.int64) / NS_PER_DAY


def _figure(height: float, nrows: int = 1, sharex: bool = True, ratios=None):
    fig = Figure(figsize=(WIDTH, height), dpi=72)
    axes = fig.subplots(nrows, 1, sharex=sharex, squeeze=False,
                        gridspec_kw={"height_ratios": ratios} if ratios else None)[:, 0]
    fig.subplots_adjust(left=0.085, right=0.985, top=0.95, bottom=0.12 if nrows == 1 else 0.08,
                        hspace=0.12)
    return fig, list(axes)


def _date_axis(ax) -> None:
    loc = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def to_svg(fig: Figure, salt: str) -> str:
    """Serialise to an inline ``<svg>`` (no XML prolog, no metadata, responsive width)."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    svg = re.sub(r'<svg ([^>]*?)width="[\d.]+pt" height="[\d.]+pt"',
                 r'<svg \1class="chart" role="img" preserveAspectRatio="xMinYMin meet"', svg,
                 count=1)
    return svg


def pct_tick(v: float, _pos=None) -> str:
    """A fraction as a percent tick label with the digits it needs: 0.075 -> '7.5%' (a
    0-decimal formatter printed 2.5%-spaced ticks as '2%, 5%, 8%, 10%'), 0.1 -> '10%'."""
    text = f"{v * 100:.2f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text) + "%"


def render(fig: Figure, salt: str) -> str:
    """Save a figure built by the caller (inside :func:`style`, see :func:`styled`)."""
    with style():
        return to_svg(fig, salt)


def equity_chart(ts: np.ndarray, equity: np.ndarray, benchmark: np.ndarray | None,
                 *, log: bool, salt: str) -> str:
    """Equity against the benchmark (both in account currency); ``log`` y scale if asked."""
    with style():
        fig, (ax,) = _figure(3.4)
        ys = [equity] if benchmark is None else [equity, benchmark]
        x, ys = minmax_decimate_multi(days(ts), ys, BUCKETS)
        if benchmark is not None:
            ax.plot(x, ys[1], color=GREY, lw=1.0, label="benchmark (buy and hold)")
        ax.plot(x, ys[0], color=BLUE, lw=1.3, label="strategy")
        if log and np.all(np.concatenate(ys) > 0):
            ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.legend(loc="upper left")
        _date_axis(ax)
        return to_svg(fig, salt)


def drawdown_chart(ts: np.ndarray, dd: np.ndarray, *, salt: str) -> str:
    """Underwater curve: drawdown from the running peak (fractions shown as percent)."""
    with style():
        fig, (ax,) = _figure(2.2)
        x, y = minmax_decimate(days(ts), dd, BUCKETS)
        ax.fill_between(x, y, 0.0, color=RED, alpha=0.35, lw=0)
        ax.plot(x, y, color=RED, lw=0.7)
        ax.set_ylim(min(float(np.min(y)) * 1.05, -0.01), 0.0)
        ax.yaxis.set_major_formatter(FuncFormatter(pct_tick))
        _date_axis(ax)
        return to_svg(fig, salt)


def yearly_chart(years: np.ndarray, strat: np.ndarray, bench: np.ndarray | None, *,
                 salt: str) -> str:
    with style():
        fig, (ax,) = _figure(2.4)
        pos = np.arange(len(years))
        w = 0.4 if bench is not None else 0.7
        ax.bar(pos - (w / 2 if bench is not None else 0), strat, width=w,
               color=[GREEN if v >= 0 else RED for v in strat], label="strategy")
        if bench is not None:
            ax.bar(pos + w / 2, bench, width=w, color=GREY, alpha=0.7)
            ax.legend(handles=[Patch(color=GREEN, label="strategy (red: loss)"),
                               Patch(color=GREY, alpha=0.7, label="benchmark")],
                      loc="best")
        ax.axhline(0, color="#555555", lw=0.8)
        ax.set_xticks(pos, [str(y) for y in years], rotation=0 if len(years) < 16 else 60)
        ax.yaxis.set_major_formatter(FuncFormatter(pct_tick))
        ax.grid(axis="x", visible=False)
        return to_svg(fig, salt)


def rolling_chart(ts: np.ndarray, sharpe: np.ndarray, vol: np.ndarray, window: int, *,
                  salt: str) -> str:
    with style():
        fig, (a1, a2) = _figure(3.4, 2)
        ok = np.isfinite(sharpe) & np.isfinite(vol)
        if ok.any():
            x, (s, v) = minmax_decimate_multi(days(ts[ok]), [sharpe[ok], vol[ok]], BUCKETS)
            a1.plot(x, s, color=BLUE, lw=1.0)
            a2.plot(x, v, color=ORANGE, lw=1.0)
        a1.axhline(0, color="#555555", lw=0.8)
        a1.set_ylabel(f"Sharpe ({window})")
        a2.set_ylabel(f"volatility ({window})")
        a2.yaxis.set_major_formatter(FuncFormatter(pct_tick))
        _date_axis(a2)
        return to_svg(fig, salt)


def distribution_chart(r: np.ndarray, var: float, cvar: float, level: float, *,
                       salt: str) -> str:
    """Histogram of period returns with a fitted normal density and the VaR / CVaR lines."""
    with style():
        fig, (ax,) = _figure(2.6)
        r = r[np.isfinite(r)]
        if r.size:
            bins = int(np.clip(np.sqrt(r.size) * 2, 10, 120))
            ax.hist(r, bins=bins, density=True, color=BLUE, alpha=0.6, lw=0)
            sd = float(np.std(r, ddof=1)) if r.size > 1 else 0.0
            if sd > 0:
                xs = np.linspace(r.min(), r.max(), 200)
                pdf = np.exp(-0.5 * ((xs - r.mean()) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
                ax.plot(xs, pdf, color=GREY, lw=1.0, label="normal fit")
            pct = round((1 - level) * 100, 2)
            for v, color, name in ((var, ORANGE, f"VaR {pct:g}%"), (cvar, RED, f"CVaR {pct:g}%")):
                if v is not None and math.isfinite(v):
                    ax.axvline(v, color=color, lw=1.2, ls="--", label=name)
            ax.legend(loc="upper right")
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.set_yticks([])
        return to_svg(fig, salt)


def price_chart(ts: np.ndarray, close: np.ndarray, low: np.ndarray, high: np.ndarray,
                extra_prices: np.ndarray, *, salt: str) -> tuple[str, dict]:
    """Close line (decimated, with the high-low range as a band when there is one) and the
    data -> SVG coordinate map the page script uses to draw entries / exits on top."""
    with style():
        fig, (ax,) = _figure(3.2)
        d = days(ts)
        if np.any(high > low):
            xe, lo, hi = envelope(d, low, high, BUCKETS // 2)
            ax.fill_between(xe, lo, hi, color=BLUE, alpha=0.15, lw=0)
        else:
            lo, hi = low, high
        x, c = minmax_decimate(d, close, BUCKETS)
        ax.plot(x, c, color=BLUE, lw=0.9)
        finite = extra_prices[np.isfinite(extra_prices)]
        y_lo = float(np.nanmin(np.concatenate((lo, finite))))
        y_hi = float(np.nanmax(np.concatenate((hi, finite))))
        pad = (y_hi - y_lo) * 0.04 or abs(y_hi) * 0.01 or 1.0
        ax.set_ylim(y_lo - pad, y_hi + pad)
        ax.set_xlim(d[0], d[-1] if d[-1] > d[0] else d[0] + 1)
        _date_axis(ax)
        svg = to_svg(fig, salt)
        height = fig.get_figheight() * 72
        (xl0, xl1), (yl0, yl1) = ax.get_xlim(), ax.get_ylim()
        (xa, ya), (xb, yb) = ax.transData.transform([(xl0, yl0), (xl1, yl1)])
        bbox = ax.get_window_extent()
    mapping = {
        "x0": xl0, "sx": (xb - xa) / (xl1 - xl0), "px": float(xa),
        "y0": yl0, "sy": (yb - ya) / (yl1 - yl0), "py": float(ya), "h": height,
        "clip": [float(bbox.x0), float(height - bbox.y1), float(bbox.width), float(bbox.height)],
    }
    return svg, mapping


def exposure_chart(ts: np.ndarray, gross: np.ndarray | None, net: np.ndarray | None,
                   positions: dict[str, tuple[np.ndarray, np.ndarray]], *, salt: str) -> str:
    """Gross / net exposure (top) and position size per symbol (bottom, step lines)."""
    with style():
        fig, (a1, a2) = _figure(3.6, 2)
        ys = [y for y in (gross, net) if y is not None]
        if ys:
            x, ys = minmax_decimate_multi(days(ts), ys, BUCKETS)
            if gross is not None:
                a1.plot(x, ys[0], color=BLUE, lw=0.9, drawstyle="steps-post", label="gross")
            if net is not None:
                a1.plot(x, ys[-1], color=ORANGE, lw=0.9, drawstyle="steps-post", label="net")
            a1.legend(loc="upper left")
        a1.yaxis.set_major_formatter(FuncFormatter(pct_tick))
        a1.set_ylabel("exposure")
        for i, (sym, (pts, size)) in enumerate(sorted(positions.items())[:12]):
            x, y = minmax_decimate(days(pts), size, BUCKETS)
            a2.plot(x, y, lw=0.9, drawstyle="steps-post", label=safe_label(sym),
                    color=matplotlib.colormaps["tab10"](i % 10))
        if positions:
            a2.legend(loc="upper left", ncols=min(4, len(positions)))
        a2.set_ylabel("position (units)")
        a2.axhline(0, color="#555555", lw=0.6)
        _date_axis(a2)
        return to_svg(fig, salt)


def overlay_equity_chart(series: list[tuple[str, np.ndarray, np.ndarray]], *, log: bool,
                         salt: str) -> str:
    """Several runs' equity normalised to 1 at their start (for ``tape compare``)."""
    with style():
        fig, (ax,) = _figure(3.8)
        cmap = matplotlib.colormaps["tab10"]
        positive = True
        for i, (label, ts, eq) in enumerate(series):
            x, y = minmax_decimate(days(ts), eq / eq[0], BUCKETS)
            positive &= bool(np.all(y > 0))
            ax.plot(x, y, lw=1.1, color=cmap(i % 10), label=safe_label(label))
        if log and positive:
            ax.set_yscale("log")
        ax.legend(loc="upper left")
        _date_axis(ax)
        return to_svg(fig, salt)


@functools.lru_cache(maxsize=1)
def _rdylgn():
    """The colormap, built once (``matplotlib.colormaps[...]`` returns a new copy that builds
    its lookup table at the first call: ~0.15 ms per cell of a 1,000-cell sweep heatmap)."""
    return matplotlib.colormaps["RdYlGn"]


def heat_color(v: float | None, scale: float) -> str:
    """Background colour of a monthly-return cell (red below 0, green above, white at 0)."""
    if v is None or not math.isfinite(v) or scale <= 0:
        return "#f4f4f4"
    t = max(-1.0, min(1.0, v / scale))
    r, g, b = _rdylgn()(0.5 + 0.45 * t)[:3]
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"
