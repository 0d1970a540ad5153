"""The world plan on a Dask cluster: regions resident on workers, prices in, proposals out.

Each region's sub-plan is a Dask *actor* (:class:`gosplan.planning.decompose.BlockSolver`):
its HiGHS model is built once on the worker from the region's block of the
program and re-solved warm at every round's prices; it keeps its proposals, so
only the prices of the coupling rows it touches go out and the cost and
coupling contribution of its proposal come back. If a worker dies, its regions
are rebuilt from their data on the workers left (the proposals they held are
gone: the centre bars them and goes on), so the solve ends at the same optimum.

By default a :class:`distributed.LocalCluster` on this machine's cores;
``scheduler="tcp://host:8786"`` (or ``DASK_SCHEDULER_ADDRESS``) joins an existing
cluster of any size. No scheduler, pool or RPC of our own: Dask does all of it.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from gosplan.errors import require
from gosplan.planning.decompose import Block, BlockSolver, LostBlocks
from gosplan.scale import SchedulerUnreachableError


def _lost(exc: BaseException) -> bool:
    if isinstance(exc, OSError):  # "Unable to contact Actor's worker", closed comms
        return True
    text = f"{type(exc).__name__}: {exc}"
    return any(s in text for s in ("Worker holding Actor was lost", "CommClosedError", "KilledWorker", "Unable to contact"))


class DaskExecutor:
    """Blocks as actors on a Dask cluster.

    Parameters
    ----------
    client : an existing ``distributed.Client`` (then nothing is started or closed here).
    scheduler : address of a running scheduler (default ``DASK_SCHEDULER_ADDRESS``);
        without either, a ``LocalCluster`` of ``n_workers`` processes is started.
    timeout : seconds to wait for the scheduler.
    """

    def __init__(
        self,
        client: Any = None,
        scheduler: str | None = None,
        n_workers: int | None = None,
        threads_per_worker: int = 1,
        timeout: float = 10.0,
        processes: bool = True,
    ):
        self.client = client
        self.scheduler = scheduler if scheduler is not None else os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.timeout = timeout
        self.processes = processes
        self._own_client = False
        self._cluster = None
        self.rebuilt: list[str] = []
        self.bytes_shipped = 0

    # -- the cluster ---------------------------------------------------------------
    def _connect(self) -> Any:
        if self.client is not None:
            return self.client
        distributed = require("distributed", "scale")
        if self.scheduler:
            try:
                self.client = distributed.Client(self.scheduler, timeout=self.timeout)
            except (OSError, TimeoutError) as exc:
                raise SchedulerUnreachableError(
                    f"cannot reach the Dask scheduler at {self.scheduler!r} within {self.timeout:g} s ({exc}); "
                    "start one (`dask scheduler`) and its workers (`dask worker ADDRESS`), check the address, "
                    "or leave --scheduler and DASK_SCHEDULER_ADDRESS unset to use this machine's cores"
                ) from None
        else:
            n = self.n_workers or max(1, os.cpu_count() or 1)
            self._cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=self.threads_per_worker, processes=self.processes,
                dashboard_address=None,
            )
            self.client = distributed.Client(self._cluster)
        self._own_client = True
        return self.client

    def workers(self) -> list[str]:
        return sorted(self.client.scheduler_info()["workers"])

    def _place(self, k: int, block: Block, workers: list[str]) -> Any:
        w = workers[k % len(workers)]
        self.bytes_shipped += block.nbytes
        fut = self.client.submit(BlockSolver, block, actor=True, workers=[w], pure=False, key=f"region-{block.key}-{time.monotonic_ns()}")
        return fut

    # -- the executor protocol ---------------------------------------------------
    def start(self, blocks: list[Block]) -> None:
        self._connect()
        deadline = time.monotonic() + self.timeout
        while not self.workers():
            if time.monotonic() > deadline:
                raise SchedulerUnreachableError(
                    f"the Dask scheduler at {self.scheduler!r} has no workers; start some (`dask worker ADDRESS`)"
                )
            time.sleep(0.1)
        self.blocks = blocks
        ws = self.workers()
        futs = [self._place(k, b, ws) for k, b in enumerate(blocks)]
        self.actors = [f.result() for f in futs]
        self._futures = futs

    def _rebuild(self, lost: list[int]) -> None:
        deadline = time.monotonic() + max(self.timeout, 30.0)
        while True:
            ws = self.workers()
            if ws:
                break
            if time.monotonic() > deadline:
                raise SchedulerUnreachableError("every Dask worker was lost and none came back")
            time.sleep(0.2)
        for k in lost:
            for attempt in range(3):
                try:
                    f = self._place(k, self.blocks[k], self.workers())
                    self.actors[k] = f.result()
                    self._futures[k] = f
                    break
                except Exception as exc:  # the new worker may die too: try another
                    if attempt == 2 or not _lost(exc):
                        raise
                    time.sleep(0.2)
            self.rebuilt.append(self.blocks[k].key)

    def _call(self, method: str, args: list[tuple]) -> list[Any]:
        futs = []
        lost: list[int] = []
        for k, a in enumerate(args):
            try:
                futs.append(getattr(self.actors[k], method)(*a))
            except Exception as exc:
                if not _lost(exc):
                    raise
                futs.append(None)
                lost.append(k)
        out: list[Any] = []
        for k, f in enumerate(futs):
            if f is None:
                out.append(None)
                continue
            try:
                out.append(f.result())
            except Exception as exc:
                if not _lost(exc):
                    raise
                out.append(None)
                lost.append(k)
        if lost:
            lost = sorted(set(lost))
            self._rebuild(lost)
            raise LostBlocks(lost)
        return out

    def propose(self, prices: list[np.ndarray], phase: int) -> list[list[dict[str, Any]]]:
        return self._call("propose", [(p, phase) for p in prices])

    def opening(self) -> list[list[dict[str, Any]]]:
        return self._call("opening", [() for _ in self.actors])

    def combine(self, weights: list[tuple[dict[int, float], dict[int, float]]]) -> list[np.ndarray]:
        return self._call("combine", list(weights))

    def local_duals(self) -> list[np.ndarray]:
        return self._call("local_duals", [() for _ in self.actors])

    def local_infeasibility(self, k: int) -> list[str]:
        return self.actors[k].local_infeasibility().result()

    def close(self) -> None:
        self.actors = []
        self._futures = []
        if self._own_client and self.client is not None:
            self.client.close()
            self.client = None
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None


def plan_world_distributed(world: Any, targets: Any, objective: str | object = "max-min", *,
                           scheduler: str | None = None, n_workers: int | None = None, client: Any = None,
                           timeout: float = 10.0, **kw: Any) -> Any:
    """:func:`gosplan.planning.world.plan_world` decomposed, its regions on a Dask cluster
    (a ``LocalCluster`` of ``n_workers`` by default, or the scheduler at ``scheduler`` /
    ``DASK_SCHEDULER_ADDRESS``, or ``client``)."""
    from gosplan.planning.world import plan_world

    ex = DaskExecutor(client=client, scheduler=scheduler, n_workers=n_workers, timeout=timeout)
    return plan_world(world, targets, objective, method="decomposed", executor=ex, **kw)
