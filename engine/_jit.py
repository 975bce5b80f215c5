"""Guard against stale numba cache files (run once when :mod:`engine` is imported).

numba's ``cache=True`` keys a cached function on its own source file's time stamp, not on the
kernels it calls in other modules: after an upgrade that changed ``engine/book/l2_nb.py``, a
cached caller in ``engine/tick/l2sim_nb.py`` would still load machine code with the old callee
inlined. This guard hashes the sources of every kernel module of the project (``*_nb.py`` plus
any other project module that uses ``njit``) together with the numba and numpy versions, keeps
the hash in a stamp file in the cache, and deletes the project's numba cache files (``*.nbi``,
``*.nbc``) when it changes. Cost: reading the project's sources once per process (a few ms).

Where numba keeps the files: ``__pycache__`` next to each module, or under ``NUMBA_CACHE_DIR``
(the module's absolute directory mirrored below it) when that is set. Errors (a read-only
install) never break the import: the guard then does nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "data", "strategies", "reports")
STAMP = "tapereader-numba-sources.json"
_done = False


def kernel_sources(root: Path = ROOT) -> list[Path]:
    """The project's modules whose compiled code numba may cache, sorted."""
    out = []
    for pkg in PACKAGES:
        for p in sorted((root / pkg).rglob("*.py")):
            if "__pycache__" in p.parts:
                continue
            if p.name.endswith("_nb.py") or b"njit" in p.read_bytes():
                out.append(p)
    return out


def sources_hash(root: Path = ROOT) -> str:
    h = hashlib.sha256()
    for dist in ("numba", "numpy"):
        try:
            h.update(f"{dist}={metadata.version(dist)};".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=?;".encode())
    for p in kernel_sources(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def cache_dirs(root: Path = ROOT) -> list[Path]:
    """Directories holding the project's numba cache files."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user:
        base = Path(user) / str(root).lstrip(os.sep).replace(":", "")
        return [base / pkg for pkg in PACKAGES]
    return [root / pkg for pkg in PACKAGES]


def clear_cache(root: Path = ROOT) -> int:
    """Delete the project's numba cache files; returns how many were removed."""
    n = 0
    for d in cache_dirs(root):
        if not d.is_dir():
            continue
        for pattern in ("*.nbi", "*.nbc"):
            for f in d.rglob(pattern):
                f.unlink(missing_ok=True)
                n += 1
    return n


def _stamp_path(root: Path) -> Path:
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user:
        return Path(user) / STAMP
    return root / "engine" / "__pycache__" / STAMP


def check_cache(root: Path = ROOT) -> bool:
    """Clear the project's numba cache when the kernel sources changed; True when cleared."""
    stamp = _stamp_path(root)
    digest = sources_hash(root)
    try:
        old = json.loads(stamp.read_text()).get("sha256")
    except (OSError, ValueError, AttributeError):
        old = None
    if old == digest:
        return False
    from data.catalog.files import write_json

    clear_cache(root)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    write_json(stamp, {"sha256": digest})
    return True


def guard() -> None:
    """:func:`check_cache` once per process, never raising (see the module docstring)."""
    global _done
    if _done or os.environ.get("TAPEREADER_NO_JIT_GUARD"):
        return
    _done = True
    try:
        check_cache()
    except OSError:
        pass
