"""Alerts on flagged files: at most one per (path, file version, sink), delivered until it arrives.

An alert is written to the store's outbox (unique per path, version and sink) before the result is
recorded; a delivery thread sends what is due and retries failures with exponential backoff. Alerts
carry counts, severity, rules, owner and masked samples: never raw values, never fingerprints.

Sinks: a JSON-lines log (deduplicated after a crash by the alert id), syslog (RFC 5424 over UDP, TCP
or a unix socket) and a webhook (HTTP POST, body signed with HMAC-SHA256 in `X-Dlpscan-Signature`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from dlpscan import __version__
from dlpscan.model import FileResult
from dlpscan.sinks.report_line import report_line
from dlpscan.store import Store
from dlpscan.watch.retry import StoreGuard, StoreUnavailable, backoff

log = logging.getLogger(__name__)

SEVERITY_TO_SYSLOG = {"critical": 2, "high": 3, "medium": 4, "low": 5, "none": 6}
FACILITIES = {
    "user": 1, "daemon": 3, "auth": 4, "authpriv": 10,
    **{f"local{i}": 16 + i for i in range(8)},
}  # fmt: skip
SD_ID = "dlpscan@32473"  # 32473: the private enterprise number reserved for examples (RFC 5612)
LOG_TAIL_BYTES = 1 << 20
DUE_LIMIT = 100


class DeliveryError(Exception):
    """A sink could not deliver; the message names the cause, never alert content."""


def alert_id(path: str, version: str) -> str:
    """Stable across sinks and retries, so receivers can drop duplicates."""
    return hashlib.sha256(f"{path}\0{version}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def payload(result: FileResult, version: str, host: str) -> dict[str, Any]:
    """The alert body: the report line without fingerprints, plus who, when and which version."""
    body = report_line(result, include_fingerprints=False)
    return {
        "type": "dlpscan.alert",
        "alert_id": alert_id(result.path, version),
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "host": host,
        "version": version,
        **body,
    }


class AlertOutbox:
    """Queues alerts for every configured sink (called by the dispatcher)."""

    def __init__(self, store: Store, guard: StoreGuard, sinks: list[str], wake: threading.Event) -> None:
        self.store, self.guard, self.sinks, self._wake = store, guard, sinks, wake
        self.host = socket.gethostname()
        self.added = 0

    def add(self, result: FileResult, version: str) -> None:
        if not self.sinks:
            return
        body = payload(result, version, self.host)
        new = [self.guard.call(self.store.add_alert, result.path, version, sink, body) for sink in self.sinks]
        if any(new):
            self.added += 1
            log.info("flagged %s (%s); alert %s queued", result.path, result.severity, body["alert_id"])
            self._wake.set()

    def owe(self, result: FileResult, version: str) -> None:
        """A flagged file version found unchanged in the store (recorded by `dlpscan scan`, or before a
        restart): alerted unless it was alerted already. A sink added since starts from now."""
        if self.sinks and not self.guard.read(self.store.alerted, result.path, version):
            self.add(result, version)

    def withdraw_removed(self) -> dict[str, int]:
        """Withdraw the undelivered alerts of sinks no longer configured; how many, by sink."""
        return self.guard.call(self.store.withdraw_alerts, self.sinks)


# ---- sinks ------------------------------------------------------------------------------------


class Sink(Protocol):
    name: str

    def send(self, alert: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class LogSink:
    """Appends one JSON object per line; opened per write, so logrotate's `create` needs no signal.

    A line is written whole or not at all: a write cut short (a full disk) is truncated away, and a
    partial line left by a crash is removed before the next one is appended, so every line parses.
    """

    name = "log"

    def __init__(self, path: str) -> None:
        self.path = path

    def send(self, alert: dict[str, Any]) -> None:
        line = (json.dumps(alert, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise DeliveryError(f"cannot write the alert log: {exc.strerror or type(exc).__name__}") from None
        try:
            _append_line(fd, line)
        except OSError as exc:
            raise DeliveryError(f"cannot write the alert log: {exc.strerror or type(exc).__name__}") from None
        finally:
            os.close(fd)

    def written_ids(self) -> set[str]:
        """Alert ids in the last MiB of the log: written just before a crash, not yet marked sent."""
        try:
            with open(self.path, "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - LOG_TAIL_BYTES))
                tail = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return set()
        ids = set()
        for line in tail:
            try:
                ids.add(json.loads(line)["alert_id"])
            except (ValueError, KeyError, TypeError):
                continue
        return ids

    def close(self) -> None:
        pass


def _line_end(fd: int, size: int) -> int:
    """Where the last complete line of the file ends (0 if it holds none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - 4096)
        chunk = os.pread(fd, pos - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        pos = start
    return 0


def _append_line(fd: int, line: bytes) -> None:
    """Append `line` to the file open on `fd` (O_APPEND), or leave the file as it was and raise."""
    size = os.fstat(fd).st_size
    end = _line_end(fd, size) if size and os.pread(fd, 1, size - 1) != b"\n" else size
    if end != size:
        log.warning("alert log: removing an incomplete last line (%d bytes)", size - end)
        os.ftruncate(fd, end)
    try:
        written = 0
        while written < len(line):
            written += os.write(fd, line[written:])
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end)
        raise


