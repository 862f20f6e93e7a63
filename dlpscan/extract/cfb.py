"""Compound File Binary (OLE2: xls, doc, msg) checks made before a native reader sees the file.

calamine sizes its buffers from lengths declared in the file (directory, FAT and mini-FAT sector
counts in the header, stream sizes in directory entries) and aborts the whole process when such
an allocation fails (`memory allocation of N bytes failed`, SIGABRT under the worker's memory
cap). No stream of a compound file can be longer than the file itself, so any declared length
beyond the file size marks a damaged or hostile file; it is refused before calamine opens it.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from itertools import accumulate
from typing import BinaryIO

from dlpscan.extract.source import Source

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_DIFAT = 109
_END = 0xFFFFFFFA  # sector ids from here up are markers (ENDOFCHAIN, FREESECT ...)
_DIFSECT = 0xFFFFFFFC
_END_OF_CHAIN = 0xFFFFFFFE
_MINI_CUTOFF = 4096  # streams shorter than this live in the mini stream
_CYCLE = "compound file with a sector chain that loops"
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
    mini_fat_start, mini_fat_len, difat_start, difat_len = struct.unpack_from("<IIII", header, 60)
    # calamine reads the DIFAT length from offset 62, not 72, and reserves that many u32 up front
    (difat_len_as_read,) = struct.unpack_from("<I", header, 62)
    if any(n * sector > size for n in (dir_len, fat_len, mini_fat_len, difat_len)) or (
        difat_len_as_read * 4 > 64 * size + 1024**2
    ):
        return _BEYOND
    max_sectors = size // sector + 1

    def outside(sid: int) -> bool:  # a reader extends its buffer up to any sector it is sent to
        return _END > sid >= max_sectors

    def read_sector(sid: int) -> bytes:
        f.seek((sid + 1) * sector)
        return f.read(sector)

    if any(outside(sid) for sid in (dir_start, mini_fat_start, difat_start)):
        return _BEYOND
    difat = list(struct.unpack_from(f"<{_HEADER_DIFAT}I", header, 76))
    sid, steps = difat_start, 0
    while sid < _END and steps < max_sectors:
        data = read_sector(sid)
        if len(data) < sector:
            break
        entries = struct.unpack(f"<{sector // 4}I", data)
        difat.extend(entries[:-1])
        sid, steps = entries[-1], steps + 1
        if outside(sid):
            return _BEYOND
    if sid < _END and steps >= max_sectors:
        return _CYCLE  # the DIFAT chain loops
    if sum(1 for sid in difat if sid < _DIFSECT) > max_sectors:
        return _BEYOND  # calamine loads every FAT sector the DIFAT lists, repeats included
    fat: list[int] = []
    for fat_sid in difat:
        if outside(fat_sid):
            return _BEYOND
        if fat_sid < _END and len(fat) < max_sectors:
            data = read_sector(fat_sid)
            fat.extend(struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4]))
    if any(outside(next_sid) for next_sid in fat[:max_sectors]):
        return _BEYOND  # every chain (directory, streams, mini FAT) is followed through the FAT
    looping = _cyclic(fat)  # calamine follows chains without a step limit: a loop grows a buffer forever
    if any(sid < len(fat) and looping[sid] for sid in (dir_start, mini_fat_start)):
        return _CYCLE
    mini_fat = _chain_ints(read_sector, fat, mini_fat_start, max_sectors)
    mini_looping = _cyclic(mini_fat)
    sid, steps, first = dir_start, 0, True
    fmt = "<I" if sector == 512 else "<Q"
    max_mini = size // 64 + 1
    while sid < _END and steps < max_sectors:
        data = read_sector(sid)
        for off in range(0, len(data) - 127, 128):
            (start,) = struct.unpack_from("<I", data, off + 116)
            (length,) = struct.unpack_from(fmt, data, off + 120)
            # the root entry and large streams start at a sector; small streams at a mini sector
            in_sectors = first or length >= _MINI_CUTOFF
            if length > size or (outside(start) if in_sectors else _END > start >= max_mini):
                return _BEYOND
            chain_loops = looping if in_sectors else mini_looping
            if length and start < len(chain_loops) and chain_loops[start]:
                return _CYCLE
            first = False
        sid, steps = (fat[sid] if sid < len(fat) else _END), steps + 1
    return None


def _chain_ints(read_sector, fat: list[int], start: int, max_sectors: int) -> list[int]:
    """The u32 entries of the sectors of one chain (the mini FAT), at most `max_sectors` sectors."""
    out: list[int] = []
    sid, steps = start, 0
    while sid < _END and sid < len(fat) and steps < max_sectors:
        data = read_sector(sid)
        out.extend(struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4]))
        sid, steps = fat[sid], steps + 1
    return out


def _cyclic(table: list[int]) -> bytearray:
    """For each sector id: 1 when following `table` from it never reaches an end marker (a loop).

    One pass over the functional graph (each id visited once), not one walk per chain."""
    n = len(table)
    state = bytearray(n)  # 0 unseen, 1 on the current walk, 2 ends, 3 loops
    for origin in range(n):
        path = []
        sid = origin
        while sid < n and state[sid] == 0:
            state[sid] = 1
            path.append(sid)
            sid = table[sid]
        verdict = 3 if sid < n and state[sid] in (1, 3) else 2
        for p in path:
            state[p] = verdict
    return bytearray(1 if v == 3 else 0 for v in state)


class Unpredictable(Exception):
    """calamine would read bytes that depend on its reader's position, not on the file's layout."""


class Stream:
    """A stream's bytes and where each of them lies in the file (to patch a copy of the file)."""

    def __init__(self, data: bytes, pieces: list[tuple[int, int]]) -> None:
        self.data = data
        self.pieces = pieces  # (file offset, length) in stream order
        self.starts = list(accumulate((n for _, n in pieces), initial=0))  # stream offset of each piece

    def file_offset(self, offset: int) -> int:
        i = bisect_right(self.starts, offset) - 1
        if not 0 <= i < len(self.pieces):
            raise IndexError(offset)
        return self.pieces[i][0] + offset - self.starts[i]


