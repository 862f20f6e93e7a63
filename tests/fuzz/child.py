"""Run fuzz targets in a forked child process that is allowed to die.

A native abort (a Rust allocation failure, a panic that is not caught), a hang or a memory
blow-up ends the child, never the caller: `Child.run` returns it as a `Failure` (`crash`,
`timeout`, `memory`) and the next input gets a fresh child, forked from a parent that has
already imported every reader (so a fork costs milliseconds, not the imports).
"""

from __future__ import annotations

import multiprocessing as mp
import resource

from fuzz import targets
from fuzz.targets import Budget, Failure


class Child:
    """Runs targets in a forked process, so a native abort, a hang or a memory blow-up ends the
    child, not the run: the parent records the input as a reproducer and forks a fresh child."""

    def __init__(
        self, budget: Budget | None = None, rss_mb: int = 2048, as_mb: int = 4096, timeout: float = 60.0
    ) -> None:
        budget = budget or Budget()
        self.budget, self.rss_mb, self.as_mb, self.timeout = budget, rss_mb, as_mb, timeout
        self.ctx = mp.get_context("fork")  # the parent has imported every reader: a fork is cheap
        self.proc = None
        self.conn = None

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(
            target=_child_main, args=(child, self.budget, self.rss_mb, self.as_mb), daemon=True
        )
        self.proc.start()
        child.close()

    def run(self, kind: str, data: bytes) -> Failure | None:
        """None, or the Failure this input caused (also when it killed the child)."""
        if self.proc is None:
            self._start()
        self.conn.send((kind, data))
        if not self.conn.poll(self.timeout):
            self.stop()
            return Failure("timeout", f"no answer within {self.timeout:.0f} s")
        try:
            answer = self.conn.recv()
        except (EOFError, OSError):
            self.proc.join(10)
            code = self.proc.exitcode
            self.stop()
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return Failure("crash", f"the process died ({how})")
        if answer is None:
            return None
        failure_kind, detail, alive = answer
        if not alive:
            self.stop()
        return Failure(failure_kind, detail)

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(10)
            self.conn.close()
        self.proc = self.conn = None


def _child_main(conn, budget: Budget, rss_mb: int, as_mb: int) -> None:
    if as_mb:  # the worker's memory cap: an allocation beyond it fails as it would in a scan
        resource.setrlimit(resource.RLIMIT_AS, (as_mb * 1024**2, as_mb * 1024**2))
    limit_kb = rss_mb * 1024
    while True:
        try:
            kind, data = conn.recv()
        except EOFError:
            return
        answer = None
        try:
            targets.timed_run(kind, data, budget)
        except targets.Failure as failure:
            answer = (failure.kind, str(failure), True)
        if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > limit_kb:
            conn.send(("memory", f"peak RSS above {rss_mb} MB", False))
            return  # a peak never goes down: the next input gets a fresh child
        conn.send(answer)
