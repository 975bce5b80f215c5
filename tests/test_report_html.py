"""The HTML report built from run folders made of real sample data (GOOG demo-style run, a tick
run on Binance trades) and a synthetic 1M-bar run for size."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from report_runs import SP500, bars_frame, goog_run, synthetic_run, tick_run

from data.errors import RunError
from reports.html import TEMPLATES, report_context, write_report
from reports.metrics import compute_stats
from reports.present import column_json, fmt
from reports.runfolder import read_run

EVIL_SYMBOL = "<script>alert(\"sym\")</script>'&"
EVIL_PARAM = "<script>alert('p')</script>"
EVIL_VALUE = "a\"b'c<b>d</b>"


@pytest.fixture(scope="module")
def goog_dir(tmp_path_factory):
    d = goog_run(tmp_path_factory.mktemp("runs") / "goog_sma")
    write_report(d)
    return d


@pytest.fixture(scope="module")
def tick_dir(tmp_path_factory):
    d = tick_run(tmp_path_factory.mktemp("runs") / "tick_sma")
    write_report(d)
    return d


@pytest.fixture(scope="module")
def evil_dir(tmp_path_factory):
    d = goog_run(tmp_path_factory.mktemp("runs") / "run_<b>\"x'", symbol=EVIL_SYMBOL,
                 params={EVIL_PARAM: EVIL_VALUE, "n": 50}, strategy="strat\"<i>")
    write_report(d)
    return d


def json_blob(html: str, element_id: str) -> dict:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert m, element_id
    return json.loads(m.group(1))


def test_goog_report_has_every_section(goog_dir):
    html = (goog_dir / "report.html").read_text(encoding="utf-8")
    for section in ("summary", "equity", "metrics", "returns", "prices", "exposure", "trades",
                    "drawdowns", "orders", "manifest", "conventions"):
        assert f'id="{section}"' in html, section
    for figure in ("equity-linear", "equity-log", "underwater", "yearly", "rolling",
                   "distribution", "price-0", "exposure-chart"):
        assert re.search(rf'id="{figure}"[^>]*>\s*<svg ', html), figure
    assert html.count('<svg ') >= 8
    assert 'id="monthly"' in html and ">2004<" in html and ">2013<" in html
    assert "Per closed trade" in html and "Relative to the benchmark" in html


def test_report_numbers_are_compute_stats_numbers(goog_dir):
    run = read_run(goog_dir)
    ctx = report_context(run)
    eq = run.equity["equity"]
    expected = compute_stats(eq, trades=run.trades, benchmark=run.equity["benchmark"],
                             fills=run.fills, exposure=run.equity["exposure"])
    for key in ("sharpe", "sortino", "cagr", "max_drawdown", "alpha", "beta", "win_rate"):
        assert ctx["stats"][key] == expected[key], key
    html = (goog_dir / "report.html").read_text(encoding="utf-8")
    assert fmt(expected["sharpe"], "ratio") in html
    assert f"{expected['max_drawdown'] * 100:.2f}%" in html  # headline and drawdown table
    assert ctx["drawdowns"][0]["depth"] == f"{expected['max_drawdown'] * 100:.2f}%"
    assert ctx["warnings"] == []  # stats recomputed == nothing to flag, benchmark present


def test_embedded_trades_round_trip_exactly(goog_dir):
    html = (goog_dir / "report.html").read_text(encoding="utf-8")
    trades = pd.read_csv(goog_dir / "trades.csv")
    blob = json_blob(html, "trades-data")
    assert blob["n"] == len(trades)
    cols = {c["name"]: c for c in blob["cols"]}
    entry = cols["entry_ts"]
    assert entry["unit"] == 1_000_000  # whole seconds
    ns = np.array(entry["values"], dtype=np.int64) * entry["unit"] * 1000
    np.testing.assert_array_equal(ns, trades["entry_ts"].to_numpy())
    np.testing.assert_allclose(cols["pnl"]["values"], trades["pnl"], rtol=1e-7)


def test_report_is_self_contained(goog_dir):
    html = (goog_dir / "report.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"\bsrc\s*=", html, re.I)
    assert "@import" not in html
    assert all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", html))  # clip paths
    # the only absolute URLs are XML namespace names inside the inline SVG
    for url in re.findall(r"https?://[^\s\"'<>)]+", html):
        assert url.startswith(("http://www.w3.org/", "http://purl.org/dc/",
                               "http://creativecommons.org/")), url
    assert re.findall(r'href="([^"]+)"', html) and all(
        h.startswith("#") for h in re.findall(r'href="([^"]+)"', html))


def test_user_and_data_strings_are_escaped(evil_dir):
    html = (evil_dir / "report.html").read_text(encoding="utf-8")
    # our own script elements only: JSON blobs with known ids and one inline script
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags.count("<script>") == 1
    assert all(re.fullmatch(r'<script type="application/json" id="(trades|orders|fills)-data">'
                            r'|<script type="application/json" id="(price-maps|symbol-index|'
                            r'prices-\d+)">|<script>', t) for t in tags), tags
    assert len(tags) == 7
    assert "alert(" not in re.sub(r"(&lt;|\\u003c)script(&gt;|\\u003e)alert\(", "", html)
    assert "&lt;script&gt;alert(&#34;sym&#34;)&lt;/script&gt;&#39;&amp;" in html
    assert "&lt;script&gt;alert(&#39;p&#39;)&lt;/script&gt;" in html
    assert "a&#34;b&#39;c&lt;b&gt;d&lt;/b&gt;" in html
    assert "strat&#34;&lt;i&gt;" in html
    assert "run_&lt;b&gt;&#34;x&#39;" in html
    # inside JSON the symbol survives exactly
    cols = {c["name"]: c for c in json_blob(html, "trades-data")["cols"]}
    assert cols["symbol"]["const"] == EVIL_SYMBOL
    assert EVIL_SYMBOL in json_blob(html, "symbol-index")
    # matplotlib legend text is XML-escaped too
    assert "&lt;script&gt;alert(&quot;sym&quot;)" in html or \
        "&lt;script&gt;alert(&#34;sym&#34;)" in html


def test_report_is_deterministic_and_written_atomically(goog_dir):
    first = (goog_dir / "report.html").read_bytes()
    out = write_report(goog_dir)
    assert out == goog_dir / "report.html"
    assert out.read_bytes() == first
    assert not list(goog_dir.glob("*.tmp-*"))


def test_tick_run_report_shows_queue_and_latency(tick_dir):
    html = (tick_dir / "report.html").read_text(encoding="utf-8")
    fills = pd.read_csv(tick_dir / "fills.csv")
    cols = {c["name"]: c for c in json_blob(html, "fills-data")["cols"]}
    assert "queue_ahead" in cols and "latency_ns" in cols
    assert cols["latency_ns"]["values"] == fills["latency_ns"].tolist()  # exact int64
    t = cols["ts"]
    assert t["unit"] == 1000  # the sample has millisecond stamps
    np.testing.assert_array_equal(np.array(t["values"], dtype=np.int64) * t["unit"] * 1000,
                                  fills["ts"].to_numpy())
    assert "with queue position and latency" in html
    assert "sampled period(s)" in html  # a two-hour run sampled daily is flagged
    assert re.search(r'id="price-0"[^>]*>\s*<svg ', html)


def test_report_without_optional_files(tmp_path, goog_dir):
    d = tmp_path / "bare"
    d.mkdir()
    shutil.copy(goog_dir / "equity.csv", d / "equity.csv")
    out = write_report(d)
    html = out.read_text(encoding="utf-8")
    assert "No prices.parquet in the run folder." in html
    assert "No manifest.json yet" in html
    assert json_blob(html, "trades-data")["n"] == 0


def test_missing_equity_is_a_clear_error(tmp_path):
    with pytest.raises(RunError, match="equity.csv is missing"):
        write_report(tmp_path)


def test_benchmark_override(goog_dir):
    sp = bars_frame(SP500)["close"]
    run = read_run(goog_dir)
    ctx = report_context(run, benchmark=sp)
    eq = run.equity["equity"]
    b = sp.reindex(eq.index, method="ffill").bfill()
    expected = compute_stats(eq, benchmark=b / b.iloc[0] * eq.iloc[0], trades=run.trades)
    assert ctx["stats"]["beta"] == pytest.approx(expected["beta"], rel=1e-12)
    assert ctx["stats"]["beta"] != report_context(run)["stats"]["beta"]


def test_column_json_escapes_and_keeps_precision():
    df = pd.DataFrame({"symbol": ["</script><!--", "x&y"], "size": [1.0, np.nan],
                       "latency_ns": [1234567890123, 5], "ts": [1_600_000_000_123_456_789, 0]})
    text = column_json(df, [("symbol", "S", "text"), ("size", "Z", "num"),
                            ("latency_ns", "L", "int"), ("ts", "T", "time")])
    assert "<" not in text and ">" not in text and "&" not in text
    cols = {c["name"]: c for c in json.loads(text)["cols"]}
    assert cols["symbol"]["values"] == ["</script><!--", "x&y"]
    assert cols["size"]["values"] == [1.0, None]
    assert cols["latency_ns"]["values"] == [1234567890123, 5]
    assert cols["ts"]["unit"] == 1 and cols["ts"]["values"] == [1_600_000_000_123_456, 0]


def test_included_assets_have_no_template_syntax():
    for name in ("report.js", "report.css"):
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert "{{" not in text and "{%" not in text and "{#" not in text
        assert "http" not in text.replace("http://www.w3.org/2000/svg", "")


def test_long_run_report_stays_small(tmp_path):
    """1M one-minute bars and 10k trades: the report stays under 5 MB."""
    d = synthetic_run(tmp_path / "long", n_bars=1_000_000, n_trades=10_000)
    out = write_report(d)
    size = out.stat().st_size
    assert size < 5_000_000, size
    html = out.read_text(encoding="utf-8")
    assert json_blob(html, "trades-data")["n"] == 10_000
    assert "orders in the middle of the run are not shown here" in html


def test_prices_with_datetime_ts_and_bad_columns(tmp_path, goog_dir):
    from data.errors import DataError
    from reports.runfolder import read_prices

    df = pd.read_parquet(goog_dir / "prices.parquet")
    alt = df.copy()
    alt["ts"] = pd.to_datetime(alt["ts"], utc=True).dt.as_unit("us")
    alt.to_parquet(tmp_path / "p.parquet")
    np.testing.assert_array_equal(read_prices(tmp_path / "p.parquet")["ts"], df["ts"])
    df.drop(columns=["symbol"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError) as err:
        read_prices(tmp_path / "bad.parquet")
    assert err.value.column == "symbol"
