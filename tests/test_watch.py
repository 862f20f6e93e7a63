"""`dlpscan watch` as a real process: alerts once per flagged file version, kill -9 and catch-up,
webhook retries with signatures, syslog, systemd notifications, reload, vanished roots, status.

Plus unit tests of the pure parts (coalescing, settling, syslog framing, path rules).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import pg_schema_url

from dlpscan.config import load_config
from dlpscan.store import Store
from dlpscan.walk import WalkOptions, walk
from dlpscan.watch.alerts import syslog_message
from dlpscan.watch.intake import DIR_STORM, coalesce
from dlpscan.watch.observer import Change
from dlpscan.watch.paths import Roots, queue_key, queue_path
from dlpscan.watch.settle import Pending, recheck_at

DLPSCAN = str(Path(sys.executable).with_name("dlpscan"))
SECRET = "test-webhook-secret"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
SYSLOG_RE = re.compile(
    rb'^<(\d+)>1 \S+Z \S+ dlpscan \d+ alert \[dlpscan@32473 id="([0-9a-f]{32})" severity="(\w+)" '
    rb'records="(\d+)" rules="[^"]*"\] \xef\xbb\xbf(\{.*\})$',
    re.S,
)


# ---- synthetic data ---------------------------------------------------------------------------


def resident_id(rng: random.Random) -> str:
    body = f"110101{rng.randint(1960, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def mobile(rng: random.Random) -> str:
    return f"{rng.choice(('138', '139'))}{rng.randint(0, 99_999_999):08d}"


class People:
    """Generated records; remembers every raw value so the tests can prove none leaked."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.raw: set[str] = set()

    def rows(self, n: int) -> str:
        out = []
        for i in range(n):
            rid, phone = resident_id(self.rng), mobile(self.rng)
            self.raw |= {rid, phone}
            out.append(f"客户{i},{rid},{phone}\n")
        return "".join(out)

    def bulk(self, n: int = 60) -> str:
        return "姓名,身份证号,手机\n" + self.rows(n)


def clean(i: int) -> str:
    return f"minutes of meeting {i}\nno personal data here, order 20240{i % 10}17 shipped\n"


# ---- running the daemon -----------------------------------------------------------------------


def wait_for(what: str, check: Callable[[], object], timeout: float = 30.0) -> object:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


