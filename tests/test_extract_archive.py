"""Archives on generated files: names, nesting, encryption, bombs and limits."""

from __future__ import annotations

import gzip
import io
import random
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest

from dlpscan.extract import Limits, open_documents
from dlpscan.extract.errors import ExtractError
from dlpscan.model import Status, TableBlock, TextBlock

CSV = "姓名,手机\n张三,13800138000\n".encode()


def read_all(path: Path, limits: Limits = Limits()):  # noqa: B008
    """[(path, effective status, reason, blocks, is_container)] for every document."""
    out = []
    for doc in open_documents(path, path.name, limits):
        blocks, status, reason = [], doc.status, doc.reason
        try:
            blocks.extend(doc.blocks)
        except ExtractError as e:
            status, reason = e.status, str(e)
        out.append((doc.path, status, reason, blocks, doc.is_container))
    return out


def statuses(docs):
    return [(p, s, r) for p, s, r, _, _ in docs]


def noise(size: int, seed: int = 0) -> bytes:
    """Incompressible bytes, the same in every run: os.urandom's sometimes begin like a DOS executable
    ("MZ"), and libmagic then names another type."""
    return random.Random(seed).randbytes(size)


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_members_and_container(tmp_path):
    path = tmp_path / "bundle.zip"
    path.write_bytes(make_zip({"dir/list.csv": CSV, "readme.txt": b"export note"}))
    docs = read_all(path)
    assert [(p, s, c) for p, s, _, _, c in docs] == [
        ("bundle.zip", Status.SCANNED, True),
        ("bundle.zip!dir/list.csv", Status.SCANNED, False),
        ("bundle.zip!readme.txt", Status.SCANNED, False),
    ]
    assert docs[1][3] == [TableBlock(("姓名", "手机"), [("张三", "13800138000")], "", 2)]
    assert docs[2][3] == [TextBlock("export note", "lines 1-1")]


def test_zip_with_gbk_member_names(tmp_path):
    names = {"客户资料/名单.csv": CSV, "说明.txt": b"note"}
    placeholders = {}
    members = {}
    for i, (name, data) in enumerate(names.items()):
        raw = name.encode("gbk")
        holder = (f"{i}" * len(raw)).encode()
        placeholders[holder] = raw
        members[holder.decode()] = data
    data = make_zip(members)
    for holder, raw in placeholders.items():
        data = data.replace(holder, raw)  # same length: offsets stay valid, the UTF-8 flag is not set
    path = tmp_path / "gbk.zip"
    path.write_bytes(data)
    assert [p for p, *_ in read_all(path)] == ["gbk.zip", "gbk.zip!客户资料/名单.csv", "gbk.zip!说明.txt"]


def test_nested_zip(tmp_path):
    inner = make_zip({"data.csv": CSV})
    path = tmp_path / "outer.zip"
    path.write_bytes(make_zip({"inner.zip": inner}))
    docs = read_all(path)
    assert [(p, s, c) for p, s, _, _, c in docs] == [
        ("outer.zip", Status.SCANNED, True),
        ("outer.zip!inner.zip", Status.SCANNED, True),
        ("outer.zip!inner.zip!data.csv", Status.SCANNED, False),
    ]
    assert docs[2][3][0].rows == [("张三", "13800138000")]


def test_nesting_depth_limit(tmp_path):
    path = tmp_path / "outer.zip"
    path.write_bytes(make_zip({"inner.zip": make_zip({"data.csv": CSV})}))
    docs = read_all(path, Limits(max_nesting_depth=1))
    assert [(p, s, r, c) for p, s, r, _, c in docs] == [
        ("outer.zip", Status.SCANNED, None, True),
        ("outer.zip!inner.zip", Status.SKIPPED, "archive nesting deeper than limit", True),
    ]


