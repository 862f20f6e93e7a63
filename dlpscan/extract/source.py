"""The bytes of one document: a file on disk, or an archive member spooled to memory or a temp file.

Members are never written under their own names (no path traversal): a large member goes to an
anonymous-named temporary file that is deleted when the source is closed or collected.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from dlpscan.extract.errors import LimitExceeded

SPOOL_MEMORY_BYTES = 16 * 1024**2  # members up to this size stay in memory
COPY_CHUNK = 1024**2


class Source:
    """Readable bytes with a name (for extension hints only) and a size."""

    name: str = ""
    size: int = 0
    path: Path | None = None  # set when the bytes are a real file that libraries may open by path

    def open(self) -> BinaryIO:
        raise NotImplementedError

    def head(self, n: int) -> bytes:
        with self.open() as f:
            return f.read(n)

    def close(self) -> None:
        """Release spooled data. A file on disk is left alone."""

    @property
    def suffix(self) -> str:
        return suffix_of(self.name)


def suffix_of(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower()


class FileSource(Source):
    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = path
        self.name = name or path.name
        self.size = os.stat(path).st_size

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


class BytesSource(Source):
    def __init__(self, data: bytes, name: str) -> None:
        self._data = data
        self.name = name
        self.size = len(data)

    def open(self) -> BinaryIO:
        return io.BytesIO(self._data)

    def head(self, n: int) -> bytes:
        return self._data[:n]

    def close(self) -> None:
        self._data = b""


class TempFileSource(Source):
    def __init__(self, tmp: tempfile._TemporaryFileWrapper, name: str, size: int) -> None:
        self._tmp = tmp
        self.path = Path(tmp.name)
        self.name = name
        self.size = size

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def close(self) -> None:
        self._tmp.close()  # delete=True removes the file


class Spool:
    """Collects a member's bytes, in memory while small, then in a temporary file.

    `limit` caps the bytes accepted (LimitExceeded past it); `on_write` sees every chunk's size
    (archive-wide budgets and ratio checks raise from there).
    """

    def __init__(self, name: str, limit: int, reason: str = "archive member larger than limit") -> None:
        self.name = name
        self._limit = limit
        self._reason = reason
        self._chunks: list[bytes] = []
        self._tmp: tempfile._TemporaryFileWrapper | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            self.discard()
            raise LimitExceeded(self._reason)
        if self._tmp is not None:
            self._tmp.write(data)
            return
        self._chunks.append(bytes(data))
        if self.size > SPOOL_MEMORY_BYTES:
            self._tmp = tempfile.NamedTemporaryFile(prefix="dlpscan-", delete=True)  # noqa: SIM115
            for chunk in self._chunks:
                self._tmp.write(chunk)
            self._chunks = []

    def finish(self) -> Source:
        if self._tmp is not None:
            self._tmp.flush()
            return TempFileSource(self._tmp, self.name, self.size)
        data = b"".join(self._chunks)
        self._chunks = []
        return BytesSource(data, self.name)

    def discard(self) -> None:
        self._chunks = []
        if self._tmp is not None:
            self._tmp.close()
            self._tmp = None


def spool_stream(stream: BinaryIO, spool: Spool, check=None) -> Source:
    """Copy a stream into `spool` chunk by chunk; `check(bytes_so_far)` may raise to stop early."""
    try:
        while True:
            chunk = stream.read(COPY_CHUNK)
            if not chunk:
                break
            spool.write(chunk)
            if check is not None:
                check(spool.size)
    except BaseException:
        spool.discard()
        raise
    return spool.finish()
