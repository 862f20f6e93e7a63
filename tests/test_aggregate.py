"""Per-file aggregation: confirmed counts (header or label vs pattern alone) and the location sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlpscan.aggregate import LOCATIONS_PER_TYPE, DocumentAggregate, location
from dlpscan.detect.engine import Engine
from dlpscan.detect.registry import load_definitions
from dlpscan.detect.validators import id_check_char
from dlpscan.model import Fingerprints, TableBlock, TextBlock
from dlpscan.pipeline import FileScanner, ScanSettings


def resident_id(serial: int) -> str:
    body = f"11010519900307{serial:03d}"
    return body + id_check_char(body)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_definitions())


def aggregate_of(engine: Engine, *blocks) -> DocumentAggregate:
    agg = DocumentAggregate(engine.definitions, b"k")
    for block in blocks:
        agg.add_block(engine.scan(block), block)
    return agg


def test_confirmed_counts_values_a_label_or_header_named(engine):
    text = TextBlock(f"身份证号：{resident_id(1)}\n其他 {resident_id(2)}\n备注 {resident_id(1)}\n")
    table = TableBlock(header=("证件号码", "备注"), rows=[(resident_id(3), resident_id(4))])
    stats = aggregate_of(engine, text, table).entities(with_fingerprints=False)["CN_RESIDENT_ID"]
    assert (stats.distinct, stats.total, stats.confirmed) == (
        4,
        5,
        2,
    )  # 1 by its label, 3 by its header; 2 and 4 by pattern alone


def test_labelled_names_and_name_columns_are_confirmed_companion_names_are_not(engine):
    text = TextBlock("姓名：张三\n李四 13912345678\n")
    table = TableBlock(header=("姓名",), rows=[("王五",)])
    stats = aggregate_of(engine, text, table).entities(with_fingerprints=False)["CN_NAME"]
    assert (stats.distinct, stats.confirmed) == (3, 2)


@pytest.mark.parametrize(
    ("block", "record", "expected"),
    [
        (TableBlock(header=(), rows=[], location="Sheet1", first_row=2), 10, "Sheet1 row 12"),
        (TableBlock(header=(), rows=[], first_row=5), 0, "row 5"),
        (TextBlock("", "page 3"), 3, "page 3 line 4"),
        (TextBlock("", "", first_line=40), 0, "line 40"),
        (TextBlock("", "lines 101-200"), 4, "line 105"),
        (TextBlock("", "Sheet2 rows 7-9"), 1, "Sheet2 row 8"),
    ],
)
def test_location_of_a_finding(block, record, expected):
    assert location(block, record) == expected


def test_locations_are_a_capped_distinct_sample_without_values(engine):
    lines = "".join(f"手机 139{n:08d}\n" for n in range(10)) + "手机 13900000000\n"
    agg = aggregate_of(engine, TextBlock(lines, "", first_line=20))
    stats = agg.entities(with_fingerprints=False)["CN_MOBILE"]
    assert stats.locations == [f"line {20 + n}" for n in range(LOCATIONS_PER_TYPE)]
    assert all("139" not in place for place in stats.locations)


def test_the_pipeline_fills_locations_and_confirmed(tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "姓名,身份证号,备注\n" + "".join(f"张{c},{resident_id(n)},\n" for n, c in enumerate("一二三")),
        encoding="utf-8",
    )
    (result,) = FileScanner(ScanSettings(key=b"k")).scan_path(path, "customers.csv")
    ids = result.entities["CN_RESIDENT_ID"]
    assert (ids.distinct, ids.confirmed) == (3, 3)
    assert len(ids.locations) == 3 and all(" 2" in p or " 3" in p or " 4" in p for p in ids.locations)


@pytest.mark.parametrize("key", [b"k", b"", b"x" * 64, b"long key " * 20])
def test_batch_fingerprints_equal_hmac_sha256(key):
    from dlpscan.aggregate import Fingerprinter, fingerprint

    values = ["13912345678", "张三", "", "110101199003078670", "张三"]
    tally = Fingerprinter(key).distinct_values()
    tally.add(values, bytes(len(values)))
    assert Fingerprints(tally.digests()) == sorted({fingerprint(key, v) for v in values})