def _set_encrypted_flag(data: bytes) -> bytes:
    """Set the 'encrypted' flag bit on every local and central header (what zip -P writes)."""
    out = bytearray(data)
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = out.find(sig)
        while pos >= 0:
            (flags,) = struct.unpack_from("<H", out, pos + flag_at)
            struct.pack_into("<H", out, pos + flag_at, flags | 0x1)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def test_password_protected_member_is_reported(tmp_path):
    path = tmp_path / "locked.zip"
    path.write_bytes(_set_encrypted_flag(make_zip({"secret.csv": CSV})))
    assert statuses(read_all(path)) == [
        ("locked.zip", Status.SCANNED, None),
        ("locked.zip!secret.csv", Status.ENCRYPTED, "password-protected archive member"),
    ]


def test_high_ratio_zip_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(make_zip({"zeros.txt": b"\0" * (20 * 1024**2)}))
    limits = Limits(ratio_min_bytes=1024**2)
    assert statuses(read_all(path, limits)) == [
        ("bomb.zip", Status.SKIPPED, "declared compression ratio above limit")
    ]


def test_member_ratio_limit(tmp_path):
    path = tmp_path / "mixed.zip"
    path.write_bytes(make_zip({"noise.bin": noise(300_000), "zeros.txt": b"\0" * 3_000_000}))
    limits = Limits(ratio_min_bytes=1_000_000, max_compression_ratio=100)
    assert statuses(read_all(path, limits))[1:] == [
        ("mixed.zip!noise.bin", Status.SKIPPED, "no extractor for application/octet-stream"),
        ("mixed.zip!zeros.txt", Status.SKIPPED, "compression ratio above limit"),
    ]


def test_total_budget_is_shared_by_nested_archives(tmp_path):
    inner = [make_zip({f"part{i}.bin": noise(600_000, seed=i)}, zipfile.ZIP_STORED) for i in range(2)]
    path = tmp_path / "outer.zip"
    path.write_bytes(make_zip({"a.zip": inner[0], "b.zip": inner[1]}, zipfile.ZIP_STORED))
    docs = statuses(read_all(path, Limits(max_archive_total_bytes=1_500_000)))
    assert docs[0] == ("outer.zip", Status.SCANNED, None)
    # a.zip (600 kB) and its member (600 kB) fit in 1.5 MB; b.zip would not
    assert docs[1:] == [
        ("outer.zip!a.zip", Status.SCANNED, None),
        ("outer.zip!a.zip!part0.bin", Status.SKIPPED, "no extractor for application/octet-stream"),
        ("outer.zip!b.zip", Status.SKIPPED, "archive uncompressed total above limit"),
    ]


def _overlapping_zip(copies: int) -> bytes:
    """One member whose central-directory entry is repeated: every entry points at one kernel."""
    data = make_zip({"kernel.txt": b"A" * 100_000})
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, eocd + 12)
    entry = data[cd_offset : cd_offset + cd_size]
    new_cd = entry * copies
    tail = bytearray(data[eocd:])
    struct.pack_into("<HHII", tail, 8, copies, copies, len(new_cd), cd_offset)
    return data[:cd_offset] + new_cd + bytes(tail)


def test_overlapping_entry_zip_bomb(tmp_path):
    path = tmp_path / "overlap.zip"
    path.write_bytes(_overlapping_zip(50))
    assert statuses(read_all(path)) == [("overlap.zip", Status.SKIPPED, "overlapping zip entries (zip bomb)")]


def test_member_count_limit(tmp_path):
    path = tmp_path / "many.zip"
    path.write_bytes(make_zip({f"f{i}.txt": b"x" for i in range(3)}))
    assert statuses(read_all(path, Limits(max_members=2))) == [
        ("many.zip", Status.SKIPPED, "more members than the limit (2)")
    ]


def test_truncated_zip_is_an_error(tmp_path):
    data = make_zip({"a.csv": CSV, "b.txt": noise(5000)})
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: len(data) // 2])
    [(p, status, reason, _, container)] = read_all(path)
    assert (p, status, reason, container) == (
        "cut.zip",
        Status.ERROR,
        "BadZipFile: not a readable zip archive",
        True,
    )


