"""The benchmark scripts run end to end at toy sizes (their numbers are not checked here: the
benchmarks print them). Benchmarks not exercised by anything rot silently: bench_soak once
imported a generator that no longer existed, and bench_data's generated capture had a local
clock running backwards, which the reader rightly refuses."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / args[0]), *args[1:]],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_bench_soak_writes_and_replays_from_the_catalog():
    out = _run("bench_soak.py", "--events", "30000", "--chunk", "10000", "--spacing", "1000")
    assert "write : 30,000 DEPTH events" in out and "1 daily partitions" in out
    assert "replay: 30,000 events" in out
    assert "peak memory target (< 1 GB): met" in out


def test_bench_tick_stream_streamed_equals_whole_feed():
    out = _run("bench_tick_stream.py", "--events", "30000", "--piece", "10000",
               "--chunk-rows", "5000", "--whole")
    assert "streamed and whole-feed MM results identical: True" in out


def test_bench_data_readers_agree():
    out = _run("bench_data.py", "--rows", "20000")
    assert "price-sum checks agree across readers" in out
    rows = [line for line in out.splitlines() if line.split("  ")[0] and "20,000  " in line]
    assert len(rows) == 7, out  # seven tasks, each read every row


def test_bench_book_replays_every_case():
    out = _run("bench_book.py", "--events", "20000", "--repeats", "1")
    for case in ("l3_lobster", "l3_lobster_check", "l3_lobster_feed", "l2_binance", "l2_synth"):
        assert f"\n{case} " in out, out
