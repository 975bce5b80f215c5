"""The report written with a run folder shows that run's manifest.

Regression: ``res.save()`` / ``tape run`` render report.html before manifest.json (written last
so a complete-looking folder is a complete run), so every report said "No manifest.json yet"
and left out the versions, data sha256, seed, config hash and counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import engine

GOOG = Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" / (
    "GOOG_2004-2013_backtesting.csv")


def _row(html: str, key: str) -> str:
    m = re.search(rf'<th scope="row">{re.escape(key)}</th><td><code>([^<]*)</code>', html)
    assert m, f"no manifest row {key!r} in the report"
    return m.group(1)


def test_saved_report_shows_the_manifest(tmp_path):
    res = engine.run(market=str(GOOG), strategy="sma_cross", params={"fast": 10, "slow": 20},
                     cash=10_000, commission=0.002, seed=7)
    d = res.save(tmp_path / "run")
    html = (d / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert "No manifest.json yet" not in html
    assert 'id="manifest-table"' in html and 'id="sources-table"' in html
    assert _row(html, "status") == "complete"
    assert _row(html, "seed") == "7" == str(manifest["seed"])
    assert _row(html, "config_sha256") == manifest["config_sha256"]
    assert "created_at" in manifest and ">created_at<" not in html  # volatile: not in the
    assert "timings" in manifest and "timings." not in html  # report (identical runs, files)
    assert _row(html, "counts.trades") == str(manifest["counts"]["trades"])
    assert _row(html, "versions.numba") == manifest["versions"]["numba"]
    assert manifest["data"][0]["sha256"] in html
    assert _row(html, "mode") == manifest["mode"] == "python"
