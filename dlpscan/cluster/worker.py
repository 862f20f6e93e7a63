"""What runs on a Dask worker: each worker thread hands its files to a bounded child process.

The child is the local pool's (`dlpscan.workers.WorkerPool`, one process per Dask thread), so a file
on a cluster has the same per-file time limit, memory cap and crash isolation as on one host: a
hostile file that hangs or kills its reader costs one child process, never the Dask worker.

The scan's settings, fingerprint key included, travel in a worker plugin, not in task arguments:
the scheduler keeps plugins to hand them to workers that join or restart later, and shows neither
them nor task arguments on its dashboard; task keys are `scan_batch-<random>`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import threading
import time
from dataclasses import dataclass

from distributed import WorkerPlugin, get_worker

from dlpscan.model import FileResult, Status
from dlpscan.pipeline import ScanSettings
from dlpscan.workers import Task, WorkerPool


@dataclass(frozen=True)
class WorkerLimits:
    """A scan's settings and the limits each file is read under, as the client configured them."""

    settings: ScanSettings
    file_timeout: float
    memory_bytes: int = 0
    nice: int = 0


@dataclass(frozen=True)
class BatchResult:
    version: str  # the worker's detector version: it must match the client's
    seconds: float  # wall time of the batch on the worker
    warm: bool  # the child process was running before the batch (the time is the files' alone)
    files: list[tuple[int, list[FileResult]]]


class ScanPlugin(WorkerPlugin):
    """One scan's settings on every worker, and one child process per worker thread."""

    def __init__(self, name: str, limits: WorkerLimits) -> None:
        self.name = name
        self.limits = limits

    def setup(self, worker: object) -> None:
        # Dask starts workers as daemonic processes, which multiprocessing forbids to have children
        # lest they outlive them. These children do not: they exit at end-of-file on their pipe.
        if mp.current_process().daemon:
            mp.current_process().daemon = False
        self.version = self.limits.settings.detector_version()
        self._lock = threading.Lock()
        self._pools: dict[int, WorkerPool] = {}

    def pool(self) -> tuple[WorkerPool, bool]:
        """This thread's pool (one child process), and whether it existed before."""
        with self._lock:
            pool = self._pools.get(threading.get_ident())
            if pool is not None:
                return pool, True
            lim = self.limits
            pool = WorkerPool(1, lim.settings, lim.file_timeout, lim.memory_bytes, lim.nice)
            self._pools[threading.get_ident()] = pool
            return pool, False

    def teardown(self, worker: object) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


def scan_batch(plugin: str, files: tuple[Task, ...]) -> BatchResult:
    """Scan a batch of files on this worker; `plugin` names the scan's `ScanPlugin`."""
    started = time.monotonic()
    scan = get_worker().plugins.get(plugin)
    if not isinstance(scan, ScanPlugin):
        raise LookupError(f"the scan's settings ({plugin}) have not reached this worker")
    out: list[tuple[int, list[FileResult]]] = []
    readable = []
    for task in files:
        if os.path.lexists(task.path):
            readable.append(task)
        else:
            out.append((task.task_id, [FileResult(task.display, Status.ERROR, error=_not_found())]))
    pool, warm = scan.pool()
    out += [(task.task_id, results) for task, results in pool.run(iter(readable))]
    return BatchResult(scan.version, time.monotonic() - started, warm, out)


def _not_found() -> str:
    return (
        f"not found on cluster worker {socket.gethostname()}: deleted since the walk, or its folder is "
        "not mounted there (every worker must see the scanned folders at the client's path)"
    )
