"""A process pool that survives bad files: per-file time limit, memory cap, crash isolation.

Each worker owns one pipe. A file that runs past its time limit or kills its worker (a parser
crash, the memory cap) gets a report line of its own and a fresh worker takes over. A worker that
cannot start (its settings fail to load, or it dies twice in a row before it is ready) ends the run
with WorkerStartError instead of being replaced for ever.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import gc
import itertools
import logging
import multiprocessing as mp
import os
import resource
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Protocol

from dlpscan.forking import start_forkserver
from dlpscan.model import FileResult, Status
from dlpscan.settings import ScanSettings

log = logging.getLogger(__name__)


START_ATTEMPTS = 2  # workers in a row that die before they are ready: the pool gives up
# glibc's mallopt parameters (malloc.h) and the values a worker sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
HEAP_BLOCKS_UP_TO = 32 << 20  # as far as glibc's own adjustment raises the threshold on 64-bit
HEAP_TOP_KEPT = 64 << 20


class WorkerStartError(Exception):
    """Worker processes cannot start; the message says why (never file content)."""


@dataclass(frozen=True, slots=True)
class Task:
    task_id: int
    path: str
    display: str
    retry: bool = False  # a second attempt after the first worker died
    skip: tuple[str, ...] = ()  # documents (archive members) that killed a worker: not read again
    size: int = 0  # bytes, as walked: a cluster sizes its batches of files by it


class Executor(Protocol):
    """Where file tasks run: this module's local pool, or a Dask cluster (`dlpscan.cluster`).

    `run` pulls tasks from the generator only when it has room for them and yields each file's
    lines once, in completion order; `stop` (safe from a signal handler) hands out no more tasks."""

    def run(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, list[FileResult]]]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


# A worker stops reading a file at this share of the per-file time limit and reports it `partial`,
# before the parent's hard limit kills it and nothing of the file is reported.
SOFT_LIMIT_SHARE = 0.8


def tune_allocator() -> bool:
    """Keep a scan's large buffers on the heap. glibc maps every allocation from 128 KB up on its own
    and unmaps it when freed (its threshold rises only to the largest block freed so far), and gives
    back the heap's free top beyond 128 KB: every text block, its folded copy and its UTF-8 bytes (1-4
    MB each) were page faults on every block, about a seventh of a worker's CPU on sparse text.
    Blocks up to 32 MB now come from the heap, and up to 64 MB of its free top is kept. False where
    the C library is not glibc (nothing changes)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO)) and bool(
        mallopt(_M_TRIM_THRESHOLD, HEAP_TOP_KEPT)
    )


