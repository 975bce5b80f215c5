"""Reinforcement-learning trading environments and agents on the engine's own kernels.

Importing this package registers the gymnasium environments (when gymnasium is installed):

* ``tapereader/TradingBars-v0`` — :class:`strategies.rl.bars.TradingBarsEnv` (bar mode, single
  symbol or portfolio; vector entry point :class:`strategies.rl.vector.TradingBarsVectorEnv`);
* ``tapereader/TradingBook-v0`` — :class:`strategies.rl.book_env.TradingBookEnv` (tick mode on
  the numba L2 book: execution or market-making actions).

The strategies that trade a trained policy in backtests (``rl_policy``) and replay recorded
targets (``rl_replay``) are built-ins in :mod:`strategies.builtin.rl` (numpy only; outside this
package so that listing the built-ins does not import gymnasium). See docs/rl.md.
"""

from __future__ import annotations

try:
    import gymnasium as _gym
except ImportError:  # the rl extra is not installed: strategies still work, envs do not
    _gym = None


def _register() -> None:
    if _gym is None:
        return
    if "tapereader/TradingBars-v0" not in _gym.registry:
        _gym.register(id="tapereader/TradingBars-v0",
                      entry_point="strategies.rl.bars:TradingBarsEnv",
                      vector_entry_point="strategies.rl.vector:TradingBarsVectorEnv")
    if "tapereader/TradingBook-v0" not in _gym.registry:
        _gym.register(id="tapereader/TradingBook-v0",
                      entry_point="strategies.rl.book_env:TradingBookEnv")


_register()
