"""Timestamp parsing: every format readers meet, exact to the nanosecond, DST-aware."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

from data.errors import DataError
from data.timeutil import (
    day_offset_to_ns,
    decimal_strings_to_int,
    epoch_to_ns,
    infer_epoch_unit,
    local_dates,
    ns_to_iso,
    parse_duration,
    parse_timestamps,
    session_close_ns,
    to_ns,
)


def _pd_ns(text: str, tz: str = "UTC") -> int:
    ts = pd.Timestamp(text)
    ts = ts.tz_localize(tz) if ts.tzinfo is None else ts
    return int(ts.tz_convert("UTC").as_unit("ns").value)


@pytest.mark.parametrize(
    "values, kwargs, expected",
    [
        (["2004-08-19"], {}, "2004-08-19"),
        (["1/4/1999", "12/31/2018"], {}, "1999-01-04"),  # US slash dates, not 1 April
        (["31/1/1999", "1/2/1999"], {}, "1999-01-31"),  # a day > 12 means D/M/Y
        (["20060426"], {}, "2006-04-26"),
        ([20060426], {}, "2006-04-26"),  # an integer YYYYMMDD column is a date, not epoch s
        (["2017-04-19 09:00:00"], {}, "2017-04-19 09:00:00"),
        (["2015-09-23T20:57:42.146"], {}, "2015-09-23 20:57:42.146"),
        (["2013-01-01 22:00:00.295+00:00"], {}, "2013-01-01 22:00:00.295"),
        (["2020-01-01T00:00:00.123456789Z"], {}, "2020-01-01 00:00:00.123456789"),
        (["2012-02-01 00:01:00+01:00"], {}, "2012-01-31 23:01:00"),
        (["2006-01-02 09:05:00"], {"tz": "Europe/Berlin"}, "2006-01-02 08:05:00"),
        (["2006-07-03 09:05:00"], {"tz": "Europe/Berlin"}, "2006-07-03 07:05:00"),  # CEST
        (["02.01.2006 09:05"], {"fmt": "%d.%m.%Y %H:%M"}, "2006-01-02 09:05"),
    ],
)
def test_parse_formats(values, kwargs, expected):
    out = parse_timestamps(values, **kwargs)
    assert out.dtype == np.int64
    assert out[0] == _pd_ns(expected)


def test_epoch_units_are_inferred_and_exact():
    # Tardis microseconds, Bitstamp seconds, Binance milliseconds, ns
    assert parse_timestamps(["1582329602111000"])[0] == 1582329602111000000
    assert parse_timestamps([1660953600])[0] == 1660953600 * 10**9
    assert parse_timestamps([1667346579146])[0] == 1667346579146 * 10**6
    assert parse_timestamps([1721347020984480942])[0] == 1721347020984480942
    # decimal strings parse exactly (no float rounding)
    assert parse_timestamps(["1582329602.111"], fmt="s")[0] == 1582329602111000000
    assert epoch_to_ns(pl.Series(["1721347020.984480942"]), "s")[0] == 1721347020984480942
    assert infer_epoch_unit(np.array([0, 1.6e9, 1.7e9])) == "s"


def test_decimal_strings_to_int_is_exact_fixed_point():
    out = decimal_strings_to_int(pl.Series(["34200.015105", "-1.5", "12", "abc", "0.000000001"]), 9)
    assert out.to_list() == [34200015105000, -1500000000, 12000000000, None, 1]


def test_unparseable_value_names_file_row_column_value():
    with pytest.raises(DataError) as err:
        parse_timestamps(["2020-01-01", "garbage"], file="x.csv", column="date", first_line=2)
    msg = str(err.value)
    assert (
        "x.csv" in msg and "row 3" in msg and "'date'" in msg and "garbage" in msg and "Fix" in msg
    )


def test_nonexistent_local_time_raises_or_nulls():
    with pytest.raises(DataError, match="does not exist or is ambiguous"):
        parse_timestamps(["2006-03-26 02:30:00"], tz="Europe/Berlin", column="date")
    out = parse_timestamps(["2006-03-26 02:30:00"], tz="Europe/Berlin", nonexistent="null")
    assert out[0] == np.iinfo(np.int64).min  # missing: validation reports it


def test_unknown_time_zone_is_named():
    with pytest.raises(DataError, match="time zone"):
        parse_timestamps(["2006-01-02 09:05:00"], tz="Mars/Olympus")


def test_inputs_of_every_container_type_agree():
    ref = parse_timestamps(["2020-01-01T00:00:00Z"])
    assert parse_timestamps(np.array(["2020-01-01T00:00"], dtype="datetime64[ns]"))[0] == ref[0]
    assert parse_timestamps(pd.Series(pd.to_datetime(["2020-01-01"], utc=True)))[0] == ref[0]
    assert parse_timestamps(pl.Series([dt.datetime(2020, 1, 1)]))[0] == ref[0]


def test_scalars_durations_and_iso():
    assert to_ns("2012-06-21") == _pd_ns("2012-06-21")
    assert to_ns("2012-06-21", tz="America/New_York") == _pd_ns("2012-06-21", "America/New_York")
    assert to_ns(dt.datetime(2012, 6, 21, tzinfo=dt.UTC)) == _pd_ns("2012-06-21")
    assert to_ns(pd.Timestamp("2012-06-21 09:30", tz="America/New_York")) == _pd_ns(
        "2012-06-21 09:30", "America/New_York"
    )
    assert parse_duration("5min") == 300 * 10**9
    assert parse_duration("1m") == 60 * 10**9  # minute, never month
    assert parse_duration("250ms") == 250 * 10**6
    assert parse_duration("2hours") == 7200 * 10**9
    assert parse_duration(dt.timedelta(days=1)) == 86_400 * 10**9
    with pytest.raises(DataError, match="fixed duration"):
        parse_duration("1mo")
    assert ns_to_iso(1357077600295000000) == "2013-01-01T22:00:00.295Z"
    assert ns_to_iso(np.array([0, 1])) == [
        "1970-01-01T00:00:00.000000000Z",
        "1970-01-01T00:00:00.000000001Z",
    ]


def test_lobster_style_offsets_and_session_closes():
    out = day_offset_to_ns([34200_015105000], "2012-06-21", "America/New_York")
    assert out[0] == _pd_ns("2012-06-21 09:30:00.015105", "America/New_York")
    closes = session_close_ns(
        np.array(["2012-06-21", "2012-12-21"], dtype="datetime64[D]"), "America/New_York"
    )
    assert ns_to_iso(closes) == ["2012-06-21T20:00:00Z", "2012-12-21T21:00:00Z"]  # EDT then EST
    assert str(local_dates([_pd_ns("2012-06-21 03:00")], "America/New_York")[0]) == "2012-06-20"
