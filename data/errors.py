"""Error types raised at the Python boundary (DESIGN.md contract 7).

Every error names where the problem is (file, row, column or argument), the value seen and
the fix. Numba kernels never raise: they return status / reject codes that the Python layer
turns into these errors where appropriate.
"""

from __future__ import annotations

from typing import Any


class TapeError(Exception):
    """Base class of every error tapereader raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        argument: str | None = None,
        value: Any = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.argument = argument
        self.value = value
        self.fix = fix
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.argument is not None:
            where.append(f"argument {self.argument!r}")
        text = self.message
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.value is not None:
            shown = repr(self.value)
            if len(shown) > 200:
                shown = shown[:197] + "..."
            text += f" (value: {shown})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class DataError(TapeError, ValueError):
    """Bad market data: malformed file, wrong columns, inconsistent values."""


class ConfigError(TapeError, ValueError):
    """Bad run configuration, parameter or command-line argument."""


class StrategyError(TapeError):
    """A strategy plugin cannot be loaded or misbehaves (bad hooks, bad parameters)."""


class RunError(TapeError):
    """A run cannot proceed or cannot write its results (disk full, permissions...)."""
