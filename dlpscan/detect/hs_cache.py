"""A disk cache of compiled Hyperscan databases, so a worker does not compile for a second or more.

The key is a digest of the expressions, their flags and the Hyperscan binding's version; a changed
recognizer folder or an upgraded library gets a new entry. Any failure (unwritable folder, a stale or
damaged file) falls back to compiling: the cache only ever saves time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

CACHE_ENV = "DLPSCAN_CACHE_DIR"
_FORMAT = b"dlpscan-hs-cache-1"


def cache_dir() -> Path:
    """`$DLPSCAN_CACHE_DIR`, else the per-user cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("dlpscan"))


def cache_key(expressions: Sequence[bytes], flags: Sequence[int], library_version: str) -> str:
    h = hashlib.sha256(_FORMAT)
    h.update(library_version.encode())
    h.update(",".join(map(str, flags)).encode())
    for e in expressions:
        h.update(len(e).to_bytes(4, "big"))
        h.update(e)
    return h.hexdigest()[:32]


def compiled_database(
    expressions: Sequence[bytes],
    flags: Sequence[int],
    compile_db: Callable[[], T],
    library_version: str,
    load: Callable[[bytes], T] | None = None,
    dump: Callable[[T], bytes] | None = None,
) -> T:
    """The database for `expressions`: loaded from the cache, else compiled and stored there.
    `load`/`dump` (de)serialise it; the default is the `hyperscan` binding's loadb/dumpb."""
    if load is None or dump is None:
        import hyperscan

        load = load or (lambda data: hyperscan.loadb(data, hyperscan.HS_MODE_BLOCK))
        dump = dump or hyperscan.dumpb
    path = cache_dir() / f"hs-{cache_key(expressions, flags, library_version)}.db"
    try:
        return load(path.read_bytes())
    except FileNotFoundError:
        pass
    except Exception as exc:  # a damaged or incompatible file: compile and replace it
        log.debug("hyperscan cache entry unusable (%s); recompiling", type(exc).__name__)
    db = compile_db()
    _store(path, dump(db))
    return db


def _store(path: Path, data: bytes) -> None:
    """Write atomically (temporary file + rename): concurrent workers never read half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hs-", suffix=".tmp")
    except OSError as exc:
        log.debug("hyperscan cache not written (%s)", type(exc).__name__)
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("hyperscan cache not written (%s)", type(exc).__name__)
        Path(tmp).unlink(missing_ok=True)
