"""A minimal Compound File Binary (OLE2) writer, for generated seeds: Outlook .msg files.

Version 3 (512-byte sectors), streams under 4 KB in the mini stream, every FAT sector listed in
the header (files up to about 7 MB). Siblings are linked as a balanced binary tree in the
format's name order; colours are not balanced (readers do not check them).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF

Tree = dict  # name -> bytes (a stream) or Tree (a storage)


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[int] = field(default_factory=list)
    left: int = NONE
    right: int = NONE
    child: int = NONE
    start: int = END


def compound_file(tree: Tree) -> bytes:
    """The bytes of a compound file holding `tree`."""
    entries = [_Entry("Root Entry", 5)]
    _add(entries, 0, tree)
    for e in entries:
        e.child = _link(
            entries, sorted(e.children, key=lambda i: (len(entries[i].name), entries[i].name.upper()))
        )
    mini = bytearray()
    mini_fat: list[int] = []
    big: list[_Entry] = []
    for e in entries:
        if e.kind != 2:
            continue
        if len(e.data) >= CUTOFF:
            big.append(e)
        elif e.data:
            e.start = len(mini) // MINI
            n = math.ceil(len(e.data) / MINI)
            mini_fat += [e.start + k + 1 for k in range(n - 1)] + [END]
            mini += e.data.ljust(n * MINI, b"\0")
    directory = b"".join(_dir_entry(e) for e in entries)
    directory = directory.ljust(math.ceil(len(directory) / SECTOR) * SECTOR, b"\0")
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    mini_fat_bytes = mini_fat_bytes.ljust(math.ceil(len(mini_fat_bytes) / SECTOR) * SECTOR, b"\xff")
    parts = [directory, mini_fat_bytes, bytes(mini), *(e.data for e in big)]
    sizes = [math.ceil(len(p) / SECTOR) for p in parts]
    n_fat = 1
    while n_fat * SECTOR // 4 < n_fat + sum(sizes):
        n_fat += 1
    assert n_fat <= 109, "a compound file this large needs DIFAT sectors"
    fat = [FATSECT] * n_fat
    starts = []
    for n in sizes:
        starts.append(len(fat) if n else END)
        fat += [len(fat) + k + 1 for k in range(n - 1)] + ([END] if n else [])
    fat += [FREE] * (n_fat * SECTOR // 4 - len(fat))
    dir_start, mini_fat_start, mini_start, *big_starts = starts
    entries[0].start, entries[0].data = mini_start, bytes(mini)
    for e, s in zip(big, big_starts, strict=True):
        e.start = s
    directory = b"".join(_dir_entry(e) for e in entries)  # again, with the start sectors known
    directory = directory.ljust(sizes[0] * SECTOR, b"\0")
    header = bytearray(SECTOR)
    header[:8] = MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 44, n_fat, dir_start, 0, CUTOFF)
    struct.pack_into("<IIII", header, 60, mini_fat_start, sizes[1], END, 0)
    struct.pack_into("<109I", header, 76, *(list(range(n_fat)) + [FREE] * (109 - n_fat)))
    body = [
        struct.pack(f"<{len(fat)}I", *fat),
        directory,
        mini_fat_bytes,
        bytes(mini),
        *(e.data for e in big),
    ]
    return bytes(header) + b"".join(
        p.ljust(n * SECTOR, b"\0") for p, n in zip(body, [n_fat, *sizes], strict=True)
    )


def _add(entries: list[_Entry], parent: int, tree: Tree) -> None:
    for name, value in tree.items():
        entries.append(
            _Entry(name, 1 if isinstance(value, dict) else 2, b"" if isinstance(value, dict) else value)
        )
        index = len(entries) - 1
        entries[parent].children.append(index)
        if isinstance(value, dict):
            _add(entries, index, value)


def _link(entries: list[_Entry], ordered: list[int]) -> int:
    """Root of a balanced binary tree over `ordered` siblings (left/right set on the way)."""
    if not ordered:
        return NONE
    mid = len(ordered) // 2
    node = entries[ordered[mid]]
    node.left = _link(entries, ordered[:mid])
    node.right = _link(entries, ordered[mid + 1 :])
    return ordered[mid]


def _dir_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le") + b"\0\0"
    assert len(name) <= 64, e.name
    size = len(e.data) if e.kind != 1 else 0
    start = e.start if size or e.kind == 5 else END
    return struct.pack(
        "<64sHBBIII16sIQQIII",
        name,
        len(name),
        e.kind,
        1,
        e.left,
        e.right,
        e.child,
        b"",
        0,
        0,
        0,
        start,
        size,
        0,
    )