class Notify:
    """A NOTIFY_SOCKET the daemon reports READY/WATCHDOG/STOPPING to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[str] = []

    def poll(self) -> list[str]:
        with contextlib.suppress(TimeoutError):
            while True:
                self.messages += self.sock.recv(4096).decode().splitlines()
        return self.messages

    def seen(self, prefix: str) -> bool:
        return any(m.startswith(prefix) for m in self.poll())

    def internal_errors(self) -> list[str]:
        # after kill -9 the orphaned workers die with a traceback of their own: not the daemon's
        logs = [self.base / f"daemon{run}.log" for run in range(1, self.runs + 1) if run not in self.killed]
        lines = [
            line for log in logs if log.exists() for line in log.read_text(errors="replace").splitlines()
        ]
        return [line for line in lines if "Traceback" in line or re.search(r"ERROR: (?!reload failed)", line)]

    def close(self) -> None:
        self.sock.close()


class Watch:
    """One `dlpscan watch` process with its own config, store and alert log."""

    def __init__(self, base: Path, root: Path, **watch: object) -> None:
        self.base, self.root = base, root
        self.db, self.alert_log = base / "store.sqlite", base / "alerts.jsonl"
        self.config = base / "dlpscan.toml"
        self.watch = {"settle_seconds": 0.5, "alert_log": str(self.alert_log), **watch}
        self.top: dict[str, object] = {}
        self.write_config()
        self.proc: subprocess.Popen | None = None
        self.notify: Notify | None = None
        self.runs = 0
        self.killed: set[int] = set()
        self.preamble = ""  # Python run in the daemon before the CLI (fault injection)

    def write_config(self, top: dict[str, object] | None = None, **changes: object) -> None:
        self.top |= top or {}
        self.watch |= changes
        lines = [
            f'db = "{self.db}"',
            f'key_file = "{self.base / "fingerprint.key"}"',
            "jobs = 2",
            'log_level = "info"',
            *[f"{k} = {json.dumps(v)}" for k, v in self.top.items()],
            "[watch]",
            f'roots = ["{self.root}"]',
        ]
        lines += [f"{k} = {json.dumps(v)}" for k, v in self.watch.items()]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self, **env: str) -> None:
        self.runs += 1
        if self.notify is not None:
            self.notify.close()
        self.notify = Notify(self.base / f"notify{self.runs}.sock")
        environ = {**os.environ, "NOTIFY_SOCKET": str(self.notify.path), **env}
        self.stderr = self.base / f"daemon{self.runs}.log"
        command = [sys.executable, "-c", f"{self.preamble}\nfrom dlpscan.cli import main\nmain()"]
        with open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(
                [*(command if self.preamble else [DLPSCAN]), "--config", str(self.config), "watch"],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=environ,
            )
        wait_for("READY=1 from the daemon", lambda: self.notify.seen("READY=1") or self._died())

    def _died(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(f"daemon exited with {self.proc.returncode}: {self.stderr.read_text()[-2000:]}")
        return False

    def stop(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.killed.add(self.runs)

    def alerts(self) -> list[dict]:
        if not self.alert_log.exists():
            return []
        return [json.loads(line) for line in self.alert_log.read_text(encoding="utf-8").splitlines()]

    def stored(self, paths: list[Path]) -> dict:
        with Store.open(str(self.db)) as store:
            return store.previous_many([str(p) for p in paths])

    def scans(self) -> list[dict]:
        with Store.open(str(self.db)) as store:
            return store.scans()

    def events(self) -> list[dict]:
        with Store.open(str(self.db)) as store:
            return store.recent_events(100)

    def queue_empty(self) -> bool:
        with Store.open(str(self.db)) as store:
            return store.queue_depth() == {"pending": 0, "working": 0}

    def outbox_empty(self) -> bool:
        with Store.open(str(self.db)) as store:
            return store.alert_backlog()["pending"] == 0

    def internal_errors(self) -> list[str]:
        # after kill -9 the orphaned workers die with a traceback of their own: not the daemon's
        logs = [self.base / f"daemon{run}.log" for run in range(1, self.runs + 1) if run not in self.killed]
        lines = [
            line for log in logs if log.exists() for line in log.read_text(errors="replace").splitlines()
        ]
        return [
            line
            for line in lines
            if "Traceback" in line
            or re.search(
                r"ERROR: (?!reload failed|cannot store the result of|the results store refused a batch|stopping: the results store)",
                line,
            )
        ]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.notify is not None:
            self.notify.close()


@pytest.fixture
def watch_factory(tmp_path: Path) -> Iterator[Callable[..., Watch]]:
    made: list[Watch] = []

    def make(**watch: object) -> Watch:
        root = tmp_path / "share"
        root.mkdir(exist_ok=True)
        w = Watch(tmp_path, root, **watch)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
    for w in made:  # an internal error is logged and survived; it must still fail the test
        assert not w.internal_errors(), w.internal_errors()[:5]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version_of(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime!r}:{st.st_ino}"


def write_slowly(path: Path, parts: list[str], pause: float) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for part in parts:
            f.write(part)
            f.flush()
            time.sleep(pause)


# ---- receivers --------------------------------------------------------------------------------


class Webhook:
    """HTTP receiver on 127.0.0.1 that answers 500 to the first `failures` requests."""

    def __init__(self, failures: int) -> None:
        self.failures, self.requests = failures, []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failing = len(receiver.requests) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> list[tuple[dict, bytes]]:
        return self.requests[self.failures :]

    def internal_errors(self) -> list[str]:
        # after kill -9 the orphaned workers die with a traceback of their own: not the daemon's
        logs = [self.base / f"daemon{run}.log" for run in range(1, self.runs + 1) if run not in self.killed]
        lines = [
            line for log in logs if log.exists() for line in log.read_text(errors="replace").splitlines()
        ]
        return [line for line in lines if "Traceback" in line or re.search(r"ERROR: (?!reload failed)", line)]

    def close(self) -> None:
        self.server.shutdown()


# ---- end to end -------------------------------------------------------------------------------


def test_alerts_once_per_flagged_version_across_sinks(watch_factory, tmp_path: Path) -> None:
    hook = Webhook(failures=3)
    syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    syslog.bind(("127.0.0.1", 0))
    syslog.settimeout(0.05)
    metrics_port = free_port()
    w = watch_factory(
        metrics_port=metrics_port,
        webhook_url=hook.url,
        webhook_secret=SECRET,
        syslog=f"udp://127.0.0.1:{syslog.getsockname()[1]}",
        alert_retry_initial=0.2,
        alert_retry_max=0.5,
    )
    people = People(1)
    root = w.root
    try:
        w.start(WATCHDOG_USEC="1000000")
        (root / "a.csv").write_text(people.bulk(), encoding="utf-8")
        (root / "b.csv").write_text(people.bulk(), encoding="utf-8")
        (root / "new" / "deeper").mkdir(parents=True)
        (root / "new" / "deeper" / "c.csv").write_text(people.bulk(), encoding="utf-8")
        cleans = [root / f"clean{i}.txt" for i in range(5)] + [root / "new" / "notes.txt"]
        for i, p in enumerate(cleans):
            p.write_text(clean(i), encoding="utf-8")
        header = "姓名,身份证号,手机\n"
        write_slowly(root / "slow.csv", [header + people.rows(15)] + [people.rows(15) for _ in range(3)], 0.2)
        flagged = [root / "a.csv", root / "b.csv", root / "new" / "deeper" / "c.csv", root / "slow.csv"]
        expected = {(str(p), version_of(p)) for p in flagged}
        wait_for("4 alerts", lambda: len(w.alerts()) >= 4)
        wait_for("every file recorded", lambda: len(w.stored(flagged + cleans)) == 10 and w.queue_empty())

        with open(root / "a.csv", "a", encoding="utf-8") as f:  # a new version of a flagged file
            f.write(people.rows(10))
        (root / "b.csv").rename(root / "b2.csv")  # followed: old path deleted, new path scanned
        (root / "new" / "deeper" / "c.csv").unlink()
        expected |= {(str(root / "a.csv"), version_of(root / "a.csv"))}
        expected |= {(str(root / "b2.csv"), version_of(root / "b2.csv"))}
        wait_for("6 alerts", lambda: len(w.alerts()) >= 6)
        stored = wait_for(
            "the move and the deletion recorded",
            lambda: (
                (s := w.stored([root / "b.csv", root / "new" / "deeper" / "c.csv", root / "b2.csv"]))
                and s[str(root / "b.csv")].deleted
                and s[str(root / "new" / "deeper" / "c.csv")].deleted
                and str(root / "b2.csv") in s
                and s
            ),
        )
        assert not stored[str(root / "b2.csv")].deleted
        wait_for("webhook deliveries", lambda: len(hook.delivered()) >= 6)
        wait_for("alert outbox drained", w.outbox_empty)

        status = subprocess.run(
            [DLPSCAN, "--config", str(w.config), "status"], capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0, status.stderr
        assert "queue: 0 pending, 0 working" in status.stdout
        assert "alerts: 0 undelivered (0 retrying)" in status.stdout
        assert "alert delivery to webhook failing (HTTP 500)" in status.stdout
        assert w.notify.seen("WATCHDOG=1")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'dlpscan_watch_alerts_sent_total{sink="webhook"} 6.0' in metrics
        assert 'dlpscan_watch_alert_failures_total{sink="webhook"} 3.0' in metrics
        assert 'dlpscan_watch_queue_rows{state="pending"} 0.0' in metrics
        assert "dlpscan_watch_store_up 1.0" in metrics

        started = time.monotonic()
        assert w.stop() == 0
        assert time.monotonic() - started < 15
        assert w.notify.seen("STOPPING=1")
    finally:
        hook.close()

    # the alert log: exactly one line per flagged file version, none for clean files
    alerts = w.alerts()
    assert sorted((a["path"], a["version"]) for a in alerts) == sorted(expected)
    assert {a["severity"] for a in alerts} == {"medium"}
    assert all(a["flagged"] and a["records"] >= 50 for a in alerts)
    assert all(a["entities"]["CN_RESIDENT_ID"]["samples"] for a in alerts)
    text = w.alert_log.read_text(encoding="utf-8")
    assert "fingerprint" not in text
    assert not [v for v in people.raw if v in text], "a raw value reached the alert log"

    # the webhook: the same alerts after 3 failures, each signed over its exact body
    bodies = []
    for headers, body in hook.delivered():
        assert (
            headers["X-Dlpscan-Signature"]
            == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        )
        bodies.append(json.loads(body))
        assert headers["X-Dlpscan-Alert-Id"] == bodies[-1]["alert_id"]
    assert len(hook.requests) == 3 + len(expected)
    assert sorted((b["path"], b["version"]) for b in bodies) == sorted(expected)
    assert not [v for v in people.raw if v in b"".join(body for _, body in hook.requests).decode()]

    # syslog: RFC 5424, facility local0, severity warning for "medium"
    datagrams = []
    with contextlib.suppress(TimeoutError):
        while True:
            datagrams.append(syslog.recv(65535))
    syslog.close()
    parsed = [SYSLOG_RE.match(d) for d in datagrams]
    assert all(parsed), datagrams[:1]
    assert {int(m.group(1)) for m in parsed} == {16 * 8 + 4}
    assert sorted(
        (json.loads(m.group(5))["path"], json.loads(m.group(5))["version"]) for m in parsed
    ) == sorted(expected)


def test_kill9_during_burst_then_catch_up(watch_factory) -> None:
    """2,000 files (mostly clean, some bulk); kill -9 half-way through; the rest arrive while it is down."""
    w = watch_factory()
    people = People(2)
    root = w.root
    w.start()
    warm = root / "warm-up.csv"  # the workers start with the first file
    warm.write_text(people.bulk(), encoding="utf-8")
    wait_for("the first alert", w.alerts)
    paths, flagged = [warm], {str(warm)}
    half = threading.Event()

    def burst() -> None:
        for i in range(2000):
            folder = root / f"d{i % 8}"
            folder.mkdir(exist_ok=True)
            path = folder / (f"bulk{i:04d}.csv" if i % 37 == 0 else f"note{i:04d}.txt")
            path.write_text(people.bulk() if i % 37 == 0 else clean(i), encoding="utf-8")
            flagged.update([str(path)] if i % 37 == 0 else [])
            paths.append(path)
            if i == 1000:
                half.set()

    writer = threading.Thread(target=burst)
    writer.start()
    wait_for("half of the burst", half.is_set)
    w.kill9()
    writer.join()
    late = root / "written-while-stopped.csv"
    late.write_text(people.bulk(), encoding="utf-8")
    flagged.add(str(late))
    paths.append(late)

    w.start()
    wait_for(
        "an alert for every flagged file", lambda: {a["path"] for a in w.alerts()} >= flagged, timeout=90
    )
    wait_for("every file recorded", lambda: len(w.stored(paths)) == len(paths), timeout=60)
    assert w.stop() == 0

    assert sorted(a["path"] for a in w.alerts()) == sorted(flagged), "an alert missing or sent twice"
    stored = w.stored(paths)
    assert {s.result.status.value for s in stored.values()} == {"scanned"}
    assert sorted(p for p, s in stored.items() if s.result.flagged) == sorted(flagged)


def test_full_buffer_falls_back_to_a_sweep(watch_factory) -> None:
    """A buffer far too small for the burst: dropped events become a sweep of the root, nothing is missed."""
    w = watch_factory(buffer_size=5)
    people = People(4)
    w.start()
    paths = []
    for i in range(400):
        path = w.root / f"f{i % 4}" / (f"bulk{i}.csv" if i % 40 == 0 else f"note{i}.txt")
        path.parent.mkdir(exist_ok=True)
        path.write_text(people.bulk() if i % 40 == 0 else clean(i), encoding="utf-8")
        paths.append(path)
    flagged = sorted(str(p) for p in paths if p.suffix == ".csv")
    wait_for(
        "every flagged file alerted", lambda: sorted(a["path"] for a in w.alerts()) == flagged, timeout=90
    )
    wait_for("every file recorded", lambda: len(w.stored(paths)) == len(paths), timeout=60)
    assert any(e["kind"] == "overflow" for e in w.events())
    assert w.stop() == 0
    assert sorted(a["path"] for a in w.alerts()) == flagged


def test_reload_and_vanished_root(watch_factory) -> None:
    w = watch_factory(root_check_seconds=0.2)
    people = People(3)
    w.start()
    w.write_config(settle_seconds="oops")  # an invalid config is refused; the daemon keeps running
    w.proc.send_signal(signal.SIGHUP)
    wait_for("the refused reload", lambda: any(e["kind"] == "error" for e in w.events()))
    broken = w.base / "recognizers"  # so is a broken recognizer folder, naming the file
    broken.mkdir()
    (broken / "employee.yaml").write_text("entity: [EMPLOYEE_NO\npatterns: []\n", encoding="utf-8")
    w.write_config(top={"recognizer_dirs": [str(broken)]}, settle_seconds=0.5)
    w.proc.send_signal(signal.SIGHUP)
    wait_for(
        "the refused recognizer folder",
        lambda: any(e["kind"] == "error" and "employee.yaml" in e["message"] for e in w.events()),
    )
    del w.top["recognizer_dirs"]

    second_log = w.base / "alerts-2.jsonl"
    w.write_config(settle_seconds=0.5, alert_log=str(second_log))
    w.proc.send_signal(signal.SIGHUP)
    wait_for("the reload", lambda: any(e["kind"] == "reload" for e in w.events()))
    (w.root / "after-reload.csv").write_text(people.bulk(), encoding="utf-8")
    wait_for("an alert in the new log", second_log.exists)

    away = w.root.with_name("share.away")
    w.root.rename(away)  # the share is unmounted
    wait_for("the detach warning", lambda: any("not available" in e["message"] for e in w.events()))
    away.rename(w.root)  # and comes back
    wait_for("the re-attach", lambda: any("re-attached" in e["message"] for e in w.events()))
    (w.root / "after-remount.csv").write_text(people.bulk(), encoding="utf-8")
    wait_for("the alert after re-attaching", lambda: len(second_log.read_text().splitlines()) >= 2)

    strict = w.base / "strict.yaml"  # a new policy: new workers and a new watch session
    strict.write_text(
        "name: strict\ndescription: Flags five ID numbers.\nrules:\n"
        "  - name: five-ids\n    severity: high\n    min_distinct:\n      CN_RESIDENT_ID: 5\n",
        encoding="utf-8",
    )
    w.write_config(top={"policy": str(strict)})
    w.proc.send_signal(signal.SIGHUP)
    wait_for("a new watch session", lambda: len([s for s in w.scans() if s["kind"] == "watch"]) == 2)
    (w.root / "ten-people.csv").write_text("姓名,身份证号,手机\n" + people.rows(10), encoding="utf-8")
    wait_for("the alert under the new policy", lambda: len(second_log.read_text().splitlines()) >= 3)
    assert w.stop() == 0
    alerts = [json.loads(line) for line in second_log.read_text().splitlines()]
    assert sorted(a["path"] for a in alerts) == sorted(
        str(w.root / name) for name in ("after-reload.csv", "after-remount.csv", "ten-people.csv")
    )
    assert [(r["policy"], r["rule"], r["severity"]) for r in alerts[-1]["rules"]] == [
        ("strict", "five-ids", "high")
    ]
    assert not w.alert_log.exists()


@pytest.mark.postgres
def test_postgresql_store(watch_factory) -> None:
    """The queue, the outbox and the results on PostgreSQL (skipped when no server is reachable)."""
    with pg_schema_url() as url:
        w = watch_factory()
        w.db = url
        w.write_config()
        people = People(5)
        w.start()
        (w.root / "bulk.csv").write_text(people.bulk(), encoding="utf-8")
        (w.root / "notes.txt").write_text(clean(1), encoding="utf-8")
        wait_for("the alert", w.alerts)
        wait_for(
            "both files recorded", lambda: len(w.stored([w.root / "bulk.csv", w.root / "notes.txt"])) == 2
        )
        assert w.stop() == 0
        assert [a["path"] for a in w.alerts()] == [str(w.root / "bulk.csv")]
        assert w.queue_empty() and w.outbox_empty()


def test_a_removed_sink_leaves_no_backlog_and_a_new_sink_starts_from_now(watch_factory) -> None:
    hook = Webhook(failures=10**6)  # never accepts: its alerts stay undelivered
    w = watch_factory(webhook_url=hook.url, webhook_secret=SECRET, alert_retry_initial=0.2)
    people = People(17)
    old = w.root / "old.csv"
    old.write_text(people.bulk(), encoding="utf-8")
    try:
        w.start()
        wait_for("the alert log line", lambda: len(w.alerts()) == 1)
        wait_for("a failed webhook delivery", lambda: hook.requests)
        assert w.stop() == 0
    finally:
        hook.close()
    syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    syslog.bind(("127.0.0.1", 0))
    syslog.settimeout(0.05)
    del w.watch["webhook_url"], w.watch["webhook_secret"]
    w.write_config(syslog=f"udp://127.0.0.1:{syslog.getsockname()[1]}")
    w.start()
    new = w.root / "new.csv"
    new.write_text(people.bulk(), encoding="utf-8")
    wait_for("the new file's alert", lambda: len(w.alerts()) == 2)
    wait_for("the outbox drained", w.outbox_empty)
    datagrams = []
    with contextlib.suppress(TimeoutError):
        while len(datagrams) < 2:
            datagrams.append(syslog.recv(65535))
    syslog.close()
    assert w.stop() == 0
    assert [json.loads(SYSLOG_RE.match(d).group(5))["path"] for d in datagrams] == [str(new)]
    status = subprocess.run(
        [DLPSCAN, "--config", str(w.config), "status"], capture_output=True, text=True, timeout=60
    )
    assert "alerts: 0 undelivered (0 retrying)" in status.stdout
    withdrawn = "1 undelivered alert(s) to webhook withdrawn: the sink is no longer configured"
    assert withdrawn in [e["message"] for e in w.events()]


def test_files_of_a_root_deleted_and_re_created_are_marked_deleted(watch_factory) -> None:
    """A vanished root is not a deletion; but when it comes back, what is no longer in it is."""
    w = watch_factory(root_check_seconds=0.3)
    people = People(19)
    (w.root / "sub").mkdir()
    old = [w.root / "a.csv", w.root / "sub" / "b.txt", w.root / "sub" / "kept.txt"]
    old[0].write_text(people.bulk(), encoding="utf-8")
    old[1].write_text(clean(1), encoding="utf-8")
    old[2].write_text(clean(2), encoding="utf-8")
    w.start()
    wait_for("the catch-up pass", lambda: len(w.stored(old)) == 3 and w.queue_empty())
    w.root.rename(w.base / "share.old")  # the share goes away with its files ...
    wait_for("the root detached", lambda: "watched root is not available" in w.stderr.read_text())
    assert not any(s.deleted for s in w.stored(old).values())
    (w.root / "sub").mkdir(parents=True)  # ... and another one, with one file kept, comes back
    shutil.copy2(w.base / "share.old" / "sub" / "kept.txt", old[2])
    new = w.root / "c.txt"
    new.write_text(clean(3), encoding="utf-8")
    stored = wait_for(
        "the old files marked deleted, the others recorded",
        lambda: (
            (s := w.stored([*old, new]))
            and len(s) == 4
            and s[str(old[0])].deleted
            and s[str(old[1])].deleted
            and s
        ),
    )
    assert w.stop() == 0
    assert not stored[str(old[2])].deleted and not stored[str(new)].deleted


def limit_file_size(pid: int, size: int | None) -> None:
    """A full disk for the daemon's files beyond `size` bytes (RLIMIT_FSIZE: a write is cut at the
    limit, the next one fails with EFBIG; Python ignores SIGXFSZ). None lifts the limit."""
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY if size is None else size, hard))


def test_a_full_disk_under_the_alert_log_leaves_every_line_whole(watch_factory) -> None:
    """A write cut short by a full disk is truncated away; the retried alert is one whole line."""
    w = watch_factory(alert_retry_initial=0.2, alert_retry_max=0.4)
    padding = json.dumps({"type": "padding", "text": "x" * (8 << 20)}) + "\n"  # above the store's size
    w.alert_log.write_text(padding, encoding="utf-8")
    w.start()
    limit_file_size(w.proc.pid, len(padding) + 300)  # an alert line is longer: it is cut
    people = People(11)
    (w.root / "a.csv").write_text(people.bulk(), encoding="utf-8")
    failing = "alert delivery to log failing (cannot write the alert log: File too large)"
    wait_for("the failing delivery", lambda: failing in w.stderr.read_text())
    time.sleep(1.0)  # a few retries on the full disk
    assert w.alert_log.stat().st_size == len(padding)  # nothing of the cut line is left
    limit_file_size(w.proc.pid, None)
    wait_for("the alert", lambda: len(w.alerts()) == 2)
    assert w.stop() == 0
    lines = w.alert_log.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3  # each line whole, newline-terminated
    alerts = [json.loads(line) for line in lines[1:-1]]
    assert [a["path"] for a in alerts] == [str(w.root / "a.csv")]
    assert w.outbox_empty()


def test_a_full_store_disk_is_one_outage_in_the_log(watch_factory) -> None:
    """With the SQLite files unable to grow, reads and small writes still succeed: that must not be
    logged as the store coming and going a dozen times a minute."""
    w = watch_factory(settle_seconds=0.2)
    w.start()
    people = People(13)
    (w.root / "first.csv").write_text(people.bulk(), encoding="utf-8")
    wait_for("the first file recorded", lambda: w.stored([w.root / "first.csv"]))
    files = [w.root / f"f{i:03d}.csv" for i in range(150)]
    store_files = [Path(f"{w.db}{suffix}") for suffix in ("", "-wal")]
    limit_file_size(w.proc.pid, max(p.stat().st_size for p in store_files) + 4096)
    for n, path in enumerate(files):
        path.write_text(people.bulk(20) if n % 3 == 0 else clean(n), encoding="utf-8")
        time.sleep(0.1)
    time.sleep(5.0)
    limit_file_size(w.proc.pid, None)
    wait_for("every file recorded", lambda: len(w.stored(files)) == len(files) and w.queue_empty(), 60)
    assert w.stop() == 0
    changes = [line for line in w.stderr.read_text().splitlines() if "results store" in line]
    assert [c.split(" (")[0].split(" after ")[0] for c in changes] == [
        "dlpscan: WARNING: results store unavailable",
        "dlpscan: WARNING: results store available again",
    ]


REFUSE_ONE = """
from dlpscan.store import codec
rows = codec.entity_rows
def refuse(file_id, result):  # as the codec refuses an unmasked sample
    if result.path.endswith("refused.csv") and result.entities:
        raise ValueError("CN_MOBILE: a sample is not masked; not stored")
    return rows(file_id, result)
