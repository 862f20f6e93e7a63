"""Compound File Binary (OLE2: xls, doc, msg) checks made before a native reader sees the file.

calamine sizes its buffers from lengths declared in the file (directory, FAT and mini-FAT sector
counts in the header, stream sizes in directory entries) and aborts the whole process when such
an allocation fails (`memory allocation of N bytes failed`, SIGABRT under the worker's memory
cap). No stream of a compound file can be longer than the file itself, so any declared length
beyond the file size marks a damaged or hostile file; it is refused before calamine opens it.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from dlpscan.extract.source import Source

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_DIFAT = 109
_END = 0xFFFFFFFA  # sector ids from here up are markers (ENDOFCHAIN, FREESECT ...)
_BEYOND = "compound file declares lengths beyond its size"


def allocation_problem(src: Source) -> str | None:
    """Why a compound file would make a reader allocate more than its size, or None."""
    with src.open() as f:
        header = f.read(512)
        if len(header) < 512 or header[:8] != MAGIC:
            return None  # not a compound file: the reader reports what it is
        return _problem(f, header, src.size)


def _problem(f: BinaryIO, header: bytes, size: int) -> str | None:
    sector_shift, mini_shift = struct.unpack_from("<HH", header, 30)
    if sector_shift not in (9, 12) or mini_shift != 6:
        return "compound file with an invalid sector size"
    sector = 1 << sector_shift
    dir_len, fat_len, dir_start = struct.unpack_from("<III", header, 40)
    mini_fat_len, difat_start, difat_len = struct.unpack_from("<III", header, 64)
    if any(n * sector > size for n in (dir_len, fat_len, mini_fat_len, difat_len)):
        return _BEYOND
    max_sectors = size // sector + 1

    def read_sector(sid: int) -> bytes:
        f.seek((sid + 1) * sector)
        return f.read(sector)

    difat = list(struct.unpack_from(f"<{_HEADER_DIFAT}I", header, 76))
    sid, steps = difat_start, 0
    while sid < _END and steps < max_sectors:
        data = read_sector(sid)
        if len(data) < sector:
            break
        entries = struct.unpack(f"<{sector // 4}I", data)
        difat.extend(entries[:-1])
        sid, steps = entries[-1], steps + 1
    fat: list[int] = []
    for fat_sid in difat:
        if fat_sid < _END and len(fat) < max_sectors:
            data = read_sector(fat_sid)
            fat.extend(struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4]))
    sid, steps = dir_start, 0
    while sid < _END and steps < max_sectors:
        data = read_sector(sid)
        for off in range(0, len(data) - 127, 128):
            fmt = "<I" if sector == 512 else "<Q"
            (length,) = struct.unpack_from(fmt, data, off + 120)
            if length > size:
                return _BEYOND
        sid, steps = (fat[sid] if sid < len(fat) else _END), steps + 1
    return None
