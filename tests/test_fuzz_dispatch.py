"""Fuzzing the doors every file goes through: format detection + reading (``load_source``),
``validate_file`` (``tape data validate``) and ``Catalog.import_file`` (``tape data import``).

The seeds are the reader fuzzers' (every shipped layout, with their file names, which
detection uses). ``validate_file`` must never raise on a damaged file (it returns a report whose
issues name the file); ``load_source`` and ``import_file`` raise only DataError, and what they
import must come back from the catalog bit for bit.
"""

from __future__ import annotations

import itertools
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from fuzz_mutate import apply, mutations
from fuzz_oracle import (
    COUNTS,
    FuzzFailure,
    deep_into_engine,
    fuzz_settings,
    run_case,
    scratch_dir,
    time_limit,
)
from fuzz_seeds import (
    LOB,
    bar_seeds,
    binance_seed,
    case_files,
    head,
    long_bars_seed,
    table_seeds,
    tardis_seeds,
    truefx_seeds,
)
from hypothesis import given
from hypothesis import strategies as st

from data.catalog import Catalog
from data.errors import DataError
from data.readers.dispatch import load_source
from data.validate import validate_file

pytestmark = pytest.mark.timeout(600)


def _all_seeds() -> list[tuple[str, bytes]]:
    seeds = list(bar_seeds()) + list(tardis_seeds()) + list(truefx_seeds())
    seeds += [(name, data) for name, data, _, _ in table_seeds()
              if not name.startswith(("AAPL", "GOOG", "tardis", "truefx"))]
    seeds += [("skfolio_sp500_20stocks_adjclose_1990-2022.csv",
               head("cross_section/skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz", 30)),
              ("long_ko_pep.csv", long_bars_seed()),
              (Path(LOB.format("message")).name, head(LOB.format("message"), 40)),
              ("hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.txt", binance_seed())]
    return seeds


SEEDS = _all_seeds()
_roots = itertools.count()


@pytest.fixture(scope="module")
def work():
    with scratch_dir("tape-fuzz-dispatch-") as d:
        (d / "catalog").mkdir()
        yield d


def _datasets(ds):
    return [(d.data, d.kind, False) for d in ds]


@pytest.mark.slow  # ~20 s: three readers per case (detect + read, validate, import)
@fuzz_settings(1500)
@given(seed=st.sampled_from(range(len(SEEDS))), ops=mutations(json_lines=True, max_ops=2))
def test_fuzz_load_source_validate_file_and_import(work, seed, ops):
    name, data = SEEDS[seed]
    with case_files(work, {name: apply(data, ops)}) as (path,):
        _validate_never_raises(path)
        datasets = run_case("load_source", lambda: load_source(path), [path], arrays=_datasets,
                            deep=deep_into_engine(work / "catalog", catalog_every=4))
        if datasets:
            _import_round_trip(work, path, datasets)


def _validate_never_raises(path: Path) -> None:
    """validate_file reports data problems; it must not raise, and each issue names the file."""
    try:
        with warnings.catch_warnings(), time_limit():
            warnings.simplefilter("ignore")
            report = validate_file(path)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise FuzzFailure(f"validate_file raised {type(exc).__name__}: {exc}\nfile: {path}") from None
    COUNTS["validate_file"]["cases"] += 1
    COUNTS["validate_file"]["ok" if report.ok else "reported errors"] += 1
    for issue in report.issues:
        if not issue.file or path.name not in issue.file:
            raise FuzzFailure(f"validate_file issue does not name the file: {issue}")
        if issue.severity == "error" and not issue.fix:
            raise FuzzFailure(f"validate_file error without a fix: {issue}")


def _import_round_trip(work: Path, path: Path, datasets) -> None:
    root = work / f"import{next(_roots)}"
    try:
        with warnings.catch_warnings(), time_limit():
            warnings.simplefilter("ignore")
            try:
                results = Catalog(root).import_file(path)
            except DataError:  # e.g. depth rows out of exchange-time order
                COUNTS["import_file"]["refused"] += 1
                return
            cat = Catalog(root)
            for r in results:
                d = next(d for d in datasets if (d.kind, d.symbol) == (r.kind, r.symbol))
                want = d.data
                if r.kind in ("bar", "trade", "quote") and len(want) > 1:
                    want = want[np.argsort(want["ts"], kind="stable")]
                if cat.load(r.kind, r.symbol).tobytes() != want.tobytes():
                    raise FuzzFailure(f"import of {path} does not round-trip {r.kind}/{r.symbol}")
            again = Catalog(root).import_file(path)
            if not all(r.skipped for r in again):
                raise FuzzFailure(f"re-importing {path} was not skipped")
            COUNTS["import_file"]["exact and idempotent"] += 1
    except (FuzzFailure, KeyboardInterrupt):
        raise
    except BaseException as exc:
        raise FuzzFailure(f"import_file raised {type(exc).__name__}: {exc}\nfile: {path}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
