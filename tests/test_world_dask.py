"""The world plan on a real Dask cluster (gosplan.scale.world): a `dask scheduler` and two
`dask worker` processes on loopback, joined by address; a worker killed mid-solve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from test_world import random_world

from gosplan.planning import Targets
from gosplan.planning.world import plan_world

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers, started here and stopped here."""
    tmp = tmp_path_factory.mktemp("dask")
    sfile = tmp / "scheduler.json"
    env = dict(os.environ)
    src = str(Path(__import__("gosplan").__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    procs = []
    log = open(tmp / "cluster.log", "w")
    procs.append(subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(sfile)], env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 30
    while not sfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    import json

    time.sleep(0.2)
    address = json.loads(sfile.read_text())["address"]
    for _ in range(2):
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
             "--host", "127.0.0.1"], env=env, stdout=log, stderr=subprocess.STDOUT))
    from distributed import Client

    client = Client(address, timeout=20)
    client.wait_for_workers(2, timeout=30)
    yield address, client
    client.close()
    for p in reversed(procs):  # workers first, then the scheduler
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    log.close()


def test_joined_by_address_equals_monolithic(cluster, monkeypatch):
    from gosplan.scale.world import plan_world_distributed

    address, _ = cluster
    w, basket = random_world(21, R=4, n=4, labour_margin=0.02)
    t = Targets(basket=basket)
    mono = plan_world(w, t, "max-min")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)  # joined by the environment's address
    dec = plan_world_distributed(w, t, "max-min")
    assert dec.ok and dec.gap <= 1e-6
    assert abs(dec.value - mono.plan.objective_value) <= 1e-6 * max(1.0, mono.plan.objective_value)
    assert dec.verify(t).ok


def test_worker_killed_mid_solve(cluster):
    """Kill the worker that holds the first region at round 3: its regions are rebuilt on the
    other worker from their data and the solve ends at the same optimum."""
    from gosplan.scale.world import DaskExecutor

    address, client = cluster
    w, basket = random_world(8, R=4, n=4)
    t = Targets(floors=basket)
    mono = plan_world(w, t, "labour")
    ex = DaskExecutor(scheduler=address)
    killed = []

    def kill(rec):
        if rec["round"] == 2 and not killed:
            who = ex._futures[0].key
            holder = list(ex.client.who_has([ex._futures[0]]).get(who, ()))
            pids = ex.client.run(os.getpid, workers=holder)
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)  # a worker process this test's cluster started
            killed.extend(holder)

    dec = plan_world(w, t, "labour", method="decomposed", executor=ex, progress=kill)
    assert killed
    assert ex.rebuilt, "no region was rebuilt"
    assert "lost_blocks" in dec.rounds.columns
    assert dec.ok and dec.gap <= 1e-6
    assert abs(dec.value - mono.plan.objective_value) <= 1e-6 * max(1.0, mono.plan.objective_value)
    assert dec.verify(t).ok
