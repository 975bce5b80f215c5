"""The report in headless Chromium (Debian's ``chromium``; .ci/run installs it).

No browser download: playwright drives the system Chromium. Without it these tests FAIL (they
do not skip): CI must run them.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from report_runs import goog_run, tick_run

from reports.compare import write_compare
from reports.html import write_report

pytestmark = pytest.mark.browser

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EVIL_SYMBOL = "<img src=x onerror=alert(1)>\"'"


def chromium_path() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("headless Chromium not found (looked for /usr/bin/chromium, chromium, "
                "chromium-browser on PATH). Install it: sudo apt-get install chromium "
                "(.ci/run does this in CI).", pytrace=False)


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    goog = goog_run(base / "goog")
    tick = tick_run(base / "tick")
    evil = goog_run(base / "evil", symbol=EVIL_SYMBOL, params={"<b>x</b>": "\"'<i>"})
    for d in (goog, tick, evil):
        write_report(d)
    cmp, _ = write_compare([goog, tick], base / "compare.html")
    return {"goog": goog / "report.html", "tick": tick / "report.html",
            "evil": evil / "report.html", "compare": cmp,
            "binance_mm": _engine_tick_run("tick_mm_binance.toml", base / "binance_mm"),
            "goog_mm": _engine_tick_run("tick_mm_goog.toml", base / "goog_mm")}


def _engine_tick_run(example: str, out: Path) -> Path:
    """A real tick run through engine.run (tick simulator, queue + latency), run folder + report."""
    import warnings

    import engine

    root = Path(__file__).resolve().parents[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Binance capture's receive-time warning
        res = engine.run(str(root / "examples" / example))
    assert len(res.fills_rec) > 0
    res.save(out, report=True)
    return out / "report.html"


class Page:
    """A page opened on a local file, recording console errors, dialogs and every request
    (anything but the file itself is aborted)."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.errors, self.requests, self.dialogs = [], [], []
        self.url = path.resolve().as_uri()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r):
            self.requests.append(r.request.url)
            if r.request.url == self.url:
                r.continue_()
            else:
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def close(self):
        self.page.close()


@pytest.fixture
def open_page(browser):
    pages = []

    def _open(path):
        p = Page(browser, path)
        pages.append(p)
        return p

    yield _open
    for p in pages:
        p.close()


@pytest.mark.parametrize("name", ["goog", "tick", "evil", "compare", "binance_mm", "goog_mm"])
def test_loads_without_errors_or_network(open_page, reports, name):
    p = open_page(reports[name])
    p.page.wait_for_timeout(200)
    assert p.errors == []
    assert p.requests == [p.url]
    assert p.dialogs == []


def _pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]


@pytest.mark.parametrize("name", ["goog", "tick", "binance_mm", "goog_mm"])
def test_charts_are_present_and_not_blank(open_page, reports, name):
    p = open_page(reports[name])
    ids = ["equity-linear", "underwater", "price-0", "exposure-chart"]
    if name == "goog":
        ids += ["yearly", "rolling", "distribution"]
    for fid in ids:
        el = p.page.locator(f"#{fid} svg")
        assert el.count() == 1, fid
        box = el.bounding_box()
        assert box["width"] > 500 and box["height"] > 100, (fid, box)
        img = _pixels(el.screenshot())
        ink = np.any(img < 0.9, axis=2).mean()  # share of non-white pixels
        colours = len(np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0))
        assert 0.01 < ink < 0.9, (fid, ink)
        assert colours > 5, (fid, colours)


def _column(page, table_id: str, col: int) -> list[str]:
    return page.locator(f"#{table_id} tbody tr td:nth-child({col})").all_inner_texts()


def test_trades_table_sorts_on_click(open_page, reports):
    p = open_page(reports["goog"])
    trades = pd.read_csv(reports["goog"].parent / "trades.csv")
    headers = p.page.locator("#trades-table thead th").all_inner_texts()
    col = headers.index("P&L") + 1
    p.page.click("#trades-table thead th[data-col=pnl]")
    shown = [float(t.replace(",", "")) for t in _column(p.page, "trades-table", col)]
    expected = np.sort(trades["pnl"].to_numpy())[:len(shown)]
    np.testing.assert_allclose(shown, expected, atol=0.006)
    assert p.page.get_attribute("#trades-table th[data-col=pnl]", "aria-sort") == "ascending"
    p.page.click("#trades-table thead th[data-col=pnl]")
    shown = [float(t.replace(",", "")) for t in _column(p.page, "trades-table", col)]
    np.testing.assert_allclose(shown, np.sort(trades["pnl"].to_numpy())[::-1][:len(shown)],
                               atol=0.006)
    # sorting by a text-and-time column works too (entry time ascending = trade order)
    p.page.click("#trades-table thead th[data-col=entry_ts]")
    ids = [int(t) for t in _column(p.page, "trades-table", 1)]
    assert ids == sorted(ids)
    assert p.errors == []


