"""CN_NAME: names only from evidence (a label, a name column, or a direct identifier on the line).

External cases: hutool's and any-rule's name strings scored after the label 姓名 (the whole string
must be the name); hutool's desensitisation input scored as a cell under a 姓名 header; news
sentences (JioNLP's; CLUENER's have no licence and are not vendored), where names have no such
evidence and must not be reported.
"""

from __future__ import annotations

import pytest
from _external import (
    NONE,
    check,
    engine,
    keys,
    masked_output_params,
    mentions,
    params,
    stale,
    text_cases,
    verdict,
    whole_texts,
)

from dlpscan.model import TableBlock

ENTITY = "CN_NAME"
LABEL = "姓名："
STRINGS = whole_texts("name", "name_string")
CELLS = mentions("name", "unmasked_input")


def decide_string(row) -> tuple[str, str]:
    return verdict(LABEL + row.value, row.value), ENTITY if row.expected == "name" else NONE


def cell(header: str, value: str) -> list[tuple]:
    block = TableBlock(header=(header,), rows=[(value,)])
    return [(f.entity_type, f.value, f.masked) for f in engine().scan_table(block)]


@pytest.mark.parametrize("row", params(STRINGS))
def test_name_string(row):
    check(row, *decide_string(row))


@pytest.mark.parametrize("row", params(CELLS))
def test_name_cell(row):
    found = [t for t, v, masked in cell("姓名", row.value) if not masked]
    check(row, found[0] if found else NONE, ENTITY)


def test_news_sentences_give_no_names():
    cases = text_cases("ner")
    named = [i for i, c in cases if any(f.entity_type == ENTITY for f in engine().scan_text(c["text"]))]
    assert named == []


@pytest.mark.parametrize("text", masked_output_params())
def test_masked_output_is_never_exposed(text):
    assert not [f for f in engine().scan_text(text) if f.entity_type == ENTITY and not f.masked]


def test_no_stale_disagreements():
    assert stale({"text_cases.jsonl"}, keys(STRINGS + CELLS), {"name", "not name", "name in text"}) == []


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end, round(f.score, 6)) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("姓名：张三", [(ENTITY, "张三", 3, 5, 0.8)]),
        ("收件人: 欧阳娜娜 电话", [(ENTITY, "欧阳娜娜", 5, 9, 0.8)]),
        ("联系人：王小明先生", [(ENTITY, "王小明", 4, 7, 0.8)]),
        ("姓名：刘欣䶮", [(ENTITY, "刘欣䶮", 3, 6, 0.8)]),  # a CJK Extension A character
        ("姓名：凯文·杜兰特", [(ENTITY, "凯文·杜兰特", 3, 9, 0.64)]),  # a dotted name is one name
        # companion: a surname-led token on a line with an exposed direct identifier
        ("张三 13912345678", [(ENTITY, "张三", 0, 2, 0.6), ("CN_MOBILE", "13912345678", 3, 14, 0.85)]),
        # ... not when the identifier is masked, nor on another line
        ("张三 138****5678", [("CN_MOBILE", "138****5678", 3, 14, 0.6)]),
        ("张三\n13912345678", [("CN_MOBILE", "13912345678", 3, 14, 0.85)]),
        # label words are not names, even with more characters after them
        ("车牌号：粤B12345", [("CN_LICENSE_PLATE", "粤B12345", 4, 11, 0.95)]),
        ("项目经理 13912345678", [("CN_MOBILE", "13912345678", 5, 16, 0.85)]),
        # labels padded to line up, letters, vCards, keys of key=value text and JSON, role labels
        ("姓\u3000\u3000名：张伟", [(ENTITY, "张伟", 5, 7, 0.8)]),
        ("尊敬的李娜女士：", [(ENTITY, "李娜", 3, 5, 0.8)]),
        ("N:陈;静;;;\nFN:陈静", [(ENTITY, "陈静", 2, 5, 0.8), (ENTITY, "陈静", 12, 14, 0.8)]),
        ('{"userName": "杨磊"}', [(ENTITY, "杨磊", 14, 16, 0.8)]),
        ("cust_nm=赵敏&khxm=黄勇", [(ENTITY, "赵敏", 8, 10, 0.8), (ENTITY, "黄勇", 16, 18, 0.8)]),
        ("借款人：朱琳，担保人：高峰", [(ENTITY, "朱琳", 4, 6, 0.8), (ENTITY, "高峰", 11, 13, 0.8)]),
        # keys naming things, salutations of nobody, a surname with an honorific
        ("companyName=吴霞 fileName=徐刚.txt", []),
        ("尊敬的用户：", []),
        ("联系人：张先生", []),
        # no evidence: no name
        ("张三今天来了", []),
        ("王府井", []),
        ("姓名：测试", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("姓名", "张三", [(ENTITY, "张三", False)]),
        # names padded with spaces to line up with three-character names are one name
        ("姓名", "孟  伟", [(ENTITY, "孟伟", False)]),
        ("姓名", "张*", [(ENTITY, "张*", True)]),
        ("客户姓名", "诸葛亮", [(ENTITY, "诸葛亮", False)]),
        # company or product columns are not names
        ("公司名称", "张三", []),
        ("商品名称", "王老吉", []),
        # role and pinyin/English column names
        ("借款人", "朱琳", [(ENTITY, "朱琳", False)]),
        ("cust_nm", "赵敏", [(ENTITY, "赵敏", False)]),
        ("KHXM", "黄勇", [(ENTITY, "黄勇", False)]),
        ("签收人", "家门口", []),
        # not a name
        ("姓名", "未知", []),
        ("姓名", "SHE", []),
    ],
)
def test_name_column(header, value, expected):
    assert cell(header, value) == expected
