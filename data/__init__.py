"""Market data: canonical dtypes, readers, validation, the Parquet catalog and resampling."""

from data.errors import ConfigError, DataError, RunError, StrategyError, TapeError
from data.schema import BAR, DEPTH, MBO, QUOTE, TRADE, Instrument

__all__ = [
    "BAR",
    "DEPTH",
    "MBO",
    "QUOTE",
    "TRADE",
    "ConfigError",
    "DataError",
    "Instrument",
    "RunError",
    "StrategyError",
    "TapeError",
]
