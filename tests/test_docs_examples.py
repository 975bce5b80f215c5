"""Every fenced ``sh``/``bash``/``python`` block of README.md and docs/*.md is either run here as
written or named in SKIP with the reason, so the documentation cannot drift from the code.

Blocks run in a temp folder that links ``data/`` and ``examples/`` from the repository, so the
relative paths of the docs work and every ``runs/...`` output lands in the temp folder; the
catalog is a temp folder too (``TAPEREADER_CATALOG``). Optional flags written ``[--flag]`` are
dropped before a command runs.
"""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

REPO = Path(__file__).resolve().parents[1]
DOCS = ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]
LANGS = ("sh", "bash", "python")

# (file, first line of the block) -> why the block is not run here
SKIP = {
    ("README.md", "python3.11 -m venv .venv"): "installs into a new venv and runs the whole suite",
    ("README.md", "import engine"): "run by tests/test_core_docs.py::test_readme_example_runs",
    ("README.md", "tape run examples/tick_mm_binance.toml"): "run by tests/test_cli_readme.py",
    ("README.md", "tape demo --out runs/demo"): "run by tests/test_cli_readme.py",
    ("README.md", "tape ml run examples/ml_intraday_mtf.toml"): "run by tests/test_cli_readme.py",
    ("docs/cli.md", "tape sweep --strategy sma_cross"):
        "a synopsis; without its [options] the README's command (checked below)",
    ("docs/cli.md", "tape walkforward --strategy sma_cross"):
        "a synopsis; without its [options] the README's command (checked below)",
    ("docs/strategies.md", "import numpy as np\nimport engine\nfrom strategies.base import Strategy, Param"):
        "run by tests/test_core_docs.py",
    ("docs/strategies.md", "ctx.buy(sym=None, *, size"): "signatures, not a program",
    ("docs/strategies.md", "res = engine.run(config=None"): "a signature, not a program",
    ("docs/data.md", "FORMATS = [{"): "an excerpt of data/readers/lobster.py (names its helpers)",
    ("docs/ml.md", "from strategies.ml.features import FeatureSet"):
        "trains ~40 random forests and audits them (~4 min); checked by hand 2026-11-27",
    ("docs/reliability.md", "python -m pytest tests/test_fuzz_*.py"): "runs the test suite itself",
    ("docs/tick_fills.md", "import engine\nres = engine.run(\"examples/tick_mm_goog.toml\""):
        "the LOBSTER GOOG day takes ~40 s; chunked runs equal whole runs in test_tick_stream.py",
}
# commands of a run block that are synopses (placeholders), not commands
SYNOPSES = ("FILE...", "CONFIG")
# single commands of a run block that are not run here, by their start
SKIP_COMMANDS = {
    "tape ml run examples/ml_btc_hourly.toml": "1-2 min (40 random forests)",
    "tape ml run examples/ml_intraday_mtf.toml": "run by tests/test_cli_readme.py",
    "tape ml run examples/ml_lobster_orderflow.toml":
        "~12 s; its config is loaded by tests/test_ml_pipeline.py::test_example_configs_load",
    "tape ml audit examples/ml_intraday_mtf.toml": "~18 s; the audit has tests/test_ml_audit.py",
    "tape run -s ml_signal": "~45 s (random forests on 37k hourly bars)",
}


def _blocks() -> list[tuple[str, int, str, str]]:
    out = []
    for name in DOCS:
        text = (REPO / name).read_text(encoding="utf-8")
        for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
            if m.group(1) in LANGS:
                out.append((name, text[: m.start()].count("\n") + 1, m.group(1), m.group(2)))
    return out


def _skip_reason(name: str, code: str) -> str | None:
    for (f, first), why in SKIP.items():
        if f == name and code.lstrip().startswith(first):
            return why
    return None


BLOCKS = _blocks()
RUN = [b for b in BLOCKS if _skip_reason(b[0], b[3]) is None]


def _commands(code: str) -> list[str]:
    """The `tape ...` lines of a shell block, continuations joined, `[optional]` flags and
    trailing comments dropped."""
    cmds, lines, i = [], code.splitlines(), 0
    while i < len(lines):
        cmd = lines[i].strip()
        while cmd.endswith("\\"):
            i += 1
            cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        cmd = re.sub(r"\s+#\s.*$", "", cmd)
        cmd = re.sub(r"\s*\[[^\]]*\]", "", cmd).strip()
        if cmd.startswith("tape "):
            cmds.append(cmd)
    return cmds


