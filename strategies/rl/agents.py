"""A dependency-light agent: linear Q-learning in numpy, trained on the vectorised env.

``Q(s, a) = W[a] . s + b[a]`` (one output per discrete action), epsilon-greedy exploration,
semi-gradient one-step Q-learning (Sutton & Barto, 2nd ed., section 10.1) on batches of
transitions from every slot of a :class:`~strategies.rl.vector.TradingBarsVectorEnv`:

    target = r + gamma * max_a' Q(s', a')   (r alone when the episode terminated)
    W[a]  += lr * (target - Q(s, a)) * s

Observations are standardised with running statistics frozen after a warm-up, and the
trained agent exports a :class:`~strategies.rl.policy.Policy` (the standardisation folded into
the weights), so ``rl_policy`` trades it in a backtest.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from strategies.rl.policy import Policy


@dataclasses.dataclass
class LinearQ:
    obs_dim: int
    n_actions: int
    lr: float = 0.01
    gamma: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.W = np.zeros((self.n_actions, self.obs_dim))
        self.b = np.zeros(self.n_actions)
        self.mu = np.zeros(self.obs_dim)
        self.sd = np.ones(self.obs_dim)

    def _x(self, obs: np.ndarray) -> np.ndarray:
        return (np.asarray(obs, np.float64) - self.mu) / self.sd

    def q(self, obs: np.ndarray) -> np.ndarray:
        return self._x(obs) @ self.W.T + self.b

    def act(self, obs: np.ndarray, eps: float = 0.0) -> np.ndarray:
        a = np.argmax(self.q(obs), axis=-1)
        if eps > 0.0:
            explore = self.rng.random(a.shape) < eps
            a = np.where(explore, self.rng.integers(self.n_actions, size=a.shape), a)
        return a

    def train(self, venv, steps: int, *, eps: float = 0.2, warmup: int = 50,
              seed: int = 0) -> list[float]:
        """Train on ``venv`` (discrete single-symbol actions) for ``steps`` batch steps;
        returns the mean reward of each batch step."""
        obs, _ = venv.reset(seed=seed)
        n = venv.num_envs
        seen = [obs]
        hist = []
        fresh = np.zeros(n, bool)  # slots whose step is an autoreset (no transition)
        for t in range(steps):
            if t == warmup:  # freeze the standardisation
                allobs = np.concatenate(seen)
                self.mu = allobs.mean(axis=0)
                self.sd = allobs.std(axis=0) + 1e-6
            a = self.act(obs, eps if t >= warmup else 1.0)
            obs2, r, term, trunc, _ = venv.step(a)
            if t < warmup:
                seen.append(obs2)
            else:
                live = ~fresh
                x = self._x(obs)
                target = r + self.gamma * np.where(term, 0.0, self.q(obs2).max(axis=1))
                err = target - (np.einsum("ij,ij->i", x, self.W[a]) + self.b[a])
                err = np.clip(err, -1.0, 1.0) * live
                for k in range(self.n_actions):
                    m = a == k
                    if m.any():
                        self.W[k] += self.lr * err[m] @ x[m] / n
                        self.b[k] += self.lr * err[m].sum() / n
            fresh = term | trunc
            obs = obs2
            hist.append(float(r.mean()))
        return hist

    def policy(self, env_options: dict) -> Policy:
        """The greedy policy with the standardisation folded into the weights."""
        W = self.W / self.sd
        b = self.b - W @ self.mu
        return Policy([(W, b)], ["linear"], "argmax", env_options)
