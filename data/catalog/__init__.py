"""The embedded market-data catalog: Parquet files on local disk, partitioned kind/symbol/date.

Layout (``root`` defaults to the user's data folder; ``TAPEREADER_CATALOG`` or ``--catalog``
override it)::

    root/<kind>/<SYMBOL>/_manifest.json                  the dataset's truth (atomically replaced)
    root/<kind>/<SYMBOL>/date=2004/part-<hash>.parquet   bars of 1 day or longer: one file a year
    root/<kind>/<SYMBOL>/date=2012-02/part-<hash>.parquet  intraday bars: one file a month
    root/<kind>/<SYMBOL>/date=2020-02-22/part-<hash>.parquet  ticks: one file a UTC day

Guarantees:

* **Exact round trips.** Arrays come back bit-identical (``ts``/``ts_recv`` are stored as
  ``timestamp[ns, UTC]``: int64 underneath, readable as datetimes by polars, DuckDB, Spark).
* **Idempotent imports.** Each import is keyed by the sha256 of its canonical rows (and, for
  files, of the file bytes plus the reader options); importing the same content again adds
  nothing. Overlapping content *replaces* the stored rows in its time range (``mode="replace"``,
  the default) or is merged (``mode="append"``).
* **Atomic imports.** New partition files are written next to the old ones under new
  content-addressed names (temp file + fsync + rename); the manifest, replaced with
  ``os.replace``, is the single commit point. An interrupted import leaves the manifest — and so
  what every reader sees — exactly as it was; leftover files are removed by the next import.
* **Bounded-memory reads.** :meth:`Catalog.scan` yields arrays of at most ``chunk_rows`` rows
  in time order across partitions, reading one Parquet row group at a time and skipping row
  groups outside ``[start, end]`` from their statistics.

Catalog references (for ``tape run`` configs and :func:`resolve`)::

    catalog://bar/GOOG
    catalog://trade/BTCUSDT?start=2020-02-22T00:30:00Z&end=2020-02-22T01:00:00Z
    catalog://bar/GOOG?start=2010-01-01&end=2012-12-31&root=/data/tape-catalog

``start`` and ``end`` are inclusive, UTC; a date-only ``end`` covers that whole day.
"""

from data.catalog.refs import CatalogRef, Series, is_ref, parse_ref, resolve, scan_ref
from data.catalog.store import ENV_VAR, Catalog, DatasetInfo, ImportResult, default_root

__all__ = [
    "ENV_VAR",
    "Catalog",
    "CatalogRef",
    "DatasetInfo",
    "ImportResult",
    "Series",
    "default_root",
    "is_ref",
    "parse_ref",
    "resolve",
    "scan_ref",
]
