"""``catalog://`` references: parse them and load what they name (see :mod:`data.catalog`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from data.catalog.files import content_sha256, time_range
from data.catalog.store import Catalog
from data.errors import ConfigError, DataError
from data.schema import KINDS, NS_PER_DAY, Instrument


@dataclasses.dataclass(frozen=True)
class CatalogRef:
    kind: str
    symbol: str
    start: int | None = None
    end: int | None = None
    root: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Series:
    """A tick series from the catalog (trade, quote, depth or mbo)."""

    symbol: str
    kind: str
    data: np.ndarray
    instrument: Instrument | None
    source: str
    sha256: str

    def __len__(self) -> int:
        return len(self.data)


def is_ref(text: Any) -> bool:
    """True for ``catalog://...`` strings."""
    return isinstance(text, str) and text.startswith("catalog://")


def parse_ref(ref: str) -> CatalogRef:
    """Parse ``catalog://KIND/SYMBOL[?start=..&end=..&root=..]`` (see the module docstring)."""
    if not is_ref(ref):
        raise ConfigError("not a catalog reference", argument="data", value=ref,
                          fix="write catalog://KIND/SYMBOL, e.g. catalog://bar/GOOG")  # fmt: skip
    parts = urlsplit(ref)
    kind, raw_path = parts.netloc, parts.path.lstrip("/")
    path = unquote(raw_path)
    if kind not in KINDS or not path or "/" in raw_path:
        raise ConfigError("malformed catalog reference", argument="data", value=ref,
                          fix=f"write catalog://KIND/SYMBOL with KIND one of {', '.join(KINDS)}")  # fmt: skip
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"start", "end", "root"}
    if unknown:
        raise ConfigError("unknown catalog reference option", argument="data",
                          value=sorted(unknown), fix="use start=, end= and root= only")  # fmt: skip
    lo, hi = time_range(query.get("start"), query.get("end"))
    return CatalogRef(kind, path, None if "start" not in query else lo,
                      None if "end" not in query else hi, query.get("root"))  # fmt: skip


def resolve(ref: str, *, catalog: Catalog | str | Path | None = None):
    """Load what a ``catalog://`` reference names.

    Returns a :class:`data.readers.Bars` for ``bar`` (interval from the import, ``sha256`` of the
    returned data) and a :class:`Series` for tick kinds. ``catalog`` (a Catalog or a root path)
    overrides the reference's ``root=`` and the default root.
    """
    from data.readers.bars import Bars

    r = parse_ref(ref)
    cat = catalog if isinstance(catalog, Catalog) else Catalog(catalog or r.root)
    data = cat.load(r.kind, r.symbol, r.start, r.end)
    if len(data) == 0:
        raise DataError(f"no {r.kind} rows for {r.symbol} in the requested range", value=ref,
                        fix="widen start/end or check `tape data ls`")  # fmt: skip
    man = cat.manifest(r.kind, r.symbol)
    inst = cat.instrument(r.kind, r.symbol) or Instrument(symbol=r.symbol)
    digest = content_sha256(data)
    if r.kind == "bar":
        interval = man.get("interval_ns") or (
            int(np.median(np.diff(data["ts"]))) if len(data) > 1 else NS_PER_DAY
        )
        return Bars(symbol=r.symbol, data=data, instrument=inst, interval_ns=int(interval),
                    source=ref, sha256=digest)  # fmt: skip
    return Series(symbol=r.symbol, kind=r.kind, data=data, instrument=inst, source=ref,
                  sha256=digest)  # fmt: skip


def scan_ref(ref: str, *, chunk_rows: int = 1_000_000, catalog: Catalog | str | Path | None = None):
    """Stream what a reference names in bounded chunks (see :meth:`Catalog.scan`)."""
    r = parse_ref(ref)
    cat = catalog if isinstance(catalog, Catalog) else Catalog(catalog or r.root)
    return cat.scan(r.kind, r.symbol, r.start, r.end, chunk_rows=chunk_rows)
