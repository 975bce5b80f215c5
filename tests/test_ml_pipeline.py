"""End to end: `tape ml run` / `tape ml audit`, the run folder's model files and the report's
model section, and ml_signal through `engine.run`."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main

PARAMS = ('{ features = "ret_1,ret_4,rsi_14,vol_24", mtf = "D:ret_1", horizon = 4, '
          'n_estimators = 5, max_depth = 3, min_samples_leaf = 20, first_test = 600, '
          'retrain_every = 300, embargo = 4, min_train = 100, forward_test = 0.25, seed = 3 }')


@pytest.fixture()
def config(tmp_path, samples):
    path = tmp_path / "ml.toml"
    data = (samples / "crypto" / "Bitstamp_BTCUSD_1h_2018-2022.csv.gz").as_posix()
    path.write_text(f"""
[strategy]
name = "ml_signal"
params = {PARAMS}
[data]
path = "{data}"
start = "2019-01-01"
end = "2019-03-15"
[broker]
cash = 10000.0
commission = 0.001
lot_size = 0
""")
    return path


def test_ml_run_writes_model_files_and_report(config, tmp_path):
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = CliRunner().invoke(main, ["ml", "run", str(config), "-o", str(out), "--audit", "2"])
    assert r.exit_code == 0, r.output
    assert "development: n=" in r.output and "forward_test: n=" in r.output
    assert "leakage audit: passed" in r.output
    doc = json.loads((out / "model.json").read_text())
    assert doc["format"] == "tapereader.ml.v1" and doc["audit"]["ok"]
    ev = doc["evaluation"]
    assert ev["task"] == "classification"
    for period in ("development", "forward_test"):
        m = ev[period]
        assert m["n"] > 100 and 0 <= m["accuracy"] <= 1 and 0 <= m["auc"] <= 1
        assert sum(b["n"] for b in m["calibration"]) == m["n"]
        assert ev["trading"][period]["total_return"] is not None
    assert [f["fold"] for f in ev["folds"]] == list(range(len(ev["folds"])))
    assert set(ev["importance"]) == set(doc["features"])
    # development + forward test cover exactly the scored predictions
    import pandas as pd

    pred = pd.read_csv(out / "predictions.csv")
    scored = pred.dropna(subset=["score", "label"])
    assert len(scored) == ev["development"]["n"] + ev["forward_test"]["n"]
    assert (pred[pred["period"] == "forward_test"]["ts"] >= pred[pred["period"] == "development"]["ts"].max()).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["strategy"] == "ml_signal"
    html = (out / "report.html").read_text()
    assert 'id="model"' in html and 'id="model-folds"' in html and "Leakage audit: <b>passed" in html


def test_ml_audit_command_passes_then_fails_on_an_injected_leak(config, monkeypatch):
    import strategies.ml.features as F

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok = CliRunner().invoke(main, ["ml", "audit", str(config), "--cuts", "2"])
        assert ok.exit_code == 0, ok.output
        assert "passed: 2 cuts" in ok.output
        honest = F.bar_feature

        def leaky(bars, nm):
            out = honest(bars, nm)
            if nm == "rsi_14":  # shifted one bar into the future
                out = np.r_[out[1:], np.nan]
            return out

        monkeypatch.setattr(F, "bar_feature", leaky)
        bad = CliRunner().invoke(main, ["ml", "audit", str(config), "--cuts", "2"])
    assert bad.exit_code == 1
    assert "look-ahead detected in ['position', 'rsi_14', 'score']" in bad.output or \
        "rsi_14" in bad.output and "DIFFERS" in bad.output
    # --json: the full result, ok false, naming what leaked; -q: only the error; both exit 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad_json = CliRunner().invoke(main, ["ml", "audit", str(config), "--cuts", "2", "--json"])
        bad_quiet = CliRunner().invoke(main, ["ml", "audit", str(config), "--cuts", "2", "-q"])
    assert bad_json.exit_code == 1 and bad_quiet.exit_code == 1
    doc = json.loads(bad_json.stdout)
    assert doc["ok"] is False and doc["n_cuts"] == 2 and "rsi_14" in doc["leaks"]
    assert "rsi_14" in doc["cuts"][0]["diffs"] or "rsi_14" in doc["cuts"][1]["diffs"]
    assert bad_quiet.stdout == "" and "look-ahead detected" in bad_quiet.stderr


def test_ml_run_and_audit_json_and_quiet(config, tmp_path):
    """--json: one document with the numbers the text shows (the same as model.json and
    stats.json); --quiet: nothing on success."""
    out = tmp_path / "run"
    args = ["ml", "run", str(config), "-o", str(out), "--audit", "2", "--no-report"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = CliRunner().invoke(main, args + ["--json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        text = CliRunner().invoke(main, args)
        quiet = CliRunner().invoke(main, args + ["-q"])
        audit_json = CliRunner().invoke(main, ["ml", "audit", str(config), "--cuts", "2",
                                               "--json"])
        audit_quiet = CliRunner().invoke(main, ["ml", "audit", str(config), "--cuts", "2",
                                                "--quiet"])
    model = json.loads((out / "model.json").read_text())
    stats = json.loads((out / "stats.json").read_text())
    assert doc["run_dir"] == str(out) and doc["model"] == str(out / "model.json")
    assert doc["report"] is None and doc["symbols"] == ["BTCUSD"]
    assert doc["n_folds"] == model["n_folds"] and doc["bars"] == model["n_bars"]
    for k in ("n_trades", "total_return", "sharpe", "final_equity"):
        assert doc["stats"][k] == stats[k], k
    for period in ("development", "forward_test"):
        m = model["evaluation"][period]
        assert doc["periods"][period]["metrics"] == {k: v for k, v in m.items()
                                                     if k != "calibration"}
        assert doc["periods"][period]["trading"] == model["evaluation"]["trading"][period]
        assert f"{period}: n={m['n']:,}, accuracy {100 * m['accuracy']:.2f}%" in text.stdout
    assert doc["audit"] == {k: model["audit"][k] for k in ("ok", "n_cuts", "compared", "leaks")}
    assert doc["audit"]["ok"] is True and doc["audit"]["n_cuts"] == 2
    assert f"({doc['audit']['n_cuts']} cuts, {doc['audit']['compared']:,} values)" in text.stdout
    assert f"{doc['stats']['n_trades']} closed trades" in text.stdout
    assert quiet.exit_code == 0 and quiet.stdout == ""
    assert audit_json.exit_code == 0, audit_json.output
    a = json.loads(audit_json.stdout)
    assert a["ok"] is True and a["n_cuts"] == len(a["cuts"]) == 2 and a["leaks"] == {}
    assert a["compared"] > 0 and all(c["ok"] for c in a["cuts"])
    assert audit_quiet.exit_code == 0 and audit_quiet.stdout == ""


def test_ml_signal_runs_through_engine_run_and_is_deterministic(samples):
    import engine
    from data.readers import read_bars
    from strategies.ml.strategy import MLSignal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = read_bars(samples / "crypto" / "Bitstamp_BTCUSD_1h_2018-2022.csv.gz").data[:1500]
    params = dict(features="ret_1,ret_4,rsi_14", horizon=4, n_estimators=5, max_depth=3,
                  first_test=500, retrain_every=250, min_train=100, seed=2)
    runs = [engine.run(market=b, strategy="ml_signal", params=params, cash=10_000.0,
                       lot_size=0) for _ in range(2)]
    assert runs[0].mode == "compiled"
    assert runs[0].stats["n_trades"] > 0
    np.testing.assert_array_equal(runs[0].equity["equity"], runs[1].equity["equity"])
    # no position before the first prediction (bar 500)
    assert (runs[0].fills["ts"] > b["ts"][500]).all()
    # the engine passes the bar times (data["ts"]), so multi-timeframe features work too
    mtf = engine.run(market=b, strategy="ml_signal", params={**params, "mtf": "D:ret_1"},
                     lot_size=0)
    bound = MLSignal(**params, mtf="D:ret_1").bind(b["ts"])
    again = engine.run(market=b, strategy=bound, lot_size=0)
    np.testing.assert_array_equal(mtf.equity["equity"], again.equity["equity"])
    # without times (a bare data dict) the bar number stands in, and mtf is refused
    with pytest.raises(Exception, match="multi-timeframe"):
        MLSignal(**params, mtf="D:ret_1").panel({f: b[f] for f in ("open", "high", "low",
                                                                   "close", "volume")})


def test_order_book_config_runs(tmp_path, samples):
    lob = samples / "lob"
    cfg = tmp_path / "book.toml"
    cfg.write_text(f"""
