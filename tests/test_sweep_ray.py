"""Ray executor: a real local Ray (2 CPUs) started by the test; results bit-identical to the
local executors."""

from __future__ import annotations

import numpy as np
import pytest
import sweep_tasks

from engine.sweep import run_sweep
from engine.sweep_space import Constraint, Space, parse_axis

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_cluster():
    """A real local Ray runtime (head node with 2 CPUs), started here and shut down after."""
    assert not ray.is_initialized()
    import os
    import sys

    paths = [p for p in sys.path if p and os.path.isdir(p)]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.mark.slow
def test_ray_and_local_results_are_bit_identical(tmp_path, ray_cluster):
    rng = np.random.default_rng(11)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 5000)))
    combos = Space([parse_axis("fast=2:30:2"), parse_axis("slow=10:100:10"),
                    parse_axis("cost=0,0.001")], constraints=[Constraint("fast < slow")]).grid()
    kw = dict(shared={"close": close}, progress=False, chunk_size=7)
    a = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "ray", executor="ray",
                  address=ray_cluster, **kw)
    run_sweep(sweep_tasks.sma_task, combos, tmp_path / "local", workers=2, **kw)
    run_sweep(sweep_tasks.sma_task, combos, tmp_path / "serial", workers=1, **kw)
    assert a.n_run == len(combos) and a.status == "complete"
    ray_csv = (tmp_path / "ray" / "results.csv").read_bytes()
    assert ray_csv == (tmp_path / "local" / "results.csv").read_bytes()
    assert ray_csv == (tmp_path / "serial" / "results.csv").read_bytes()
    # ... and between repeated runs on Ray
    d = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "ray2", executor="ray",
                  address=ray_cluster, **kw)
    assert (tmp_path / "ray2" / "results.csv").read_bytes() == ray_csv
    assert d.table.equals(a.table)
    assert ray.is_initialized()  # joining an existing cluster leaves it running


@pytest.mark.slow
def test_ray_resumes_a_sweep_started_locally(tmp_path, ray_cluster):
    rng = np.random.default_rng(5)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 2000)))
    combos = [{"fast": f, "slow": 50} for f in range(2, 40)]
    kw = dict(shared={"close": close}, progress=False, spec={"identity": {"c": combos}})
    run_sweep(sweep_tasks.sma_task, combos, tmp_path / "ref", workers=1, **kw)
    first = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", workers=1, chunk_size=5,
                      **kw)
    j = tmp_path / "s" / "journal.jsonl"
    lines = j.read_bytes().splitlines(keepends=True)
    j.write_bytes(b"".join(lines[:15]))  # as if stopped after 15 combinations
    res = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", executor="ray",
                    address=ray_cluster, **kw)
    assert res.n_resumed == 15 and res.n_run == len(combos) - 15
    assert res.table.equals(first.table)
    assert (tmp_path / "s" / "results.csv").read_bytes() == \
        (tmp_path / "ref" / "results.csv").read_bytes()
