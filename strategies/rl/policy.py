"""Trained policies in safe formats, ensembles, and the strategies that trade them.

A :class:`Policy` is a small multilayer perceptron in numpy (weights + per-layer activation)
with an output rule: ``argmax`` (discrete: the index of the largest output) or ``clip``
(continuous: target weights clipped to [-1, 1]). It also carries the environment options it
was trained with (``env``: window, levels, target, actions), so a backtest builds the same
observation and maps actions to the same targets.

Files: ``.npz`` (``numpy.load(allow_pickle=False)``) or ``.json``; neither can run code.
A stable-baselines3 ``.zip`` is loaded only with ``trust=True`` (SB3 unpickles parts of it):
convert it once with :func:`from_sb3` + :func:`save_policy` and ship the ``.npz``.

The strategies that trade these policies (``rl_policy``) and replay recorded targets
(``rl_replay``) are built-ins in :mod:`strategies.builtin.rl` (kept outside this package so
that listing the built-ins does not import gymnasium).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from data.errors import ConfigError

ACTIVATIONS = ("linear", "tanh", "relu")
OUTPUTS = ("argmax", "clip")


class Policy:
    """``layers``: [(W [out, in], b [out])]; ``activations``: one per layer."""

    def __init__(self, layers, activations, output: str, env: dict | None = None) -> None:
        if output not in OUTPUTS:
            raise ConfigError("unknown policy output", argument="output", value=output,
                              fix=f"use one of {OUTPUTS}")
        if len(activations) != len(layers) or any(a not in ACTIVATIONS for a in activations):
            raise ConfigError("one activation per layer, from " + ", ".join(ACTIVATIONS),
                              argument="activations", value=list(activations),
                              fix="e.g. ['tanh', 'tanh', 'linear']")
        self.layers = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in layers]
        for k, (w, b) in enumerate(self.layers):
            if w.ndim != 2 or b.shape != (w.shape[0],) or (
                    k and w.shape[1] != self.layers[k - 1][0].shape[0]):
                raise ConfigError("policy layer shapes do not chain", argument=f"layer {k}",
                                  value=(w.shape, b.shape), fix="W: [out, in], b: [out]")
            if not (np.isfinite(w).all() and np.isfinite(b).all()):
                raise ConfigError("policy weights are not finite", argument=f"layer {k}",
                                  value="nan/inf", fix="retrain or re-export the policy")
        self.activations = list(activations)
        self.output = output
        self.env = dict(env or {})

    @property
    def obs_dim(self) -> int:
        return int(self.layers[0][0].shape[1])

    def forward(self, obs: np.ndarray) -> np.ndarray:
        """Raw outputs for a batch [n, obs_dim] (or one observation)."""
        x = np.asarray(obs, np.float64)
        for (w, b), act in zip(self.layers, self.activations, strict=True):
            x = x @ w.T + b
            if act == "tanh":
                x = np.tanh(x)
            elif act == "relu":
                x = np.maximum(x, 0.0)
        return x

    def act(self, obs: np.ndarray):
        """Discrete: action index (per row); continuous: weights in [-1, 1]."""
        y = self.forward(obs)
        if self.output == "argmax":
            return np.argmax(y, axis=-1)
        return np.clip(y, -1.0, 1.0)

    # --- files ----------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {"format": np.array("tapereader-policy-1"), "output": np.array(self.output),
               "activations": np.array(",".join(self.activations)),
               "env": np.array(json.dumps(self.env))}
        for k, (w, b) in enumerate(self.layers):
            out[f"W{k}"], out[f"b{k}"] = w, b
        return out


def save_policy(policy: Policy, path: str | Path) -> Path:
    """Write ``.npz`` or ``.json`` atomically."""
    from data.catalog.files import atomic_write_bytes  # the shared writer

    path = Path(path)
    if path.suffix == ".json":
        doc = {"format": "tapereader-policy-1", "output": policy.output,
               "activations": policy.activations, "env": policy.env,
               "layers": [{"W": w.tolist(), "b": b.tolist()} for w, b in policy.layers]}
        atomic_write_bytes(path, json.dumps(doc).encode())
    elif path.suffix == ".npz":
        import io

        buf = io.BytesIO()
        np.savez(buf, **policy.to_arrays())
        atomic_write_bytes(path, buf.getvalue())
    else:
        raise ConfigError("policy files are .npz or .json", argument="path", value=str(path),
                          fix="name the file *.npz or *.json")
    return path


def load_policy(path: str | Path, *, trust: bool = False, algo: str = "") -> Policy:
    """Load a policy file (``.npz`` / ``.json``; an SB3 ``.zip`` only with ``trust=True``)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("policy file not found", argument="path", value=str(path),
                          fix="check the path (train one with examples/rl_*.py)")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if str(z.get("format", "")) != "tapereader-policy-1":
                    raise ValueError("not a tapereader policy (format key missing)")
                acts = str(z["activations"]).split(",")
                layers = [(z[f"W{k}"], z[f"b{k}"]) for k in range(len(acts))]
                return Policy(layers, acts, str(z["output"]), json.loads(str(z["env"])))
        if path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != "tapereader-policy-1":
                raise ValueError("not a tapereader policy (format key missing)")
            layers = [(d["W"], d["b"]) for d in doc["layers"]]
            return Policy(layers, doc["activations"], doc["output"], doc.get("env"))
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ConfigError(f"unreadable policy file: {exc}", argument="path", value=str(path),
                          fix="write it with strategies.rl.policy.save_policy") from None
    if path.suffix == ".zip":
        if not trust:
            raise ConfigError("an SB3 .zip can run code when loaded (pickle)", argument="trust",
                              value=False, fix="pass trust=True for a file you made yourself, "
                              "or convert it to .npz with from_sb3 + save_policy")
        return from_sb3(_load_sb3(path, algo))
    raise ConfigError("unknown policy file type", argument="path", value=str(path),
                      fix="use .npz, .json (or an SB3 .zip with trust=True)")


