"""CN_MOBILE: published phone vectors under our policy, plus the traps of the reference.

Policy (cn-pii-reference §2-3): a mainland mobile number on an assigned personal segment (mobile,
MVNO, data card); 13-digit IoT numbers, service numbers (400/800/168/short codes) and HK/Macao/
Taiwan numbers are not CN_MOBILE. Vectors are scored with the label 电话 (placeholder-like numbers
such as 15011111111 only count with a label).
"""

from __future__ import annotations

import re

import pytest
from _external import (
    NONE,
    PHONE_ROWS,
    Row,
    check,
    decide_mention,
    engine,
    keys,
    masked_output_params,
    mentions,
    params,
    phone_decide,
    stale,
)

ENTITY = "CN_MOBILE"
MOBILE_ROWS = [r for r in PHONE_ROWS if r.get("expected_type") != "fixed_line"]


@pytest.mark.parametrize("row", params(MOBILE_ROWS))
def test_external_vector(row):
    check(row, *phone_decide(row))


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end, f.masked) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Chinese characters right next to the number (no \b problem)
        ("手机13800138000", [(ENTITY, "13800138000", 2, 13, False)]),
        ("电话13912345678转", [(ENTITY, "13912345678", 2, 13, False)]),
        # +86 / 0086 / 86 / (+86) prefixes, separators, a domestic leading 0
        ("+86 139 1234 5678", [(ENTITY, "13912345678", 0, 17, False)]),
        ("+8613912345678", [(ENTITY, "13912345678", 0, 14, False)]),
        ("0086-13912345678", [(ENTITY, "13912345678", 0, 16, False)]),
        ("86-13912345678", [(ENTITY, "13912345678", 0, 14, False)]),
        ("(+86)13912345678", [(ENTITY, "13912345678", 0, 16, False)]),
        ("013912345678", [(ENTITY, "13912345678", 0, 12, False)]),
        ("139-1234-5678", [(ENTITY, "13912345678", 0, 13, False)]),
        # full-width digits
        ("手机：１３９１２３４５６７８", [(ENTITY, "13912345678", 3, 14, False)]),
        # amounts, timestamps, longer numbers
        ("13800138000.00", []),
        ("金额 13912345678.5 元", []),
        ("ts=1700000000000", []),
        ("1700000000000", []),
        ("139123456789", []),
        ("A13912345678", []),
        # IMEI
        ("IMEI:490154203237518", []),
        # QQ, order and waybill numbers
        ("QQ：13912345678", []),
        ("运单号 13912345678", []),
        ("订单号：13912345678", []),
        # IoT (13 digits), unassigned segment, HK number
        ("1440234567890", []),
        ("15412345678", []),
        ("+852 5123 4567", []),
        # masked: counted as masked, never exposed
        ("138****5678", [(ENTITY, "138****5678", 0, 11, True)]),
        ("138 **** 5678", [(ENTITY, "138 **** 5678", 0, 13, True)]),
        ("1380013****", [(ENTITY, "1380013****", 0, 11, True)]),
        ("138xxxx5678", [(ENTITY, "138xxxx5678", 0, 11, True)]),
        # placeholder numbers count only with a label
        ("13800138000", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


def test_no_stale_disagreements():
    """phones.csv rows are split between this module and test_cn_landline; together they cover all."""
    assert stale({"phones.csv"}, keys(PHONE_ROWS)) == []


MENTIONS = mentions("phone", "phone_in_text", "unmasked_input")


def phone_type(row: Row) -> str:
    """A labelled phone is a mobile when its digits (after +86/0086/0) start 1[3-9], else a landline."""
    digits = "".join(ch for ch in row.value if ch.isdigit() or ch in "０１２３４５６７８９")
    return "CN_MOBILE" if re.match(r"(?:0086|86|0)?1[3-9]", digits) else "CN_LANDLINE"


@pytest.mark.parametrize("row", params(MENTIONS))
def test_text_case(row):
    ours, expected = decide_mention(row, phone_type(row))
    assert expected != NONE
    check(row, ours, expected)


@pytest.mark.parametrize("text", masked_output_params())
def test_masked_output_is_never_exposed(text):
    exposed = [
        f for f in engine().scan_text(text) if f.entity_type in (ENTITY, "CN_LANDLINE") and not f.masked
    ]
    assert not exposed


def test_no_stale_text_case_disagreements():
    assert stale({"text_cases.jsonl"}, keys(MENTIONS), {"phone in text"}) == []
