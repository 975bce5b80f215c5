"""The strategy registry: built-ins, entry-point plugins, file and module references, and clear
errors for bad plugins; ``tape strategies``."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

from cli import main
from data.errors import ConfigError, StrategyError
from strategies import registry
from strategies.base import Strategy
from strategies.builtin import BUILTINS

GOOD = '''
from strategies.base import Param, Strategy

class Momentum(Strategy):
    """Buys strength."""
    name = "momentum"
    lookback: int = Param(20, min=2, help="bars")
    threshold: float = 0.0
    mode: str = "long"

    def on_bar(self, ctx):
        pass
'''


def _file(tmp_path, text, name="mystrat.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_builtins_are_listed_with_parameters():
    listing = registry.available()
    names = [i.name for i in listing.strategies]
    assert set(BUILTINS) <= set(names)
    sma = registry.describe("sma_cross")
    assert sma.source == "builtin" and sma.cls is BUILTINS["sma_cross"]
    fast = sma.param("fast")
    assert (fast.type, fast.default, fast.min) == (int, 10, 1)
    assert registry.get("sma_cross") is BUILTINS["sma_cross"]


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ConfigError) as e:
        registry.describe("sma_crss")
    assert "did you mean 'sma_cross'" in str(e.value)


def test_file_reference(tmp_path):
    p = _file(tmp_path, GOOD)
    info = registry.describe(f"{p}:Momentum")
    assert info.name == "momentum" and info.source == f"file {p}"
    assert [(q.name, q.type, q.default) for q in info.params] == [
        ("lookback", int, 20), ("threshold", float, 0.0), ("mode", str, "long")]
    assert info.doc == "Buys strength." and not info.compiled
    assert registry.resolve(f"{p}:Momentum") is info.cls  # loaded once, not re-executed


def test_module_reference(tmp_path, monkeypatch):
    pkg = tmp_path / "userpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "strats.py").write_text(textwrap.dedent(GOOD))
    monkeypatch.syspath_prepend(str(tmp_path))
    info = registry.describe("userpkg.strats:Momentum")
    assert info.name == "momentum" and info.source == "module userpkg.strats"


def test_entry_point_plugin_and_its_errors(tmp_path, monkeypatch):
    """A real installed-distribution layout (dist-info with entry_points.txt) on sys.path."""
    (tmp_path / "goodplug.py").write_text(textwrap.dedent(GOOD))
    (tmp_path / "badplug.py").write_text("import not_a_module_anywhere\n")
    dist = tmp_path / "tape_plugins_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tape-plugins-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[tapereader.strategies]\nmomo = goodplug:Momentum\nbroken = badplug:Thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    info = registry.describe("momo")
    assert info.name == "momo" and "tape-plugins-demo" in info.source
    with pytest.raises(StrategyError) as e:
        registry.describe("broken")
    msg = str(e.value)
    assert "plugin 'broken'" in msg and "badplug:Thing" in msg and "ModuleNotFoundError" in msg
    listing = registry.available()
    assert "momo" in [i.name for i in listing.strategies]
    assert [n for n, _ in listing.errors] == ["broken"]
    r = CliRunner().invoke(main, ["strategies", "--json"])
    assert r.exit_code == 5  # a plugin failed to load
    doc = json.loads(r.stdout)
    assert "momo" in [s["name"] for s in doc["strategies"]]
    assert doc["errors"][0]["name"] == "broken"
    r = CliRunner().invoke(main, ["strategies"])
    assert "momo" in r.stdout and "broken" in r.stderr and r.exit_code == 5


@pytest.mark.parametrize("body, fragment", [
    ("class S(Strategy):\n    fast: int = 3\n", "defines neither on_bar nor targets"),
    ("class S(Strategy):\n    fast: list = [1]\n    def on_bar(self, ctx): pass\n",
     "parameter 'fast' has an unsupported type"),
    ("class S(Strategy):\n    fast: int = 2.5\n    def on_bar(self, ctx): pass\n",
     "the default of 'fast' is not a int"),
    ("class S(Strategy):\n    fast: int\n    def on_bar(self, ctx): pass\n",
     "parameter 'fast' has no default"),
    ("class S(Strategy):\n    def on_bar(self): pass\n", "does not take (ctx)"),
    ("class S(Strategy):\n    on_bar = 5\n", "on_bar is not a method"),
    ("class S:\n    def on_bar(self, ctx): pass\n", "is not a subclass of strategies.base.Strategy"),
    ("class S(Strategy):\n    fast: 'Undefined' = 1\n    def on_bar(self, ctx): pass\n",
     "cannot be resolved"),
])
def test_bad_strategy_classes_name_the_plugin_and_the_fix(tmp_path, body, fragment):
    p = _file(tmp_path, "from strategies.base import Strategy\n" + body, name="bad.py")
    with pytest.raises(StrategyError) as e:
        registry.describe(f"{p}:S")
    msg = str(e.value)
    assert fragment in msg and "Fix:" in msg
    assert f"{p}:S" in msg or "'S'" in msg


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="strategy file not found"):
        registry.describe(f"{tmp_path / 'missing.py'}:S")
    p = _file(tmp_path, "def broken(:\n", name="syntax.py")
    with pytest.raises(StrategyError, match="SyntaxError"):
        registry.describe(f"{p}:S")
    q = _file(tmp_path, GOOD, name="ok.py")
    with pytest.raises(StrategyError) as e:
        registry.describe(f"{q}:Momentun")
    assert "did you mean 'Momentum'" in str(e.value)
    with pytest.raises(StrategyError, match="cannot be imported"):
        registry.describe("no_such_pkg_xyz.mod:S")


def test_coerce_values_for_configs_and_sweeps(tmp_path):
    info = registry.describe("sma_cross")
    assert registry.coerce_value(info, "fast", "12") == 12
    assert registry.coerce_value(info, "fast", 12.0) == 12
    assert registry.coerce_value(info, "long_only", "true") is True
    for bad, frag in ((("fast", 2.5), "is a int"), (("fast", 0), "out of range"),
                      (("fsat", 3), "did you mean 'fast'"), (("long_only", "maybe"), "bool")):
        with pytest.raises(ConfigError) as e:
            registry.coerce_value(info, *bad)
        assert frag in str(e.value)


def test_engine_run_resolves_file_references(tmp_path):
    """engine.run asks the registry (registry.get) for names, so references work there too."""
    import numpy as np

    import engine
    from data.schema import BAR

    p = _file(tmp_path, GOOD)
    bars = np.zeros(30, dtype=BAR)
    bars["ts"] = np.arange(30) * 86_400_000_000_000 + 1
    for k in ("open", "high", "low", "close"):
        bars[k] = 100.0
    res = engine.run(market=bars, strategy=f"{p}:Momentum")
    assert res.config.strategy == "momentum" or res.config.strategy.endswith("Momentum")


def test_strategy_subclass_instance_and_class_describe():
    cls = BUILTINS["sma_cross"]
    assert registry.describe(cls).cls is cls
    assert registry.describe(cls(fast=3, slow=9)).cls is cls
    assert issubclass(cls, Strategy)
    assert "strategies" in sys.modules
