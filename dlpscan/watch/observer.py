"""watchdog observers -> a bounded buffer of (event, path, is_dir) tuples.

Native observer (inotify) for local disks, polling for network mounts: a CIFS/NFS change made on
another host produces no inotify event. The handler never blocks the observer: when the buffer is
full it drops the event and asks for a sweep of the root instead, so memory stays bounded and the
change is still found. Roots that vanish (unmounted, deleted) are re-attached when they come back.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from watchdog.events import (
    DirAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from dlpscan.watch.paths import Roots

log = logging.getLogger(__name__)

# Opens, reads and directory listings (the daemon's own reading among them) are not asked for.
EVENT_TYPES = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
OUT_OF_WATCHES = (errno.ENOSPC, errno.EMFILE)


@dataclass(frozen=True, slots=True)
class Change:
    event: str  # created | modified | moved | deleted | attrib (the queue's vocabulary)
    path: str
    is_dir: bool
    seen: float = 0.0  # when the event arrived (0: unknown)


def changes(event: FileSystemEvent, seen: float = 0.0) -> list[Change]:
    """A watchdog event in the queue's vocabulary; a move is a deletion plus a new path."""
    src, is_dir = os.fsdecode(event.src_path), event.is_directory
    if isinstance(event, DirMovedEvent | FileMovedEvent):
        dest = os.fsdecode(event.dest_path)
        out = [Change("deleted", src, is_dir, seen)] if src else []
        return out + ([Change("moved", dest, is_dir, seen)] if dest else [])
    if isinstance(event, DirDeletedEvent | FileDeletedEvent):
        return [Change("deleted", src, is_dir, seen)]
    if isinstance(event, DirCreatedEvent | FileCreatedEvent):
        return [Change("created", src, is_dir, seen)]
    if isinstance(event, DirAttribEvent):  # a folder's chmod/setfacl: who can reach every file below
        return [Change("attrib", src, True, seen)]
    if is_dir:
        return []  # a directory's own modification says nothing about its files
    return [Change("modified", src, False, seen)]


class _Handler(FileSystemEventHandler):
    def __init__(self, buffer: queue.Queue[Change], on_overflow: Callable[[str], None], root: str) -> None:
        self._buffer, self._on_overflow, self._root = buffer, on_overflow, root

    def dispatch(self, event: FileSystemEvent) -> None:
        for change in changes(event, time.time()):
            try:
                self._buffer.put_nowait(change)
            except queue.Full:
                self._on_overflow(self._root)


class _OverflowLog(logging.Handler):
    """watchdog reports a kernel inotify queue overflow only in its log; that means lost events."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._on_overflow()


@dataclass
class _Attached:
    observer: BaseObserver
    watch: ObservedWatch
    identity: tuple[int, int]  # st_dev, st_ino of the root when attached


class Observers:
    """Attach, check and re-attach the watched roots.

    `on_sweep(root)` is called when a root needs a full sweep: attached after being away or with a
    changed identity (remounted). Roots whose events were dropped are collected by `take_overflowed`.
    """

    def __init__(
        self,
        roots: Roots,
        buffer: queue.Queue[Change],
        polling: bool,
        poll_interval: float,
        on_sweep: Callable[[str], None],
    ) -> None:
        self.roots, self._buffer = roots, buffer
        self._polling, self._interval = polling, poll_interval
        self._on_sweep = on_sweep
        self._native: BaseObserver | None = None
        self._poller: BaseObserver | None = None
        self._attached: dict[str, _Attached] = {}
        self._missing: set[str] = set()
        self._overflowed: set[str] = set()
        self._lock = threading.Lock()
        self._overflow_log = _OverflowLog(self._kernel_overflow)
        logging.getLogger("watchdog.observers.inotify_c").addHandler(self._overflow_log)

    # ---- overflow ----------------------------------------------------------------------------

    def dropped(self, root: str) -> None:
        """Events of `root` were lost (buffer full, or the queue writer failed): sweep it."""
        with self._lock:
            first = not self._overflowed
            self._overflowed.add(root)
        if first:
            log.warning("events dropped (buffer full); a sweep of the root will find the changes")

    def _kernel_overflow(self) -> None:
        with self._lock:
            self._overflowed.update(self._attached)

    def take_overflowed(self) -> set[str]:
        """Roots whose events were dropped since the last call (sweep them once the buffer drained)."""
        with self._lock:
            roots, self._overflowed = self._overflowed, set()
        return roots

    # ---- attaching ---------------------------------------------------------------------------

    def _observer(self, polling: bool) -> BaseObserver:
        if polling:
            if self._poller is None:
                self._poller = PollingObserver(timeout=self._interval)
                self._poller.start()
            return self._poller
        if self._native is None:
            self._native = Observer()
            self._native.start()
        return self._native

    def _schedule(self, root: str) -> _Attached:
        st = os.stat(root)
        handler = _Handler(self._buffer, self.dropped, root)
        follow = self.roots.options.follow_symlinks
        args = {"recursive": True, "event_filter": EVENT_TYPES, "follow_symlink": follow}
        observer = self._observer(self._polling)
        try:
            watch = observer.schedule(handler, root, **args)
        except OSError as exc:
            if self._polling or exc.errno not in OUT_OF_WATCHES:
                raise
            log.warning(
                "%s: out of inotify watches (%s); polling it instead. Raise fs.inotify.max_user_watches "
                "to watch it natively",
                root,
                errno.errorcode.get(exc.errno or 0, "?"),
            )
            observer = self._observer(True)
            watch = observer.schedule(handler, root, **args)
        return _Attached(observer, watch, (st.st_dev, st.st_ino))

    def _detach(self, root: str) -> None:
        attached = self._attached.pop(root, None)
        if attached is None:
            return
        with contextlib.suppress(KeyError, OSError):  # the emitter may be gone with the directory
            attached.observer.unschedule(attached.watch)

    def check(self) -> list[tuple[str, str]]:
        """Attach missing roots, re-attach changed or dead ones. Returns (root, message) warnings."""
        notes = []
        for root in self.roots.roots:
            try:
                st = os.stat(root)
                present = os.path.isdir(root)
            except OSError:
                st, present = None, False
            attached = self._attached.get(root)
            if not present:
                if root not in self._missing:
                    self._missing.add(root)
                    self._detach(root)
                    notes.append(
                        (root, "watched root is not available; it will be re-attached when it is back")
                    )
                continue
            identity = (st.st_dev, st.st_ino) if st else (0, 0)
            if attached is not None and attached.identity == identity and self._alive(attached):
                continue
            was = "missing" if root in self._missing else "changed" if attached is not None else "new"
            self._detach(root)
            try:
                self._attached[root] = self._schedule(root)
            except OSError as exc:
                if root not in self._missing:
                    notes.append(
                        (root, f"cannot watch the root ({exc.strerror or type(exc).__name__}); will retry")
                    )
                self._missing.add(root)
                continue
            self._missing.discard(root)
            if was != "new":
                notes.append(
                    (root, f"watched root re-attached ({'back' if was == 'missing' else 'remounted'})")
                )
                self._on_sweep(root)
        return notes

    @staticmethod
    def _alive(attached: _Attached) -> bool:
        return any(e.watch == attached.watch and e.is_alive() for e in attached.observer.emitters)

    @property
    def attached(self) -> int:
        return len(self._attached)

    def stop(self) -> None:
        logging.getLogger("watchdog.observers.inotify_c").removeHandler(self._overflow_log)
        for observer in (self._native, self._poller):
            if observer is not None:
                observer.stop()
        for observer in (self._native, self._poller):
            if observer is not None:
                observer.join(5)
        self._attached.clear()
