"""Optional Prometheus endpoint on 127.0.0.1 (`watch.metrics_port`); counters live in memory."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.events = Counter("dlpscan_watch_events", "Filesystem changes written to the queue", registry=r)
        self.overflows = Counter(
            "dlpscan_watch_buffer_overflows", "Roots swept because events were dropped", registry=r
        )
        self.files = Counter(
            "dlpscan_watch_files", "Report lines recorded, by status", ["status"], registry=r
        )
        self.flagged = Counter("dlpscan_watch_flagged", "Flagged files recorded", registry=r)
        self.alerts_sent = Counter("dlpscan_watch_alerts_sent", "Alerts delivered", ["sink"], registry=r)
        self.alert_failures = Counter(
            "dlpscan_watch_alert_failures", "Failed alert deliveries", ["sink"], registry=r
        )
        self.queue = Gauge("dlpscan_watch_queue_rows", "Work queue rows, by state", ["state"], registry=r)
        self.backlog = Gauge(
            "dlpscan_watch_alert_backlog", "Undelivered alerts, by sink", ["sink"], registry=r
        )
        self.buffer = Gauge("dlpscan_watch_buffer_events", "Events waiting in memory", registry=r)
        self.roots = Gauge("dlpscan_watch_roots_attached", "Watched roots currently attached", registry=r)
        self.store_up = Gauge("dlpscan_watch_store_up", "1 while the results store answers", registry=r)
        self._server = None

    def serve(self, port: int) -> None:
        """Listen on 127.0.0.1 only: the numbers say which files are being looked at."""
        self._server, _ = start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    @staticmethod
    def advance(counter: Counter, total: float, seen: dict, key: object = None) -> None:
        """Bring a Prometheus counter up to a running total kept elsewhere."""
        counter.inc(max(0.0, total - seen.get(key, 0.0)))
        seen[key] = total
