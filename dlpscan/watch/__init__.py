"""`dlpscan watch`: scan files as they are written, on the same pipeline, store and policies as `scan`.

observer (watchdog) -> bounded buffer -> intake (coalesce, durable queue in the store) -> dispatch
(settle, sweeps, WorkerPool) -> recorder (alert outbox, results, queue rows) -> alerts (log, syslog,
webhook). docs/watch.md describes the guarantees and the operation of the daemon.
"""