def test_every_block_is_run_or_skipped_with_a_reason():
    assert len(BLOCKS) >= 25
    for key in SKIP:  # a stale entry (the block changed or went away) fails here
        assert any(b[0] == key[0] and b[3].lstrip().startswith(key[1]) for b in BLOCKS), key
    commands = [c for b in BLOCKS if b[2] != "python" for c in _commands(b[3])]
    for start in SKIP_COMMANDS:
        assert any(c.startswith(start) for c in commands), start
    for name, line, lang, code in RUN:
        if lang != "python":
            assert _commands(code), f"{name}:{line}: a shell block without a tape command"


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    for d in ("data", "examples"):
        (tmp_path / d).symlink_to(REPO / d, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAPEREADER_CATALOG", str(tmp_path / "catalog"))
    return tmp_path


def _run(args: list[str], where: str):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, f"{where}: tape {shlex.join(args)}\n{r.output}\n{r.exception!r}"
    return r


def _data_md_inputs(root: Path) -> None:
    """The user files docs/data.md imports: a millisecond trade CSV and a LOBSTER message
    file read with the generic table reader and a JSON mapping."""
    (root / "trades.csv").write_text("T,px,qty\n1582329600000,9700.5,0.01\n"
                                     "1582329600100,9700.6,0.02\n")
    (root / "msgs.csv").write_text("34200.017459617,5,0,1,2238200,-1\n"
                                   "34200.18960767,1,11885113,21,2238100,1\n")
    (root / "lobster-map.json").write_text(
        '{"0": "ts", "1": "event", "2": "order_id", "3": "size", "4": "price", "5": "side"}')


SHELL = [b for b in RUN if b[2] != "python"]
SLOW_SHELL = {("docs/statarb.md", "tape pairs"), ("docs/ml.md", "tape ml run")}


@pytest.mark.parametrize(
    "block", [pytest.param(b, id=f"{b[0]}:{b[1]}",
                           marks=[pytest.mark.slow] if any(
                               b[0] == f and b[3].startswith(s) for f, s in SLOW_SHELL) else [])
              for b in SHELL])
@pytest.mark.filterwarnings("ignore::UserWarning")  # the samples' documented quirks warn
def test_shell_block_runs(block, sandbox):
    name, line, _, code = block
    if name == "docs/data.md":
        _data_md_inputs(sandbox)
    ran = 0
    for cmd in _commands(code):
        if any(s in cmd for s in SYNOPSES) or any(cmd.startswith(c) for c in SKIP_COMMANDS):
            continue
        _run(shlex.split(cmd)[1:], f"{name}:{line}")
        ran += 1
    assert ran, f"{name}:{line}: nothing ran"


def test_cli_md_synopses_are_the_readme_commands():
    """docs/cli.md's sweep and walk-forward synopses, without their [optional] flags, are the
    README's commands, which tests/test_cli_readme.py runs."""
    readme = set()
    for name, _, lang, code in BLOCKS:
        if name == "README.md" and lang == "sh":
            readme.update(_commands(code))
    cli = [c for name, _, lang, code in BLOCKS if name == "docs/cli.md" for c in _commands(code)]
    assert len(cli) == 2 and set(cli) <= readme


PYTHON = [b for b in RUN if b[2] == "python"]
SLOW_PYTHON = {("docs/rl.md", "import gymnasium"),  # gymnasium + numba vector env
               ("docs/strategies.md", "import numpy as np\nimport engine\nfrom numba")}  # step loop
SETUP = {  # blocks that need data in the catalog first (what the doc's prose says to do)
    "catalog://depth/BTCUSDT": ["data", "import", "data/samples/crypto/"
                                "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"],
}


@pytest.mark.parametrize(
    "block", [pytest.param(b, id=f"{b[0]}:{b[1]}",
                           marks=[pytest.mark.slow] if any(
                               b[0] == f and b[3].startswith(s) for f, s in SLOW_PYTHON) else [])
              for b in PYTHON])
def test_python_block_runs(block, sandbox):
    name, line, _, code = block
    for marker, args in SETUP.items():
        if marker in code:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the capture's clock warning
                _run(args, f"setup of {name}:{line}")
    # a real file, so numba's cache=True in a snippet has a place to cache
    script = sandbox / f"snippet_{Path(name).stem}_{line}.py"
    script.write_text(code, encoding="utf-8")
    ns: dict = {"__name__": "__doc_example__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the samples' documented quirks warn
        exec(compile(code, str(script), "exec"), ns)
    assert any(not k.startswith("__") for k in ns)


@pytest.mark.parametrize("name", ["tick_mm_binance", "tick_ofi_binance"])
def test_tick_results_table_binance_rows(name):
    """The Binance rows of docs/tick_fills.md's results table (the GOOG rows are checked by the
    GOOG runs of tests/test_tick_run.py)."""
    from tick_helpers import documented_results

    import engine

    doc = documented_results()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the capture's clock warning
        res = engine.run(str(REPO / "examples" / f"{name}.toml"))
    assert (len(res.orders_rec), len(res.fills_rec), res.stats["n_trades"]) == \
        (doc["orders"], doc["fills"], doc["trades"])
    assert round(res.stats["final_equity"], 2) == doc["final_equity"]
