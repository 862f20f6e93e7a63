"""CN_ADDRESS: an administrative anchor plus a street, number or building component.

External cases: cpca's company addresses and JioNLP/cpca parser inputs scored after the label 地址
(the whole string must be the address); addresses labelled inside sentences, scored in place.
Parser inputs that are only a region (天津市, 河北区) are not addresses under our policy
(cn-pii-reference §8: two levels plus a street or number, or three admin levels).
"""

from __future__ import annotations

import pytest
from _external import (
    NONE,
    check,
    decide_mention,
    engine,
    keys,
    masked_output_params,
    mentions,
    params,
    stale,
    verdict,
    whole_texts,
)

from dlpscan.model import TableBlock

ENTITY = "CN_ADDRESS"
LABEL = "地址："
STRINGS = whole_texts("address", "address_string", "location_parse")
MENTIONS = mentions("address", "address_in_text", "unmasked_input")


def decide_string(row) -> tuple[str, str]:
    return verdict(LABEL + row.value, row.value), ENTITY if row.expected == "address" else NONE


@pytest.mark.parametrize("row", params(STRINGS))
def test_address_string(row):
    check(row, *decide_string(row))


@pytest.mark.parametrize("row", params(MENTIONS))
def test_address_in_text(row):
    check(row, *decide_mention(row, ENTITY))


@pytest.mark.parametrize("text", masked_output_params())
def test_masked_output_is_never_exposed(text):
    assert not [f for f in engine().scan_text(text) if f.entity_type == ENTITY and not f.masked]


def test_no_stale_disagreements():
    assert (
        stale({"text_cases.jsonl"}, keys(STRINGS + MENTIONS), {"address", "not address", "address in text"})
        == []
    )


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end, round(f.score, 6)) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("地址：北京市朝阳区建国路88号", [(ENTITY, "北京市朝阳区建国路88号", 3, 15, 0.8)]),
        # the labelled value stops at a space: what remains is a region, not an address
        ("收货地址: 上海市浦东新区 世纪大道100号", []),
        ("浙江省杭州市西湖区文三路100号", [(ENTITY, "浙江省杭州市西湖区文三路100号", 0, 16, 0.7)]),
        (
            "家住四川省成都市武侯区人民南路四段1号，电话",
            [(ENTITY, "四川省成都市武侯区人民南路四段1号", 2, 19, 0.7)],
        ),
        # a region alone, an organisation name, a masked address
        ("北京市朝阳区", []),
        ("北京市朝阳区人民法院", []),
        ("北京市朝阳区***", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("家庭住址", "北京市海淀区马连洼街道289号", [(ENTITY, "北京市海淀区马连洼街道289号", False)]),
        ("地址", "北京市海淀区马********", [(ENTITY, "北京市海淀区马********", True)]),
        # a company address column is business data
        ("公司地址", "北京市海淀区马连洼街道289号", []),
        ("邮箱地址", "wang@example.com", [("EMAIL_ADDRESS", "wang@example.com", False)]),
    ],
)
def test_address_column(header, value, expected):
    block = TableBlock(header=(header,), rows=[(value,)])
    assert [(f.entity_type, f.value, f.masked) for f in engine().scan_table(block)] == expected
