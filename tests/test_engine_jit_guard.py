"""engine/_jit.py: numba cache files are cleared when any kernel source (or numba/numpy) changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import _jit


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "engine" / "book").mkdir(parents=True)
    (root / "strategies").mkdir()
    (root / "engine" / "book" / "l2_nb.py").write_text("def f_nb(x):\n    return x\n")
    (root / "strategies" / "mm.py").write_text("from numba import njit\n")
    (root / "engine" / "plain.py").write_text("X = 1\n")
    return root


def _cache_files(root: Path) -> list[Path]:
    files = [root / "engine" / "book" / "__pycache__" / "l2_nb.f_nb-1.py311.nbi",
             root / "engine" / "book" / "__pycache__" / "l2_nb.f_nb-1.py311.0.nbc",
             root / "strategies" / "__pycache__" / "mm.g-3.py311.nbi"]
    for f in files:
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(b"x")
    return files


def test_cache_cleared_only_when_kernel_sources_change(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    root = _project(tmp_path)
    assert [p.name for p in _jit.kernel_sources(root)] == ["l2_nb.py", "mm.py"]
    files = _cache_files(root)
    keep = root / "engine" / "book" / "__pycache__" / "l2_nb.cpython-311.pyc"
    keep.write_bytes(b"pyc")
    assert _jit.check_cache(root) is True  # no stamp yet: cleared
    assert not any(f.exists() for f in files) and keep.exists()
    files = _cache_files(root)
    assert _jit.check_cache(root) is False  # unchanged sources: cache kept
    assert all(f.exists() for f in files)
    (root / "engine" / "plain.py").write_text("X = 2\n")  # not a kernel module
    assert _jit.check_cache(root) is False and all(f.exists() for f in files)
    (root / "engine" / "book" / "l2_nb.py").write_text("def f_nb(x):\n    return x + 1\n")
    assert _jit.check_cache(root) is True  # a callee changed: every cached caller goes
    assert not any(f.exists() for f in files)
    assert _jit.check_cache(root) is False


def test_numba_version_is_part_of_the_hash(tmp_path, monkeypatch):
    root = _project(tmp_path)
    a = _jit.sources_hash(root)
    real = _jit.metadata.version
    monkeypatch.setattr(_jit.metadata, "version",
                        lambda d: "99.0" if d == "numba" else real(d))
    assert _jit.sources_hash(root) != a


def test_user_cache_dir_is_mirrored(tmp_path, monkeypatch):
    root = _project(tmp_path)
    cache = tmp_path / "nbcache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    mirrored = cache / str(root).lstrip("/") / "engine" / "book" / "l2_nb.f_nb-1.py311.nbi"
    mirrored.parent.mkdir(parents=True)
    mirrored.write_bytes(b"x")
    assert _jit.check_cache(root) is True and not mirrored.exists()
    assert (cache / _jit.STAMP).exists()


@pytest.mark.parametrize("broken", [b"not json", b"[1]"])
def test_unreadable_stamp_clears(tmp_path, monkeypatch, broken):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    root = _project(tmp_path)
    stamp = root / "engine" / "__pycache__" / _jit.STAMP
    stamp.parent.mkdir()
    stamp.write_bytes(broken)
    files = _cache_files(root)
    assert _jit.check_cache(root) is True and not any(f.exists() for f in files)