def _worker_main(
    conn: Connection, settings: ScanSettings, memory_bytes: int, nice: int, time_limit: float = 0.0
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # The parent may write a report to stdout: what a library prints here goes to stderr instead.
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if nice:
        os.nice(nice)
    tune_allocator()
    from dlpscan.pipeline import FileScanner  # preloaded by the fork server; the parent never needs it

    try:
        scanner = FileScanner(settings)
    except Exception as exc:  # settings that do not load: the parent stops instead of respawning
        conn.send(("failed", f"{type(exc).__name__}: {str(exc)[:500]}"))
        return
    # What is loaded now (modules, definitions, the Hyperscan database) lives as long as the worker:
    # out of the collector's generations, full collections walk only what scans make.
    gc.freeze()
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        results = scanner.scan_path(
            Path(task.path),
            task.display,
            time_limit,
            skip=frozenset(task.skip),
            on_document=functools.partial(_announce, conn, task.display),
        )
        conn.send((task.task_id, results))


def _announce(conn: Connection, display: str, path: str) -> None:
    """Tell the parent which member of a container is being read: if it kills this worker, the file is
    read again without it. The file itself needs no message (one less round per small file)."""
    if path != display:
        conn.send(("reading", path))


class _Worker:
    def __init__(
        self,
        ctx: mp.context.BaseContext,
        settings: ScanSettings,
        memory_bytes: int,
        nice: int,
        time_limit: float,
    ) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, settings, memory_bytes, nice, time_limit), daemon=True
        )
        self.process.start()
        child.close()
        self.task: Task | None = None
        self.reading: str | None = None  # the document the worker said it is reading
        self.deadline = 0.0
        self.ready = False
        self.let_go = False  # told to exit

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class WorkerPool:
    """`run(tasks)` yields (task, results) as files finish, in completion order. Workers started by
    one `run` serve the next ones too (a Dask worker runs one batch of files after another); a pool
    made for `once` run lets them go as that run ends, so that they exit while the caller stores its
    last results (`close` then only reaps them)."""

    def __init__(
        self,
        jobs: int,
        settings: ScanSettings,
        file_timeout: float,
        memory_bytes: int = 0,
        nice: int = 0,
        once: bool = False,
    ) -> None:
        start_forkserver()
        self._once = once
        self._ctx = mp.get_context("forkserver")
        self._settings, self._timeout, self._memory, self._nice = settings, file_timeout, memory_bytes, nice
        self._jobs = max(1, jobs)
        self._workers: list[_Worker] = []  # started on the first task: a no-change rescan needs none
        self.stopping = False
        self._start_failures = 0

    def stop(self) -> None:
        """Hand out no more files (safe from a signal handler); `run` ends once the running ones end."""
        self.stopping = True

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._settings, self._memory, self._nice, SOFT_LIMIT_SHARE * self._timeout)

    def close(self) -> None:
        self._let_go()
        for w in self._workers:
            w.process.join(2)
            w.kill()
        self._workers = []

    def _let_go(self) -> None:
        """Tell the idle workers to exit, without waiting for them."""
        for w in self._workers:
            try:
                if w.process.is_alive() and w.task is None and not w.let_go:
                    w.conn.send(None)
                    w.let_go = True
            except OSError:
                pass

    def run(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, list[FileResult]]]:
        first = next(tasks, None)
        if first is None:
            return
        pending = itertools.chain([first], tasks)
        self._retries: collections.deque[Task] = collections.deque()
        self._workers = self._workers or [self._spawn() for _ in range(self._jobs)]
        for w in [w for w in self._workers if not w.process.is_alive()]:  # died while idle
            self._replace(w)
        exhausted = False
        while True:
            if not self.stopping and not exhausted:
                for w in self._workers:
                    if w.ready and w.task is None:
                        task = self._retries.popleft() if self._retries else next(pending, None)
                        if task is None:
                            exhausted = True
                            break
                        w.task, w.reading, w.deadline = task, None, time.monotonic() + self._timeout
                        w.conn.send(task)
            busy = [w for w in self._workers if w.task is not None]
            starting = [w for w in self._workers if not w.ready]
            if not busy and (self.stopping or (exhausted and not starting and not self._retries)):
                if self._once:
                    self._let_go()
                return
            if self._retries and exhausted and not busy and not starting:
                exhausted = False  # a retry was queued after the last task went out
            if not busy and not starting and not exhausted:
                continue
            now = time.monotonic()
            timeout = max(0.0, min((w.deadline for w in busy), default=now + 1.0) - now)
            ready = wait([w.conn for w in busy + starting], timeout=min(timeout, 1.0))
            for w in list(self._workers):
                if w.conn in ready:
                    yield from self._receive(w)
                elif w.task is not None and time.monotonic() > w.deadline:
                    task = w.task
                    self._replace(w)
                    reason = f"per-file time limit exceeded ({self._timeout:g} s)"
                    yield task, [FileResult(task.display, Status.SKIPPED, reason=reason)]

    def _receive(self, w: _Worker) -> Iterator[tuple[Task, list[FileResult]]]:
        try:
            task_id, payload = w.conn.recv()
        except (EOFError, OSError):
            task, reading = w.task, w.reading
            w.process.join(5)
            code = w.process.exitcode
            if not w.ready:
                self._start_failures += 1
                if self._start_failures >= START_ATTEMPTS:
                    raise WorkerStartError(
                        f"worker processes die while starting (exit code {code}); "
                        "check worker_memory_mb and the recognizer folders"
                    ) from None
            self._replace(w)
            if task is None:
                return
            if not task.retry:  # once more on a fresh worker, without the member that killed this one
                culprit = (reading,) if reading is not None and reading != task.display else ()
                self._retries.append(replace(task, retry=True, skip=task.skip + culprit))
                return
            why = f"worker process died (exit code {code}); the file may exhaust memory or crash a parser"
            yield task, [FileResult(task.display, Status.ERROR, error=why)]
            return
        if task_id == "failed":
            raise WorkerStartError(f"a worker process cannot start: {payload}")
        if task_id == "ready":
            w.ready = True
            self._start_failures = 0
            return
        if task_id == "reading":
            w.reading = payload
            return
        task = w.task
        w.task = None
        if task is not None:
            yield task, payload

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self._workers[self._workers.index(w)] = self._spawn()