@pytest.mark.parametrize("name", ["binance_mm", "goog_mm"])
def test_engine_tick_run_fills_and_price_markers(open_page, reports, name):
    """Orders and fills of a real tick run show queue position and latency, sort by latency,
    and the fills are marked on the mid-price chart."""
    p = open_page(reports[name])
    fills = pd.read_csv(reports[name].parent / "fills.csv")
    assert "with queue position and latency" in p.page.inner_text("body")
    headers = p.page.locator("#fills-table thead th").all_inner_texts()
    assert "Queue ahead" in headers and "Latency (ns)" in headers
    col = headers.index("Latency (ns)") + 1
    p.page.click("#fills-table thead th[data-col=latency_ns]")
    shown = [int(t.replace(",", "")) for t in _column(p.page, "fills-table", col)]
    assert shown == sorted(fills["latency_ns"].to_numpy())[:len(shown)] and len(shown) > 0
    assert p.page.locator("#orders-table tbody tr").count() > 0
    assert p.page.locator("#price-0 svg g.trade-markers path").count() >= 1
    assert "periods per year" in p.page.inner_text("body")
    assert p.errors == []


def test_filter_and_pages(open_page, reports):
    p = open_page(reports["tick"])
    n = len(pd.read_csv(reports["tick"].parent / "trades.csv"))
    count = p.page.locator("#trades-table .tools span").first
    assert count.inner_text() == f"{n} of {n} rows"
    assert p.page.locator("#trades-table tbody tr").count() == min(50, n)
    p.page.fill("#trades-table input[type=search]", "open")
    assert p.page.locator("#trades-table tbody tr").count() == 1
    p.page.fill("#trades-table input[type=search]", "")
    p.page.click("#trades-table button:has-text('next')")
    assert p.page.locator("#trades-table tbody tr").count() == n - 50


def test_clicking_a_trade_shows_it_on_the_price_chart(open_page, reports):
    p = open_page(reports["goog"])
    assert p.page.locator("#price-0 svg g.trade-markers path").count() >= 2
    p.page.click("#trades-table tbody tr:nth-child(3)")
    assert p.page.locator("#price-0 svg g.trade-highlight rect").count() == 1
    caption = p.page.inner_text("#caption-0")
    trade = pd.read_csv(reports["goog"].parent / "trades.csv").iloc[2]
    assert caption.startswith(f"Trade {trade['trade_id']}: long")
    assert f"{trade['entry_price']}" in caption
    # the zoom under the chart: prices around the trade, entry and exit marked
    assert p.page.is_visible("#detail-0 svg.detail-chart")
    assert p.page.locator("#detail-0 svg circle").count() == 2
    assert p.page.locator("#detail-0 svg path").count() == 1
    box = p.page.locator("#price-0 svg g.trade-highlight rect").bounding_box()
    chart = p.page.locator("#price-0 svg").bounding_box()
    assert chart["x"] <= box["x"] <= chart["x"] + chart["width"]


def test_log_scale_toggle(open_page, reports):
    p = open_page(reports["goog"])
    assert p.page.is_visible("#equity-linear svg") and not p.page.is_visible("#equity-log svg")
    p.page.check("#logscale")
    assert p.page.is_visible("#equity-log svg") and not p.page.is_visible("#equity-linear svg")


def test_hostile_symbol_is_shown_as_text(open_page, reports):
    p = open_page(reports["evil"])
    p.page.click("#trades-table tbody tr:nth-child(1)")
    p.page.wait_for_timeout(100)
    assert p.dialogs == [] and p.errors == []
    assert EVIL_SYMBOL in p.page.inner_text("#summary")
    assert EVIL_SYMBOL in p.page.inner_text("#trades-table tbody tr:nth-child(1)")
    assert p.page.locator("img").count() == 0
    assert p.page.locator("#trades-table svg g.trade-highlight").count() == 0
    assert p.page.locator("#price-0 svg g.trade-highlight").count() == 1
