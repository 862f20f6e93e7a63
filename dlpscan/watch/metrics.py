"""Optional Prometheus endpoint on 127.0.0.1 (`watch.metrics_port`), read from the daemon at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass
class Numbers:
    files: dict[str, int] = field(default_factory=dict)  # report lines recorded, by status
    flagged: int = 0
    events: int = 0  # filesystem events taken from the buffer
    overflows: int = 0  # roots swept because events were dropped
    buffered: int = 0
    roots_attached: int = 0
    alerts_sent: dict[str, int] = field(default_factory=dict)
    alert_failures: dict[str, int] = field(default_factory=dict)
    store_up: bool = True
    queue: dict[str, int] | None = None  # None: the store did not answer
    backlog: dict[str, int] | None = None


class Metrics(Collector):
    def __init__(self, numbers: Callable[[], Numbers]) -> None:
        self._numbers = numbers
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self._server = None

    def serve(self, port: int) -> None:
        """Listen on 127.0.0.1 only: the numbers say which files are being looked at."""
        self._server, _ = start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def collect(self) -> Iterator[Metric]:
        n = self._numbers()
        yield _labelled(CounterMetricFamily, "files", "Report lines recorded, by status", "status", n.files)
        yield CounterMetricFamily("dlpscan_watch_flagged", "Flagged files recorded", value=n.flagged)
        yield CounterMetricFamily("dlpscan_watch_events", "Filesystem events received", value=n.events)
        yield CounterMetricFamily(
            "dlpscan_watch_overflows", "Roots swept because events were dropped", value=n.overflows
        )
        yield GaugeMetricFamily("dlpscan_watch_buffered_events", "Events waiting in memory", value=n.buffered)
        yield GaugeMetricFamily(
            "dlpscan_watch_roots_attached", "Watched roots attached", value=n.roots_attached
        )
        yield _labelled(CounterMetricFamily, "alerts_sent", "Alerts delivered", "sink", n.alerts_sent)
        yield _labelled(CounterMetricFamily, "alert_failures", "Failed deliveries", "sink", n.alert_failures)
        yield GaugeMetricFamily(
            "dlpscan_watch_store_up", "1 while the results store answers", value=n.store_up
        )
        if n.queue is not None:
            yield _labelled(GaugeMetricFamily, "queue_rows", "Work queue rows, by state", "state", n.queue)
        if n.backlog is not None:
            yield _labelled(
                GaugeMetricFamily, "alert_backlog", "Undelivered alerts, by sink", "sink", n.backlog
            )


def _labelled(kind: type, name: str, doc: str, label: str, values: dict[str, int]) -> Metric:
    family = kind(f"dlpscan_watch_{name}", doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
