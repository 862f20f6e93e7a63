"""Archives: zip, tar (plain/gz/bz2/xz), bare gz/bz2/xz streams and 7z.

An archive is listed as a container status plus its members. Members are copied (never to a
path built from their names) into memory or an anonymous temporary file, through a counting
copy that stops at the limits: member size, per-member and per-archive compression ratio, and
the uncompressed total of the outermost archive (shared by nested archives). Zip files whose
central-directory entries overlap (one compressed kernel referenced many times) are refused
before anything is inflated. Password-protected members are reported, never skipped silently.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import BinaryIO

from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.limits import Limits
from dlpscan.extract.source import Source, Spool, spool_stream
from dlpscan.model import Status

ZIP_TYPES = {"application/zip", "application/x-zip-compressed", "application/java-archive"}
TAR_TYPES = {"application/x-tar", "application/x-gtar", "application/x-ustar"}
STREAM_TYPES = {
    "application/gzip": lambda f: gzip.GzipFile(fileobj=f),
    "application/x-gzip": lambda f: gzip.GzipFile(fileobj=f),
    "application/x-bzip2": bz2.BZ2File,
    "application/x-xz": lzma.LZMAFile,
    "application/x-lzma": lzma.LZMAFile,
}
SEVENZIP_TYPES = {"application/x-7z-compressed"}
ARCHIVE_TYPES = ZIP_TYPES | TAR_TYPES | set(STREAM_TYPES) | SEVENZIP_TYPES

ENCRYPTED_MEMBER = "password-protected archive member"
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, KeyError)
_STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError, tarfile.TarError)


@dataclass(slots=True)
class Member:
    name: str
    source: Source | None = None
    status: Status = Status.SCANNED
    reason: str | None = None
    size: int | None = None


@dataclass(slots=True)
class Listing:
    status: Status = Status.SCANNED
    reason: str | None = None
    members: Iterator[Member] = field(default_factory=lambda: iter(()))


class Budget:
    """Uncompressed bytes taken out of one outermost archive, nested archives included."""

    def __init__(self, limits: Limits, compressed_size: int) -> None:
        self.limits = limits
        self.compressed_size = max(compressed_size, 1)
        self.total = 0
        self.exhausted: str | None = None

    def charge(self, n: int) -> None:
        self.total += n
        lim = self.limits
        if self.total > lim.max_archive_total_bytes:
            self.exhausted = "archive uncompressed total above limit"
        elif (
            self.total > lim.ratio_min_bytes and self.total > lim.max_compression_ratio * self.compressed_size
        ):
            self.exhausted = "archive compression ratio above limit"
        if self.exhausted:
            raise LimitExceeded(self.exhausted)


def open_archive(src: Source, media_type: str, budget: Budget) -> Listing:
    if media_type in ZIP_TYPES:
        return _zip(src, budget)
    if media_type in TAR_TYPES:
        return _tar(src, budget)
    if media_type in SEVENZIP_TYPES:
        return _sevenzip(src, budget)
    return _stream(src, media_type, budget)


def _copy(stream: BinaryIO, name: str, budget: Budget, compressed: int | None) -> Source:
    """Spool one member, charging the budget and checking the member's own ratio as it inflates."""
    lim = budget.limits
    seen = 0

    def check(total: int) -> None:
        nonlocal seen
        budget.charge(total - seen)
        seen = total
        if (
            compressed is not None
            and total > lim.ratio_min_bytes
            and total > lim.max_compression_ratio * compressed
        ):
            raise LimitExceeded("compression ratio above limit")

    spool = Spool(name, min(lim.max_member_bytes, lim.max_file_bytes))
    return spool_stream(stream, spool, check)


def limited_read(stream: BinaryIO, budget: Budget, compressed: int) -> Callable[[int], bytes]:
    """`stream.read` for a member read in place (not spooled): charges the budget and raises
    LimitExceeded past the member-size and the member's compression-ratio limits."""
    lim = budget.limits
    cap = min(lim.max_member_bytes, lim.max_file_bytes)
    total = 0

    def read(n: int) -> bytes:
        nonlocal total
        data = stream.read(n)
        total += len(data)
        budget.charge(len(data))
        if total > cap:
            raise LimitExceeded("archive member larger than limit")
        if total > lim.ratio_min_bytes and total > lim.max_compression_ratio * max(compressed, 1):
            raise LimitExceeded("compression ratio above limit")
        return data

    return read


def _skip_rest(names: Iterator[str], reason: str) -> Iterator[Member]:
    for name in names:
        yield Member(name, status=Status.SKIPPED, reason=reason)


# --- zip -------------------------------------------------------------------------------------


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; names without the UTF-8 flag are re-decoded (UTF-8, else GBK)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = b""
        if raw and not raw.isascii():
            for encoding in ("utf-8", "gb18030"):
                try:
                    name = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
    return name.replace("\\", "/").lstrip("/")


