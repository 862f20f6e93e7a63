"""CN_BANK_CARD: published card vectors under our policy, plus the traps of the reference.

Policy (cn-pii-reference §4): 16-19 digits, Luhn, a Chinese issuer BIN; a Luhn-valid number on an
unknown BIN needs a card label, so the vectors are scored with the label 卡号. Rows that are pure
Luhn test vectors (scope `luhn_vector`, any length) are checked against validators.luhn instead.
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

from dlpscan.detect.validators import luhn

ENTITY = "CN_BANK_CARD"
LABEL = "卡号："
ROWS = [r for r in csv_rows("cards.csv") if r.expected in ("valid", "invalid")]


def decide(row) -> tuple[str, str]:
    if row.get("scope") == "luhn_vector":
        ours = "valid" if row.value.isdigit() and luhn(row.value) else "invalid"
        return ours, row.expected
    return verdict(LABEL + row.value, row.value), ENTITY if row.expected == "valid" else NONE


@pytest.mark.parametrize("row", params(ROWS))
def test_external_vector(row):
    check(row, *decide(row))


def test_no_stale_disagreements():
    assert stale({"cards.csv"}, keys(ROWS)) == []


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end, f.masked) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a Chinese BIN and Luhn: no label needed
        ("6228480402564890018", [(ENTITY, "6228480402564890018", 0, 19, False)]),
        ("工资卡6212345678901265发放", [(ENTITY, "6212345678901265", 3, 19, False)]),
        # grouped 4-4-4-4-3 and 4-4-4-4
        ("卡号 6212 3456 7890 0000 003", [(ENTITY, "6212345678900000003", 3, 26, False)]),
        # a length the BIN's issuer does not use needs a label or a header, like an unknown BIN
        ("6212 3456 7890 0000 003", []),
        ("卡号 6212-3456-7890-1265", [(ENTITY, "6212345678901265", 3, 22, False)]),
        # full-width digits
        ("卡号：６２１２３４５６７８９０１２６５", [(ENTITY, "6212345678901265", 3, 19, False)]),
        # an order number that passes Luhn: unknown BIN, so only a card label makes it one
        ("2023101012345678901", []),
        ("订单号 2023101012345678901", []),
        ("卡号：2023101012345678901", [(ENTITY, "2023101012345678901", 3, 22, False)]),
        # a card number under an invoice / transaction label is not a card
        ("发票号码：6212345678901265", []),
        ("交易号 6212345678901265", []),
        # IMEI (15 digits, Luhn-valid) and 13-digit timestamps are not cards
        ("IMEI 490154203237518", []),
        ("1700000000000", []),
        # an amount is not a card
        ("6212345678901265.00", []),
        # quadrupled glyphs from a PDF cover (2011 -> 2222000011111111)
        ("2222000011111111", []),
        # no card inside an 18-character ID or USCC (letter guard)
        ("11010519491231002X", []),
        ("91110000600037341L", [("CN_USCC", "91110000600037341L", 0, 18, False)]),
        # Gansu ID on a card BIN stays an ID without card words
        ("622126198506121153", [("CN_RESIDENT_ID", "622126198506121153", 0, 18, False)]),
        # masked forms: counted as masked, never exposed
        ("6222 **** **** 1234", [(ENTITY, "6222 **** **** 1234", 0, 19, True)]),
        ("622202******1234", [(ENTITY, "622202******1234", 0, 16, True)]),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


def test_masked_card_reports_hidden_digit_count():
    (f,) = engine().scan_text("622202******1234")
    assert (f.masked, f.hidden_digits, f.value) == (True, 6, "622202******1234")


MENTIONS = mentions("bank_card", "unmasked_input")


@pytest.mark.parametrize("row", params(MENTIONS))
def test_text_case(row):
    check(row, *decide_mention(row, ENTITY))


@pytest.mark.parametrize("text", masked_output_params())
def test_masked_output_is_never_exposed(text):
    assert not [f for f in engine().scan_text(text) if f.entity_type == ENTITY and not f.masked]


def test_no_stale_text_case_disagreements():
    assert stale({"text_cases.jsonl"}, keys(MENTIONS), {"bank_card in text"}) == []


def test_corporate_accounts_are_not_cards():
    from dlpscan.model import TableBlock

    card = "6228480402564890018"
    assert [f.value for f in engine().scan_text(f"对公账户：{card}")] == []
    block = TableBlock(("单位名称", "对公账号", "联系人"), [("华东贸易有限公司", card, "")])
    assert [f for f in engine().scan(block) if f.entity_type == ENTITY] == []
    personal = TableBlock(("户名", "账号"), [("王伟", card)])
    assert [f.value for f in engine().scan(personal) if f.entity_type == ENTITY] == [card]