codec.entity_rows = refuse
"""


def test_a_result_the_store_refuses_is_stored_as_an_error_and_costs_no_other(watch_factory) -> None:
    """The daemon stores results with the scan's recorder: the batch is stored file by file."""
    w = watch_factory(settle_seconds=1.0)
    w.preamble = REFUSE_ONE
    people = People(7)
    files = [w.root / "refused.csv", w.root / "kept.csv", w.root / "notes.txt"]
    w.start()
    files[0].write_text(people.bulk(), encoding="utf-8")
    files[1].write_text(people.bulk(), encoding="utf-8")
    files[2].write_text(clean(3), encoding="utf-8")
    stored = wait_for("three files recorded", lambda: len(s := w.stored(files)) == 3 and s)
    wait_for("the queue drained", w.queue_empty)
    assert w.stop() == 0
    refused, kept, notes = (stored[str(p)] for p in files)
    assert refused.result.status == "error" and refused.result.entities == {}
    assert refused.result.error == (
        "the results store refused this file's result (ValueError: CN_MOBILE: a sample is not masked; not stored)"
    )
    assert kept.result.status == "scanned" and kept.result.entities["CN_RESIDENT_ID"].distinct == 60
    assert notes.result.status == "scanned" and not notes.result.flagged
    events = [e["message"] for e in w.events() if e["kind"] == "file-error"]
    assert (
        f"{files[0]}: the results store refused it (ValueError: CN_MOBILE: a sample is not masked; not stored)"
        in events
    )
    log = w.stderr.read_text()
    assert f"ERROR: cannot store the result of {files[0]}: ValueError" in log
    assert not [v for v in people.raw if v in log]


