"""Create the peer engines' virtual environments, idempotently, outside the repository.

Peers are never tapereader dependencies: they live in their own venvs under a cache folder,
``$TAPEREADER_BENCH_HOME`` (default ``~/.cache/tapereader-bench``):

* ``peers``: backtesting.py, backtrader and vectorbt (they install together with numpy 2.4).
* ``hft``:   hftbacktest 2.x (needs numpy < 2.3, so it cannot share the ``peers`` venv).
* ``finrl``: FinRL, for its ``StockTradingEnv`` (issue 9). FinRL's requirements are heavy and
  partly unavailable; if it does not install, the failure is recorded in ``finrl/FAILED.txt``
  and the FinRL benchmark falls back to a plain Python loop over the same environment logic.

A venv is (re)built only when its requirement spec changed or its previous build did not finish:
each finished venv holds ``tapereader-spec.json`` with the spec and the installed versions.

    python benchmarks/venvs.py              # all venvs
    python benchmarks/venvs.py peers hft    # some
    python benchmarks/venvs.py --status     # what is installed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# name -> (pip requirements, modules whose __version__ is recorded, optional)
SPECS: dict[str, dict] = {
    "peers": {
        "requirements": [
            "backtesting==0.6.6",
            "backtrader==1.9.78.123",
            "vectorbt==1.2.0",
            "numpy>=2.4",
        ],
        "modules": ["backtesting", "backtrader", "vectorbt", "numpy", "pandas", "numba"],
        "optional": False,
    },
    "hft": {
        "requirements": ["hftbacktest==2.4.4", "numpy<2.3"],
        "modules": ["hftbacktest", "numpy", "numba"],
        "optional": False,
    },
    # FinRL 0.3.7's wheel declares no dependencies, and ``import finrl`` pulls data-vendor SDKs
    # (alpaca, wrds, yfinance) and training stacks (elegantrl, ray, stable-baselines3 + torch,
    # CUDA by default from PyPI). StockTradingEnv itself needs only gymnasium, numpy, pandas and
    # matplotlib, plus one import of stable-baselines3's DummyVecEnv used by ``get_sb_env``; the
    # FinRL runner loads the env module from its file and satisfies that import with a stub.
    "finrl": {
        "requirements": ["finrl==0.3.7", "gymnasium>=1.0", "numpy", "pandas", "matplotlib"],
        "modules": ["gymnasium", "numpy", "pandas", "matplotlib"],
        "optional": True,
    },
}

SPEC_FILE = "tapereader-spec.json"
FAILED_FILE = "FAILED.txt"


def bench_home() -> Path:
    """The cache folder holding the peer venvs, the numba caches and the synthetic data."""
    env = os.environ.get("TAPEREADER_BENCH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tapereader-bench"


def venv_dir(name: str) -> Path:
    return bench_home() / "venvs" / name


def venv_python(name: str) -> Path:
    return venv_dir(name) / "bin" / "python"


def _spec_hash(name: str) -> str:
    spec = {"requirements": SPECS[name]["requirements"], "python": sys.version_info[:2]}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def status(name: str) -> dict | None:
    """The recorded spec of a finished venv, or None if it is missing / stale / failed."""
    f = venv_dir(name) / SPEC_FILE
    if not f.exists():
        return None
    try:
        info = json.loads(f.read_text())
    except json.JSONDecodeError:
        return None
    if info.get("spec_hash") != _spec_hash(name) or not venv_python(name).exists():
        return None
    return info


def failure(name: str) -> str | None:
    """The recorded reason the current spec of a venv failed to build (None if it did not)."""
    f = venv_dir(name) / FAILED_FILE
    if not f.exists():
        return None
    first, _, rest = f.read_text().partition("\n")
    return rest if first == f"spec {_spec_hash(name)}" else None


def _run(cmd: list[str], log) -> subprocess.CompletedProcess:
    log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)


def _versions(name: str) -> dict[str, str]:
    code = (
        "import importlib, json, sys\n"
        "out = {'python': sys.version.split()[0]}\n"
        f"for m in {SPECS[name]['modules']!r}:\n"
        "    try:\n"
        "        mod = importlib.import_module(m)\n"
        "        out[m] = str(getattr(mod, '__version__', '?'))\n"
        "    except Exception as exc:\n"
        "        out[m] = 'import failed: ' + type(exc).__name__ + ': ' + str(exc)[:200]\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, TQDM_DISABLE="1")
    proc = subprocess.run(
        [str(venv_python(name)), "-c", code], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def ensure(name: str, *, force: bool = False, quiet: bool = False) -> Path | None:
    """Build venv ``name`` if needed; return its python, or None if it could not be built."""
    if name not in SPECS:
        raise SystemExit(f"unknown venv {name!r}; choose from {', '.join(SPECS)}")
    if not force and status(name) is not None:
        return venv_python(name)
    if not force and failure(name) is not None and SPECS[name]["optional"]:
        # an optional venv that failed before is not retried on every run (use --force)
        return None
    d = venv_dir(name)
    if d.exists():
        shutil.rmtree(d)
    d.parent.mkdir(parents=True, exist_ok=True)
    log_path = d.parent / f"{name}.log"
    t0 = time.perf_counter()
    if not quiet:
        print(f"[venvs] building {name} in {d} (log: {log_path})", flush=True)
    with open(log_path, "w") as log:
        proc = _run([sys.executable, "-m", "venv", str(d)], log)
        if proc.returncode == 0:
            py = str(venv_python(name))
            _run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], log)
            proc = _run(
                [py, "-m", "pip", "install", "--no-input", *SPECS[name]["requirements"]], log
            )
    if proc.returncode != 0:
        tail = log_path.read_text()[-4000:]
        d.mkdir(parents=True, exist_ok=True)
        _atomic_write(
            d / FAILED_FILE,
            f"spec {_spec_hash(name)}\n"
            f"pip install {' '.join(SPECS[name]['requirements'])} failed "
            f"(exit {proc.returncode}); last lines of {log_path}:\n{tail}",
        )
        if not quiet:
            print(f"[venvs] {name}: FAILED (see {d / FAILED_FILE})", flush=True)
        return None
    versions = _versions(name)
    info = {
        "name": name,
        "spec_hash": _spec_hash(name),
        "requirements": SPECS[name]["requirements"],
        "versions": versions,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    bad = [m for m, v in versions.items() if str(v).startswith("import failed") or m == "error"]
    if bad:
        _atomic_write(
            d / FAILED_FILE,
            f"spec {_spec_hash(name)}\n"
            f"installed but import failed for {bad}: {json.dumps(versions, indent=1)}",
        )
        if not quiet:
            print(f"[venvs] {name}: installed but imports fail: {bad}", flush=True)
        return None
    _atomic_write(d / SPEC_FILE, json.dumps(info, indent=1))
    if not quiet:
        print(f"[venvs] {name}: ready in {info['build_seconds']} s: {versions}", flush=True)
    return venv_python(name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=list(SPECS), help=f"any of {list(SPECS)}")
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    ap.add_argument("--status", action="store_true", help="only print what is installed")
    args = ap.parse_args(argv)
    print(f"bench home: {bench_home()}")
    rc = 0
    for name in args.names:
        if args.status:
            info, why = status(name), failure(name)
            if info:
                print(f"{name}: ready {info['versions']}")
            elif why:
                print(f"{name}: FAILED: {why.splitlines()[0]}")
            else:
                print(f"{name}: not built")
            continue
        py = ensure(name, force=args.force)
        if py is None and not SPECS[name]["optional"]:
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
