"""Waiting out a full disk or an unreachable database: retry with backoff, log once per outage."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from dlpscan.store.db import TRANSIENT, describe

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoreUnavailable(Exception):
    """The store stayed unavailable past the deadline given to `StoreGuard.give_up_at`."""


def backoff(attempts: int, initial: float, maximum: float) -> float:
    """initial, 2*initial, 4*initial, ... capped at maximum."""
    return min(maximum, initial * 2 ** min(attempts, 30))


class FairLock:
    """First come, first served. SQLite's busy handler polls with sleeps, so a thread writing in a
    tight loop (the queue writer in a storm) can starve the others for seconds; taking turns here
    keeps every writer's wait to a few transactions."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._cond.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


class StoreGuard:
    """Runs store calls from any thread; transient failures are retried until they succeed.

    `call` is for writes (one at a time, in arrival order); `read` for reads (WAL: never blocked).

    `beat` is called while waiting, so a thread waiting out an outage still counts as alive.
    `on_change(up, message)` is told when an outage starts and ends (once each).

    A full disk lets reads and some small writes through: a read answered ends only an outage that a
    read started, and a store that keeps failing again soon after it recovered (within FLAP_WINDOW)
    is reported with backoff (FLAP_HOLD, doubling up to FLAP_HOLD_MAX), the outages in between
    counted in the next message, instead of a dozen messages a minute.
    """

    FLAP_WINDOW = 300.0
    FLAP_HOLD = 60.0
    FLAP_HOLD_MAX = 3600.0

    def __init__(
        self,
        beat: Callable[[], None] = lambda: None,
        on_change: Callable[[bool, str], None] = lambda up, msg: None,
        initial: float = 0.5,
        maximum: float = 30.0,
    ) -> None:
        self._beat, self._on_change = beat, on_change
        self._initial, self._maximum = initial, maximum
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._down_on_write = False
        self._deadline: float | None = None
        self._turns = FairLock()
        self._announced = False  # the current outage was logged
        self._last_up: float | None = None  # when the last outage ended
        self._last_report = float("-inf")
        self._hold = self.FLAP_HOLD
        self._unreported = 0  # short outages not logged since the last message

    @property
    def up(self) -> bool:
        return self._down_since is None

    def give_up_at(self, deadline: float) -> None:
        """From now on, calls still failing at `deadline` (monotonic) raise StoreUnavailable (stopping)."""
        if self._deadline is None or deadline < self._deadline:
            self._deadline = deadline

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return self._run(True, fn, args, kwargs)

    def read(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return self._run(False, fn, args, kwargs)

    def _run(self, write: bool, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        attempts = 0
        while True:
            try:
                if write:
                    with self._turns:
                        result = fn(*args, **kwargs)
                else:
                    result = fn(*args, **kwargs)
            except TRANSIENT as exc:
                self._failed(exc, write)
                self._wait(backoff(attempts, self._initial, self._maximum), exc)
                attempts += 1
                continue
            self._recovered(write)
            return result

    def _wait(self, pause: float, exc: BaseException) -> None:
        until = time.monotonic() + pause
        while True:
            now = time.monotonic()
            if self._deadline is not None and now >= self._deadline:
                raise StoreUnavailable(describe(exc)) from None
            if now >= until:
                return
            self._beat()
            time.sleep(min(1.0, until - now))

    def _failed(self, exc: BaseException, write: bool) -> None:
        with self._lock:
            if self._down_since is not None:
                self._down_on_write |= write
                return
            now = time.monotonic()
            self._down_since, self._down_on_write = now, write
            flapping = self._last_up is not None and now - self._last_up < self.FLAP_WINDOW
            if flapping and now - self._last_report < self._hold:
                self._announced = False
                self._unreported += 1
                return
            self._hold = min(self.FLAP_HOLD_MAX, 2 * self._hold) if flapping else self.FLAP_HOLD
            self._announced, self._last_report = True, now
            unreported, self._unreported = self._unreported, 0
        again = f" again ({unreported + 1} outages in the last minutes)" if unreported else ""
        message = (
            f"results store unavailable{again} ({describe(exc)}); events are kept and retried with backoff"
        )
        log.warning("%s", message)
        self._on_change(False, message)

    def _recovered(self, write: bool) -> None:
        if self._down_since is None or (self._down_on_write and not write):
            return
        with self._lock:
            if self._down_since is None:
                return
            now = time.monotonic()
            seconds = now - self._down_since
            self._down_since, self._last_up = None, now
            if not self._announced:
                return
            self._last_report = now
        message = f"results store available again after {seconds:.0f} s"
        log.warning("%s", message)
        self._on_change(True, message)