def syslog_message(alert: dict[str, Any], facility: int, host: str, when: float | None = None) -> bytes:
    """One RFC 5424 message: structured data with the counts, the JSON alert as the (UTF-8) message."""
    severity = SEVERITY_TO_SYSLOG.get(alert.get("severity", "none"), 6)
    stamp = dt.datetime.fromtimestamp(time.time() if when is None else when, dt.UTC)
    timestamp = stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
    hostname = host if host.isascii() and host.isprintable() and " " not in host else "-"
    rules = ",".join(r["rule"] for r in alert.get("rules", []))
    params = {"id": alert.get("alert_id", ""), "severity": alert.get("severity", ""),
              "records": alert.get("records", 0), "rules": rules}  # fmt: skip
    sd = " ".join(f'{k}="{_sd_escape(str(v))}"' for k, v in params.items())
    pri = facility * 8 + severity
    header = f"<{pri}>1 {timestamp} {hostname[:255]} dlpscan {os.getpid()} alert [{SD_ID} {sd}] "
    body = json.dumps(alert, ensure_ascii=False, sort_keys=True)
    return header.encode("utf-8") + b"\xef\xbb\xbf" + body.encode("utf-8")


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


class SyslogSink:
    """RFC 5424 to `udp://host:port`, `tcp://host:port` (octet-counted frames, RFC 6587) or a unix socket."""

    name = "syslog"

    def __init__(self, target: str, facility: str = "local0", timeout: float = 10.0) -> None:
        self.target, self.facility, self.timeout = target, FACILITIES[facility], timeout
        self.host = socket.gethostname()
        self._sock: socket.socket | None = None
        self._stream = False

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        url = urllib.parse.urlsplit(self.target)
        if url.scheme in ("udp", "tcp"):
            kind = socket.SOCK_DGRAM if url.scheme == "udp" else socket.SOCK_STREAM
            info = socket.getaddrinfo(url.hostname, url.port or 514, type=kind)[0]
            sock = socket.socket(info[0], kind)
            sock.settimeout(self.timeout)
            sock.connect(info[4])
            self._stream = kind == socket.SOCK_STREAM
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.target)
                self._stream = False
            except OSError:  # some daemons listen with a stream socket
                sock.close()
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                sock.connect(self.target)
                self._stream = True
        self._sock = sock
        return sock

    def send(self, alert: dict[str, Any]) -> None:
        message = syslog_message(alert, self.facility, self.host)
        try:
            sock = self._connect()
            if self._stream:
                sock.sendall(f"{len(message)} ".encode() + message)
            else:
                sock.send(message)
        except OSError as exc:
            self.close()
            raise DeliveryError(f"syslog: {exc.strerror or type(exc).__name__}") from None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirected POST would be re-sent as a GET without its body: treat a redirect as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSink:
    """POST the alert as JSON; any 2xx is delivery. Receivers verify `X-Dlpscan-Signature`
    (HMAC-SHA256 of the body with the shared secret) and may drop repeats by `X-Dlpscan-Alert-Id`."""

    name = "webhook"

    def __init__(self, url: str, secret: bytes, timeout: float = 10.0) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, alert: dict[str, Any]) -> None:
        body = json.dumps(alert, ensure_ascii=False, sort_keys=True).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", f"dlpscan/{__version__}")
        request.add_header("X-Dlpscan-Signature", sign(self.secret, body))
        request.add_header("X-Dlpscan-Alert-Id", str(alert.get("alert_id", "")))
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(
                f"webhook: {getattr(reason, 'strerror', None) or type(reason).__name__}"
            ) from None

    def close(self) -> None:
        pass


