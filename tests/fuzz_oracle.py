"""The oracle of the fuzz suites: run one mutated file through a reader and judge the outcome.

Allowed outcomes of a case (anything else fails the test that ran it):

* a parse: every canonical array in the result passes :func:`data.validate.check_array`, or the
  reader warned (``UserWarning``) about what is odd; the arrays then go deeper into the engine
  (the Parquet catalog round trip must be exact; DEPTH rows through the L2 book and MBO events
  through the L3 book keep their structural invariants; trades resample into bars);
* :class:`data.errors.DataError` whose message names the file and gives a fix.

No other exception type, and no case may take longer than :data:`CASE_SECONDS` (a SIGALRM
interrupts Python code; pytest-timeout backs it up for native code).

Budget: each fuzz test runs ``examples(default)`` cases; ``TAPEREADER_FUZZ_EXAMPLES=N`` (or
``pytest --fuzz-examples N``) sets every test to N cases and draws fresh random cases
(``TAPEREADER_FUZZ_SEED`` pins them); the default CI run is derandomized (the same cases each
run). Counts are printed at the end of the pytest run (see ``tests/conftest.py``).
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import shutil
import signal
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings

from data.errors import DataError

CASE_SECONDS = 20.0  # generous: the machine is shared; typical cases take milliseconds
ENV_EXAMPLES = "TAPEREADER_FUZZ_EXAMPLES"
ENV_SEED = "TAPEREADER_FUZZ_SEED"
_OPTION: dict[str, int | None] = {"examples": None}

COUNTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
SLOWEST: dict[str, float] = collections.defaultdict(float)
MESSAGES: dict[str, list[str]] = collections.defaultdict(list)
_ARRAYS_SEEN = itertools.count(1)


def long_budget() -> int | None:
    """Cases per test asked for on the command line or in the environment (None: default)."""
    if _OPTION["examples"]:
        return _OPTION["examples"]
    env = os.environ.get(ENV_EXAMPLES)
    return int(env) if env else None


def fuzz_settings(default: int) -> settings:
    """Hypothesis settings of a fuzz test: ``default`` cases in CI, derandomized."""
    n = long_budget() or default
    seeded = os.environ.get(ENV_SEED)
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=long_budget() is None or seeded is not None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


class CaseTimeout(BaseException):  # noqa: N818 - BaseException: readers' `except Exception` must not eat it
    """A case ran past CASE_SECONDS."""


@contextlib.contextmanager
def time_limit(seconds: float = CASE_SECONDS):
    """Interrupt the block after ``seconds`` (main thread, POSIX; elsewhere only measured)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise CaseTimeout(f"case ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def scratch_dir(prefix: str):
    """A temporary folder on tmpfs when there is one (catalog writes fsync)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    d = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


class FuzzFailure(AssertionError):
    pass


def check_error(exc: DataError, files: list[Path]) -> None:
    """A DataError from a fuzzed file must name the file and say how to fix the problem."""
    text = str(exc)
    if not exc.message.strip():
        raise FuzzFailure(f"DataError with an empty message: {text!r}")
    if not any(f.name in text for f in files):
        raise FuzzFailure(f"DataError does not name the file: {text!r}")
    if not exc.fix:
        raise FuzzFailure(f"DataError without a fix: {text!r}")


def run_case(target: str, call, files: list[Path], *, arrays, deep=None, expect=None,
             label: str = ""):
    """Run ``call()`` on mutated ``files`` and judge it (see the module docstring).

    ``arrays(result)`` lists ``(array, kind, check_order)`` of a parse; ``deep(array, kind)``
    pushes one array further into the engine; ``expect`` (a callable giving the arrays of the
    unmutated seed) is passed when the mutations must not change the result (line ends, BOM,
    UTF-16, gzip): the parse must then be bit-identical. Returns the result (None for a
    DataError).
    """
    t0 = time.perf_counter()
    outcome = "parsed"
    try:
        with warnings.catch_warnings(record=True) as caught, time_limit():
            warnings.simplefilter("always")
            try:
                result = call()
            except DataError as exc:
                if expect is not None and expect() is not None:
                    raise FuzzFailure(f"a mutation that keeps the file's meaning (line ends, "
                                      f"BOM, UTF-16, gzip) made the reader fail: {exc}") from None
                check_error(exc, files)
                outcome = "data_error"
                if len(MESSAGES[target]) < 400:
                    MESSAGES[target].append(exc.message)
                return None
            warned = [w for w in caught if issubclass(w.category, UserWarning)]
            got = arrays(result)
            if expect is not None:
                want = expect()
                same = len(want) == len(got) and all(
                    a.dtype == b.dtype and a.tobytes() == b.tobytes()
                    for (a, _, _), (b, _, _) in zip(got, want, strict=True))
                if not same:
                    raise FuzzFailure("a mutation that keeps the file's meaning (line ends, BOM, "
                                      "UTF-16, gzip) changed what the reader returns")
                COUNTS[target]["benign_identical"] += 1
            for arr, kind, order in got:
                _judge_array(arr, kind, order, warned)
                if deep is not None:
                    deep(arr, kind)
            if warned:
                outcome = "parsed_with_warning"
            return result
    except (FuzzFailure, CaseTimeout) as exc:
        raise FuzzFailure(f"{target}{label}: {exc}\nfiles: {[str(f) for f in files]}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - any other exception (even a Rust panic) fails
        tb = "".join(traceback.format_exception(exc)[-6:])
        raise FuzzFailure(f"{target}{label}: {type(exc).__name__} escaped instead of a DataError:"
                          f"\n{tb}\nfiles: {[str(f) for f in files]}") from None
    finally:
        COUNTS[target][outcome] += 1
        COUNTS[target]["cases"] += 1
        SLOWEST[target] = max(SLOWEST[target], time.perf_counter() - t0)


def _judge_array(arr: np.ndarray, kind: str, order: bool, warned: list) -> None:
    from data.schema import KINDS
    from data.validate import check_array

    if kind not in KINDS:  # a raw matrix (LOBSTER orderbook): compared, not validated
        return
    report = check_array(arr, kind, order=order)
    if report.errors and not warned:
        raise FuzzFailure(f"parsed {kind} rows fail validation and the reader did not warn: "
                          f"{report.errors[0]}")


# --- deeper into the engine ----------------------------------------------------------------------
def deep_into_engine(catalog_root: Path, *, tick_size: float = 0.01, lot_size: float = 1e-3,
                     catalog_every: int = 1):
    """A ``deep`` callable: catalog round trip (every ``catalog_every``-th array), books for
    DEPTH / MBO, time bars for trades. Only DataError may come out (e.g. prices off the tick
    grid, depth rows out of time order for the catalog)."""
    from data.catalog import Catalog

    def deep(arr: np.ndarray, kind: str) -> None:
        if len(arr) == 0 or arr.dtype.names is None:
            return
        if next(_ARRAYS_SEEN) % catalog_every == 0:
            _catalog_round_trip(Catalog(catalog_root), arr, kind)
        if kind == "depth":
            _through_l2(arr, tick_size)
        elif kind == "mbo":
            _through_l3(arr, tick_size, lot_size)
        elif kind == "trade":
            from data.resample import time_bars

            with contextlib.suppress(DataError):
                time_bars(arr, "1min")

    return deep


def _catalog_round_trip(cat, arr: np.ndarray, kind: str) -> None:
    symbol = f"F{COUNTS['catalog']['writes']}"
    COUNTS["catalog"]["writes"] += 1
    try:
        cat.write(kind, symbol, arr)
    except DataError:
        COUNTS["catalog"]["refused"] += 1
        return
    back = cat.load(kind, symbol)
    want = arr
    if kind in ("bar", "trade", "quote") and len(arr) > 1 and (np.diff(arr["ts"]) < 0).any():
        want = arr[np.argsort(arr["ts"], kind="stable")]
    if back.tobytes() != want.tobytes():
        raise FuzzFailure(f"catalog round trip of {len(arr)} {kind} rows is not exact")
    cat.delete(kind, symbol)
    COUNTS["catalog"]["exact"] += 1


def _through_l2(arr: np.ndarray, tick_size: float) -> None:
    from engine.book import L2Book

    _through_book("l2_book", L2Book(tick_size, window=1024), arr)


def _through_l3(arr: np.ndarray, tick_size: float, lot_size: float) -> None:
    from engine.book import L3Book

    _through_book("l3_book", L3Book(tick_size, lot_size=lot_size), arr)


def _through_book(name: str, book, arr: np.ndarray) -> None:
    """Apply the rows; a DataError (off-grid prices...) is allowed, then the structure holds."""
    from fuzz_books import check_l2, check_l3

    try:
        book.apply(arr)
    except DataError:
        COUNTS[name]["refused"] += 1
        return
    (check_l2 if name == "l2_book" else check_l3)(book)
    COUNTS[name]["checked"] += 1


# --- report ---------------------------------------------------------------------------------------
def set_option(examples: int | None) -> None:
    _OPTION["examples"] = examples


def summary_lines() -> list[str]:
    """One line per fuzz target: cases, parsed, parsed with a warning, DataError, slowest."""
    if not COUNTS:
        return []
    out = []
    total = 0
    for target in sorted(COUNTS):
        c = COUNTS[target]
        if target in ("catalog", "l2_book", "l3_book", "validate_file", "import_file"):
            out.append(f"  {target:<28} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
            continue
        total += c["cases"]
        out.append(f"  {target:<28} {c['cases']:>6} cases: {c['parsed']:>5} parsed, "
                   f"{c['parsed_with_warning']:>5} parsed with a warning, "
                   f"{c['data_error']:>5} DataError; slowest {SLOWEST[target] * 1000:.0f} ms")
    return [f"fuzz cases: {total} (budget: {long_budget() or 'default'} per test)"] + out
