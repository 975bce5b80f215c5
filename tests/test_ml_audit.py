"""The leakage audit passes on honest features and fails loudly on leaky ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from strategies.ml.audit import LeakageError, audit, audit_frames
from strategies.ml.features import FeatureSet, mtf_features
from strategies.ml.model import MLConfig

SMALL = {"n_estimators": 5, "max_depth": 3, "min_samples_leaf": 20}


@pytest.fixture(scope="module")
def btc(samples):
    from data.readers import read_bars

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_bars(samples / "crypto" / "Bitstamp_BTCUSD_1h_2018-2022.csv.gz").data[:1200]


def cfg(fs: FeatureSet, **kw) -> MLConfig:
    base = dict(features=fs, horizon=4, first_test=400, retrain_every=200, embargo=4,
                min_train=100, estimator_params=SMALL, forward_test=0.0)
    base.update(kw)
    return MLConfig(**base)


def test_honest_pipeline_passes(btc):
    fs = FeatureSet.parse("ret_1,ret_4,vol_24,rsi_14,macd,boll_20,volz_24",
                          mtf="4h:ret_1,rsi_14;D:ret_1")
    res = audit({"BTC": btc}, cfg(fs, label="triple_barrier"), n_cuts=3, seed=1)
    assert res.ok, res.leaks()
    assert len(res.cuts) == 3 and res.compared > 3 * 400
    assert res.check() is res
    d = res.to_dict()
    assert d["ok"] and all(c["max_diff"] == 0.0 for c in d["cuts"])


def test_leaky_feature_fails_loudly(btc):
    def next_return(bars):  # uses the NEXT bar's close: look-ahead
        lc = np.log(bars["close"])
        return np.r_[lc[1:] - lc[:-1], np.nan]

    fs = FeatureSet.parse("ret_1,rsi_14", custom={"next_return": next_return})
    res = audit({"BTC": btc}, cfg(fs), n_cuts=2, seed=0)
    assert not res.ok
    leaks = res.leaks()
    assert "next_return" in leaks and "ret_1" not in leaks and "rsi_14" not in leaks
    # the leak shows at the last bar before each cut: that is where the future was missing
    for c in res.cuts:
        assert c.diffs["next_return"] == c.to_dict()["cut"]
    with pytest.raises(LeakageError, match="next_return"):
        res.check()


def test_full_sample_normalisation_is_caught(btc):
    def zscore(bars):  # mean and std of the whole sample: a classic, subtle leak
        c = bars["close"]
        return (c - c.mean()) / c.std()

    fs = FeatureSet.parse("ret_1", custom={"z": zscore})
    res = audit({"BTC": btc}, cfg(fs), n_cuts=2, seed=0)
    assert "z" in res.leaks()


def test_calendar_bins_stamped_at_their_last_bar_would_leak(btc):
    """Why mtf_features stamps coarse bars at the bin end: a daily bar stamped at its last
    constituent exposes a still-open day on truncated data."""
    from data.resample import align_asof, resample_bars

    def day_ret_last_stamp(bars):
        d = resample_bars(bars, "D", stamp="last")
        idx = align_asof(bars["ts"], d["ts"])
        r = np.r_[np.nan, np.diff(np.log(d["close"]))]
        return np.where(idx >= 0, r[np.maximum(idx, 0)], np.nan)

    def day_ret_end_stamp(bars):
        return mtf_features(bars, "D", ["ret_1"])[:, 0]

    ts = btc["ts"]
    for fn, leaky in ((day_ret_last_stamp, True), (day_ret_end_stamp, False)):
        res = audit_frames(lambda c, fn=fn: (ts if c is None else ts[ts <= c],
                                             {"d": fn(btc if c is None else btc[ts <= c])}),
                           n_cuts=8, seed=2)
        assert res.ok is not leaky


def test_book_features_are_causal(samples):
    from data.readers import read_lobster
    from strategies.ml.book_features import book_features, lobster_events

    lob = samples / "lob"
    ev = lobster_events(read_lobster(lob / "AMZN_2012-06-21_first1000_message_5.csv.gz",
                                     lob / "AMZN_2012-06-21_first1000_orderbook_5.csv.gz"))
    t0 = int(ev.ts[0])

    def fn(cut):
        f = book_features(ev.until(cut), "1s", levels=(1, 3), start=t0, end=cut)
        return f.ts, {n: f.X[:, k] for k, n in enumerate(f.names)} | {"close": f.bars["close"]}

    res = audit_frames(fn, n_cuts=5, seed=0)
    assert res.ok, res.leaks()


def test_order_book_pipeline_audit_recomputes_from_ticks(samples, monkeypatch):
    """For book configs the audit re-reads the ticks up to each cut; a book feature that peeks
    at the next bin is caught there (the bars alone would not show it)."""
    import strategies.ml.book_features as B
    from strategies.ml.pipeline import prepare

    lob = samples / "lob"
    config = {"strategy": {"params": dict(features="ret_1", horizon=3, n_estimators=5,
                                          max_depth=3, min_samples_leaf=5, first_test=0.4,
                                          retrain_every=20, min_train=20)},
              "ml": {"book": "lobster", "interval": "1s", "levels": [1, 2],
                     "files": [str(lob / "AMZN_2012-06-21_first1000_message_5.csv.gz"),
                               str(lob / "AMZN_2012-06-21_first1000_orderbook_5.csv.gz")]}}

    def run():
        strat, panel = prepare(config)
        return audit(panel, strat.config(), n_cuts=3, seed=4,
                     truncate=strat._prepared["truncate"])

    assert run().ok
    honest = B.book_features

    def peeking(*args, **kwargs):
        f = honest(*args, **kwargs)
        k = f.names.index("spread_bps")
        f.X[:-1, k] = f.X[1:, k]  # the spread of the NEXT bin
        return f

    monkeypatch.setattr(B, "book_features", peeking)
    res = run()
    assert "spread_bps" in res.leaks() and "imb_1" not in res.leaks()
