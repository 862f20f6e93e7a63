"""The client side of `dlpscan scan --cluster`: file tasks in batches on a Dask distributed cluster.

Batches are sized from the measured reading time so that each takes about `batch_seconds` (2 s) on a
worker: the scheduler then handles a task every few seconds per worker thread, whatever the files
(a task costs the scheduler about a millisecond; see bench/README.md). A file's cost is estimated
as its size plus FILE_COST bytes (opening, sniffing, the round trip to the child process), so a
batch holds a few large files or many small ones. Only a window of batches
is in flight at once, so the walk, the store lookups and the client's memory stay ahead of the
workers by a bounded amount. A worker that dies mid-batch has the batch rerun elsewhere by the
scheduler; each batch's result reaches the client once, so each file is recorded once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import replace

from dlpscan.cluster.worker import BatchResult, ScanPlugin, WorkerLimits, scan_batch
from dlpscan.model import FileResult, Status
from dlpscan.workers import Task, WorkerStartError

log = logging.getLogger(__name__)

MAX_BATCH = 500  # files in one batch
FILE_COST = 4096  # what reading a file costs besides its bytes, in bytes (about 5 ms per file)
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

    def __init__(self, address: str, limits: WorkerLimits, batch_seconds: float = 2.0) -> None:
        from distributed import Client

        if not log.isEnabledFor(logging.DEBUG):  # its reconnect tracebacks: ClusterLost says it in a line
            _quiet("distributed")
        self.address, self._batch_seconds = address, batch_seconds
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {_why(exc)}") from None
        self._version = limits.settings.detector_version()
        self._plugin = ScanPlugin(f"dlpscan-scan-{secrets.token_hex(8)}", limits)
        self._in_flight: dict[str, tuple[object, dict[int, Task]]] = {}
        self._per_byte: float | None = None  # seconds per byte of cost on a warm worker, smoothed
        self._largest = 1  # files in the largest batch finished so far
        self._carry: Task | None = None  # taken from the source, waiting for the next batch
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
        """The scheduler's dashboard, when it serves one (it needs bokeh on the scheduler): asked
        with HEAD, which bokeh's pages refuse (405) and a scheduler without them does not know (404)."""
        link = self.client.dashboard_link
        try:
            urllib.request.urlopen(urllib.request.Request(link, method="HEAD"), timeout=5).close()
        except urllib.error.HTTPError as exc:
            return link if exc.code != 404 else None
        except (OSError, ValueError):
            return None
        return link

    def describe(self) -> str:
        workers = self.client.scheduler_info().get("workers", {})
        return f"{len(workers)} workers, {self.threads()} threads"

    def threads(self) -> int:
        """Worker threads in the cluster, asked every 2 s (workers come and go); the last answer
        while the scheduler does not give one."""
        now = time.monotonic()
        if now - self._threads_at > 2.0:
            with contextlib.suppress(Exception):
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
        try:
            yield from self._run(tasks)
        except (ClusterError, ClusterLost, WorkerStartError):
            raise
        except Exception:  # whatever the client raises once its scheduler is gone
            if self.client.status != "running":
                raise ClusterLost(f"lost the connection to the Dask scheduler at {self.address}") from None
            raise

    def _run(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, list[FileResult]]]:
        from distributed import as_completed

        done = as_completed(loop=self.client.loop, with_results=True, raise_errors=False)
        exhausted = False
        while True:
            if not self.stopping and not exhausted:
                batches = []
                for _ in range(max(2, WINDOW_PER_THREAD * self.threads()) - len(self._in_flight)):
                    batch, exhausted = self._take(tasks)
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

    def _take(self, tasks: Iterator[Task]) -> tuple[list[Task], bool]:
        """Tasks for one batch (absolute paths: workers do not share the client's working folder);
        fewer when the source is slow. True: the source is exhausted.

        A batch holds up to twice as many files as the largest one finished so far (estimates from
        a few files are rough), and a file that would take it over its time budget waits for the next.
        """
        batch: list[Task] = []
        budget = 0.0 if self._per_byte is None else self._batch_seconds / self._per_byte
        most = min(MAX_BATCH, 2 * self._largest)
        cost = 0
        started = time.monotonic()
        while len(batch) < most:
            task = self._carry or next(tasks, None)
            self._carry = None
            if task is None:
                return batch, True
            if batch and cost + task.size + FILE_COST > budget:
                self._carry = task
                break
            batch.append(replace(task, path=os.path.abspath(task.path)))
            cost += task.size + FILE_COST
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

    def _finished(self, future: object, result: object) -> Iterator[tuple[Task, list[FileResult]]]:
        _, batch = self._in_flight.pop(future.key)  # type: ignore[attr-defined]
        if isinstance(result, BatchResult):
            if result.version != self._version:
                raise ClusterError(
                    f"a cluster worker runs dlpscan {result.version}, this client {self._version}: "
                    "install the same dlpscan and recognizers on every host"
                )
            self._largest = max(self._largest, len(batch))
            if result.warm:  # the first batch of a child includes its start: a file at a time till then
                rate = result.seconds / sum(t.size + FILE_COST for t in batch.values())
                self._per_byte = rate if self._per_byte is None else 0.7 * self._per_byte + 0.3 * rate
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


def _quiet(prefix: str) -> None:
    """Silence a library's loggers below CRITICAL; its configuration sets levels on several of them."""
    names = [n for n in logging.root.manager.loggerDict if n == prefix or n.startswith(prefix + ".")]
    for name in [prefix, *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
