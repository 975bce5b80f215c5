"""The folder of a sweep: its spec, the results journal, and the results tables.

``DIR/sweep.json``      what was swept (strategy, data hashes, axes, constraints, options),
                        its ``fingerprint`` (what a resume must match) and ``status``
                        (``running`` / ``interrupted`` / ``complete``), counts and timings.
``DIR/journal.jsonl``   one JSON line per finished combination, appended (one ``write`` per
                        line) and fsynced as results arrive: the source of truth for resuming.
                        A line cut by a crash is dropped when the folder is opened again.
``DIR/results.csv``     one row per combination in combination order: parameter columns, then
``DIR/results.parquet`` the stats.json keys (``conventions`` is in sweep.json, identical for all
                        rows); an ``error`` column only when some combination failed.
                        Rewritten atomically from the journal every few seconds and at the end.

Every file except the journal is replaced atomically (temp file in the folder, fsync, rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from data.catalog.files import atomic_write_bytes, write_json
from data.errors import ConfigError, RunError

SPEC = "sweep.json"
JOURNAL = "journal.jsonl"
CSV = "results.csv"
PARQUET = "results.parquet"
TABLE_SKIP = ("conventions",)  # nested stats kept once in sweep.json


def fingerprint(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys, repr floats)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Store:
    """Opens (or creates) a sweep folder; appends results; writes the tables."""

    def __init__(self, out: str | Path, spec: dict[str, Any], *, resume: bool = True) -> None:
        self.out = Path(out)
        self.spec = dict(spec)
        self.spec["fingerprint"] = fingerprint(spec.get("identity", spec))
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create the sweep folder: {exc.strerror or exc}",
                           file=str(self.out), fix="check the --out path and permissions") from exc
        self.journal_path = self.out / JOURNAL
        for tmp in self.out.glob("*.tmp-*"):  # temp files of a writer that was killed
            with contextlib.suppress(OSError):
                tmp.unlink()
        self.rows: dict[int, dict[str, Any]] = {}
        old = self._read_spec()
        if old is not None:
            if not resume:
                self._clear()
            elif old.get("fingerprint") != self.spec["fingerprint"]:
                raise ConfigError(
                    "the folder holds a different sweep", file=str(self.out / SPEC),
                    value=_first_difference(old.get("identity"), spec.get("identity", spec)),
                    fix="use a new --out folder, or --fresh to discard the old results")
            else:
                self.rows = self._load_journal()
        elif self.journal_path.exists() or (self.out / CSV).exists():
            raise ConfigError("the folder holds results but no sweep.json", file=str(self.out),
                              fix="use a new --out folder, or --fresh to discard them")
        self._fd: int | None = None

    # --- reading ------------------------------------------------------------------------------

    def _read_spec(self) -> dict[str, Any] | None:
        p = self.out / SPEC
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunError(f"cannot read {SPEC}: {exc}", file=str(p),
                           fix="use a new --out folder, or --fresh to start over") from exc

    def _clear(self) -> None:
        for name in (JOURNAL, CSV, PARQUET, SPEC, "report.html"):
            with contextlib.suppress(FileNotFoundError):
                (self.out / name).unlink()

    def _load_journal(self) -> dict[int, dict[str, Any]]:
        """Finished rows by combination index. A last line without its newline (cut by a
        crash) is removed from the file; a damaged line elsewhere is an error."""
        p = self.journal_path
        if not p.exists():
            return {}
        raw = p.read_bytes()
        keep = raw.rfind(b"\n") + 1
        if keep < len(raw):
            with open(p, "r+b") as fh:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
        rows: dict[int, dict[str, Any]] = {}
        for n, line in enumerate(raw[:keep].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                i = int(rec["i"])
            except (ValueError, KeyError, TypeError) as exc:
                raise RunError(f"damaged journal line: {exc}", file=str(p), row=n,
                               fix="use --fresh to start the sweep over") from None
            rows.setdefault(i, rec)  # a duplicate (never written twice) keeps the first
        return rows

    # --- writing ------------------------------------------------------------------------------

    def write_spec(self, **updates: Any) -> None:
        self.spec.update(updates)
        try:
            write_json(self.out / SPEC, self.spec)
        except OSError as exc:
            raise RunError(f"cannot write {SPEC}: {exc.strerror or exc}", file=str(self.out / SPEC),
                           fix="check free disk space and permissions") from exc

    def append(self, records: list[dict[str, Any]]) -> None:
        """Journal finished combinations: one ``os.write`` per batch of whole lines, then fsync."""
        fresh = [r for r in records if int(r["i"]) not in self.rows]
        if not fresh:
            return
        data = b"".join(
            json.dumps(r, separators=(",", ":"), allow_nan=True, default=_json_default
                       ).encode("utf-8") + b"\n"
            for r in fresh)
        try:
            if self._fd is None:
                self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fsync(self._fd)
        except OSError as exc:
            raise RunError(f"cannot append to the journal: {exc.strerror or exc}",
                           file=str(self.journal_path),
                           fix="free disk space, then run the same command again to resume") from exc
        for r in fresh:
            self.rows[int(r["i"])] = r

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def table(self, param_names: list[str]) -> pd.DataFrame:
        """The results table (combination order): params, stats keys, ``error`` if any."""
        recs = [self.rows[i] for i in sorted(self.rows)]
        stat_keys: list[str] = []
        seen: set[str] = set()
        for r in recs:
            for k in (r.get("stats") or {}):
                if k not in seen and k not in TABLE_SKIP and k not in param_names:
                    seen.add(k)
                    stat_keys.append(k)
        cols: dict[str, list[Any]] = {n: [] for n in param_names}
        for k in stat_keys:
            cols[k] = []
        errors = any(r.get("error") for r in recs)
        if errors:
            cols["error"] = []
        for r in recs:
            p, s = r.get("params", {}), r.get("stats") or {}
            for n in param_names:
                cols[n].append(p.get(n))
            for k in stat_keys:
                cols[k].append(s.get(k))
            if errors:
                cols["error"].append(r.get("error") or "")
        df = pd.DataFrame(cols)
        for k in stat_keys:  # all-None numeric columns stay float (NaN), not object
            if df[k].dtype == object and all(v is None or isinstance(v, int | float)
                                             for v in df[k]):
                df[k] = pd.to_numeric(df[k], errors="coerce")
        return df

    def write_tables(self, param_names: list[str]) -> pd.DataFrame:
        df = self.table(param_names)
        atomic_write_bytes(self.out / CSV, df.to_csv(index=False).encode("utf-8"), sync_dir=True)
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(self.out / PARQUET, buf.getvalue(), sync_dir=True)
        return df


def _json_default(v: Any) -> Any:
    """Journal values JSON does not know: numpy scalars, NaT (None), timestamps (ISO)."""
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        try:
            return v.item()
        except (TypeError, ValueError):
            pass
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}{k}: only in the {'new' if k in b else 'old'} sweep"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}{k}.")
        return f"{path.rstrip('.')}: differs"
    return f"{path.rstrip('.') or 'spec'}: {a!r} before, {b!r} now"