def _load_sb3(path: Path, algo: str):
    try:
        import stable_baselines3 as sb3
    except ImportError:
        raise ConfigError("stable-baselines3 is not installed", argument="algo", value=algo,
                          fix="pip install stable-baselines3 torch (or, in the tapereader "
                              "folder, pip install -e '.[rl]')") from None
    name = (algo or "").upper()
    if name not in ("PPO", "A2C", "DQN"):
        raise ConfigError("which SB3 algorithm made this file?", argument="algo", value=algo,
                          fix="pass algo='PPO', 'A2C' or 'DQN'")
    return getattr(sb3, name).load(str(path), device="cpu")


def from_sb3(model, env_options: dict | None = None) -> Policy:
    """The deterministic policy of an SB3 PPO / A2C / DQN model with an MLP policy, as numpy
    layers (PPO/A2C: policy MLP + action net, mean action; DQN: the Q network, argmax)."""
    import torch.nn as nn

    pol = model.policy
    if hasattr(pol, "q_net"):
        mods = list(pol.q_net.q_net)
    else:
        mods = list(pol.mlp_extractor.policy_net) + [pol.action_net]
    layers, acts = [], []
    for m in mods:
        if isinstance(m, nn.Linear):
            layers.append((m.weight.detach().cpu().numpy(), m.bias.detach().cpu().numpy()))
            acts.append("linear")
        elif isinstance(m, nn.Tanh | nn.ReLU):
            acts[-1] = "tanh" if isinstance(m, nn.Tanh) else "relu"
        else:
            raise ConfigError("unsupported layer in the SB3 policy", argument="model",
                              value=type(m).__name__, fix="use an MlpPolicy (Linear/Tanh/ReLU)")
    from gymnasium import spaces

    output = "argmax" if isinstance(model.action_space, spaces.Discrete) else "clip"
    env = dict(env_options or {})
    return Policy(layers, acts, output, env)


class Ensemble:
    """Several policies trained on the same environment options, combined per step:
    ``majority`` (discrete: the most voted action; a tie goes to the smallest |level|) or
    ``mean`` (the average of the targets each policy would send). Continuous policies are
    always averaged."""

    def __init__(self, policies: list[Policy], vote: str = "majority") -> None:
        if not policies:
            raise ConfigError("an ensemble needs at least one policy", argument="policies",
                              value=0, fix="pass one or more policies")
        if vote not in ("majority", "mean"):
            raise ConfigError("unknown vote", argument="vote", value=vote,
                              fix="use 'majority' or 'mean'")
        env0 = policies[0].env
        for p in policies[1:]:
            if p.env != env0 or p.output != policies[0].output:
                raise ConfigError("ensemble members were trained on different environment "
                                  "options", argument="policies", value=p.env,
                                  fix="combine policies trained with the same options")
        self.policies = policies
        self.vote = vote
        self.env = env0

    def targets(self, obs: np.ndarray, levels: np.ndarray, actions: str = "discrete"
                ) -> np.ndarray:
        """Targets per symbol for one observation (``levels``: the discrete levels, or the
        table [actions, symbols] when ``actions == "table"``)."""
        outs = [np.atleast_1d(p.act(obs)) for p in self.policies]
        if self.policies[0].output == "clip":
            return np.mean(outs, axis=0)
        idx = np.array(outs)  # [members, symbols] (table: [members, 1])
        if actions == "table":
            if self.vote == "mean":
                return levels[idx[:, 0]].mean(axis=0)
            counts = np.bincount(idx[:, 0], minlength=len(levels))
            best = np.flatnonzero(counts == counts.max())
            return levels[best[np.argmin(np.abs(levels[best]).sum(axis=1))]]
        if self.vote == "mean":
            return levels[idx].mean(axis=0)
        out = np.empty(idx.shape[1])
        for s in range(idx.shape[1]):
            counts = np.bincount(idx[:, s], minlength=len(levels))
            best = np.flatnonzero(counts == counts.max())
            out[s] = levels[best[np.argmin(np.abs(levels[best]))]]
        return out


def action_targets(action, actions: str, levels: np.ndarray) -> np.ndarray:
    """An env action -> targets per symbol (as the environment kernel maps it)."""
    a = np.atleast_1d(np.asarray(action, np.float64))
    if actions == "table":
        return levels[int(a[0])]
    if actions == "discrete":
        return levels[a.astype(np.int64)]
    x = np.clip(a, -1.0, 1.0)
    g = np.abs(x).sum()
    return x / g if g > 1.0 else x
