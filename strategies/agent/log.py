"""The agent's JSONL decision log: one JSON object per line.

Line 1 is a ``header`` (format version, strategy parameters, symbols). Then, in time order:

* ``step`` records: ``step``, ``ts`` (ISO UTC), ``ts_ns``, ``observation`` (exactly what the agent
  saw), ``raw`` (``{"decision": ...}`` as returned, or ``{"error": "..."}`` when the call raised),
  ``status`` (``ok`` / ``invalid``), ``error`` (why it was invalid), ``targets`` (the weights
  applied afterwards) and ``clipped`` (symbols the max-allocation overlay clipped);
* ``risk`` records: a stop-loss or take-profit exit of the overlay (``symbol``, ``event``,
  ``price``, ``reference``).

Replaying a log (``agent = "replay:<log>"``) feeds the ``raw`` entries back in order, so the run is
identical without calling the agent. The file is written atomically when the run stops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from data.errors import DataError

FORMAT_VERSION = 1


def dumps(obj: Any) -> str:
    """Compact, key-sorted, strict JSON (NaN/inf rejected) used for every log line."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


class DecisionLog:
    """Collects log records in memory; :meth:`write` replaces ``path`` atomically."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.records: list[dict[str, Any]] = [
            {"type": "header", "format": FORMAT_VERSION, **header}
        ]

    def add(self, record: dict[str, Any]) -> None:
        dumps(record)  # fail here, at the step that produced it, if it is not JSON-able
        self.records.append(record)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == "step"]

    def text(self) -> str:
        return "".join(dumps(r) + "\n" for r in self.records)

    def write(self, path: str | Path) -> Path:
        from reports.html import atomic_write_text

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, self.text())
        return path


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a log file (errors name the line)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read the decision log: {exc}", file=str(path),
                        fix="check the path of the log to replay") from None  # fmt: skip
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise DataError(f"not a JSON line: {exc}", file=str(path), row=i,
                            fix="replay an unmodified log written by the agent strategy") from None  # fmt: skip
        if not isinstance(rec, dict) or "type" not in rec:
            raise DataError("log record without a type", file=str(path), row=i,
                            fix="replay an unmodified log written by the agent strategy")  # fmt: skip
        out.append(rec)
    if not out or out[0]["type"] != "header" or out[0].get("format") != FORMAT_VERSION:
        raise DataError("not an agent decision log (no header line)", file=str(path), row=1,
                        fix="replay a log written by the agent strategy")  # fmt: skip
    return out
