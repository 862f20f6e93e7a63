"""CN_PASSPORT: published passport vectors, plus the traps of the reference.

Policy (cn-pii-reference §5.1): E + 8 characters, G/P/S/D/K + 8 digits, SE/DE/PE/MA + 7 digits,
upper or lower case. No check digit and a common shape, so a label is required: vectors are
scored with 护照号. Other rows of other_ids.csv name document kinds dlpscan has no type for
(HK/Macao/Taiwan ID cards, Taiwan permits, business registration numbers, driving-licence file
numbers): the right decision for them is "none of our types", under their own label.
"""

from __future__ import annotations

import pytest
from _external import NONE, check, csv_rows, engine, keys, params, stale, verdict

ENTITY = "CN_PASSPORT"
OURS = {
    "passport": ("CN_PASSPORT", "护照号："),
    "hk_macao_travel_permit": ("CN_HK_MACAU_PERMIT", "港澳通行证号码："),
}
OTHER_LABELS = {
    "hk_identity_card": "香港身份证号：",
    "macao_identity_card": "澳门身份证号：",
    "tw_national_id": "台湾身份证号：",
    "tw_travel_permit": "台胞证号码：",
    "business_reg_no_15": "营业执照注册号：",
    "driving_licence_file_no": "驾驶证档案编号：",
}
ROWS = [r for r in csv_rows("other_ids.csv") if r.expected in ("valid", "invalid")]


def decide(row) -> tuple[str, str]:
    kind = row.get("kind")
    if kind in OURS:
        entity, label = OURS[kind]
        return verdict(label + row.value, row.value), entity if row.expected == "valid" else NONE
    return verdict(OTHER_LABELS[kind] + row.value, row.value), NONE


@pytest.mark.parametrize("row", params(r for r in ROWS if r.get("kind") != "hk_macao_travel_permit"))
def test_external_vector(row):
    check(row, *decide(row))


def test_no_stale_disagreements():
    """other_ids.csv rows are split between this module and test_cn_hk_macau_permit."""
    assert stale({"other_ids.csv"}, keys(ROWS)) == []


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("护照号：E12345678", [(ENTITY, "E12345678", 4, 13)]),
        ("护照号码 EA1234567", [(ENTITY, "EA1234567", 5, 14)]),
        ("Passport No. G12345678", [(ENTITY, "G12345678", 13, 22)]),
        ("护照：DE1234567", [(ENTITY, "DE1234567", 3, 12)]),
        # typed in lower case: normalised to upper case
        ("护照号码：e12345678", [(ENTITY, "E12345678", 5, 14)]),
        # no label: the shape alone is too common
        ("E12345678", []),
        ("型号 E12345678", []),
        ("订单号 E12345678", []),
        # repeated digits, longer tokens
        ("护照号：E00000000", []),
        ("护照号：E123456789", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected
