"""The watch daemon's durable state: work queue, alert outbox, event log."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .db import read, upsert, write
from .schema import PENDING_ONLY, alerts, events, queue

QUEUE_EVENTS = ("created", "modified", "moved", "deleted")
KEEP_EVENTS = 10_000


def _queue_item(r: Mapping[str, Any]) -> dict:
    keys = ("id", "path", "event", "not_before", "attempts", "last_error", "enqueued")
    return {k: r[k] for k in keys}


def _release(conn: Connection, row: Mapping[str, Any], **changes: Any) -> None:
    """Put a working row back to pending, or fold it into the pending row that arrived meanwhile."""
    pending = conn.execute(
        sa.select(queue.c.id, queue.c.not_before).where(
            queue.c.path == row["path"], queue.c.state == "pending"
        )
    ).first()
    if pending is None:
        conn.execute(sa.update(queue).where(queue.c.id == row["id"]).values(state="pending", **changes))
        return
    changes["not_before"] = max(pending.not_before, changes.get("not_before", pending.not_before))
    conn.execute(sa.delete(queue).where(queue.c.id == row["id"]))
    conn.execute(sa.update(queue).where(queue.c.id == pending.id).values(**changes))


class WorkMixin:
    _engine: Engine

    # ---- work queue --------------------------------------------------------------------------

    def enqueue(self, path: str, event: str, not_before: float) -> None:
        """Queue a file event durably (committed on return). One pending row per path: a newer
        event for a pending path replaces its event and `not_before` (debounce)."""
        if event not in QUEUE_EVENTS:
            raise ValueError(f"event must be one of {', '.join(QUEUE_EVENTS)}")
        with write(self._engine) as conn:
            stmt = upsert(conn, queue).values(
                path=path,
                event=event,
                state="pending",
                not_before=not_before,
                attempts=0,
                enqueued=time.time(),
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[queue.c.path],
                    index_where=PENDING_ONLY,
                    set_={"event": stmt.excluded.event, "not_before": stmt.excluded.not_before},
                )
            )

    def due(self, now: float, limit: int) -> list[dict]:
        """Claim up to `limit` pending rows with `not_before <= now`, oldest first (state -> working)."""
        with write(self._engine) as conn:
            rows = (
                conn.execute(
                    sa.select(queue)
                    .where(queue.c.state == "pending", queue.c.not_before <= now)
                    .order_by(queue.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                .mappings()
                .all()
            )
            if rows:
                ids = [r["id"] for r in rows]
                conn.execute(sa.update(queue).where(queue.c.id.in_(ids)).values(state="working"))
        return [_queue_item(r) for r in rows]

    def done(self, queue_id: int) -> None:
        """The claimed row was handled: remove it."""
        with write(self._engine) as conn:
            conn.execute(sa.delete(queue).where(queue.c.id == queue_id))

    def retry(self, queue_id: int, not_before: float, error: str) -> None:
        """The claimed row failed: back to pending at `not_before`, attempts + 1, error kept."""
        with write(self._engine) as conn:
            row = conn.execute(sa.select(queue).where(queue.c.id == queue_id)).mappings().first()
            if row is not None:
                _release(conn, row, not_before=not_before, attempts=row["attempts"] + 1, last_error=error)

    def requeue_working(self) -> int:
        """Crash recovery at daemon start: every working row back to pending. Returns how many."""
        with write(self._engine) as conn:
            rows = conn.execute(sa.select(queue).where(queue.c.state == "working")).mappings().all()
            for row in rows:
                _release(conn, row)
        return len(rows)

    def queue_depth(self) -> dict:
        """Queue rows by state: {'pending': n, 'working': m}."""
        with read(self._engine) as conn:
            counts = conn.execute(sa.select(queue.c.state, sa.func.count()).group_by(queue.c.state)).all()
        return {"pending": 0, "working": 0} | dict(counts)

    # ---- alert outbox ------------------------------------------------------------------------

    def add_alert(self, path: str, version_key: str, sink: str, payload: dict) -> bool:
        """Queue an alert for delivery; False if this (path, version_key, sink) was already queued."""
        with write(self._engine) as conn:
            stmt = upsert(conn, alerts).values(
                path=path,
                version_key=version_key,
                sink=sink,
                payload=payload,
                state="pending",
                attempts=0,
                next_try=0.0,
                created=time.time(),
            )
            stmt = stmt.on_conflict_do_nothing(index_elements=["path", "version_key", "sink"])
            return conn.execute(stmt.returning(alerts.c.id)).first() is not None

    def alerts_due(self, sink: str, now: float, limit: int) -> list[dict]:
        """Undelivered alerts of a sink whose next try is due, oldest first."""
        with read(self._engine) as conn:
            rows = (
                conn.execute(
                    sa.select(alerts)
                    .where(alerts.c.sink == sink, alerts.c.state == "pending", alerts.c.next_try <= now)
                    .order_by(alerts.c.id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        keys = ("id", "path", "version_key", "sink", "payload", "attempts", "last_error", "created")
        return [{k: r[k] for k in keys} for r in rows]

    def alert_sent(self, alert_id: int) -> None:
        """Delivered: never sent again (the row stays, to keep the alert unique)."""
        with write(self._engine) as conn:
            conn.execute(
                sa.update(alerts).where(alerts.c.id == alert_id).values(state="sent", sent_at=time.time())
            )

    def alert_failed(self, alert_id: int, next_try: float, error: str) -> None:
        """Delivery failed: try again at `next_try`."""
        with write(self._engine) as conn:
            conn.execute(
                sa.update(alerts)
                .where(alerts.c.id == alert_id)
                .values(attempts=alerts.c.attempts + 1, next_try=next_try, last_error=error)
            )

    def alerted(self, path: str, version_key: str) -> bool:
        """Whether an alert on this file version was ever queued, for any sink."""
        with read(self._engine) as conn:
            found = conn.execute(
                sa.select(alerts.c.id)
                .where(alerts.c.path == path, alerts.c.version_key == version_key)
                .limit(1)
            ).first()
        return found is not None

    def withdraw_alerts(self, keep: list[str]) -> dict[str, int]:
        """Undelivered alerts of the sinks not in `keep` (removed from the configuration) are
        withdrawn: never sent, no longer in the backlog. Returns how many, by sink."""
        with write(self._engine) as conn:
            pending = (alerts.c.state == "pending") & alerts.c.sink.not_in(keep)
            rows = conn.execute(
                sa.select(alerts.c.sink, sa.func.count()).where(pending).group_by(alerts.c.sink)
            ).all()
            if rows:
                conn.execute(sa.update(alerts).where(pending).values(state="withdrawn"))
        return {sink: n for sink, n in rows}

    def alert_backlog(self) -> dict:
        """Undelivered alerts: {'pending': n, 'retrying': failed at least once, 'by_sink': {sink: n}}."""
        with read(self._engine) as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.sink, sa.func.count(), sa.func.sum(sa.case((alerts.c.attempts > 0, 1), else_=0))
                )
                .where(alerts.c.state == "pending")
                .group_by(alerts.c.sink)
            ).all()
        return {
            "pending": sum(n for _, n, _ in rows),
            "retrying": sum(int(r) for _, _, r in rows),
            "by_sink": {sink: n for sink, n, _ in rows},
        }

    # ---- event log ---------------------------------------------------------------------------

    def record_event(self, kind: str, message: str) -> None:
        """Append to the daemon's event log (keeps the newest 10,000). Messages must hold no raw values."""
        with write(self._engine) as conn:
            new_id = conn.execute(
                sa.insert(events).values(at=time.time(), kind=kind, message=message).returning(events.c.id)
            ).scalar_one()
            conn.execute(sa.delete(events).where(events.c.id <= new_id - KEEP_EVENTS))

    def recent_events(self, limit: int) -> list[dict]:
        """The newest events first: {'id', 'at', 'kind', 'message'}."""
        with read(self._engine) as conn:
            rows = conn.execute(sa.select(events).order_by(events.c.id.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in rows]