def stream(src: Source, names: tuple[str, ...]) -> Stream | None:
    """The stream calamine reads for the first of `names` the file has, read the way calamine reads
    it: the first directory entry of that name, its chain followed through the FAT (or, below 4 KB,
    the mini FAT) up to the declared length. None when calamine would fail before reading it.
    Raises Unpredictable where calamine's bytes cannot be known. Call after allocation_problem()."""
    with src.open() as f:
        header = f.read(512)
        if len(header) < 512 or header[:8] != MAGIC:
            return None
        try:
            return _Calamine(f, header, src.size).stream(names)
        except _Fails:
            return None


class _Fails(Exception):
    """calamine stops with an error (or a caught panic) here: nothing of the stream is parsed."""


class _Calamine:
    """calamine's compound-file reader (calamine/src/cfb.rs), step-bounded."""

    def __init__(self, f: BinaryIO, header: bytes, size: int) -> None:
        (version,) = struct.unpack_from("<H", header, 26)
        sector_shift, mini_shift = struct.unpack_from("<HH", header, 30)
        if sector_shift not in (9, 12) or mini_shift != 6:
            raise _Fails
        self.f, self.sector = f, 1 << sector_shift
        self.maxid = size // self.sector
        dir_start, _, _, mini_fat_start, mini_fat_len, difat_start = struct.unpack_from("<IIIIII", header, 48)
        difat = array("I", header[76:512])
        sid, steps = difat_start, 0
        while sid < _END:
            difat.frombytes(self._sector(sid)[0])
            sid, steps = difat.pop(), self._step(steps)
        self.fat = array("I")
        for sid in difat:
            if sid < _DIFSECT:
                self.fat.frombytes(_whole_ints(self._sector(sid)[0]))
        dirs = self._chain(dir_start, self.fat, self._sector, 1 << 64).data
        self.dirs = [self._entry(dirs[i : i + 128]) for i in range(0, len(dirs) - 127, 128)]
        if not self.dirs or (version != 3 and self.dirs[0][1] == _END_OF_CHAIN):
            raise _Fails
        self.mini = Stream(b"", [])
        self.mini_fat = array("I")
        if mini_fat_len:
            self.mini = self._chain(self.dirs[0][1], self.fat, self._sector, self.dirs[0][2])
            minifat = self._chain(mini_fat_start, self.fat, self._sector, mini_fat_len * self.sector)
            self.mini_fat.frombytes(_whole_ints(minifat.data))

    def _step(self, steps: int) -> int:
        if steps > self.maxid + 1:
            raise _Fails  # a loop (allocation_problem refuses those first)
        return steps + 1

    def _entry(self, raw: bytes) -> tuple[str, int, int]:
        name = raw[:64].decode("utf-16-le", "replace").split("\0", 1)[0]
        (start,) = struct.unpack_from("<I", raw, 116)
        (length,) = struct.unpack_from("<I" if self.sector == 512 else "<Q", raw, 120)
        return name, start, length

    def _sector(self, sid: int) -> tuple[bytes, list[tuple[int, int]]]:
        if sid > self.maxid:
            raise _Fails
        at = (sid + 1) * self.sector
        self.f.seek(at)
        data = self.f.read(self.sector)
        return data, [(at, len(data))]

    def _mini_sector(self, sid: int) -> tuple[bytes, list[tuple[int, int]]]:
        if sid > self.maxid * 8:
            raise _Fails
        if (sid + 1) * 64 > len(self.mini.data):
            raise Unpredictable  # calamine tops its mini stream up from wherever its reader stands
        at = sid * 64
        return self.mini.data[at : at + 64], [(self.mini.file_offset(at + i), 1) for i in range(64)]

    def _chain(self, sid: int, fat: array, sector, length: int) -> Stream:
        out = bytearray()
        pieces: list[tuple[int, int]] = []
        steps = 0
        while sid != _END_OF_CHAIN:
            data, where = sector(sid)
            take = data[: length - len(out)]
            out += take
            pieces.extend(_cut(where, len(take)))
            if len(out) >= length:
                break
            if sid >= len(fat):
                raise _Fails  # calamine panics on the index
            sid, steps = fat[sid], self._step(steps)
        return Stream(bytes(out), pieces)

    def stream(self, names: tuple[str, ...]) -> Stream | None:
        for name in names:
            entry = next((d for d in self.dirs if d[0] == name), None)
            if entry is None:
                continue
            _, start, length = entry
            try:
                if length == 0:
                    return Stream(b"", [])
                if length < _MINI_CUTOFF:
                    return self._chain(start, self.mini_fat, self._mini_sector, length)
                return self._chain(start, self.fat, self._sector, length)
            except _Fails:
                continue  # calamine tries the next name
        return None


def _cut(pieces: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The first `length` bytes of `pieces`."""
    out = []
    for start, n in pieces:
        if length <= 0:
            break
        out.append((start, min(n, length)))
        length -= n
    return out


def _whole_ints(data: bytes) -> bytes:
    return data[: len(data) // 4 * 4]
