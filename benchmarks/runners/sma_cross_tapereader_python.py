"""sma_cross on tapereader's python path (issue 3): ``engine.run(..., mode="python")``.

The task and the timed call are described in ``_tape_sma.py`` (shared with the
compiled path).
"""

import _protocol as P  # noqa: F401, I001  (first: starts the import clock)

import _tape_sma  # noqa: E402

if __name__ == "__main__":
    _tape_sma.main("python")
