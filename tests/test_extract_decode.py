"""Encoding detection, media-type sniffing, and fuzzing: random bytes never raise."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlpscan.extract import Limits, open_documents
from dlpscan.extract.decode import detect_encoding, open_text, sample_of
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.sniff import sniff
from dlpscan.model import Status

CN = "客户姓名：张伟，手机号码 13800138000，地址：广东省深圳市南山区科技园路1号。\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CN.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + CN.encode("utf-8"), "utf-8-sig"),
        (CN.encode("utf-16"), "utf-16"),
        (CN.encode("utf-16-le") * 3, "utf-16-le"),
        ("id,mobile\n1,13800138000\n".encode("utf-16-be") * 3, "utf-16-be"),
        (CN.encode("gbk"), "gb18030"),
        ("张伟 13800138000\n".encode("gbk"), "gb18030"),  # short: charset-normalizer alone says Big5
        ("客戶姓名：陳大文，身分證字號 A123456789，聯絡電話 0912345678。\n".encode("big5") * 8, "big5hkscs"),
        (b"plain ascii 13800138000\n", "utf-8"),
    ],
)
def test_detect_encoding(data, expected):
    assert detect_encoding([data]) == expected
    assert data.decode(expected) is not None


def test_gbk_after_a_long_ascii_head_is_found_by_the_tail_sample():
    data = b"id,mobile\n" + b"1,13800138000\n" * 20_000 + CN.encode("gbk") * 50
    f = io.BytesIO(data)
    encoding = detect_encoding(sample_of(f, len(data)))
    assert encoding == "gb18030"
    assert open_text(f, encoding).read().endswith(CN)


def test_sniff_bytes_and_refinements(tmp_path):
    assert sniff(b"") == "application/x-empty"
    assert sniff(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n") == "application/pdf"
    assert sniff(b"a,b\n1,2\n", name="x.csv") == "text/csv"
    assert sniff(b"a\tb\n1\t2\n", name="x.tsv") == "text/tab-separated-values"
    assert sniff(b"a b c\n", name="x.txt") == "text/plain"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.bin", b"\0")
    assert sniff(buf.getvalue()) == "application/vnd.ms-excel.sheet.binary.macroEnabled.12"
    path = tmp_path / "data.bin"
    path.write_bytes(buf.getvalue())
    assert sniff(path) == "application/vnd.ms-excel.sheet.binary.macroEnabled.12"


def test_a_file_is_sniffed_by_its_first_megabyte_as_its_bytes_are(tmp_path):
    """libmagic reads up to 7 MiB of a file by path; dlpscan hands it the first MiB of files and of
    archive members alike, so a large file costs what a small one does and both are typed alike."""
    prose = ("客户回访记录，本季度工作进展顺利。\n" * 40_000).encode("utf-8")  # about 2 MB
    path = tmp_path / "notes"
    path.write_bytes(prose + b"\x00\x01\x02" * 1000)
    assert sniff(path) == sniff(prose[: 1024**2]) == "text/plain"


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=3))
def test_random_bytes_always_decode(parts):
    encoding = detect_encoding(parts)
    for p in parts:
        assert isinstance(p.decode(encoding, errors="replace"), str)


SUFFIXES = [".txt", ".csv", ".json", ".xml", ".sql", ".html", ".xlsx", ".pdf", ".zip", ".eml", ".log", ""]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=1000).map(lambda t: t.encode("utf-8")),
        st.text(alphabet=",;\t\n\"'{}[]<>()=:abc01张三", max_size=500).map(lambda t: t.encode("gb18030")),
    ),
    st.sampled_from(SUFFIXES),
)
def test_random_files_never_raise_out_of_extract(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        for doc in open_documents(path, path.name, Limits(max_decode_seconds=30)):
            assert isinstance(doc.status, Status)
            try:
                for _ in doc.blocks:
                    pass
            except ExtractError:
                pass
