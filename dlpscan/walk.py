"""Roots -> files to scan, with include/exclude globs and filesystem safety rules.

Only regular files are opened. Symlinks are not followed unless asked (and then loops are cut
by remembering visited directories). Anything that cannot be scanned is yielded with a reason,
so it still gets a report line. Each file has two names: the path as reached from the root the
user typed (reports), and its key: the same file under the root's resolved absolute path (the
results store, so `cd A && dlpscan scan data` and `cd B && dlpscan scan data` stay apart).
"""

from __future__ import annotations

import fnmatch
import os
import pwd
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from dlpscan.access import AccessOptions, AccessReader, SambaConfigError, load_shares
from dlpscan.model import Access

if TYPE_CHECKING:
    from dlpscan.config import Config


@dataclass(frozen=True, slots=True)
class WalkOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    follow_symlinks: bool = False
    one_file_system: bool = False
    max_file_bytes: int = 2 * 1024**3
    access: AccessOptions | None = None  # None: who can read files is not looked at

    @classmethod
    def from_config(cls, config: Config) -> WalkOptions:
        """Raises ConfigError when the configured smb.conf cannot be read."""
        from dlpscan.config import ConfigError

        try:
            shares = load_shares(config.smb_conf) if config.smb_conf else ()
        except SambaConfigError as exc:
            raise ConfigError(str(exc)) from None
        return cls(
            tuple(config.include),
            tuple(config.exclude),
            config.follow_symlinks,
            config.one_file_system,
            config.max_file_mb * 1024 * 1024,
            AccessOptions(tuple(config.organisation_groups), config.organisation_min_members, shares),
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """A file found by the walk. `skip_reason` set: report it, do not open it."""

    path: str  # filesystem path (may hold surrogate escapes for undecodable names)
    display: str  # report path: as reached from the root, undecodable bytes shown as \\xNN
    key: str  # store key: the path below the root's resolved absolute path, shown like `display`
    size: int = 0
    mtime: float = 0.0
    inode: int = 0
    device: int = 0
    owner: str | None = None
    access: Access | None = None  # who can read it (regular files, when the walk reads access)
    skip_reason: str | None = None
    error: str | None = None


@cache
def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def display_path(path: str) -> str:
    """Undecodable file-name bytes (surrogate escapes) shown as \\xNN, so reports stay valid UTF-8."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def store_key(path: str) -> str:
    """The store's name of a file: its folder resolved (absolute, symbolic links followed), then its
    own name; a link to a file stays the link. For one file; walks derive keys from their root's."""
    folder, name = os.path.split(os.path.abspath(path))
    return display_path(os.path.join(os.path.realpath(folder), name))


def root_key(root: str) -> str:
    """The store's name of a scan root: a folder fully resolved, a file as `store_key`."""
    return display_path(os.path.realpath(root)) if os.path.isdir(root) else store_key(root)


def report_to_key(roots: Sequence[str]) -> Callable[[str], str]:
    """Maps the report paths of a walk of `roots` (archive members included) to their store keys."""
    prefixes = sorted(((display_path(r), root_key(r)) for r in roots), key=lambda p: -len(p[0]))

    def key(path: str) -> str:
        for typed, stored in prefixes:
            if path == typed:
                return stored
            below = typed if typed.endswith("/") else typed + "/"
            if path.startswith(below):
                return os.path.join(stored, path[len(below) :])
            if path.startswith(typed + "!"):
                return stored + path[len(typed) :]
        return path

    return key


def matches_glob(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def _entry(
    path: str, key: str, st: os.stat_result, options: WalkOptions, reader: AccessReader | None
) -> Entry:
    regular = stat.S_ISREG(st.st_mode)
    base = dict(
        path=path,
        display=display_path(path),
        key=display_path(key),
        size=st.st_size,
        mtime=st.st_mtime,
        inode=st.st_ino,
        device=st.st_dev,
        owner=owner_name(st.st_uid),
        access=reader.read(path, display_path(key), st) if reader is not None and regular else None,
    )
    if not regular:
        kind = (
            "directory"
            if stat.S_ISDIR(st.st_mode)
            else "FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "special file"
        )
        return Entry(**base, skip_reason=f"not a regular file ({kind})")
    if st.st_size > options.max_file_bytes:
        return Entry(**base, skip_reason=f"file larger than max_file_bytes ({options.max_file_bytes})")
    return Entry(**base)


def walk(roots: Sequence[str], options: WalkOptions) -> Iterator[Entry]:
    reader = AccessReader(options.access) if options.access is not None else None
    for root in roots:
        yield from _walk_root(root, options, reader)


def _failed(path: str, key: str, error: str) -> Entry:
    return Entry(path, display_path(path), display_path(os.path.normpath(key)), error=error)


def _walk_root(root: str, options: WalkOptions, reader: AccessReader | None) -> Iterator[Entry]:
    try:
        st = os.stat(root) if options.follow_symlinks else os.lstat(root)
    except OSError as exc:
        yield _failed(root, store_key(root), f"cannot stat: {exc.strerror}")
        return
    if stat.S_ISLNK(st.st_mode):
        # A symlink given on the command line is followed: the user named it.
        try:
            st = os.stat(root)
        except OSError:
            yield _failed(root, store_key(root), "broken symbolic link")
            return
    if not stat.S_ISDIR(st.st_mode):
        yield _entry(root, store_key(root), st, options, reader)
        return
    real_root = os.path.realpath(root)
    seen: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack = [root]
    root_dev = st.st_dev
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                children = sorted(it, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            key = os.path.join(real_root, os.path.relpath(directory, root))
            yield _failed(directory, key, f"cannot list directory: {exc.strerror}")
            continue
        for child in children:
            path = child.path
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            key = os.path.join(real_root, rel)
            try:
                is_link = child.is_symlink()
                if is_link and not options.follow_symlinks:
                    continue
                cst = child.stat(follow_symlinks=options.follow_symlinks)
            except OSError as exc:
                error = "broken symbolic link" if is_link else f"cannot stat: {exc.strerror}"
                yield _failed(path, key, error)
                continue
            if stat.S_ISDIR(cst.st_mode):
                if options.exclude and matches_glob(rel + "/", options.exclude):
                    continue
                if options.one_file_system and cst.st_dev != root_dev:
                    continue
                key = (cst.st_dev, cst.st_ino)
                if key in seen:  # a symlink loop, or a second link to the same folder
                    continue
                seen.add(key)
                stack.append(path)
                continue
            if options.include and not matches_glob(rel, options.include):
                continue
            if options.exclude and matches_glob(rel, options.exclude):
                continue
            yield _entry(path, key, cst, options, reader)
