"""An inconsistent OHLC row names the column that is off and shows plain numbers.

Regression: a GOOG row whose high was below its low and close was reported as column 'low'
with the value 'open=np.float64(198.89) high=np.float64(189.6) ...' (numpy reprs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.errors import DataError
from data.readers import read_bars
from data.validate import validate_file

GOOG = Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" / (
    "GOOG_2004-2013_backtesting.csv")


def _edited(tmp_path: Path, field: int, value: str) -> Path:
    lines = GOOG.read_text().splitlines()
    parts = lines[51].split(",")  # file line 52
    parts[field] = value
    lines[51] = ",".join(parts)
    path = tmp_path / "goog_edited.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("field, value, column", [(2, "150", "high"), (3, "250", "low")])
def test_ohlc_row_names_the_broken_column(tmp_path, field, value, column):
    path = _edited(tmp_path, field, value)
    with pytest.raises(DataError) as e:
        read_bars(path)
    msg = str(e.value)
    assert f"row 52, column '{column}'" in msg and "np.float64" not in msg
    assert "low <= open, close <= high" in msg
    row = GOOG.read_text().splitlines()[51].split(",")
    assert f"open={float(row[1])!r}" in msg
    issue = next(i for i in validate_file(path).errors if i.code == "ohlc_inconsistent")
    assert (issue.row, issue.column) == (52, column)
