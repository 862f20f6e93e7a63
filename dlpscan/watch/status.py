"""`dlpscan status`: the daemon's state as the store shows it (readable while it runs: SQLite WAL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dlpscan.store import Store

PROBLEM_KINDS = ("error", "file-error", "sink", "store", "root", "overflow")


def collect(store: Store, events: int = 10) -> dict[str, Any]:
    recent = store.recent_events(500)
    session = next((s for s in store.scans(100) if s["kind"] == "watch"), None)
    return {
        "queue": store.queue_depth(),
        "alerts": store.alert_backlog(),
        "watch": None
        if session is None
        else {k: session[k] for k in ("id", "status", "started", "finished", "roots", "policy", "stats")},
        "events": recent[:events],
        "problems": [e for e in recent if e["kind"] in PROBLEM_KINDS][:events],
    }


def _when(ts: float | None) -> str:
    return "-" if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(state: dict[str, Any]) -> str:
    q, a, w = state["queue"], state["alerts"], state["watch"]
    by_sink = ", ".join(f"{sink} {n}" for sink, n in sorted(a["by_sink"].items()))
    lines = [
        f"queue: {q['pending']} pending, {q['working']} working",
        f"alerts: {a['pending']} undelivered ({a['retrying']} retrying){': ' + by_sink if by_sink else ''}",
    ]
    if w is None:
        lines.append("watch: no watch session recorded")
    else:
        state_text = "running" if w["status"] == "running" else f"ended {_when(w['finished'])}"
        lines.append(
            f"watch: session {w['id']} started {_when(w['started'])}, {state_text}, policy {w['policy']}"
        )
        lines.append(f"roots: {', '.join(w['roots'])}")
    for title, rows in (("last events", state["events"]), ("problems", state["problems"])):
        lines.append(f"{title}:")
        lines += [f"  {_when(e['at'])}  {e['kind']:<10} {e['message']}" for e in rows] or ["  (none)"]
    return "\n".join(lines)
