"""When a file is ready to be read, and which queue writes can be skipped meanwhile.

A file is scanned once it has stopped changing: no event for `settle` seconds (the queue row's
`not_before`) and an mtime at least `settle` seconds old (a writer whose events were coalesced).
A file that never settles (a log being appended to) is scanned after `max_wait` anyway.
"""

from __future__ import annotations

import threading

CLOCK_SLACK = 2.0  # an mtime further in the future than this comes from another host's clock


def recheck_at(
    mtime: float, now: float, settle: float, waiting_since: float, max_wait: float
) -> float | None:
    """None when the file may be read now, else the time to look at it again."""
    if mtime > now + CLOCK_SLACK:  # cannot judge by a skewed clock (NFS, CIFS): the event debounce must do
        return None
    if now - mtime >= settle or now - waiting_since >= max_wait:
        return None
    return mtime + settle


class Pending:
    """Paths this process has queued and not yet claimed, so repeated events need no new queue write.

    Skipping is safe because the daemon acts on the filesystem state it finds when it claims a row
    (stat, list), never on the event's name, and `claimed()` is called before it looks. The exception
    is a directory that needs a recursive sweep while only a shallow one is queued.

    For directory rows it also keeps `since`: no file of the directory changed before that time (the
    first event minus a margin), so a sweep need not look up older files. Unknown after a restart.
    Bounded: past `limit` entries nothing more is remembered and every event is written.
    """

    RECURSIVE = ("created", "moved", "attrib")  # of a folder: everything below it is looked at

    def __init__(self, limit: int = 200_000) -> None:
        self._known: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def needs_write(self, key: str, event: str, is_dir: bool) -> bool:
        with self._lock:
            known = self._known.get(key)
        if known is None:
            return True
        return is_dir and event in self.RECURSIVE and known[0] not in self.RECURSIVE

    def written(self, key: str, event: str, since: float | None = None) -> None:
        with self._lock:
            known = self._known.get(key)
            if known is not None:
                since = None if since is None or known[1] is None else min(since, known[1])
            elif len(self._known) >= self._limit:
                return
            self._known[key] = (event, since)

    def claimed(self, key: str) -> float | None:
        """Forget the path (its row is being worked on); returns its `since`, if known."""
        with self._lock:
            known = self._known.pop(key, None)
        return None if known is None else known[1]

    def __len__(self) -> int:
        return len(self._known)