class Link:
    """A TCP path to PostgreSQL that the test can cut (the server keeps running for everyone else)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._conns.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_sigterm_with_postgresql_down_exits_promptly_with_code_3(watch_factory) -> None:
    """Nothing is lost (the queue and the catch-up pass find the files), so the stop does not wait."""
    with pg_schema_url() as url:
        link = Link(("127.0.0.1", 5432))
        try:
            w = watch_factory(settle_seconds=0.3)
            w.db = url.replace("127.0.0.1:5432", f"127.0.0.1:{link.port}")
            w.write_config()
            w.start()
            first, second = w.root / "first.txt", w.root / "second.txt"
            first.write_text(clean(1), encoding="utf-8")
            wait_for("the first file recorded", lambda: w.stored([first]))
            link.cut()
            second.write_text(clean(2), encoding="utf-8")
            wait_for("the outage noticed", lambda: "results store unavailable" in w.stderr.read_text())
            assert w.stop(timeout=15) == 3
            assert "stopping: the results store is unavailable" in w.stderr.read_text()
            link.up = True
            w.start()
            wait_for("the second file recorded after the restart", lambda: w.stored([second]))
            assert w.stop() == 0
        finally:
            link.close()


def test_unreachable_store_waits_and_stops_cleanly(watch_factory, tmp_path: Path) -> None:
    w = watch_factory()
    w.config.write_text(
        w.config.read_text().replace(f'db = "{w.db}"', 'db = "postgresql://nobody@127.0.0.1:9/none"'),
        encoding="utf-8",
    )
    err = tmp_path / "unreachable.log"
    with open(err, "wb") as f:
        proc = subprocess.Popen([DLPSCAN, "--config", str(w.config), "watch"], stderr=f)
    try:
        wait_for("the waiting message", lambda: "results store unavailable" in err.read_text())
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert err.read_text().count("results store unavailable") == 1


def test_watch_refuses_a_missing_root(tmp_path: Path) -> None:
    run = subprocess.run(
        [DLPSCAN, "watch", str(tmp_path / "nope"), "--db", str(tmp_path / "s.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert run.returncode == 2
    assert "not a directory" in run.stderr


# ---- service files ----------------------------------------------------------------------------

SERVICE = Path(__file__).resolve().parent.parent / "service"


def unit(name: str) -> dict[str, str]:
    settings = {}
    for line in (SERVICE / name).read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            assert key not in settings, f"{name}: {key} given twice"
            settings[key] = value
    return settings


def test_service_files_agree_with_the_example_config(tmp_path: Path) -> None:
    config, _ = load_config(SERVICE / "dlpscan.toml.example")
    watch = unit("dlpscan-watch.service")
    scan = unit("dlpscan-scan.service")
    assert watch["Type"] == "notify" and int(watch["WatchdogSec"]) > 0 and watch["Restart"] == "on-failure"
    for u in (watch, scan):
        assert u["User"] == "dlpscan" and u["KillMode"] == "mixed"
        assert u["CapabilityBoundingSet"] == u["AmbientCapabilities"] == "CAP_DAC_READ_SEARCH"
        assert (u["NoNewPrivileges"], u["ProtectSystem"], u["ProtectHome"]) == ("yes", "strict", "read-only")
        assert u["IOSchedulingClass"] == "idle" and int(u["Nice"]) >= 10
        assert u["ReadOnlyPaths"].split() == config.watch.roots
        assert u["ReadWritePaths"].split() == [
            str(Path(config.db).parent),
            str(Path(config.watch.alert_log).parent),
        ]
    assert scan["Environment"] == "DLPSCAN_SCAN_ROOTS=" + " ".join(config.watch.roots)
    assert unit("dlpscan-scan.timer")["Persistent"] == "true"
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed; unit syntax not verified")
    for name in ("dlpscan-watch.service", "dlpscan-scan.service"):  # ExecStart must exist to verify
        text = (SERVICE / name).read_text(encoding="utf-8").replace("/opt/dlpscan/bin/dlpscan", "/bin/echo")
        (tmp_path / name).write_text(text, encoding="utf-8")
    shutil.copy(SERVICE / "dlpscan-scan.timer", tmp_path)
    names = [
        str(tmp_path / n) for n in ("dlpscan-watch.service", "dlpscan-scan.service", "dlpscan-scan.timer")
    ]
    check = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], capture_output=True, text=True)
    assert check.returncode == 0 and not check.stderr.strip(), check.stderr


# ---- units ------------------------------------------------------------------------------------


def test_coalesce_folds_storms_and_covered_paths(tmp_path: Path) -> None:
    roots = Roots([str(tmp_path)], WalkOptions(exclude=("*.tmp",)))
    r = str(tmp_path)
    storm = [Change("created", f"{r}/big/f{i}.txt", False) for i in range(DIR_STORM)]
    batch = [
        Change("created", f"{r}/a.txt", False),
        Change("modified", f"{r}/a.txt", False),
        Change("created", f"{r}/x.tmp", False),  # excluded
        Change("created", f"{r}/newdir", True),
        Change("created", f"{r}/newdir/inside.txt", False),  # covered by the new directory's sweep
        Change("deleted", f"{r}/gone/one.txt", False),  # covered by the deleted directory
        Change("deleted", f"{r}/gone", True),
        *storm,
    ]
    assert coalesce(batch, roots) == [
        Change("modified", f"{r}/a.txt", False),
        Change("created", f"{r}/newdir", True),
        Change("deleted", f"{r}/gone", True),
        Change("modified", f"{r}/big", True),
    ]


def test_roots_accept_what_scan_walks(tmp_path: Path) -> None:
    for rel in ("a.csv", "b.iso", ".git/config", "keep/.git/x.csv", "sub/c.tmp", "sub/d.csv", "own.sqlite"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    options = WalkOptions(
        include=("*.csv", "*.iso", "*.tmp", "config"), exclude=("*.iso", ".git/", "sub/*.tmp")
    )
    walked = {e.path for e in walk([str(tmp_path)], options)}
    roots = Roots([str(tmp_path)], options, own=[str(tmp_path / "own.sqlite")])
    accepted = {str(p) for p in tmp_path.rglob("*") if p.is_file() and roots.accepts(str(p))}
    assert accepted == walked - {str(tmp_path / "own.sqlite")}
    assert not roots.accepts(str(tmp_path / "own.sqlite-wal"))
    assert roots.accepts(str(tmp_path / "keep"), is_dir=True)
    assert not roots.accepts(str(tmp_path / ".git"), is_dir=True)
    assert roots.root_of("/elsewhere/x") is None


def test_settling_rules() -> None:
    assert recheck_at(mtime=100.0, now=106.0, settle=5, waiting_since=106.0, max_wait=600) is None
    assert recheck_at(mtime=103.0, now=106.0, settle=5, waiting_since=106.0, max_wait=600) == 108.0
    waited_enough = recheck_at(mtime=103.0, now=106.0, settle=5, waiting_since=0.0, max_wait=100)
    assert waited_enough is None
    assert (
        recheck_at(mtime=200.0, now=106.0, settle=5, waiting_since=106.0, max_wait=600) is None
    )  # skewed clock
    pending = Pending()
    assert pending.needs_write("k", "modified", False)
    pending.written("k", "modified")
    assert not pending.needs_write("k", "deleted", False)
    pending.written("d", "modified")
    assert pending.needs_write("d", "created", True)  # a shallow sweep queued; a recursive one is needed
    pending.claimed("k")
    assert pending.needs_write("k", "modified", False)


def test_queue_keys_survive_undecodable_names() -> None:
    odd = os.fsdecode(b"/share/\xff\xfe report.csv")
    assert queue_key("/share/报告.csv") == "/share/报告.csv"
    assert queue_key(odd).startswith("b64:")
    assert queue_path(queue_key(odd)) == odd


def test_syslog_message_is_rfc5424() -> None:
    alert = {
        "alert_id": "0" * 32,
        "severity": "critical",
        "records": 7,
        "rules": [{"rule": 'a"b]'}],
        "path": "/x",
    }
    message = syslog_message(alert, facility=10, host="dlp host", when=0.0)
    assert message.startswith(
        b'<82>1 1970-01-01T00:00:00.000000Z - dlpscan ' + str(os.getpid()).encode()
        + b' alert [dlpscan@32473 id="' + b"0" * 32 + b'" severity="critical" records="7" rules="a\\"b\\]"] \xef\xbb\xbf'
    )  # fmt: skip
    assert json.loads(message.split(b"\xef\xbb\xbf", 1)[1]) == alert


def test_handled_versions_are_bounded_and_exact() -> None:
    from dlpscan.walk import Entry
    from dlpscan.watch.dispatch import Handled

    def entry(n: int, size: int = 10) -> Entry:
        return Entry(f"/r/f{n}", f"/r/f{n}", f"/r/f{n}", size=size, mtime=1.5, inode=n)

    known = Handled(limit=3)
    for n in range(5):
        known.add(entry(n))
    assert len(known) == 3 and [entry(n) in known for n in range(5)] == [False, False, True, True, True]
    assert entry(4, size=11) not in known  # another version of the same path
    known.add(entry(2))  # used again: now the newest
    known.add(entry(5))
    assert [entry(n) in known for n in (2, 3, 4, 5)] == [True, False, True, True]
    known.discard(entry(4, size=11))  # not the version remembered: kept
    known.discard(entry(5))
    assert [entry(n) in known for n in (2, 4, 5)] == [True, True, False]


def test_a_flapping_store_is_reported_once_then_with_backoff() -> None:
    from dlpscan.watch.retry import StoreGuard

    changes: list[bool] = []
    guard = StoreGuard(on_change=lambda up, message: changes.append(up), initial=0.001, maximum=0.001)
    failures = [0]

    def write() -> None:
        if failures[0]:
            failures[0] -= 1
            raise OSError(28, "No space left on device")

    for _ in range(10):  # a full disk: a write fails, the retry gets through, reads answer
        failures[0] = 1
        guard.call(write)
        guard.read(lambda: None)
    assert changes == [False, True] and guard.up  # the nine outages after the first are held back
    guard._last_report -= StoreGuard.FLAP_HOLD  # a hold later, the next one is reported, counted
    failures[0] = 1
    guard.call(write)
    assert changes == [False, True, False, True]
