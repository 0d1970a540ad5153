"""Planning on many machines with Dask (the ``scale`` extra).

:mod:`gosplan.scale.world` keeps each region's sub-plan resident on a Dask worker
and coordinates them by prices (:mod:`gosplan.planning.decompose`). Dask is
imported only when a distributed method runs: ``import gosplan.scale`` is cheap.
"""

from __future__ import annotations

from gosplan.errors import GosplanError


class SchedulerUnreachableError(GosplanError):
    """The Dask scheduler named by address (``--scheduler`` or ``DASK_SCHEDULER_ADDRESS``)
    cannot be reached."""


__all__ = ["SchedulerUnreachableError"]
