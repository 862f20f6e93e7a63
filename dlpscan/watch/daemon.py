"""The daemon's life: start (recover, catch up), run, reload on SIGHUP, drain and stop on SIGTERM.

Threads: watchdog's observers fill a bounded buffer; `intake` writes it to the store's queue and
checks the roots; the main thread runs the dispatcher and the worker pool; `recorder` writes results;
`alerts` delivers the outbox; `watchdog` pings systemd while all of them make progress.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dlpscan.config import ConfigError
from dlpscan.detect.registry import entity_types
from dlpscan.logs import setup_logging
from dlpscan.runner.refresh import EdmRefresh
from dlpscan.store import Store
from dlpscan.watch import systemd
from dlpscan.watch.alerts import AlertOutbox, Deliverer
from dlpscan.watch.dispatch import Dispatcher, Versions
from dlpscan.watch.intake import Intake
from dlpscan.watch.metrics import Metrics, Numbers
from dlpscan.watch.observer import Change, Observers
from dlpscan.watch.options import Options, load_options
from dlpscan.watch.paths import Roots
from dlpscan.watch.recorder import Recorder
from dlpscan.watch.retry import TRANSIENT, StoreGuard, StoreUnavailable, backoff, describe
from dlpscan.watch.settle import Pending
from dlpscan.workers import Executor, WorkerPool

log = logging.getLogger(__name__)

STOP_GRACE = 30.0  # seconds to keep trying a store that fails while stopping
STOP_GRACE_DOWN = 2.0  # ... and one that was already unavailable when the stop was asked for
STORE_UNAVAILABLE = 3  # exit codes, as `dlpscan --help` lists them
INTERNAL_ERROR = 4
FINAL_DELIVERY = 2.0  # seconds spent delivering alerts of the last files before exiting
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while another waits


class Daemon:
    def __init__(
        self, options: Options, config_path: str | None, flags: dict[str, Any], watch_flags: dict
    ) -> None:
        self.options = options
        self._source = (config_path, flags, watch_flags)
        self.health = systemd.Health()
        self.metrics = Metrics(self._numbers)
        self._overflows = 0
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._wake = threading.Event()
        self._signals = 0
        self._down_message: str | None = None
        self.store: Store | None = None
        self.guard = StoreGuard(beat=self.health.beat, on_change=self._store_changed)
        self._observers_lock = threading.Lock()

    # ---- signals -----------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum == signal.SIGHUP:
            self._reload.set()
        else:
            self._signals += 1
            if self._signals > 1:  # asked twice: stop without waiting for files in progress
                raise KeyboardInterrupt
            log.warning("stopping (signal %d): finishing the files in progress", signum)
            self._stop.set()
            self.guard.give_up_at(time.monotonic() + self._grace())  # an outage must not block the stop
        self._wake.set()

    def _grace(self) -> float:
        """How long a stop waits for the store: a restart may end in seconds; an outage that was there
        before the stop is not waited out (nothing is lost: the next start's catch-up finds it)."""
        return STOP_GRACE if self.guard.up else STOP_GRACE_DOWN

    def _interrupted(self) -> bool:
        """Asked by the dispatcher between files: stop, or end the pool's run for a new one.

        A reload is applied here, in place; only changes the worker processes depend on end the run.
        """
        if self._reload.is_set():
            self._reload.clear()
            try:
                self._apply_reload()
            except StoreUnavailable:
                raise
            except Exception as exc:
                log.error("reload: %s", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
                self._event("error", f"reload: {type(exc).__name__}")
        return self._stop.is_set() or self._wanted_key != self._pool_key

    # ---- store -------------------------------------------------------------------------------

    def _store_changed(self, up: bool, message: str) -> None:
        if not up:
            self._down_message = message
            return
        texts, self._down_message = [self._down_message, message], None
        for text in filter(None, texts):  # recorded once the store answers again
            try:
                if self.store is not None:
                    self.store.record_event("store", text)
            except TRANSIENT:  # down again: the next recovery is reported instead
                return

    def _open_store(self) -> Store | None:
        """Connect, waiting out an unreachable database (systemd is told to extend the start timeout)."""
        attempts = 0
        while not self._stop.is_set():
            try:
                store = Store.open(
                    self.options.config.db, entity_types(Path(d) for d in self.options.config.recognizer_dirs)
                )
            except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
                raise ConfigError(f"cannot open the results store: {exc}") from None
            except TRANSIENT as exc:
                if attempts == 0:
                    log.warning("results store unavailable (%s); waiting and retrying", describe(exc))
                pause = backoff(attempts, 0.5, 30.0)
                systemd.notify(
                    f"EXTEND_TIMEOUT_USEC={int((pause + 30) * 1e6)}\nSTATUS=waiting for the results store"
                )
                self._wake.wait(pause)
                attempts += 1
                continue
            if attempts:
                store.record_event("store", f"results store available after {attempts} attempts")
            return store
        return None

    # ---- start -------------------------------------------------------------------------------

    def run(self) -> int:
        # The main thread hands a file to a worker the moment one is free; with the recorder and the
        # observer threads busy, the default 5 ms GIL hand-over would keep the workers waiting.
        sys.setswitchinterval(SWITCH_INTERVAL)
        previous = {
            s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            self.store = self._open_store()
            if self.store is None:
                return 0
            self._start()
            try:
                self._loop()
            except KeyboardInterrupt:
                log.warning("stopping now; files in progress are queued again at the next start")
            return self._shutdown()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _start(self) -> None:
        o, store = self.options, self.store
        assert store is not None
        requeued = self.guard.call(store.requeue_working)
        self.versions = self._begin_scan()
        self._pool_key = self._wanted_key = o.pool_key()
        self.roots = Roots(o.roots, o.walk, o.own_files())
        self._probe_dir = tempfile.TemporaryDirectory(prefix="dlpscan-watch-")
        self._probe = Path(self._probe_dir.name) / "probe"
        self._probe.write_bytes(b"")
        self.pending = Pending()
        self.buffer: queue.Queue[Change] = queue.Queue(maxsize=o.watch.buffer_size)
        alert_wake = threading.Event()
        sinks = o.sinks()
        self.outbox = AlertOutbox(store, self.guard, [s.name for s in sinks], alert_wake)
        self._withdraw_removed_sinks()
        self.recorder = Recorder(store, self.guard, self.outbox, lambda: self.health.beat("recorder"))
        self.deliverer = Deliverer(
            store,
            self.guard,
            sinks,
            (o.watch.alert_retry_initial, o.watch.alert_retry_max),
            alert_wake,
            self._episode,
            lambda: self.health.beat("alerts"),
        )
        self.intake = Intake(
            store,
            self.guard,
            self.buffer,
            self.pending,
            lambda: self.options.watch.settle_seconds,
            since_margin(o),
            self._announce,
            self._housekeeping,
            self._lost,
            lambda: self.health.beat("intake"),
        )
        self.intake.roots = self.roots
        self.dispatcher = Dispatcher(
            store,
            self.guard,
            self.roots,
            self.versions,
            self.outbox,
            self.recorder,
            self.pending,
            self.intake.enqueue,
            (o.watch.settle_seconds, o.watch.max_settle_seconds),
            max(16, 4 * o.config.jobs),
            self._interrupted,
            self._wake,
            self._probe,
            lambda: self.health.beat("MainThread"),
        )
        self.observers = self._new_observers(self.roots)
        self._last_root_check = time.monotonic()
        for root, message in self.observers.check():
            self._note_root(root, message)
        if o.watch.catch_up:
            for root in o.roots:
                self.dispatcher.sweep_root(root)
        self.health.register("MainThread", o.config.file_timeout + 120)
        self.health.register("intake", 120)
        self.health.register("alerts", 2 * o.watch.webhook_timeout + 120)
        self.health.register("recorder", 120)
        self.recorder.start()
        self.intake.start()
        self.deliverer.start()
        if o.watch.metrics_port:
            self.metrics.serve(o.watch.metrics_port)
        if not sinks:
            log.warning("no alert sink configured (watch.alert_log, watch.syslog, watch.webhook_url)")
        message = (
            f"watching {len(o.roots)} root(s) ({'polling' if o.watch.polling else 'native events'}), "
            f"policy {o.policy.name} {o.policy.version}, {len(sinks)} alert sink(s); "
            f"{requeued} interrupted file(s) queued again"
        )
        self.guard.call(store.record_event, "start", message)
        log.info("%s", message)
        systemd.notify(f"READY=1\nSTATUS={message}")
        interval = systemd.watchdog_interval()
        self.watchdog = systemd.Watchdog(interval, self.health, self._status_line) if interval else None
        if self.watchdog is not None:
            self.watchdog.start()

    def _begin_scan(self) -> Versions:
        o = self.options
        assert self.store is not None
        detector = o.settings.detector_version()
        scan_id = self.guard.call(
            self.store.begin_scan,
            o.roots,
            policy=o.policy.name,
            policy_version=o.policy.version,
            detector_version=detector,
            options={"settle": o.watch.settle_seconds, "polling": o.watch.polling, "jobs": o.config.jobs},
            kind="watch",
            edm=o.settings.edm.describe() if o.settings.edm is not None else None,
        )
        refresh = EdmRefresh(o.settings, o.policy, self.store)
        return Versions(scan_id, detector, o.policy.version, o.settings.content_hash, refresh)

    def _new_pool(self) -> Executor:
        """The local pool, or the Dask cluster of `cluster` (its files need the same mount paths)."""
        c = self.options.config
        if c.cluster:
            from dlpscan.cluster import DaskExecutor, WorkerLimits

            limits = WorkerLimits(
                self.options.settings, c.file_timeout, c.worker_memory_mb * 1024 * 1024, c.nice
            )
            return DaskExecutor(c.cluster, limits, c.cluster_batch_seconds)
        return WorkerPool(
            c.jobs, self.options.settings, c.file_timeout, c.worker_memory_mb * 1024 * 1024, c.nice
        )

    def _new_observers(self, roots: Roots) -> Observers:
        w = self.options.watch
        return Observers(roots, self.buffer, w.polling, w.poll_interval, self._sweep_request)

    # ---- running -----------------------------------------------------------------------------

    def _loop(self) -> None:
        """One worker pool per configuration: `WorkerPool.run` spawns its workers for one run."""
        errors = 0
        while not self._stop.is_set():
            if self._wanted_key != self._pool_key:  # new policy, recognizers or worker limits
                self._pool_key = self._wanted_key
                self._finish_scan()
                self.versions = self._begin_scan()
                self.dispatcher.new_versions(self.versions)
            pool: Executor | None = None
            try:
                pool = self._new_pool()  # a cluster that cannot be reached is tried again, as below
                for task, results in pool.run(self.dispatcher.tasks()):
                    self.dispatcher.handle(task, results)
                    self.health.beat("MainThread")
                self.dispatcher.flush()
                errors = 0
            except StoreUnavailable:
                return
            except Exception as exc:  # keep running: the files in flight are tried again
                errors += 1
                log.error("dispatcher: %s", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
                self._event("error", f"dispatcher: {type(exc).__name__}")
                self.dispatcher.requeue_inflight()
                self._stop.wait(backoff(errors, 1.0, 60.0))
            finally:
                if pool is not None:
                    pool.close()

    def _announce(self, not_before: float) -> None:
        self.dispatcher.announce(not_before)
        self._wake.set()

    def _sweep_request(self, root: str) -> None:
        self.intake.enqueue(Change("created", root, True), time.time())

    def _lost(self, roots: set[str]) -> None:
        with self._observers_lock:
            for root in roots:
                self.observers.dropped(root)

    def _housekeeping(self) -> None:
        """Runs on the intake thread between batches."""
        with self._observers_lock:
            self._check_observers()

    def _check_observers(self) -> None:
        for root in self.observers.take_overflowed():
            self._overflows += 1
            self._event(
                "overflow", f"{root}: events dropped (buffer full or kernel queue overflow); sweeping it"
            )
            self.intake.enqueue(Change("created", root, True), time.time())
        if time.monotonic() - self._last_root_check >= self.options.watch.root_check_seconds:
            self._last_root_check = time.monotonic()
            for root, message in self.observers.check():
                self._note_root(root, message)

    def _note_root(self, root: str, message: str) -> None:
        log.warning("%s: %s", root, message)
        self._event("root", f"{root}: {message}")

    def _withdraw_removed_sinks(self) -> None:
        for sink, n in self.outbox.withdraw_removed().items():
            message = f"{n} undelivered alert(s) to {sink} withdrawn: the sink is no longer configured"
            log.warning("%s", message)
            self._event("sink", message)

    def _episode(self, sink: str, message: str) -> None:
        log.warning("%s", message)
        self._event("sink", message)

    def _event(self, kind: str, message: str) -> None:
        if self.store is not None:
            with contextlib.suppress(StoreUnavailable):
                self.guard.call(self.store.record_event, kind, message)

    def _numbers(self) -> Numbers:
        """For the metrics endpoint, at scrape time (on its thread)."""
        s = self.dispatcher.stats
        numbers = Numbers(
            files={k: s[k] for k in ("scanned", "skipped", "error", "encrypted")},
            flagged=s["flagged"],
            events=self.intake.events,
            overflows=self._overflows,
            buffered=self.buffer.qsize(),
            roots_attached=self.observers.attached,
            alerts_sent=dict(self.deliverer.sent),
            alert_failures=dict(self.deliverer.failures),
            store_up=self.guard.up,
        )
        if self.store is None:
            return numbers
        try:
            numbers.queue = self.store.queue_depth()
            numbers.backlog = self.store.alert_backlog()["by_sink"]
        except Exception:  # the store is down: the endpoint still answers, store_up says why
            numbers.store_up = False
        return numbers

    def _status_line(self) -> str:
        s = self.dispatcher.stats
        return (
            f"{s['scanned']} scanned, {s['flagged']} flagged, {self.outbox.added} alerts queued, "
            f"{self.buffer.qsize()} events buffered{'' if self.guard.up else ', store unavailable'}"
        )

    # ---- reload ------------------------------------------------------------------------------

    def _apply_reload(self) -> None:
        try:
            new = load_options(*self._source)
        except ConfigError as exc:
            log.error("reload failed, keeping the running configuration: %s", exc)
            self._event("error", f"reload failed: {exc}")
            return
        old, self.options = self.options, new
        self._wanted_key = new.pool_key()
        setup_logging(new.config.log_level, new.config.log_format)
        if new.config.db != old.config.db:
            log.warning("a changed results store takes effect at the next start")
            new.config.db = old.config.db
        if (new.roots, new.walk, new.own_files()) != (old.roots, old.walk, old.own_files()) or (
            new.watch.polling,
            new.watch.poll_interval,
        ) != (old.watch.polling, old.watch.poll_interval):
            with self._observers_lock:
                self.observers.stop()
                self.roots = Roots(new.roots, new.walk, new.own_files())
                self.intake.roots = self.dispatcher.roots = self.roots
                self.observers = self._new_observers(self.roots)
                for root, message in self.observers.check():
                    self._note_root(root, message)
            for root in set(new.roots) - set(old.roots):
                self.dispatcher.sweep_root(root)
        self.intake.since_margin = since_margin(new)
        sinks = new.sinks()
        self.outbox.sinks = [s.name for s in sinks]
        self._withdraw_removed_sinks()
        self.deliverer.retry = (new.watch.alert_retry_initial, new.watch.alert_retry_max)
        self.deliverer.replace_sinks(sinks)
        self.dispatcher.settle, self.dispatcher.max_wait = (
            new.watch.settle_seconds,
            new.watch.max_settle_seconds,
        )
        if new.watch.metrics_port != old.watch.metrics_port:
            log.warning("a changed metrics port takes effect at the next start")
        message = (
            f"configuration reloaded: policy {new.policy.name} {new.policy.version}, {len(new.roots)} root(s)"
        )
        log.warning("%s", message)
        self._event("reload", message)

    # ---- stop --------------------------------------------------------------------------------

    def _finish_scan(self) -> None:
        s = self.dispatcher.stats
        stats = {
            "files": s["scanned"] + s["skipped"] + s["error"] + s["encrypted"],
            "flagged": s["flagged"],
            "unchanged": s["unchanged"],
            "deleted": s["deleted"],
            "statuses": {k: s[k] for k in ("scanned", "skipped", "error", "encrypted") if s[k]},
        }
        # A watch session is never a complete inventory of its roots: reports keep using `dlpscan scan`.
        assert self.store is not None
        self.guard.call(self.store.finish_scan, self.versions.scan_id, status="interrupted", stats=stats)

    def _shutdown(self) -> int:
        systemd.notify("STOPPING=1")
        self.guard.give_up_at(time.monotonic() + self._grace())
        code = 0
        steps: list[tuple[str, Callable[[], object]]] = [
            ("observers", self.observers.stop),
            ("queue writer", self._stop_intake),
            ("results", self.dispatcher.flush),
            ("recorder", self._stop_recorder),
            ("alerts", self._stop_deliverer),
            ("scan", self._finish_scan),
        ]
        for name, step in steps:
            try:
                step()
            except StoreUnavailable:
                code = code or STORE_UNAVAILABLE
                log.error("stopping: the results store is unavailable (%s); nothing is lost that the "
                          "catch-up pass of the next start cannot find", name)  # fmt: skip
            except Exception as exc:
                code = INTERNAL_ERROR
                log.error("stopping (%s): %s", name, type(exc).__name__)
        if self.intake.failure is not None and not self.buffer.empty():
            code = code or STORE_UNAVAILABLE
        self._event("stop", f"stopped: {self._status_line()}")
        if self.watchdog is not None:
            self.watchdog.stop()
        self.metrics.stop()
        self.deliverer.close()
        self._probe_dir.cleanup()
        assert self.store is not None
        self.store.close()
        log.info("stopped")
        return code

    def _stop_recorder(self) -> None:
        self.recorder.stop()
        self.recorder.join(STOP_GRACE + 5)

    def _stop_intake(self) -> None:
        self.intake.stop()
        self.intake.join(STOP_GRACE + 5)

    def _stop_deliverer(self) -> None:
        self.deliverer.stop()
        self.deliverer.join(self.options.watch.webhook_timeout + 5)
        if not self.deliverer.is_alive():  # a last round for the alerts of the last files
            self.deliverer.deliver_due(deadline=time.monotonic() + FINAL_DELIVERY)


def since_margin(options: Options) -> float | None:
    """How long before its first event a directory's files may have changed (see `Pending`). Polled
    roots report late and may use another host's clock: their directory sweeps compare every file."""
    w = options.watch
    return None if w.polling else max(60.0, 3 * w.poll_interval)


def run_daemon(config_path: str | None, flags: dict[str, Any], watch_flags: dict[str, Any]) -> int:
    """Entry point of `dlpscan watch`; returns the exit code. Raises ConfigError for bad settings."""
    options = load_options(config_path, flags, watch_flags)
    missing = [r for r in options.roots if not os.path.isdir(r)]
    if missing and watch_flags.get("roots"):
        raise ConfigError(f"not a directory: {missing[0]}")
    return Daemon(options, config_path, flags, watch_flags).run()
