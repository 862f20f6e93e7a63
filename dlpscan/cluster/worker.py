"""What runs on a Dask worker: each worker thread hands its files to a bounded child process.

The child is the local pool's (`dlpscan.workers.WorkerPool`, one process per Dask thread), so a file
on a cluster has the same per-file time limit, memory cap and crash isolation as on one host: a
hostile file that hangs or kills its reader costs one child process, never the Dask worker.

The scan's settings, fingerprint key included, travel in a worker plugin, not in task arguments:
the scheduler keeps plugins to hand them to workers that join or restart later, and shows neither
them nor task arguments on its dashboard; task keys are `scan_batch-<random>`.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from distributed import WorkerPlugin, get_worker
from tornado.ioloop import PeriodicCallback

from dlpscan.model import FileResult, Status
from dlpscan.settings import ScanSettings
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


IDLE_SECONDS = 600.0  # a child left unused this long ends: a client killed mid-scan never unregisters


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
        self._used: dict[int, float] = {}  # thread -> when its pool last finished a batch (inf: now)
        self._closed = False
        self._reaper = PeriodicCallback(self._reap, IDLE_SECONDS * 1000 / 10)  # ms
        self._reaper.start()

    @contextlib.contextmanager
    def pool(self) -> Iterator[tuple[WorkerPool, bool]]:
        """This thread's pool (one child process), and whether it existed before."""
        thread = threading.get_ident()
        with self._lock:
            pool = self._pools.get(thread)
            warm = pool is not None
            if pool is None:
                lim = self.limits
                pool = WorkerPool(1, lim.settings, lim.file_timeout, lim.memory_bytes, lim.nice)
                self._pools[thread] = pool
            self._used[thread] = math.inf
        try:
            yield pool, warm
        finally:
            with self._lock:
                self._used[thread] = time.monotonic()
            if self._closed:  # the scan ended while this batch ran
                self._reap()

    def _reap(self) -> None:
        """End the children of threads that have not run a batch for IDLE_SECONDS (all idle ones once
        the scan has ended)."""
        now = time.monotonic()
        with self._lock:
            idle = [t for t, used in self._used.items() if used < math.inf]
            idle = [t for t in idle if self._closed or now - self._used[t] > IDLE_SECONDS]
            pools = [self._pools.pop(t) for t in idle]
            for t in idle:
                del self._used[t]
        for pool in pools:
            pool.close()

    def teardown(self, worker: object) -> None:
        self._closed = True
        self._reaper.stop()
        self._reap()


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
    with scan.pool() as (pool, warm):
        out += [(task.task_id, results) for task, results in pool.run(iter(readable))]
    return BatchResult(scan.version, time.monotonic() - started, warm, out)


def _not_found() -> str:
    return (
        f"not found on cluster worker {socket.gethostname()}: deleted since the walk, or its folder is "
        "not mounted there (every worker must see the scanned folders at the client's path)"
    )
