"""Progress bars with ETA (rich) for sweeps, walk-forward and grids; silent when asked or when
stderr is not a terminal (CI logs, pipes), so ``--json`` output stays machine readable."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """``with Progress("sweep", total) as bar: bar.advance(n)``; ``enabled=None`` means
    "when stderr is a terminal"."""

    def __init__(self, label: str, total: int, *, enabled: bool | None = None,
                 completed: int = 0) -> None:
        self.label, self.total, self.completed = label, total, completed
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total,
                                            completed=self.completed)
        return self

    def advance(self, n: int = 1) -> None:
        self.completed += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
