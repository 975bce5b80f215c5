"""Security: nothing in the catalog, a data file or a config is ever executed or unpickled.

1. A static scan (Python's ``ast``) of every shipped module, benchmark and example: no
   pickle / marshal / shelve / dill / joblib, no ``eval`` / ``exec`` / ``compile`` /
   ``__import__``, no ``yaml.load`` without a safe loader, no ``np.load(allow_pickle=True)``,
   ``pd.read_pickle`` or ``torch.load`` without ``weights_only=True``, no ``shell=True``, no
   dynamic imports except those listed in :data:`ALLOWED` with the reason each one is safe. A new
   use fails this test until it is made safe or justified here (docs/reliability.md).
2. The readers of untrusted binary data do not unpickle: a Parquet file whose schema carries a
   pickled Arrow extension type (the payload of CVE-2023-47248) is read by the catalog and by
   the table reader without running the payload.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("cli.py", "data", "engine", "strategies", "reports", "benchmarks", "examples")

BANNED_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle",
                  "joblib", "jsonpickle"}
BANNED_CALLS = {"eval", "exec", "compile", "__import__", "execfile"}
# libraries whose model / policy files hold pickled objects: importing one needs an entry in
# ALLOWED saying how loading is made safe (a safe format, or an explicit trust flag)
PICKLING_LOADERS = {"stable_baselines3", "sb3_contrib", "torch", "keras", "tensorflow",
                    "skops", "lightning", "pytorch_lightning"}

# (path, what) -> why it is safe
ALLOWED = {
    ("data/readers/dispatch.py", "importlib.import_module"):
        "imports the reader modules named in the constant PLUGIN_MODULES tuple; nothing from "
        "a file, a config or the command line chooses a module",
    ("strategies/rl/policy.py", "stable_baselines3"):
        "an SB3 .zip is loaded only with load_policy(..., trust=True) (ConfigError otherwise); "
        "the shipped formats are .npz (allow_pickle=False) and .json",
    ("strategies/rl/policy.py", "torch"):
        "from_sb3 reads layer weights of a model already in memory; it loads no file",
    ("examples/rl_sb3_train.py", "stable_baselines3"):
        "an example that trains a model and exports it to .npz; it loads no file",
    ("examples/rl_sb3_train.py", "torch"):
        "the same training example (torch settings); it loads no file",
    ("benchmarks/runners/rl_env_finrl.py", "importlib.util.spec_from_file_location"):
        "the benchmark loads the FinRL environment from the peer's installed package, a path "
        "the benchmark computes itself; not part of the engine",
    ("strategies/registry.py", "importlib.import_module"):
        "imports the module of an explicit `package.module:Class` strategy reference (CLI "
        "--strategy or a config's strategy name): running the user's own strategy code is the "
        "point; catalogs and other config keys never reach it",
    ("strategies/registry.py", "importlib.util.spec_from_file_location"):
        "loads an explicit `path/file.py:Class` strategy reference, the only way a file runs "
        "code (documented in docs/cli.md and docs/reliability.md)",
    ("strategies/agent/deciders.py", "importlib.util.spec_from_file_location"):
        "the agent strategy's 'agent' parameter names the user's own decision function "
        "(file.py:name), as a strategy reference does; data files never choose it",
    ("strategies/agent/deciders.py", "importlib.import_module"):
        "the agent strategy's 'agent' parameter names the user's own decision function "
        "(package.module:name), as a strategy reference does; data files never choose it",
}


def _files() -> list[Path]:
    out = []
    for name in SCANNED:
        p = REPO / name
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out += sorted(p.rglob("*.py"))
    return out


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _is_true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def findings(path: Path) -> list[tuple[int, str, str]]:
    """(line, what, why it is dangerous) for each risky construct in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            for n in names:
                if n.split(".")[0] in BANNED_MODULES:
                    out.append((node.lineno, n, "a serialisation module that runs code on load"))
                elif n.split(".")[0] in PICKLING_LOADERS:
                    out.append((node.lineno, n.split(".")[0],
                                "its model files can hold pickles: load them in a safe format "
                                "or behind an explicit trust flag"))
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        if name in BANNED_CALLS:
            out.append((node.lineno, name, "executes text as code"))
        elif name.endswith("yaml.load") or last in ("unsafe_load", "full_load", "load_all"):
            loader = _kw(node, "Loader")
            if loader is None or "Safe" not in _dotted(loader):
                out.append((node.lineno, name, "yaml.load without SafeLoader builds objects"))
        elif last == "load" and name.startswith(("np.", "numpy.")) and _is_true(
                _kw(node, "allow_pickle")):
            out.append((node.lineno, name, "np.load(allow_pickle=True) unpickles"))
        elif last == "read_pickle" or name in ("torch.load",) and not _is_true(
                _kw(node, "weights_only")):
            out.append((node.lineno, name, "unpickles the file"))
        elif _is_true(_kw(node, "shell")):
            out.append((node.lineno, name, "shell=True runs a command line through the shell"))
        elif name in ("importlib.import_module", "import_module",
                      "importlib.util.spec_from_file_location", "spec_from_file_location",
                      "runpy.run_path", "runpy.run_module"):
            out.append((node.lineno, name if "." in name else f"importlib.{name}",
                        "imports code chosen at run time"))
    return out


def test_no_code_is_executed_or_unpickled_from_data_or_configs():
    bad = []
    for path in _files():
        rel = path.relative_to(REPO).as_posix()
        for line, what, why in findings(path):
            if (rel, what) not in ALLOWED:
                bad.append(f"{rel}:{line}: {what}: {why}")
    assert not bad, ("risky constructs (make them safe, or justify them in ALLOWED and "
                     "docs/reliability.md):\n" + "\n".join(bad))


