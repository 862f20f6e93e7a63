"""CN_HK_MACAU_PERMIT: published HK/Macao permit vectors, plus the traps of the reference.

Policy (cn-pii-reference §5.2-5.3): H/M + 8 digits (+ 2-digit issue count) for the permit of HK
and Macao residents, C + 8 characters for the mainland residents' exit-entry permit, upper or
lower case. A label is required: vectors are scored with 港澳通行证号码.
"""

from __future__ import annotations

import pytest
from _external import check, csv_rows, engine, params
from test_cn_passport import decide

ENTITY = "CN_HK_MACAU_PERMIT"
ROWS = [
    r
    for r in csv_rows("other_ids.csv")
    if r.expected in ("valid", "invalid") and r.get("kind") == "hk_macao_travel_permit"
]


@pytest.mark.parametrize("row", params(ROWS))
def test_external_vector(row):
    check(row, *decide(row))


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("港澳通行证：C12345678", [(ENTITY, "C12345678", 6, 15)]),
        ("通行证号码 CA1234567", [(ENTITY, "CA1234567", 6, 15)]),
        ("回乡证 H12345678", [(ENTITY, "H12345678", 4, 13)]),
        ("回乡证 M1234567801", [(ENTITY, "M1234567801", 4, 15)]),
        ("港澳通行证 h32031177", [(ENTITY, "H32031177", 6, 15)]),
        # no label
        ("C12345678", []),
        ("H12345678", []),
        # wrong shapes
        ("港澳通行证：CI1234567", []),
        ("回乡证 H123456789", []),
        ("港澳通行证：C00000000", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


def test_a_foreign_passport_of_the_same_shape_is_not_a_permit():
    """Korean passports are M + 8 digits: the row's document type decides, not the ID column header."""
    from dlpscan.model import TableBlock

    block = TableBlock(
        ("姓名", "国籍", "证件类型", "证件号码"),
        [
            ("金敏浩", "韩国", "护照", "M12345678"),
            ("陈家豪", "中国香港", "港澳居民来往内地通行证", "H12345678"),
            ("Kim Ji", "KOR", "PASSPORT", "M87654321"),
        ],
    )
    found = [(f.entity_type, f.value) for f in engine().scan(block) if f.entity_type != "CN_NAME"]
    assert found == [(ENTITY, "H12345678")]
