"""Per-document extraction state: the decode-time budget and the notes counters."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.limits import Limits


class Clock:
    """Counts only the time spent inside the extractor, not while the consumer holds a block."""

    __slots__ = ("_limit", "_running_since", "_spent")

    def __init__(self, limit_seconds: float) -> None:
        self._limit = limit_seconds
        self._spent = 0.0
        self._running_since: float | None = None

    def resume(self) -> None:
        if self._running_since is None:
            self._running_since = time.monotonic()

    def pause(self) -> None:
        if self._running_since is not None:
            self._spent += time.monotonic() - self._running_since
            self._running_since = None

    @property
    def spent(self) -> float:
        running = time.monotonic() - self._running_since if self._running_since is not None else 0.0
        return self._spent + running

    def check(self) -> None:
        if self.spent > self._limit:
            raise LimitExceeded(f"decode time limit exceeded ({self._limit:g} s)")


@dataclass(slots=True)
class Context:
    """What a reader needs besides the bytes: limits, the clock, and the document's notes."""

    limits: Limits
    notes: dict[str, int] = field(default_factory=dict)
    clock: Clock | None = None
    failed_parts: list[str] = field(default_factory=list)  # parts skipped so the rest could be read

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = Clock(self.limits.max_decode_seconds)

    def check(self) -> None:
        self.clock.check()

    def note(self, code: str, count: int = 1) -> None:
        if count:
            self.notes[code] = self.notes.get(code, 0) + count

    def part_failed(self, part: str) -> None:
        """One part (a sheet, an XML part) could not be read; the reader goes on with the others."""
        self.failed_parts.append(part)


class TimeBoxExpired(BaseException):
    """A library call ran past its time box.

    A BaseException, like KeyboardInterrupt: libraries' `except Exception` must not hide it."""


@contextlib.contextmanager
def time_box(seconds: float) -> Iterator[None]:
    """Raise TimeBoxExpired in the main thread after `seconds`, then restore an outer alarm (the
    pipeline's per-file limit) with what is left of it. Off the main thread: no box.

    Python code only is interrupted (signal handlers run between bytecodes): this bounds
    pure-Python libraries such as pdfminer, not native calls.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame) -> None:
        raise TimeBoxExpired

    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds if not outer_left else min(seconds, outer_left))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001))
