"""strategies.ml.features: values, causality (prefix property) and multi-timeframe alignment."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from core_helpers import closes_to_bars

from data.errors import ConfigError
from strategies.ml.features import FeatureSet, bar_feature, compute_features, mtf_features, rsi

NAMES = ["ret_1", "ret_5", "vol_10", "rsi_14", "macd", "macd_5_10_3", "boll_20", "volz_24",
         "vratio_10", "range_8", "dist_30"]
H = 3_600_000_000_000


@pytest.fixture(scope="module")
def btc(samples):
    from data.readers import read_bars

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file's swapped volume columns are repaired
        return read_bars(samples / "crypto" / "Bitstamp_BTCUSD_1h_2018-2022.csv.gz").data[:1500]


def walk(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return closes_to_bars(c, rng.uniform(1, 10, n), wick=0.002, t0=H, step=H)


def test_returns_and_volatility_match_their_definitions():
    b = walk(50)
    lc = np.log(b["close"])
    np.testing.assert_allclose(bar_feature(b, "ret_5")[5:], lc[5:] - lc[:-5])
    assert np.isnan(bar_feature(b, "ret_5")[:5]).all()
    v = bar_feature(b, "vol_10")
    r = np.diff(lc)
    np.testing.assert_allclose(v[20], np.std(r[10:20], ddof=1))
    assert np.isnan(v[:10]).all()


def test_rsi_is_wilder_and_bounded():
    c = np.array([44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89,
                  46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64])
    out = rsi(c, 14)
    assert np.isnan(out[:14]).all()
    # Wilder's first value: average gain / loss of the first 14 changes
    d = np.diff(c[:15])
    first = 100 - 100 / (1 + d[d > 0].sum() / -d[d < 0].sum())
    assert out[14] == pytest.approx(first)
    up, dn = d[d > 0].sum() / 14, -d[d < 0].sum() / 14
    ch = c[15] - c[14]
    up, dn = (up * 13 + max(ch, 0)) / 14, (dn * 13 + max(-ch, 0)) / 14
    assert out[15] == pytest.approx(100 - 100 / (1 + up / dn))
    assert ((out[14:] >= 0) & (out[14:] <= 100)).all()


def test_bollinger_position_is_plus_minus_one_at_the_bands():
    b = walk(60)
    x = bar_feature(b, "boll_20")
    c = b["close"]
    i = 40
    w = c[i - 19:i + 1]
    assert x[i] == pytest.approx((c[i] - w.mean()) / (2 * w.std(ddof=1)))


@pytest.mark.parametrize("name", NAMES)
def test_every_feature_is_causal_on_real_bars(btc, name):
    full = bar_feature(btc, name)
    for cut in (30, 400, 1111):
        np.testing.assert_array_equal(bar_feature(btc[:cut], name), full[:cut])


def test_multi_timeframe_features_see_only_closed_coarse_bars():
    b = walk(24 * 6)
    x = mtf_features(b, "4h", ["ret_1"])[:, 0]
    close = b["close"]
    # 4h bars close at 4h, 8h, ...; the first 4h return is known at 8h (second coarse close)
    k = np.flatnonzero(np.isfinite(x))[0]
    assert b["ts"][k] == 8 * H
    assert x[k] == pytest.approx(np.log(close[7] / close[3]))
    # one fine bar before the next coarse close the value has not changed yet
    assert x[k + 3] == x[k]
    assert x[k + 4] == pytest.approx(np.log(close[11] / close[7]))
    # and truncating the data anywhere leaves the past unchanged (partial coarse bars hidden)
    for cut in (37, 50, 101):
        np.testing.assert_array_equal(mtf_features(b[:cut], "4h", ["ret_1"])[:, 0], x[:cut])


def test_feature_set_parsing_and_errors():
    fs = FeatureSet.parse("ret_1, rsi_14", mtf="4h:ret_1;D:vol_5", tz="UTC")
    assert fs.names == ["ret_1", "rsi_14", "4h.ret_1", "D.vol_5"]
    X = compute_features(walk(24 * 10), fs)
    assert X.shape == (240, 4)
    with pytest.raises(ConfigError, match="unknown feature"):
        FeatureSet.parse("ret_x")
    with pytest.raises(ConfigError, match="RULE:NAMES"):
        FeatureSet.parse("ret_1", mtf="ret_1")
    with pytest.raises(ConfigError, match="too short"):
        FeatureSet.parse("vol_1")
    bad = FeatureSet.parse("ret_1", custom={"short": lambda bars: np.zeros(3)})
    with pytest.raises(ConfigError, match="wrong shape"):
        compute_features(walk(10), bad)
