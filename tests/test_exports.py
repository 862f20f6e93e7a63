"""Exports that libmagic calls application/octet-stream (issue #13 item 2): Hive/Spark text with
\\x01 delimiters and no name extension, other delimiters, fixed-width bank batch files, Parquet and
Avro. Nothing that is text is skipped; what is not text still is. Exact counts on generated files.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dlpscan.detect.validators import id_check_char
from dlpscan.extract.decode import looks_like_text
from dlpscan.extract.sniff import sniff
from dlpscan.model import Status
from dlpscan.pipeline import FileScanner, ScanSettings

NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞", "徐刚", "孙丽")
CARD_BODY = "622202"


def fake_id(i: int) -> str:
    body = f"320102{1970 + i}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i:03d}"
    return body + id_check_char(body)


def fake_mobile(i: int) -> str:
    return f"1381234{i:04d}"


def fake_card(i: int) -> str:
    digits = CARD_BODY + f"{i:012d}"
    total = sum(
        d if k % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2)
        for k, d in enumerate(int(c) for c in reversed(digits))
    )
    return digits + str((10 - total % 10) % 10)


PEOPLE = [(NAMES[i], fake_id(i), fake_mobile(i), fake_card(i)) for i in range(len(NAMES))]


@pytest.fixture(scope="module")
def scanner() -> FileScanner:
    return FileScanner(ScanSettings(key=b"k"))


def distinct(scanner: FileScanner, path: Path) -> tuple[str, str, dict[str, int]]:
    [result] = scanner.scan_path(path, path.name)
    return result.status, result.media_type, {t: s.distinct for t, s in result.entities.items()}


@pytest.mark.parametrize(("name", "sep"), [("000000_0", "\x01"), ("part-00001", "\x1f"), ("dump", "^")])
def test_delimited_exports_without_a_name_extension_or_header(tmp_path, scanner, name, sep):
    path = tmp_path / name
    path.write_text(
        "".join(sep.join((str(i), n, pid, m, "\\N")) + "\n" for i, (n, pid, m, _) in enumerate(PEOPLE))
    )
    status, media_type, found = distinct(scanner, path)
    assert (status, media_type) == (Status.SCANNED, "text/plain" if sep != "^" else media_type)
    assert found == {"CN_NAME": 12, "CN_RESIDENT_ID": 12, "CN_MOBILE": 12}


def test_pipe_delimited_dat_file(tmp_path, scanner):
    path = tmp_path / "khxx.dat"
    lines = ["XM|ZJHM|SJHM"] + ["|".join(p[:3]) for p in PEOPLE]
    path.write_bytes("\n".join(lines).encode("gb18030"))
    assert distinct(scanner, path)[2] == {"CN_NAME": 12, "CN_RESIDENT_ID": 12, "CN_MOBILE": 12}


def test_binary_octet_stream_is_still_not_read(tmp_path, scanner):
    path = tmp_path / "blob"
    path.write_bytes(random.Random(1).randbytes(4096))
    [result] = scanner.scan_path(path, "blob")
    assert (result.status, result.reason) == (Status.SKIPPED, "no extractor for application/octet-stream")


def test_what_looks_like_text():
    assert looks_like_text("张伟\x01110105\x01北京\n".encode())
    assert looks_like_text("张伟,北京\n".encode("gb18030") * 20)
    assert not looks_like_text(bytes(range(256)) * 4)
    assert not looks_like_text(b"PK\x03\x04" + b"\x00\x14\x00" * 50)


def _batch_line(i: int, name: str, pid: str, mobile: str, card: str) -> str:
    """A record of a fixed-width pay batch: fields padded to byte widths (a Han character is two
    bytes in GBK), the ID, mobile and amount glued together."""
    padded = name + " " * (10 - 2 * len(name))
    return f"D{i:06d}{card:<19}{padded}{pid}{mobile}{1000 + i:012d}"


def test_fixed_width_gbk_batch_file(tmp_path, scanner):
    lines = ["H20240101PAYROLL" + " " * 20] + [_batch_line(i, *p) for i, p in enumerate(PEOPLE)] + ["T000012"]
    lines[4] = _batch_line(3, "欧阳青", fake_id(3), fake_mobile(3), fake_card(3))  # a three-character name
    path = tmp_path / "PAY_20240101.dat"
    path.write_bytes("\r\n".join(lines).encode("gb18030"))
    status, _, found = distinct(scanner, path)
    assert status == Status.SCANNED
    assert found == {"CN_NAME": 12, "CN_RESIDENT_ID": 12, "CN_MOBILE": 12, "CN_BANK_CARD": 12}


def test_parquet_export(tmp_path, scanner):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "cust_id": list(range(len(PEOPLE))),
            "cust_nm": [p[0] for p in PEOPLE],
            "cert_no": [p[1] for p in PEOPLE],
            "mobile_no": [int(p[2]) for p in PEOPLE],
            "extra": [{"card": p[3]} for p in PEOPLE],
        }
    )
    path = tmp_path / "part-00000-c000.snappy.parquet"
    pq.write_table(table, path)
    assert sniff(path) == "application/vnd.apache.parquet"
    status, _, found = distinct(scanner, path)
    assert status == Status.SCANNED
    assert found == {"CN_NAME": 12, "CN_RESIDENT_ID": 12, "CN_MOBILE": 12, "CN_BANK_CARD": 12}


def test_avro_export(tmp_path, scanner):
    fastavro = pytest.importorskip("fastavro")
    schema = {
        "type": "record",
        "name": "Cust",
        "fields": [
            {"name": "xm", "type": "string"},
            {"name": "sfzh", "type": "string"},
            {"name": "card", "type": ["null", "string"]},
            {"name": "raw", "type": "bytes"},
        ],
    }
    path = tmp_path / "cust.avro"
    with path.open("wb") as f:
        fastavro.writer(
            f, schema, [{"xm": p[0], "sfzh": p[1], "card": p[3], "raw": p[2].encode()} for p in PEOPLE]
        )
    assert sniff(path) == "application/avro"
    status, _, found = distinct(scanner, path)
    assert status == Status.SCANNED
    assert found == {"CN_NAME": 12, "CN_RESIDENT_ID": 12, "CN_BANK_CARD": 12, "CN_MOBILE": 12}


def test_a_broken_parquet_file_is_an_error_with_a_reason(tmp_path, scanner):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + random.Random(2).randbytes(300) + b"PAR1")
    [result] = scanner.scan_path(path, path.name)
    assert result.status == Status.ERROR and "cannot read Parquet" in (result.reason or result.error or "")


def test_fixed_width_and_glued_columns_are_linear():
    """Long fixed-width lines and cells of glued digits as long as a glued column may be."""
    from fuzz import seeds
    from fuzz.ratio import MAX_RATIO, per_byte_ratio

    wide = "".join(f"D{i:06d}{'7' * 60}张伟{'8' * 300}\n" for i in range(3_000)).encode()
    glued = "".join(
        f"D{i:06d}{fake_id(i % 12)}{fake_mobile(i)}{fake_card(i)}{i:012d}\n" for i in range(6_000)
    ).encode()
    for data in (wide, glued):
        assert per_byte_ratio("fixedwidth", data, seeds.normal("text", len(data))) < MAX_RATIO


def test_xml_records_as_repeated_elements_with_attributes(tmp_path, scanner):
    items = "".join(f'<customer name="{n}" phone="{m}" idno="{pid}"/>' for n, pid, m, _ in PEOPLE)
    path = tmp_path / "customers.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><list>{items}<note>x</note></list>', encoding="utf-8"
    )
    assert distinct(scanner, path)[2] == {"CN_NAME": 12, "CN_RESIDENT_ID": 12, "CN_MOBILE": 12}


def test_xml_record_with_a_repeated_field_keeps_every_value(tmp_path, scanner):
    people = "".join(
        f"<person><xm>{n}</xm><sjh>{m}</sjh><sjh>{fake_mobile(100 + i)}</sjh></person>"
        for i, (n, _, m, _) in enumerate(PEOPLE)
    )
    path = tmp_path / "people.xml"
    path.write_text(f"<people>{people}</people>", encoding="utf-8")
    assert distinct(scanner, path)[2] == {"CN_NAME": 12, "CN_MOBILE": 24}