@contextlib.contextmanager
def zip_or_none(src: Source) -> Iterator[zipfile.ZipFile | None]:
    """The source opened as a zip package, or None when it is not one: a pre-flight leaves such a
    file to its reader, which reports what it is."""
    with src.open() as f:
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            zf = None
        if zf is None:
            yield None
            return
        with zf:
            yield zf


def overlapping(infos: list[zipfile.ZipInfo]) -> bool:
    """Do any two entries' [header_offset, header_offset + compress_size) ranges overlap?"""
    end = -1
    for start, stop in sorted((i.header_offset, i.header_offset + i.compress_size) for i in infos):
        if start < end:
            return True
        end = max(end, stop)
    return False


def _zip(src: Source, budget: Budget) -> Listing:
    lim = budget.limits
    f = src.open()
    try:
        zf = zipfile.ZipFile(f)
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except _ZIP_ERRORS as e:
        f.close()
        return Listing(Status.ERROR, f"{type(e).__name__}: not a readable zip archive")
    problem = None
    declared = sum(i.file_size for i in infos)
    if len(infos) > lim.max_members:
        problem = f"more members than the limit ({lim.max_members})"
    elif overlapping(infos):
        problem = "overlapping zip entries (zip bomb)"
    elif declared > lim.max_archive_total_bytes:
        problem = "declared uncompressed total above limit"
    elif declared > lim.ratio_min_bytes and declared > lim.max_compression_ratio * max(src.size, 1):
        problem = "declared compression ratio above limit"
    if problem:
        zf.close()
        f.close()
        return Listing(Status.SKIPPED, problem)
    return Listing(members=_zip_members(zf, f, infos, budget))


def _zip_members(
    zf: zipfile.ZipFile, f: BinaryIO, infos: list[zipfile.ZipInfo], budget: Budget
) -> Iterator[Member]:
    lim = budget.limits
    try:
        for n, info in enumerate(infos):
            name = zip_member_name(info)
            if budget.exhausted:
                yield from _skip_rest((zip_member_name(i) for i in infos[n:]), budget.exhausted)
                return
            if info.flag_bits & 0x1:
                yield Member(name, status=Status.ENCRYPTED, reason=ENCRYPTED_MEMBER, size=info.file_size)
                continue
            if info.file_size > min(lim.max_member_bytes, lim.max_file_bytes):
                yield Member(name, status=Status.SKIPPED, reason="archive member larger than limit")
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > lim.ratio_min_bytes and ratio > lim.max_compression_ratio:
                yield Member(name, status=Status.SKIPPED, reason="compression ratio above limit")
                continue
            try:
                with zf.open(info) as stream:
                    source = _copy(stream, name, budget, max(info.compress_size, 1))
            except LimitExceeded as e:
                yield Member(name, status=Status.SKIPPED, reason=str(e))
                continue
            except RuntimeError:  # "File ... is encrypted, password required"
                yield Member(name, status=Status.ENCRYPTED, reason=ENCRYPTED_MEMBER)
                continue
            except _ZIP_ERRORS as e:
                yield Member(name, status=Status.ERROR, reason=f"{type(e).__name__}: cannot extract member")
                continue
            yield Member(name, source=source, size=source.size)
    finally:
        zf.close()
        f.close()


# --- tar and single compressed streams --------------------------------------------------------


def _tar(src: Source, budget: Budget) -> Listing:
    f = src.open()
    try:
        tf = tarfile.open(fileobj=f, mode="r|*")  # noqa: SIM115 - closed by _tar_members
        first = tf.next()
    except _STREAM_ERRORS as e:
        f.close()
        return Listing(Status.ERROR, f"{type(e).__name__}: not a readable tar archive")
    return Listing(members=_tar_members(tf, f, first, budget))


def _tar_members(tf: tarfile.TarFile, f: BinaryIO, first, budget: Budget) -> Iterator[Member]:
    lim = budget.limits
    count = 0
    member = first
    try:
        while member is not None:
            if member.isfile():
                count += 1
                name = member.name.lstrip("/")
                if count > lim.max_members:
                    yield Member(
                        name, status=Status.SKIPPED, reason=f"more members than the limit ({lim.max_members})"
                    )
                    return
                if budget.exhausted:
                    yield Member(name, status=Status.SKIPPED, reason=budget.exhausted)
                    return
                if member.size > min(lim.max_member_bytes, lim.max_file_bytes):
                    yield Member(name, status=Status.SKIPPED, reason="archive member larger than limit")
                else:
                    try:
                        stream = tf.extractfile(member)
                        source = _copy(stream, name, budget, None) if stream is not None else None
                    except LimitExceeded as e:
                        yield Member(name, status=Status.SKIPPED, reason=str(e))
                        return  # a stream cannot skip ahead cheaply past an over-limit member
                    except _STREAM_ERRORS as e:
                        yield Member(
                            name, status=Status.ERROR, reason=f"{type(e).__name__}: cannot extract member"
                        )
                        return
                    if source is not None:
                        yield Member(name, source=source, size=source.size)
            try:
                member = tf.next()
            except _STREAM_ERRORS as e:
                yield Member(
                    f"(member {count + 1})", status=Status.ERROR, reason=f"{type(e).__name__}: truncated"
                )
                return
    finally:
        tf.close()
        f.close()