# ---- delivery ---------------------------------------------------------------------------------


class Deliverer(threading.Thread):
    """Sends due alerts sink by sink. A failure backs off the whole sink (one probe per interval),
    so a dead endpoint is not hammered; recovery and failure are logged once per episode."""

    def __init__(
        self,
        store: Store,
        guard: StoreGuard,
        sinks: list[Sink],
        retry: tuple[float, float],
        wake: threading.Event,
        on_episode: Callable[[str, str], None],
        beat: Callable[[], None],
    ) -> None:
        super().__init__(name="alerts", daemon=True)
        self.store, self.guard, self.retry, self.wake = store, guard, retry, wake
        self._on_episode, self._beat = on_episode, beat
        self._stop_requested = threading.Event()
        self._lock = threading.Lock()
        self.sinks: list[Sink] = []
        self._retry_at: dict[str, float] = {}
        self._failing: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.replace_sinks(sinks)

    def replace_sinks(self, sinks: list[Sink]) -> None:
        with self._lock:
            for old in self.sinks:
                old.close()
            self.sinks = list(sinks)
        for sink in sinks:
            if isinstance(sink, LogSink):
                self._reconcile_log(sink)
        self.wake.set()

    def _reconcile_log(self, sink: LogSink) -> None:
        """Mark alerts that reached the log just before a crash as sent, so they are not written twice."""
        pending = self.guard.read(self.store.alerts_due, sink.name, float("inf"), 100_000)
        if not pending:
            return
        written = sink.written_ids()
        for alert in pending:
            if alert["payload"].get("alert_id") in written:
                self.guard.call(self.store.alert_sent, alert["id"])

    def stop(self) -> None:
        self._stop_requested.set()
        self.wake.set()

    def run(self) -> None:
        while not self._stop_requested.is_set():
            self._beat()
            try:
                self.deliver_due()
            except StoreUnavailable:  # stopping with the store down: the outbox keeps the alerts
                return
            except Exception as exc:  # a bug in a sink must not end delivery for good
                log.error("alert delivery: %s", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
            now = time.time()
            with self._lock:
                waits = [self._retry_at.get(s.name, 0.0) - now for s in self.sinks]
            pause = min([w for w in waits if w > 0] + [1.0])
            self.wake.wait(pause)
            self.wake.clear()

    def deliver_due(self, deadline: float | None = None) -> int:
        """One round over the sinks; returns how many alerts were delivered."""
        with self._lock:
            sinks = list(self.sinks)
        delivered = 0
        for sink in sinks:
            while deadline is None or time.monotonic() < deadline:
                now = time.time()
                if self._retry_at.get(sink.name, 0.0) > now:
                    break
                due = self.guard.read(self.store.alerts_due, sink.name, now, DUE_LIMIT)
                if not due:
                    break
                sent = self._send(sink, due)
                delivered += sent
                if sent < len(due) or (self._stop_requested.is_set() and deadline is None):
                    break
        return delivered

    def _send(self, sink: Sink, due: list[dict]) -> int:
        for n, alert in enumerate(due):
            self._beat()
            try:
                sink.send(alert["payload"])
            except Exception as exc:
                reason = (
                    str(exc) if isinstance(exc, DeliveryError) else f"internal error: {type(exc).__name__}"
                )
                delay = backoff(alert["attempts"], *self.retry)
                self.guard.call(self.store.alert_failed, alert["id"], time.time() + delay, reason)
                self._retry_at[sink.name] = time.time() + backoff(
                    self._failing.get(sink.name, 0), *self.retry
                )
                self.failures[sink.name] = self.failures.get(sink.name, 0) + 1
                if sink.name not in self._failing:
                    self._on_episode(
                        sink.name, f"alert delivery to {sink.name} failing ({reason}); retrying with backoff"
                    )
                self._failing[sink.name] = self._failing.get(sink.name, 0) + 1
                return n
            self.guard.call(self.store.alert_sent, alert["id"])
            self.sent[sink.name] = self.sent.get(sink.name, 0) + 1
            if sink.name in self._failing:
                failed = self._failing.pop(sink.name)
                self._on_episode(
                    sink.name, f"alert delivery to {sink.name} recovered after {failed} failed attempts"
                )
        return len(due)

    def close(self) -> None:
        with self._lock:
            for sink in self.sinks:
                sink.close()