[strategy]
name = "ml_signal"
params = {{ features = "ret_1,ret_3", horizon = 3, n_estimators = 5, max_depth = 3, min_samples_leaf = 5, first_test = 0.4, retrain_every = 20, min_train = 20, forward_test = 0.2 }}
[broker]
cash = 100000.0
slippage = 2.0
[ml]
book = "lobster"
files = ["{(lob / 'AMZN_2012-06-21_first1000_message_5.csv.gz').as_posix()}",
         "{(lob / 'AMZN_2012-06-21_first1000_orderbook_5.csv.gz').as_posix()}"]
interval = "1s"
levels = [1, 2, 5]
audit_cuts = 2
""")
    from strategies.ml.pipeline import run_ml

    res, info = run_ml(cfg, tmp_path / "run")
    assert info["audit"]["ok"]
    assert info["features"][:2] == ["ret_1", "ret_3"] and "ofi" in info["features"]
    assert info["book"]["bins"] > 100
    assert "model.json" in {p.name for p in (tmp_path / "run").iterdir()}


@pytest.mark.parametrize("name", ["ml_btc_hourly", "ml_intraday_mtf", "ml_lobster_orderflow",
                                  "ml_binance_orderflow", "ml_pooled_daily"])
def test_example_configs_load(name):
    """Every shipped example resolves: data found, parameters valid, features computable."""
    from pathlib import Path

    from strategies.ml.features import compute_features
    from strategies.ml.pipeline import prepare

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.toml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strat, panel = prepare(path)
    cfg = strat.config()
    for bars in panel.values():
        X = compute_features(bars, cfg.features)
        assert X.shape == (len(bars), len(cfg.features.names))
        assert np.isfinite(X[-1]).all()


def test_develop_mode_never_computes_on_the_forward_test(config, tmp_path):
    """--develop drops the held-out bars first; its predictions equal the full run's over the
    development period (same folds) and nothing of the forward test is reported."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = CliRunner().invoke(main, ["ml", "run", str(config), "-o", str(tmp_path / "dev"),
                                      "--develop", "--no-report"])
        assert r.exit_code == 0, r.output
        assert "forward_test: n=" not in r.output
        CliRunner().invoke(main, ["ml", "run", str(config), "-o", str(tmp_path / "full"),
                                  "--no-report"])
    dev = pd.read_csv(tmp_path / "dev" / "predictions.csv")
    full = pd.read_csv(tmp_path / "full" / "predictions.csv")
    doc = json.loads((tmp_path / "dev" / "model.json").read_text())
    assert doc["develop_only"] and doc["forward_test_start"] is None
    assert doc["evaluation"]["forward_test"]["n"] == 0
    assert (dev["period"] == "development").all()
    assert dev["ts"].max() < full.loc[full["period"] == "forward_test", "ts"].min()
    head = full[full["ts"] <= dev["ts"].max()]
    np.testing.assert_array_equal(dev["score"].to_numpy(), head["score"].to_numpy())


def test_report_model_section_is_escaped_and_survives_a_damaged_model_json(config, tmp_path):
    from reports.html import write_report

    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from strategies.ml.pipeline import run_ml

        run_ml(config, out, report=False)
    doc = json.loads((out / "model.json").read_text())
    doc["features"] = ["<script>alert(1)</script>"]
    (out / "model.json").write_text(json.dumps(doc))
    html = write_report(out).read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    (out / "model.json").write_text("{not json")
    html = write_report(out).read_text()
    assert "model.json could not be read" in html
