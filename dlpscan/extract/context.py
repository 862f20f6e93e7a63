"""Per-document extraction state: the decode-time budget and the notes counters."""

from __future__ import annotations

import time
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

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = Clock(self.limits.max_decode_seconds)

    def check(self) -> None:
        self.clock.check()

    def note(self, code: str, count: int = 1) -> None:
        if count:
            self.notes[code] = self.notes.get(code, 0) + count
