"""Catalog faults and security: kills and exceptions at every step of an import, a full disk,
permission errors, manifests and links crafted to escape the catalog root, damaged manifests.

What must hold: after any interruption the catalog shows either exactly the state before the
import or exactly the state after it (the manifest replace is the one commit point), the next
import works and leaves no stray files; failed writes raise RunError naming the file and the fix;
nothing outside the root is read, written or deleted; a damaged manifest is a DataError.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fuzz_catalog_hooks import _install, _restore
from fuzz_mutate import apply, mutations
from fuzz_oracle import fuzz_settings, long_budget
from hypothesis import given

from data.catalog import Catalog
from data.catalog.files import content_sha256
from data.errors import DataError, RunError
from data.readers import read_bars, read_tardis

REPO = Path(__file__).resolve().parents[1]
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals / permissions")

@pytest.fixture(scope="module")
def data(samples):
    bars = read_bars(samples / "equities_daily" / "GOOG_2004-2013_backtesting.csv").data
    trades = read_tardis(samples / "crypto" /
                         "tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv").data
    bars = bars[bars["ts"] < np.datetime64("2007-01-01", "ns").astype(np.int64)]
    new = bars.copy()
    new["volume"][len(new) // 3:] *= 3  # replaces two of the three yearly partitions
    return {"bars": bars, "trades": trades, "new_bars": new}


def _state(root: Path) -> dict:
    """Everything a reader can see: each dataset's rows and its manifest's partitions."""
    cat = Catalog(root)
    out = {}
    for d in cat.ls():
        out[(d.kind, d.symbol)] = (cat.load(d.kind, d.symbol).tobytes(),
                                   sorted(cat.manifest(d.kind, d.symbol)["partitions"]))
    return out


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _setup(root: Path, data) -> None:
    cat = Catalog(root)
    cat.write("bar", "GOOG", data["bars"])
    cat.write("trade", "BTCUSDT", data["trades"])


def _after_state(tmp: Path, data) -> dict:
    root = tmp / "reference"
    _setup(root, data)
    Catalog(root).write_chunks("bar", "GOOG", np.array_split(data["new_bars"], 4),
                               spill_bytes=4096)
    return _state(root)


def _check_recovered(root: Path, before: dict, after: dict, data) -> str:
    """The visible state is exactly before or after; the next import works and sweeps."""
    state = _state(root)
    assert state in (before, after), "a partial import is visible"
    Catalog(root).write_chunks("bar", "GOOG", np.array_split(data["new_bars"], 4),
                               spill_bytes=4096)
    assert _state(root) == after
    stray = {f for f in _files(root) if ".tmp-" in f or ".staging-" in f}
    assert not stray, stray
    cat = Catalog(root)
    live = {f"bar/GOOG/{p['file']}" for p in cat.manifest("bar", "GOOG")["partitions"].values()}
    parts = {f for f in _files(root) if f.startswith("bar/GOOG/date=")}
    assert parts == live, parts ^ live  # every file on disk is referenced, and vice versa
    return "before" if state == before else "after"


def _count_calls(tmp: Path, data) -> int:
    root = tmp / "count"
    _setup(root, data)
    calls, originals = _install(lambda n, phase: None)
    try:
        Catalog(root).write_chunks("bar", "GOOG", np.array_split(data["new_bars"], 4),
                                   spill_bytes=4096)
    finally:
        _restore(originals)
    return calls[0]


def _points(n_calls: int, ci: int, seed: int) -> list[tuple[int, str]]:
    every = [(n, phase) for n in range(1, n_calls + 1) for phase in ("before", "after")]
    if long_budget() or len(every) <= ci:
        return every
    rng = np.random.default_rng(seed)
    keep = set(rng.choice(len(every), ci, replace=False).tolist()) | {len(every) - 1}
    return [every[i] for i in sorted(keep)]


# ------------------------------------------------------------------------- interruptions
def test_an_exception_at_any_step_of_an_import_leaves_before_or_after(tmp_path, data):
    before_root = tmp_path / "b"
    _setup(before_root, data)
    before, after = _state(before_root), _after_state(tmp_path, data)
    n_calls = _count_calls(tmp_path, data)
    assert n_calls > 20
    seen = {"before": 0, "after": 0}
    for k, when in _points(n_calls, 36, 0):  # every step, both sides, with a long budget
        root = tmp_path / f"x{k}{when}"
        _setup(root, data)

        def hit(n, phase, k=k, when=when):
            if (n, phase) == (k, when):
                raise OSError(errno.ENOSPC, "No space left on device (simulated)")

        calls, originals = _install(hit)
        try:
            Catalog(root).write_chunks("bar", "GOOG", np.array_split(data["new_bars"], 4),
                                       spill_bytes=4096)
            raised = None
        except RunError as exc:
            raised = exc
        finally:
            _restore(originals)
        if raised is not None:
            assert "No space left" in str(raised) and "free disk space" in raised.fix
        seen[_check_recovered(root, before, after, data)] += 1
    assert seen["before"] and seen["after"]


@POSIX
def test_kill_9_at_random_steps_of_an_import_leaves_before_or_after(tmp_path, data):
    before_root = tmp_path / "b"
    _setup(before_root, data)
    before, after = _state(before_root), _after_state(tmp_path, data)
    np.save(tmp_path / "new.npy", data["new_bars"])
    hooks = str(Path(__file__).with_name("fuzz_catalog_hooks.py"))

    def child(mode, k, when, root):
        return subprocess.run([sys.executable, hooks, mode, str(k), when, str(root),
                               str(tmp_path / "new.npy")], capture_output=True, timeout=120)

    _setup(tmp_path / "count", data)
    counted = child("count", 0, "", tmp_path / "count")
    assert counted.returncode == 0, counted.stderr.decode()[-2000:]
    n_calls = int(counted.stdout)
    seen = {"before": 0, "after": 0}
    for k, when in _points(n_calls, 14, 1):
        root = tmp_path / f"k{k}{when}"
        _setup(root, data)
        proc = child("kill", k, when, root)
        if proc.returncode == 0:  # the step raised (a suppressed rmdir): no "after" to hit
            assert _state(root) == after
            continue
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        seen[_check_recovered(root, before, after, data)] += 1
    assert seen["before"] and seen["after"]


@POSIX
def test_kill_9_at_random_moments_of_a_large_import(tmp_path, data):
    """Not at a hooked step: SIGKILL after a random delay while ~1M trade rows are written."""
    big = np.concatenate([data["trades"]] * 100)
    big["ts"] += np.repeat(np.arange(100, dtype=np.int64) * 86_400 * 10**9, len(data["trades"]))
    big["ts_recv"] = big["ts"]
    np.save(tmp_path / "big.npy", big)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np
        from data.catalog import Catalog
        print("go", flush=True)
        Catalog(sys.argv[1]).write("trade", "BTCUSDT", np.load({str(tmp_path / "big.npy")!r}))
    """)
    rng = np.random.default_rng(7)
    outcomes = []
    for i in range(3 if not long_budget() else 12):
        root = tmp_path / f"r{i}"
        _setup(root, data)
        before = _state(root)
        proc = subprocess.Popen([sys.executable, "-c", script, str(root)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"go"
        try:
            proc.wait(timeout=float(rng.uniform(0.05, 1.5)))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        state = _state(root)
        if state == before:
            outcomes.append("before")
        else:
            assert Catalog(root).load("trade", "BTCUSDT").tobytes() == big.tobytes()
            outcomes.append("after")
        Catalog(root).write("trade", "BTCUSDT", big)
        assert Catalog(root).load("trade", "BTCUSDT").tobytes() == big.tobytes()
        assert not [f for f in _files(root) if ".tmp-" in f or ".staging-" in f]
    assert outcomes


# --------------------------------------------------------------------- disk full, permissions
@POSIX
def test_a_real_file_size_limit_mid_import_is_a_clear_run_error(tmp_path, data):
    """RLIMIT_FSIZE makes the kernel refuse the write (EFBIG) like a full disk would."""
    root = tmp_path / "cat"
    _setup(root, data)
    before, files = _state(root), _files(root)
    new = data["trades"].copy()
    new["size"] *= 2
    np.save(tmp_path / "new.npy", new)
    script = textwrap.dedent(f"""
        import json, resource, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np
        from data.catalog import Catalog
        from data.errors import RunError
        new = np.load({str(tmp_path / "new.npy")!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        try:
            Catalog(sys.argv[1]).write("trade", "BTCUSDT", new)
        except RunError as exc:
            print(json.dumps({{"message": exc.message, "fix": exc.fix, "file": exc.file}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    err = json.loads(proc.stdout)
    assert "File too large" in err["message"] and "free disk space" in err["fix"]
    assert err["file"] and str(root) in err["file"]
    assert _state(root) == before and _files(root) == files  # intact, new files removed


def test_disk_full_and_permission_errors_name_the_file_and_the_fix(tmp_path, data, monkeypatch):
    import pyarrow.parquet as pq

    root = tmp_path / "cat"
    _setup(root, data)
    before, files = _state(root), _files(root)
    original = pq.write_table
    for code, text, fix in ((errno.ENOSPC, "No space left on device", "free disk space"),
                            (errno.EDQUOT, "Disk quota exceeded", "quota"),
                            (errno.EACCES, "Permission denied", "permissions"),
                            (errno.EROFS, "Read-only file system", "permissions")):
        def failing(table, where, *a, code=code, text=text, **k):
            original(table, where, *a, **k)  # some bytes hit the disk first
            raise OSError(code, text)  # as pyarrow reports a failed write to a file object

        monkeypatch.setattr(pq, "write_table", failing)
        with pytest.raises(RunError) as exc:
            Catalog(root).write("bar", "GOOG", data["new_bars"])
        assert text in exc.value.message and fix in exc.value.fix
        assert exc.value.file and "bar/GOOG/date=" in exc.value.file
        assert _state(root) == before and _files(root) == files
    monkeypatch.setattr(pq, "write_table", original)
    Catalog(root).write("bar", "GOOG", data["new_bars"])
    assert Catalog(root).load("bar", "GOOG").tobytes() == data["new_bars"].tobytes()


@POSIX
def test_a_read_only_dataset_folder_is_a_clear_run_error(tmp_path, data):
    """A real permission failure: the catalog belongs to another user (root runs the test
    as 'nobody' in a child process; otherwise the folder is made read-only)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="tape-perm-"))  # reachable by 'nobody' (pytest's is not)
    os.chmod(base, 0o755)
    root = base / "cat"
    _setup(root, data)
    before = _state(root)
    np.save(base / "new.npy", data["new_bars"])
    tmp_path = base
    script = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np
        import pyarrow.parquet
        from data.catalog import Catalog
        from data.catalog import store, files
        from data.errors import RunError
        new = np.load({str(tmp_path / "new.npy")!r})
        if os.getuid() == 0:  # root ignores permissions: drop to 'nobody' (imports done)
            os.setgid(65534); os.setuid(65534)
        try:
            Catalog(sys.argv[1]).write("bar", "GOOG", new)
            print(json.dumps({{"ok": True}}))
        except RunError as exc:
            print(json.dumps({{"message": exc.message, "fix": exc.fix, "file": exc.file}}))
    """)
    folder = root / "bar" / "GOOG"
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for p in modes:
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    try:
        proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True,
                              timeout=120)
    finally:
        for p, m in modes.items():
            os.chmod(p, m)
    try:
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        err = json.loads(proc.stdout)
        assert "ok" not in err, "the write succeeded: permissions are not enforced here"
        assert "Permission denied" in err["message"] and "permissions" in err["fix"]
        assert err["file"] and str(folder) in err["file"]
        assert _state(root) == before
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------------- escaping the root
def _manifest_path(root: Path) -> Path:
    return root / "bar" / "GOOG" / "_manifest.json"


@pytest.mark.parametrize("evil", ["../../../../etc/passwd", "/etc/passwd",
                                  "date=2004/../../../../outside.parquet",
                                  "date=2004/part-ab.parquet/../../../x.parquet",
                                  "C:\\\\Windows\\\\x.parquet", "date=2004/part-zz.parquet"])
def test_a_manifest_pointing_outside_its_folder_is_refused(tmp_path, data, evil):
    root = tmp_path / "cat"
    _setup(root, data)
    man_path = _manifest_path(root)
    man = json.loads(man_path.read_text())
    key = sorted(man["partitions"])[0]
    man["partitions"][key]["file"] = evil
    man_path.write_text(json.dumps(man))
    for read in (lambda: Catalog(root).load("bar", "GOOG"), lambda: Catalog(root).ls(),
                 lambda: Catalog(root).write("bar", "GOOG", data["new_bars"])):
        with pytest.raises(DataError, match="outside its dataset folder") as exc:
            read()
        assert exc.value.file == str(man_path) and exc.value.fix


@POSIX
def test_symbolic_links_out_of_the_catalog_are_never_followed(tmp_path, data):
    root = tmp_path / "cat"
    _setup(root, data)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.parquet"
    secret.write_bytes(b"not catalog data")
    cat = Catalog(root)
    entry = next(iter(cat.manifest("bar", "GOOG")["partitions"].values()))
    part = root / "bar" / "GOOG" / entry["file"]
    part.unlink()
    part.symlink_to(secret)  # a partition file that is a link leading out
    with pytest.raises(DataError, match="leads outside the catalog") as exc:
        cat.load("bar", "GOOG")
    assert exc.value.fix
    # a dataset folder that is a link leading out: refused for reads, writes and deletes
    (root / "trade" / "ETHUSDT").symlink_to(outside, target_is_directory=True)
    (outside / "_manifest.json").write_text("{}")
    for act in (lambda: cat.load("trade", "ETHUSDT"), lambda: cat.delete("trade", "ETHUSDT"),
                lambda: cat.write("trade", "ETHUSDT", data["trades"])):
        with pytest.raises(DataError, match="leads outside"):
            act()
    # a date= folder linked out: a write never lands there, a sweep never deletes there
    victim = outside / "keep.parquet"
    victim.write_bytes(b"x")
    goog = root / "bar" / "GOOG"
    (goog / "date=2030").symlink_to(outside, target_is_directory=True)
    cat.delete("bar", "GOOG")
    assert victim.exists() and secret.read_bytes() == b"not catalog data"
    far = data["bars"][:3].copy()
    far["ts"] = np.datetime64("2030-06-01", "ns").astype(np.int64) + np.arange(3) * 86_400 * 10**9
    with pytest.raises(DataError, match="leads outside"):
        cat.write("bar", "GOOG", far)
    assert sorted(p.name for p in outside.iterdir()) == ["_manifest.json", "keep.parquet",
                                                         "secret.parquet"]


@POSIX
def test_a_link_planted_at_a_temp_file_name_is_replaced_not_written_through(tmp_path, data):
    root = tmp_path / "cat"
    _setup(root, data)
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    folder = root / "bar" / "GOOG"
    (folder / f"_manifest.json.tmp-{os.getpid()}").symlink_to(target)
    new = data["new_bars"]
    import_id = content_sha256(new)
    year = str(np.datetime64(int(new["ts"][-1]), "ns").astype("datetime64[Y]"))
    (folder / f"date={year}").mkdir(exist_ok=True)
    (folder / f"date={year}" / f"part-{import_id[:20]}.parquet.tmp-{os.getpid()}").symlink_to(
        target)
    Catalog(root).write("bar", "GOOG", new)
    assert target.read_text() == "keep me"
    assert Catalog(root).load("bar", "GOOG").tobytes() == new.tobytes()


def test_catalog_references_cannot_name_a_folder_outside_the_root(tmp_path, data):
    from data.catalog import parse_ref, resolve

    root = tmp_path / "cat"
    _setup(root, data)
    (tmp_path / "bar").mkdir()
    for ref in ("catalog://bar/..%2F..%2Fbar%2FGOOG", "catalog://bar/..", "catalog://bar/.",
                "catalog://bar/%2Fetc%2Fpasswd"):
        try:
            r = parse_ref(ref)
        except Exception as exc:  # noqa: BLE001 - refused at parsing is fine
            assert type(exc).__name__ in ("ConfigError", "DataError")
            continue
        folder = Catalog(root)._dir(r.kind, r.symbol) if r.symbol not in (".", "..") else None
        if folder is not None:
            assert root.resolve() in folder.resolve().parents
        with pytest.raises(DataError):
            resolve(ref, catalog=root)


# ------------------------------------------------------------------------- damaged manifests
@pytest.fixture(scope="module")
def manifest_seed(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("man")
    _setup(root, data)
    Catalog(root).write("bar", "GOOG", data["new_bars"], instrument=None)
    return root, _manifest_path(root).read_bytes()


@fuzz_settings(300)
@given(ops=mutations(json_lines=False, max_ops=2))
def test_a_damaged_manifest_is_a_data_error_for_every_catalog_operation(manifest_seed, data, ops):
    root, raw = manifest_seed
    _manifest_path(root).write_bytes(_json_mutation(raw, ops))
    try:
        cat = Catalog(root)
        for act in (lambda: cat.ls(), lambda: cat.load("bar", "GOOG"),
                    lambda: list(cat.scan("bar", "GOOG", chunk_rows=100)),
                    lambda: cat.instrument("bar", "GOOG"), lambda: cat.manifest("bar", "GOOG")):
            try:
                act()
            except DataError as exc:
                assert exc.file and exc.fix
    finally:
        _manifest_path(root).write_bytes(raw)


def _json_mutation(raw: bytes, ops) -> bytes:
    """Byte-level operators, and (half the time) a JSON-aware value change of the manifest."""
    import random

    out = apply(raw, ops)
    r = random.Random(ops[0][1])
    if r.random() < 0.5:
        try:
            man = json.loads(raw)
        except ValueError:
            return out
        key = r.choice(sorted(man["partitions"]))
        entry = man["partitions"][key]
        field = r.choice(["file", "rows", "ts_min", "ts_max", "bytes", None])
        value = r.choice([None, -1, 2**70, "x", [], {}, 1.5, "../x", True])
        if field is None:
            man[r.choice(["kind", "symbol", "period", "partitions", "imports",
                          "instrument"])] = value
        else:
            entry[field] = value
        out = json.dumps(man).encode()
    return out
