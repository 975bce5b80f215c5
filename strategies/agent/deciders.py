"""Decision makers for the Agent strategy: any callable ``observation -> decision``.

* :class:`RuleAgent`: the shipped deterministic agent (momentum confirmed by news sentiment).
* :class:`LLMDecider`: wraps any client with a ``complete(prompt) -> str`` method (the
  :class:`LLMClient` protocol); tapereader itself never opens a network connection.
* :class:`ReplayDecider`: returns the decisions of a JSONL log (see :mod:`strategies.agent.log`)
  after checking that each observation is identical to the logged one.
* :func:`load_decider`: ``"rules"``, ``"replay:path/to/log.jsonl"``, ``"package.module:name"``
  or ``"path/to/file.py:name"`` (a callable, or a class called without arguments).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from data.errors import RunError, StrategyError
from strategies.signals.sentiment import score_text

Decider = Callable[[dict[str, Any]], Any]


@runtime_checkable
class LLMClient(Protocol):
    """Anything that turns a prompt into a completion (an SDK wrapper, a local model...)."""

    def complete(self, prompt: str) -> str: ...


INSTRUCTIONS = (
    "You are a trading agent. Given the observation below (JSON: prices, indicators, "
    "portfolio, positions and news available now), answer with ONE JSON object and nothing "
    'else: either {"actions": {SYMBOL: "buy"|"sell"|"close"|"hold"}} or '
    '{"weights": {SYMBOL: fraction_of_equity}}, optionally with "reason": "...".\n'
    "Observation:\n"
)


def parse_json_object(text: str) -> Any:
    """The JSON object in ``text`` (the whole text, or the outermost ``{...}`` span, e.g. inside
    a fenced block). Raises ValueError when there is none."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    m = re.search(r"\{.*\}", text, flags=re.S)
    if not m:
        raise ValueError("no JSON object in the reply")
    return json.loads(m.group(0))


class LLMDecider:
    """Ask ``client`` for a decision: prompt = ``instructions`` + the observation as JSON."""

    def __init__(self, client: LLMClient, *, instructions: str = INSTRUCTIONS) -> None:
        if not isinstance(client, LLMClient):
            raise StrategyError("the LLM client has no complete(prompt) method",
                                argument="client", value=type(client).__name__,
                                fix="wrap your SDK in an object with complete(prompt) -> str")  # fmt: skip
        self.client = client
        self.instructions = instructions

    def __call__(self, observation: dict[str, Any]) -> Any:
        prompt = self.instructions + json.dumps(observation, sort_keys=True)
        return parse_json_object(self.client.complete(prompt))


class RuleAgent:
    """Deterministic example agent. Per symbol: ``buy`` when the 20-bar momentum is positive
    and the lexicon sentiment of the news in the observation is >= 0; ``sell`` when momentum is
    negative and sentiment < 0; otherwise ``hold``. Sentiment = (pos - neg) / (pos + neg + 1)
    over the symbol's news texts (:func:`strategies.signals.sentiment.score_text`)."""

    def __call__(self, observation: dict[str, Any]) -> dict[str, Any]:
        actions = {}
        reasons = []
        for sym in observation["symbols"]:
            mom = observation["indicators"][sym].get("momentum_20")
            pos = neg = 0
            for item in observation.get("news", []):
                if item["symbol"] == sym:
                    p, n = score_text(item["text"])
                    pos += p
                    neg += n
            sent = (pos - neg) / (pos + neg + 1)
            if mom is None:
                act = "hold"
            elif mom > 0 and sent >= 0:
                act = "buy"
            elif mom < 0 and sent < 0:
                act = "sell"
            else:
                act = "hold"
            actions[sym] = act
            reasons.append(f"{sym}: momentum {mom}, sentiment {sent:.3f} -> {act}")
        return {"actions": actions, "reason": "; ".join(reasons)}


class ReplayDecider:
    """Replays the decisions of a log; the run must present the same observations in order."""

    def __init__(self, path: str | Path) -> None:
        from strategies.agent.log import read_log

        self.path = Path(path)
        self.records = [r for r in read_log(self.path) if r.get("type") == "step"]
        self.k = 0

    def __call__(self, observation: dict[str, Any]) -> Any:
        if self.k >= len(self.records):
            raise RunError("the run asks for more decisions than the log holds",
                           file=str(self.path), value=self.k,
                           fix="replay with the data, dates and parameters of the logged run")  # fmt: skip
        rec = self.records[self.k]
        self.k += 1
        if json.dumps(rec["observation"], sort_keys=True) != json.dumps(
            observation, sort_keys=True
        ):
            key = _first_difference(rec["observation"], observation)
            raise RunError("observation differs from the logged one: the replay diverged",
                           file=str(self.path), row=rec["step"], value=key,
                           fix="replay with the data, dates and parameters of the logged run")  # fmt: skip
        if "error" in rec.get("raw", {}):
            raise ReplayedError(rec["raw"]["error"])
        return rec["raw"]["decision"]


class ReplayedError(Exception):
    """The logged agent call raised; replaying raises the same message."""


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}/{k}"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}/{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return path or "/"


def load_decider(spec: str | Decider) -> Decider:
    """Resolve a decider spec (module docstring)."""
    if callable(spec):
        return spec
    if not isinstance(spec, str) or not spec:
        raise StrategyError("agent must be a callable or a spec string", argument="agent",
                            value=spec, fix="use 'rules', 'replay:log.jsonl' or 'module:name'")  # fmt: skip
    if spec == "rules":
        return RuleAgent()
    if spec.startswith("replay:"):
        return ReplayDecider(spec[len("replay:") :])
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise StrategyError("cannot read the agent spec", argument="agent", value=spec,
                            fix="use 'rules', 'replay:log.jsonl', 'pkg.module:name' or 'file.py:name'")  # fmt: skip
    try:
        if target.endswith(".py"):
            path = Path(target)
            mod_spec = importlib.util.spec_from_file_location(f"tapereader_agent_{path.stem}", path)
            if mod_spec is None or mod_spec.loader is None or not path.exists():
                raise FileNotFoundError(target)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
        obj = getattr(module, name)
    except Exception as exc:  # import errors of user code: name the spec once
        raise StrategyError(f"cannot load the agent: {type(exc).__name__}: {exc}",
                            argument="agent", value=spec, fix="check the module path and name") from None  # fmt: skip
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise StrategyError("the agent is not callable", argument="agent", value=spec,
                            fix="point at a function or a class with __call__(observation)")  # fmt: skip
    return obj
