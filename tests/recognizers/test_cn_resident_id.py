"""CN_RESIDENT_ID: published ID vectors under our policy, plus the traps of the reference.

Policy (cn-pii-reference §1): a strong label is the mode we score the vectors in, because 15-digit
IDs and the published sample numbers only count with one; the region rule is non-strict (a code
need not have existed in the birth year), so the peers' `strict`, `require_18` and `case_strict`
rows describe modes we do not adopt and are left out.
"""

from __future__ import annotations

import pytest
from _external import (
    NONE,
    check,
    csv_rows,
    decide_mention,
    engine,
    keys,
    masked_output_params,
    mentions,
    params,
    stale,
    verdict,
)

from dlpscan.model import TableBlock

ENTITY = "CN_RESIDENT_ID"
LABEL = "身份证号："
NOT_OUR_MODE = {"strict", "require_18", "case_strict"}
ROWS = [
    r
    for r in csv_rows("ids.csv")
    if r.expected in ("valid", "invalid") and r.get("scope") not in NOT_OUR_MODE
]


def decide(row) -> tuple[str, str]:
    return verdict(LABEL + row.value, row.value), ENTITY if row.expected == "valid" else NONE


@pytest.mark.parametrize("row", params(ROWS))
def test_external_vector(row):
    check(row, *decide(row))


def test_no_stale_disagreements():
    assert stale({"ids.csv"}, keys(ROWS)) == []


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end, f.masked, f.damaged) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # valid number, no label needed
        ("110101199003078670", [(ENTITY, "110101199003078670", 0, 18, False, False)]),
        # written in groups of 6-8-4 and 6-4-4-4
        ("身份证 110101 19900307 8670", [(ENTITY, "110101199003078670", 4, 24, False, False)]),
        ("身份证 110101 1990 0307 8670", [(ENTITY, "110101199003078670", 4, 25, False, False)]),
        # full-width digits fold without moving offsets
        (
            "身份证：１１０１０１１９９００３０７８６７０",
            [(ENTITY, "110101199003078670", 4, 22, False, False)],
        ),
        # an order-number label before an ID-shaped number
        ("订单号：110101199003078670", []),
        ("运单号 110101199003078670", []),
        # Excel damage (last 3 digits 000): a damaged candidate with a label, nothing without
        ("身份证号：110105194912310000", [(ENTITY, "110105194912310000", 5, 23, False, True)]),
        ("110105194912310000", []),
        # masked: counted as masked, never exposed
        ("110101********123X", [(ENTITY, "110101********123X", 0, 18, True, False)]),
        ("证件号码 1101**********1234", [(ENTITY, "1101**********1234", 5, 23, True, False)]),
        # published sample number: only with a label; lower-case x is normalised
        ("11010519491231002x", []),
        ("身份证号：11010519491231002x", [(ENTITY, "11010519491231002X", 5, 23, False, False)]),
        # legacy 15-digit number: only with a label
        ("610104620927690", []),
        ("身份证号码：610104620927690", [(ENTITY, "610104620927690", 6, 21, False, False)]),
        # code abolished (110103 崇文区, 2010) before the birth year (2015): strongly down-weighted
        ("110103201501010012", []),
        # a USCC is not an ID
        ("91110000600037341L", [("CN_USCC", "91110000600037341L", 0, 18, False, False)]),
        # Gansu 62xxxx: valid ID that also passes Luhn on a card BIN -> ID, unless a card label
        ("622126198506121153", [(ENTITY, "622126198506121153", 0, 18, False, False)]),
        ("卡号：622126198506121153", [("CN_BANK_CARD", "622126198506121153", 3, 21, False, False)]),
        # no match inside longer tokens, digits or letters on either side
        ("A110101199003078670", []),
        ("1101011990030786701", []),
        ("id:110101199003078670B", []),
        ("110101199003078670.5", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


def test_damaged_id_under_an_id_header_is_damaged_not_exposed():
    block = TableBlock(header=("姓名", "身份证号"), rows=[("张三", "110105194912310000")])
    found = [(f.entity_type, f.damaged, f.masked, f.column) for f in engine().scan_table(block)]
    assert (ENTITY, True, False, 1) in found
    assert all(not (t == ENTITY and not d) for t, d, _, _ in found)


def test_order_number_header_suppresses_an_id_shaped_cell():
    block = TableBlock(header=("订单号",), rows=[("110101199003078670",)])
    assert engine().scan_table(block) == []


MENTIONS = mentions("id_card", "id_in_text", "unmasked_input")


@pytest.mark.parametrize("row", params(MENTIONS))
def test_text_case(row):
    check(row, *decide_mention(row, ENTITY))


@pytest.mark.parametrize("text", masked_output_params())
def test_masked_output_is_never_exposed(text):
    assert not [f for f in engine().scan_text(text) if f.entity_type == ENTITY and not f.masked]


def test_no_stale_text_case_disagreements():
    assert stale({"text_cases.jsonl"}, keys(MENTIONS), {"id_card in text"}) == []
