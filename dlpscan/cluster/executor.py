"""The client side of `dlpscan scan --cluster`: file tasks in batches on a Dask distributed cluster.

Batches are sized from the measured time per file so that each takes about BATCH_SECONDS on a
worker: the scheduler then handles a few tasks per second per worker thread, whatever the files
(a task costs the scheduler about a millisecond; see bench/README.md). Only a window of batches
is in flight at once, so the walk, the store lookups and the client's memory stay ahead of the
workers by a bounded amount. A worker that dies mid-batch has the batch rerun elsewhere by the
scheduler; each batch's result reaches the client once, so each file is recorded once.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import replace

from dlpscan.cluster.worker import BatchResult, ScanPlugin, WorkerLimits, scan_batch
from dlpscan.model import FileResult, Status
from dlpscan.workers import Task, WorkerStartError

log = logging.getLogger(__name__)

BATCH_SECONDS = 2.0  # aimed-for wall time of one batch on a worker
MAX_BATCH = 500  # files in one batch
BATCH_WAIT = 0.1  # seconds a batch waits for more files from a slow task source (the watch daemon)
WINDOW_PER_THREAD = 2  # batches in flight per worker thread: one running, one queued
RETRIES = 2  # a batch that raises is tried again (a worker that dies is rescheduled anyway)
CONNECT_TIMEOUT = 20.0
WORKER_WAIT = 60.0  # seconds to wait for a first worker to join


class ClusterError(Exception):
    """The cluster cannot be used for this scan (unreachable, no workers, other dlpscan versions)."""


class ClusterLost(Exception):
    """The connection to the scheduler was lost mid-scan; the store holds every finished file."""


class DaskExecutor:
    """Runs file tasks on the cluster whose scheduler listens at `address` (`tcp://host:8786`)."""

    def __init__(self, address: str, limits: WorkerLimits) -> None:
        from distributed import Client

        self.address = address
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {_why(exc)}") from None
        self._version = limits.settings.detector_version()
        self._plugin = ScanPlugin(f"dlpscan-scan-{secrets.token_hex(8)}", limits)
        self._in_flight: dict[str, tuple[object, dict[int, Task]]] = {}
        self._per_file: float | None = None  # seconds per file on a warm worker, smoothed
        self._threads, self._threads_at = 0, 0.0
        self.stopping = False
        try:
            self._wait_for_workers()
            self.client.register_plugin(self._plugin)
        except BaseException:
            self.client.close()
            raise

    @property
    def dashboard(self) -> str | None:
        """The scheduler's dashboard, when it serves one."""
        try:
            return self.client.dashboard_link if self.client.scheduler_info().get("services") else None
        except Exception:
            return None

    def describe(self) -> str:
        workers = self.client.scheduler_info().get("workers", {})
        return f"{len(workers)} workers, {self.threads()} threads"

    def threads(self) -> int:
        now = time.monotonic()
        if now - self._threads_at > 2.0:
            workers = self.client.scheduler_info().get("workers", {})
            self._threads = sum(w.get("nthreads", 0) for w in workers.values())
            self._threads_at = now
        return self._threads

    def _wait_for_workers(self) -> None:
        if self.threads():
            return
        log.warning("waiting for workers to join the Dask scheduler at %s", self.address)
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT)
        except TimeoutError:
            raise ClusterError(
                f"no worker joined the Dask scheduler at {self.address} within {WORKER_WAIT:g} s"
            ) from None
        self._threads_at = 0.0

    def stop(self) -> None:
        self.stopping = True

    def run(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, list[FileResult]]]:
        from distributed import as_completed

        done = as_completed(loop=self.client.loop, with_results=True, raise_errors=False)
        exhausted = False
        while True:
            if not self.stopping and not exhausted:
                batches = []
                for _ in range(max(2, WINDOW_PER_THREAD * self.threads()) - len(self._in_flight)):
                    batch, exhausted = self._take(tasks, self._batch_size())
                    if batch:
                        batches.append(batch)
                    if exhausted:
                        break
                if batches:
                    done.update(self._submit(batches))
            if not self._in_flight:
                if exhausted or self.stopping:
                    return
                continue
            for future, result in done.next_batch(block=True):
                yield from self._finished(future, result)

    def _take(self, tasks: Iterator[Task], size: int) -> tuple[list[Task], bool]:
        """Up to `size` tasks (absolute paths: workers do not share the client's working folder);
        fewer when the source is slow. True: the source is exhausted."""
        batch: list[Task] = []
        started = time.monotonic()
        while len(batch) < size:
            task = next(tasks, None)
            if task is None:
                return batch, True
            batch.append(replace(task, path=os.path.abspath(task.path)))
            if time.monotonic() - started > BATCH_WAIT:
                break
        return batch, False

    def _submit(self, batches: list[list[Task]]) -> list:
        futures = self.client.map(
            scan_batch,
            [self._plugin.name] * len(batches),
            [tuple(b) for b in batches],
            pure=False,
            retries=RETRIES,
        )
        for future, batch in zip(futures, batches, strict=True):
            self._in_flight[future.key] = (future, {t.task_id: t for t in batch})
        return futures

    def _batch_size(self) -> int:
        if self._per_file is None:
            return 1  # nothing measured yet: spread the first files over every worker
        return max(1, min(MAX_BATCH, int(BATCH_SECONDS / max(self._per_file, 1e-4))))

    def _finished(self, future: object, result: object) -> Iterator[tuple[Task, list[FileResult]]]:
        _, batch = self._in_flight.pop(future.key)  # type: ignore[attr-defined]
        if isinstance(result, BatchResult):
            if result.version != self._version:
                raise ClusterError(
                    f"a cluster worker runs dlpscan {result.version}, this client {self._version}: "
                    "install the same dlpscan and recognizers on every host"
                )
            if result.warm and result.files:
                per_file = result.seconds / len(result.files)
                self._per_file = per_file if self._per_file is None else 0.7 * self._per_file + 0.3 * per_file
            for task_id, lines in result.files:
                yield batch.pop(task_id), lines
            return
        if isinstance(result, tuple) and len(result) == 3:  # (type, exception, traceback) of an error
            result = result[1]
        if isinstance(result, CancelledError) or self.client.status != "running":
            raise ClusterLost(f"lost the connection to the Dask scheduler at {self.address}")
        if isinstance(result, WorkerStartError | LookupError):
            raise ClusterError(f"on a cluster worker: {result}")
        why = f"the cluster could not scan this file's batch ({type(result).__name__})"
        log.error("a batch of %d files failed on the cluster: %s", len(batch), type(result).__name__)
        for task in batch.values():
            yield task, [FileResult(task.display, Status.ERROR, error=why)]

    def close(self) -> None:
        """Cancel batches in flight, remove the scan's settings from the workers, disconnect."""
        try:
            if self.client.status == "running":
                self.client.cancel([f for f, _ in self._in_flight.values()])
                self.client.unregister_worker_plugin(self._plugin.name)
        except Exception as exc:  # a lost scheduler: nothing to clean up there
            log.debug("closing the cluster client: %s", _why(exc))
        finally:
            self._in_flight.clear()
            self.client.close()


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