def test_the_scan_catches_what_it_looks_for(tmp_path):
    """The scanner itself must not be blind (each construct below is reported)."""
    src = tmp_path / "bad.py"
    src.write_text(
        "import pickle\nimport numpy as np\nimport yaml\nimport subprocess\nimport importlib\n"
        "eval('1')\nexec('x = 1')\nnp.load('f.npy', allow_pickle=True)\nyaml.load(s)\n"
        "yaml.load(s, Loader=yaml.SafeLoader)\nsubprocess.run('ls', shell=True)\n"
        "importlib.import_module(name)\nimport pandas as pd\npd.read_pickle('x')\n"
        "from stable_baselines3 import PPO\nimport torch\ntorch.load(f)\n")
    what = [w for _, w, _ in findings(src)]
    assert what == ["pickle", "stable_baselines3", "torch", "eval", "exec", "np.load",
                    "yaml.load", "subprocess.run", "importlib.import_module", "pd.read_pickle",
                    "torch.load"]


def _pickle_payload(marker: Path) -> bytes:
    """A pickle that creates ``marker`` when loaded (a harmless stand-in for real damage)."""
    import pickle  # noqa: S403 - builds the hostile payload of this test

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    return pickle.dumps(Payload())


@pytest.fixture()
def hostile_parquet(tmp_path):
    """GOOG bars in a Parquet file whose 'volume' field claims the pickle-based Arrow
    extension type 'arrow.py_extension_type' with a payload that touches a marker file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from data.catalog.files import to_table
    from data.readers import read_bars

    bars = read_bars(REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv").data
    marker = tmp_path / "pwned"
    table = to_table(bars[:50], "bar")
    meta = {b"ARROW:extension:name": b"arrow.py_extension_type",
            b"ARROW:extension:metadata": _pickle_payload(marker)}
    fields = [f.with_metadata(meta) if f.name == "volume" else f for f in table.schema]
    table = pa.Table.from_arrays(table.columns, schema=pa.schema(fields, table.schema.metadata))
    path = tmp_path / "GOOG.parquet"
    pq.write_table(table, path)
    return path, marker, bars[:50]


def test_a_parquet_file_carrying_a_pickled_extension_type_is_never_unpickled(hostile_parquet,
                                                                             tmp_path):
    from data.catalog import Catalog
    from data.errors import DataError
    from data.readers import read_table

    path, marker, bars = hostile_parquet
    try:
        got = read_table(path, kind="bar")
        assert np.array_equal(got["volume"], bars["volume"])
    except DataError:
        pass
    # planted as a catalog partition: the catalog reads it (or refuses it) without unpickling
    cat = Catalog(tmp_path / "cat")
    cat.write("bar", "GOOG", bars)
    entry = next(iter(cat.manifest("bar", "GOOG")["partitions"].values()))
    (tmp_path / "cat/bar/GOOG" / entry["file"]).write_bytes(path.read_bytes())
    try:
        cat.load("bar", "GOOG")
    except DataError:
        pass
    assert not marker.exists(), "a pickle inside a Parquet file was executed"


def test_a_run_folder_carrying_a_pickled_parquet_extension_type_reports_without_unpickling(
        hostile_parquet, tmp_path):
    """A run folder from someone else (prices.parquet replaced by the CVE-2023-47248 payload):
    building its report never runs the pickle."""
    import engine
    from data.errors import DataError, RunError

    path, marker, bars = hostile_parquet
    run = engine.run(market={"GOOG": bars}, strategy="buy_and_hold").save(tmp_path / "run",
                                                                           report=False)
    (run / "prices.parquet").write_bytes(path.read_bytes())
    from reports.html import write_report

    try:
        write_report(run)
    except (DataError, RunError):
        pass
    assert not marker.exists(), "a pickle inside a run folder's Parquet file was executed"


HOSTILE_VALUES = ["__import__('os').system('touch {m}')", "$(touch {m})", "`touch {m}`",
                  "{{{{ ''.__class__ }}}}", "!!python/object/apply:os.system ['touch {m}']"]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_configs_never_execute_their_values(tmp_path, value):
    """Strings in every section of a TOML config are data: a strategy name that is not an
    explicit ``file.py:Class`` / ``module:Class`` reference, parameter values, data paths,
    metric settings — none is evaluated, imported or run."""
    import engine
    from data.errors import ConfigError, DataError, StrategyError

    marker = tmp_path / "pwned"
    v = value.format(m=marker)
    goog = REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv"
    q = v.replace("\\", "\\\\").replace('"', '\\"')
    tries = [
        f'[strategy]\nname = "{q}"\n[data]\npath = ["{goog.as_posix()}"]\n',
        f'[strategy]\nname = "sma_cross"\n[strategy.params]\nfast = "{q}"\n'
        f'[data]\npath = ["{goog.as_posix()}"]\n',
        f'[strategy]\nname = "sma_cross"\n[data]\npath = ["{q}"]\n',
        f'[strategy]\nname = "sma_cross"\n[data]\npath = ["{goog.as_posix()}"]\n'
        f'[metrics]\nrisk_free = "{q}"\n',
        f'[strategy]\nname = "sma_cross"\n[data]\npath = ["{goog.as_posix()}"]\n'
        f'[broker]\ncommission = "{q}"\n',
    ]
    for k, text in enumerate(tries):
        cfg = tmp_path / f"c{k}.toml"
        cfg.write_text(text)
        import tomllib

        assert v in str(tomllib.loads(text))  # the payload reaches the engine as a string
        try:
            engine.run(cfg)
        except (ConfigError, DataError, StrategyError):
            pass
        assert not marker.exists(), f"config {k} ran code: {text}"