def test_member_names_are_labels_never_paths(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    path = work / "evil.zip"
    path.write_bytes(make_zip({"../../escaped.txt": b"x", "/abs/escaped2.txt": b"y"}))
    paths = [p for p, *_ in read_all(path)]
    assert paths == ["evil.zip", "evil.zip!../../escaped.txt", "evil.zip!abs/escaped2.txt"]
    assert not list(tmp_path.rglob("escaped*"))


def test_tar_gz(tmp_path):
    path = tmp_path / "logs.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, data in {"a/list.csv": CSV, "b.txt": b"hello"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    docs = read_all(path)
    assert [(p, s, c) for p, s, _, _, c in docs] == [
        ("logs.tar.gz", Status.SCANNED, True),
        ("logs.tar.gz!a/list.csv", Status.SCANNED, False),
        ("logs.tar.gz!b.txt", Status.SCANNED, False),
    ]
    assert docs[2][3] == [TextBlock("hello", "lines 1-1")]


def test_bare_gzip_stream(tmp_path):
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(CSV))
    docs = read_all(path)
    assert [(p, s) for p, s, *_ in docs] == [
        ("export.csv.gz", Status.SCANNED),
        ("export.csv.gz!export.csv", Status.SCANNED),
    ]
    assert docs[1][3] == [TableBlock(("姓名", "手机"), [("张三", "13800138000")], "", 2)]


def test_truncated_gzip_member_is_an_error(tmp_path):
    path = tmp_path / "cut.txt.gz"
    data = gzip.compress(noise(50_000))
    path.write_bytes(data[: len(data) // 2])
    assert statuses(read_all(path))[1] == (
        "cut.txt.gz!cut.txt",
        Status.ERROR,
        "EOFError: truncated or corrupt stream",
    )


py7zr = pytest.importorskip("py7zr")


def test_7z_members(tmp_path):
    path = tmp_path / "bundle.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(CSV, "list.csv")
        archive.writestr(b"note", "readme.txt")
    docs = read_all(path)
    assert sorted((p, s) for p, s, *_ in docs) == [
        ("bundle.7z", Status.SCANNED),
        ("bundle.7z!list.csv", Status.SCANNED),
        ("bundle.7z!readme.txt", Status.SCANNED),
    ]
    assert next(b for p, _, _, b, _ in docs if p.endswith("list.csv"))[0].rows == [("张三", "13800138000")]


def test_encrypted_7z(tmp_path):
    names_visible = tmp_path / "locked.7z"
    with py7zr.SevenZipFile(names_visible, "w", password="secret") as archive:
        archive.writestr(CSV, "list.csv")
    assert statuses(read_all(names_visible)) == [
        ("locked.7z", Status.SCANNED, None),
        ("locked.7z!list.csv", Status.ENCRYPTED, "password-protected archive member"),
    ]
    names_hidden = tmp_path / "hidden.7z"
    with py7zr.SevenZipFile(names_hidden, "w", password="secret", header_encryption=True) as archive:
        archive.writestr(CSV, "list.csv")
    assert statuses(read_all(names_hidden)) == [
        ("hidden.7z", Status.ENCRYPTED, "password-protected 7z archive (encrypted names)")
    ]


def test_gzip_bomb_stops_while_inflating(tmp_path):
    path = tmp_path / "zeros.txt.gz"
    path.write_bytes(gzip.compress(b"\0" * (20 * 1024**2)))
    assert statuses(read_all(path, Limits(ratio_min_bytes=1024**2))) == [
        ("zeros.txt.gz", Status.SCANNED, None),
        ("zeros.txt.gz!zeros.txt", Status.SKIPPED, "archive compression ratio above limit"),
    ]


def test_large_members_spool_to_an_anonymous_temp_file(tmp_path, monkeypatch):
    monkeypatch.setattr("dlpscan.extract.source.SPOOL_MEMORY_BYTES", 1000)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    rows = "".join(f"用户{i},138{i:08d}\n" for i in range(2000))
    path = tmp_path / "big.zip"
    path.write_bytes(make_zip({"list.csv": ("姓名,手机\n" + rows).encode()}))
    docs = iter(open_documents(path, path.name))
    next(docs)
    member = next(docs)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("dlpscan-")]  # spooled to disk
    blocks = list(member.blocks)
    assert sum(len(b.rows) for b in blocks) == 2000
    assert blocks[0].rows[0] == ("用户0", "13800000000")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("dlpscan-")]  # removed once read
