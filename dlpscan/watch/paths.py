"""Which paths the daemon looks at: watched roots, include/exclude globs as in `scan`, its own files."""

from __future__ import annotations

import base64
import dataclasses
import os
import stat
from collections.abc import Iterable

from dlpscan import walk as walking
from dlpscan.walk import Entry, WalkOptions

_B64 = "b64:"


def queue_key(path: str) -> str:
    """The queue's text form of a path. Watched paths are absolute, so any key that does not start
    with '/' is an encoded one: undecodable names (surrogate escapes) cannot be stored as text."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return _B64 + base64.urlsafe_b64encode(os.fsencode(path)).decode("ascii")


def queue_path(key: str) -> str:
    """Inverse of `queue_key`."""
    if key.startswith(_B64):
        return os.fsdecode(base64.urlsafe_b64decode(key[len(_B64) :]))
    return key


class Roots:
    """Absolute watched roots and the rules deciding whether a path under them is scanned.

    Matching reuses `dlpscan.walk`'s glob rules on root-relative paths, so a file is watched exactly
    when `dlpscan scan <root>` would scan it. `own` files (the store, the alert log) are never
    watched: writing them would wake the daemon up again.
    """

    def __init__(self, roots: Iterable[str], options: WalkOptions, own: Iterable[str] = ()) -> None:
        self.roots = tuple(dict.fromkeys(os.path.abspath(r) for r in roots))
        self.options = options
        self._own = tuple(os.path.abspath(p) for p in own)

    def root_of(self, path: str) -> str | None:
        """The longest watched root containing `path`."""
        best = None
        for root in self.roots:
            inside = path == root or path.startswith(root.rstrip("/") + "/")
            if inside and (best is None or len(root) > len(best)):
                best = root
        return best

    def is_own(self, path: str) -> bool:
        # the SQLite file with its -wal/-shm/-journal, the alert log with its rotated copies
        return any(path == p or path.startswith((p + "-", p + ".")) for p in self._own)

    def accepts(self, path: str, is_dir: bool = False) -> bool:
        root = self.root_of(path)
        if root is None or self.is_own(path):
            return False
        if path == root:
            return True
        parts = os.path.relpath(path, root).replace(os.sep, "/").split("/")
        exclude, include = self.options.exclude, self.options.include
        if exclude:
            for depth in range(1, len(parts) + int(is_dir)):
                if walking.matches_glob("/".join(parts[:depth]) + "/", exclude):
                    return False
        if is_dir:
            return True
        rel = "/".join(parts)
        if include and not walking.matches_glob(rel, include):
            return False
        return not (exclude and walking.matches_glob(rel, exclude))

    @property
    def unfiltered(self) -> WalkOptions:
        """Walk options without globs, for walking below a root (globs are applied by `accepts`)."""
        return dataclasses.replace(self.options, include=(), exclude=())


def lstat(path: str) -> os.stat_result | None:
    """lstat, None when the path is gone (also when a parent stopped being a directory)."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def is_dir(st: os.stat_result, path: str, follow_symlinks: bool) -> bool:
    if stat.S_ISDIR(st.st_mode):
        return True
    if follow_symlinks and stat.S_ISLNK(st.st_mode):
        try:
            return stat.S_ISDIR(os.stat(path).st_mode)
        except OSError:
            return False
    return False


def entry_for(path: str, st: os.stat_result, options: WalkOptions) -> Entry | None:
    """The walk's Entry of one non-directory path (size limit, non-regular files, owner), or None for a
    symbolic link that is not followed. Errors (a broken link, a failing stat) come back as entries."""
    if stat.S_ISLNK(st.st_mode) and not options.follow_symlinks:
        return None
    return next(walking.walk([path], options), None)


def version_key(entry: Entry) -> str:
    """One file version: size, mtime and inode (alerts are unique per path and version)."""
    return f"{entry.size}:{entry.mtime!r}:{entry.inode}"


def same_version(entry: Entry, follow_symlinks: bool) -> bool:
    """Whether the file still has the size/mtime/inode recorded in `entry` (it did not change while read)."""
    try:
        st = os.stat(entry.path) if follow_symlinks else os.lstat(entry.path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime, st.st_ino) == (entry.size, entry.mtime, entry.inode)