def _stream(src: Source, media_type: str, budget: Budget) -> Listing:
    """A bare .gz/.bz2/.xz: a tar inside is listed as a tar, anything else is one member."""
    opener: Callable = STREAM_TYPES[media_type]
    with src.open() as f:
        try:
            head = opener(f).read(512)
        except _STREAM_ERRORS as e:
            return Listing(Status.ERROR, f"{type(e).__name__}: not a readable compressed stream")
    if len(head) == 512 and head[257:262] == b"ustar":
        return _tar(src, budget)
    return Listing(members=_single(src, opener, budget))


def _single(src: Source, opener: Callable, budget: Budget) -> Iterator[Member]:
    stem = PurePosixPath(src.name).stem if src.name else ""
    name = stem if stem and stem != src.name else "data"
    with src.open() as f:
        try:
            source = _copy(opener(f), name, budget, max(src.size, 1))
        except LimitExceeded as e:
            yield Member(name, status=Status.SKIPPED, reason=str(e))
            return
        except _STREAM_ERRORS as e:
            yield Member(name, status=Status.ERROR, reason=f"{type(e).__name__}: truncated or corrupt stream")
            return
    yield Member(name, source=source, size=source.size)


# --- 7z ----------------------------------------------------------------------------------------


def _sevenzip(src: Source, budget: Budget) -> Listing:
    import py7zr
    from py7zr.exceptions import ArchiveError, PasswordRequired

    lim = budget.limits
    f = src.open()
    try:
        archive = py7zr.SevenZipFile(f, mode="r")
        infos = [i for i in archive.list() if not i.is_directory]
        encrypted = archive.needs_password()
    except PasswordRequired:
        f.close()
        return Listing(Status.ENCRYPTED, "password-protected 7z archive (encrypted names)")
    except (ArchiveError, *_STREAM_ERRORS) as e:
        f.close()
        return Listing(Status.ERROR, f"{type(e).__name__}: not a readable 7z archive")
    declared = sum(i.uncompressed or 0 for i in infos)
    problem = None
    if len(infos) > lim.max_members:
        problem = f"more members than the limit ({lim.max_members})"
    elif declared > lim.max_archive_total_bytes:
        problem = "declared uncompressed total above limit"
    elif declared > lim.ratio_min_bytes and declared > lim.max_compression_ratio * max(src.size, 1):
        problem = "declared compression ratio above limit"
    if problem or encrypted:
        archive.close()
        f.close()
        if problem:
            return Listing(Status.SKIPPED, problem)
        members = [Member(i.filename, status=Status.ENCRYPTED, reason=ENCRYPTED_MEMBER) for i in infos]
        return Listing(members=iter(members))
    return Listing(members=_sevenzip_members(archive, f, infos, budget))


def _sevenzip_members(archive, f: BinaryIO, infos, budget: Budget) -> Iterator[Member]:
    from py7zr.exceptions import ArchiveError
    from py7zr.io import Py7zIO, WriterFactory

    lim = budget.limits
    limit = min(lim.max_member_bytes, lim.max_file_bytes)

    class _Writer(Py7zIO):
        def __init__(self, name: str) -> None:
            self.spool = Spool(name, limit)

        def write(self, s: bytes | bytearray) -> int:
            budget.charge(len(s))
            self.spool.write(bytes(s))
            return len(s)

        def read(self, size: int | None = None) -> bytes:
            return b""

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def flush(self) -> None:
            pass

        def size(self) -> int:
            return self.spool.size

    class _Factory(WriterFactory):
        def __init__(self) -> None:
            self.writers: dict[str, _Writer] = {}

        def create(self, filename: str) -> Py7zIO:
            writer = _Writer(filename)
            self.writers[filename] = writer
            return writer

    factory = _Factory()
    failure: tuple[Status, str] | None = None
    try:
        archive.extractall(factory=factory)
    except LimitExceeded as e:
        failure = (Status.SKIPPED, str(e))
    except (ArchiveError, *_STREAM_ERRORS) as e:
        failure = (Status.ERROR, f"{type(e).__name__}: cannot extract 7z archive")
    finally:
        archive.close()
        f.close()
    for info in infos:
        writer = factory.writers.get(info.filename)
        if failure is not None:
            if writer is not None:
                writer.spool.discard()
            yield Member(info.filename, status=failure[0], reason=failure[1])
        elif writer is not None:
            source = writer.spool.finish()
            yield Member(info.filename, source=source, size=source.size)
        else:
            yield Member(info.filename, source=Spool(info.filename, 0).finish(), size=0)
