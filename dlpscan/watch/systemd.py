"""sd_notify (READY, WATCHDOG, STOPPING, STATUS) over $NOTIFY_SOCKET, and the health behind the pings.

The watchdog is pinged only while every part of the daemon shows progress, so a wedged thread
makes systemd restart the service (Restart=on-failure) instead of leaving it silently stuck.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send one datagram to the service manager; False when not run by systemd (or it failed)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
        return True
    except OSError as exc:
        log.debug("sd_notify failed: %s", type(exc).__name__)
        return False


def watchdog_interval() -> float | None:
    """Seconds between pings (half of WatchdogSec), if systemd asked this process for them."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.1, int(usec) / 2_000_000)
    except ValueError:
        return None


class Health:
    """Heartbeats of the daemon's loops; each must beat within its own limit."""

    def __init__(self) -> None:
        self._limits: dict[str, float] = {}
        self._beats: dict[str, float] = {}

    def register(self, name: str, limit: float) -> None:
        self._limits[name] = limit
        self._beats[name] = time.monotonic()

    def beat(self, name: str | None = None) -> None:
        name = name or threading.current_thread().name
        if name in self._limits:
            self._beats[name] = time.monotonic()

    def stuck(self) -> list[str]:
        now = time.monotonic()
        return [n for n, limit in self._limits.items() if now - self._beats[n] > limit]


class Watchdog(threading.Thread):
    """Pings WATCHDOG=1 while healthy and publishes a one-line STATUS."""

    def __init__(self, interval: float, health: Health, status: Callable[[], str]) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.interval, self.health, self.status = interval, health, status
        self._stop_requested = threading.Event()

    def stop(self) -> None:
        self._stop_requested.set()

    def run(self) -> None:
        reported = False
        while not self._stop_requested.wait(self.interval):
            stuck = self.health.stuck()
            if stuck:
                if not reported:
                    log.error("no progress in %s; not pinging the systemd watchdog", ", ".join(stuck))
                    reported = True
                continue
            reported = False
            notify(f"WATCHDOG=1\nSTATUS={self.status()}")
