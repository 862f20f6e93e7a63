"""Names wherever exports put them (issue #13 item 1): column names in pinyin and English, role
columns, columns known by their content, forms and transposed sheets, labels padded to line up,
letters, vCards and keys of key=value text; and the columns and words that are not names.

Every value here is made up for the test (fixed fake names, generated IDs with valid check
characters); exact counts throughout.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dlpscan.detect.engine import Engine
from dlpscan.detect.validators import id_check_char
from dlpscan.extract import open_documents
from dlpscan.model import TableBlock

NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞", "徐刚", "孙丽")
NAMES += ("胡军", "朱琳", "高峰", "林涛", "何平", "郭强", "马超", "罗兰", "欧阳青", "诸葛明")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def fake_id(i: int) -> str:
    body = f"110105{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + id_check_char(body)


def fake_mobile(i: int) -> str:
    return f"139{10000000 + i * 7919:08d}"


def names_in(engine: Engine, block) -> list[str]:
    return sorted(f.value for f in engine.scan(block) if f.entity_type == "CN_NAME" and not f.masked)


def people_table(header: tuple[str, ...], n: int = 12, name_columns: int = 1) -> TableBlock:
    rows = []
    for i in range(n):
        names = tuple(NAMES[(i + k * 7) % len(NAMES)] for k in range(name_columns))
        rows.append((*names, fake_id(i), fake_mobile(i))[: len(header)])
    return TableBlock(header, rows)


@pytest.mark.parametrize(
    "column",
    [
        "xm", "KHXM", "khxm", "cust_nm", "userName", "name", "Full Name", "xingming", "借款人", "担保人",
        "对方户名", "接诊医生", "开票人", "处理人", "收件人", "寄件人", "联系人", "法定代表人", "客户",
        "borrower", "guarantor", "payee", "recipient", "consignee", "contact", "customer", "doctor",
    ],
)  # fmt: skip
def test_name_columns_under_pinyin_english_and_role_headers(engine, column):
    block = people_table((column, "证件号码", "手机号"))
    assert names_in(engine, block) == sorted(NAMES[:12])


def test_a_column_of_names_without_a_header_beside_identifiers(engine):
    block = people_table(("", "", ""), n=5)
    assert names_in(engine, block) == sorted(NAMES[:5])
    [f] = [f for f in engine.scan(people_table(("", "", ""), n=3)) if f.value == NAMES[0]]
    assert not f.confirmed  # known from the column's content, not from a header


def test_a_column_of_names_alone_needs_more_evidence(engine):
    only_names = TableBlock(("", ""), [(n, "已办结") for n in NAMES[:12]])
    assert names_in(engine, only_names) == sorted(NAMES[:12])
    few = TableBlock(("", ""), [(n, "已办结") for n in NAMES[:5]])
    assert names_in(engine, few) == []


@pytest.mark.parametrize(
    ("header", "cells"),
    [
        ("城市", ["石家庄", "张家口", "常州", "马鞍山", "江门", "金华", "黄山", "安庆", "许昌", "周口", "白山", "鹤壁"]),
        ("", ["石家庄", "张家口", "常州", "马鞍山", "江门", "金华", "黄山", "安庆", "许昌", "周口", "白山", "鹤壁"]),
        ("", ["王老吉", "康师傅", "王老吉", "金龙鱼", "康师傅", "王老吉", "金龙鱼", "康师傅", "王老吉", "金龙鱼", "王老吉", "康师傅"]),
        ("供应商", ["万迅电脑", "华泰通安", "方正科技", "凌云信息", "立信电子", "万迅电脑", "华泰通安", "方正科技", "凌云信息", "立信电子", "昂歌信息", "迪摩"]),
        ("签收人", ["家门口", "本人", "前台", "快递柜", "门卫", "驿站", "物业", "家门口", "本人", "前台", "代收点", "本人"]),
        ("签收人", ["家门口"]),
    ],
)  # fmt: skip
def test_places_products_companies_and_courier_words_are_not_names(engine, header, cells):
    block = TableBlock((header, "手机"), [(c, fake_mobile(i)) for i, c in enumerate(cells)])
    assert names_in(engine, block) == []


def test_a_role_column_of_names_keeps_its_names_but_not_the_words_among_them(engine):
    cells = [*NAMES[:8], "家门口", "本人"]
    block = TableBlock(("签收人", "手机"), [(c, fake_mobile(i)) for i, c in enumerate(cells)])
    assert names_in(engine, block) == sorted(NAMES[:8])


def test_a_key_value_form_is_read_as_one_person(engine):
    block = TableBlock(
        ("姓名", "张伟", "性别", "男"),
        [
            ("身份证号码", fake_id(1), "联系电话", fake_mobile(1)),
            ("家庭住址", "北京市朝阳区建国路88号", "", ""),
        ],
    )
    found = {(f.entity_type, f.value, f.record) for f in engine.scan(block) if not f.masked}
    assert found == {
        ("CN_NAME", "张伟", 0),
        ("CN_RESIDENT_ID", fake_id(1), 0),
        ("CN_MOBILE", fake_mobile(1), 0),
        ("CN_ADDRESS", "北京市朝阳区建国路88号", 0),
    }


def test_a_transposed_sheet_is_read_one_person_per_column(engine):
    people = range(6)
    block = TableBlock(
        ("姓名", *NAMES[:6]),
        [
            ("性别", *["女"] * 6),
            ("身份证号", *[fake_id(i) for i in people]),
            ("手机号码", *[fake_mobile(i) for i in people]),
        ],
    )
    found = [f for f in engine.scan(block) if not f.masked]
    assert sorted(f.value for f in found if f.entity_type == "CN_NAME") == sorted(NAMES[:6])
    by_person = {}
    for f in found:
        by_person.setdefault(f.record, set()).add(f.entity_type)
    assert by_person == {i: {"CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE"} for i in people}


def test_a_column_that_repeats_one_label_word_is_not_a_form(engine):
    rows = [(NAMES[i], "客户", fake_mobile(i)) for i in range(6)]
    block = TableBlock(("姓名", "类型", "手机"), rows)
    assert names_in(engine, block) == sorted(NAMES[:6])


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("姓　　名：张伟\n身份证号：" + fake_id(3), ["张伟"]),
        ("姓名 王芳 性别 女", ["王芳"]),
        ("尊敬的李娜女士：\n您的账户已开通。", ["李娜"]),
        ("尊敬的刘洋先生，您好", ["刘洋"]),
        ("尊敬的客户：您好", []),
        ("尊敬的用户，您好", []),
        ("联系人：张先生", []),
        ("BEGIN:VCARD\r\nN:陈;静;;;\r\nFN:陈静\r\nEND:VCARD", ["陈静", "陈静"]),
        ('{"userName": "杨磊", "age": 30}', ["杨磊"]),
        ("cust_nm=赵敏&khxm=黄勇&xm=周杰", ["周杰", "赵敏", "黄勇"]),
        ("companyName=吴霞 fileName=徐刚.txt productName=孙丽 cityName=胡军", []),
        ("借款人：朱琳，担保人：高峰，处理人：林涛", ["朱琳", "林涛", "高峰"]),
        ("开户人：刘洋 投诉人:王芳", ["刘洋", "王芳"]),
        ("Dear 张伟,\n马超先生：您好", ["张伟", "马超"]),
        ("张先生：您好", []),
        ("录用通知\n何平 先生/女士：\n您好", ["何平"]),
        (
            'lxr=何平&{"receiver": "郭强", "companyContact": "罗兰", "cardHolder": "胡军"}',
            ["何平", "胡军", "郭强"],
        ),
        ("xhtml=张伟", []),
        ('{"姓名": "李娜"} 操作人=刘洋', ["刘洋", "李娜"]),
    ],
)
def test_names_in_text(engine, text, names):
    assert names_in(engine, _text(text)) == sorted(names)


def _text(text: str):
    from dlpscan.model import TextBlock

    return TextBlock(text)


def test_one_form_per_sheet_in_a_workbook(tmp_path: Path, engine):
    import xlsxwriter

    path = tmp_path / "forms.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for i in range(4):
        ws = wb.add_worksheet(f"表{i + 1}")
        rows = [
            ["个人信息登记表"],
            ["姓名", NAMES[i], "性别", "女"],
            ["身份证号", fake_id(i), "民族", "汉"],
            ["手机", fake_mobile(i)],
        ]
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                ws.write_string(r, c, v)
    wb.close()
    [doc] = list(open_documents(path, "forms.xlsx"))
    findings = [f for b in doc.blocks for f in engine.scan(b) if not f.masked]
    assert sorted(f.value for f in findings if f.entity_type == "CN_NAME") == sorted(NAMES[:4])
    assert len({f.value for f in findings if f.entity_type == "CN_RESIDENT_ID"}) == 4


def test_a_gbk_csv_whose_only_chinese_is_names_is_read_as_chinese(tmp_path: Path, engine):
    rng = random.Random(5)
    lines = ["xingming,shouji"] + [f"{rng.choice(NAMES)},{fake_mobile(i)}" for i in range(150)]
    path = tmp_path / "gbk.csv"
    path.write_bytes("\n".join(lines).encode("gb18030"))
    [doc] = list(open_documents(path, "gbk.csv"))
    names = {f.value for b in doc.blocks for f in engine.scan(b) if f.entity_type == "CN_NAME"}
    assert names == {line.split(",")[0] for line in lines[1:]}


def test_a_sheet_without_a_header_row_keeps_its_first_person(engine):
    rows = [(NAMES[i], "男", f"北京市朝阳区建国路{i + 1}号") for i in range(12)]
    found = [f for f in engine.scan(TableBlock(rows[0], rows[1:])) if f.entity_type == "CN_NAME"]
    assert sorted(f.value for f in found) == sorted(NAMES[:12])
    assert sorted(f.record for f in found) == list(
        range(-1, 11)
    )  # the header row is the row before the first


def test_a_role_column_of_people_and_companies_keeps_the_people(engine):
    cells = [
        NAMES[0],
        "华泰通安科技有限公司",
        NAMES[1],
        "方正科技有限公司",
        NAMES[2],
        "凌云信息技术有限公司",
        NAMES[3],
    ]
    block = TableBlock(("客户", "手机"), [(c, fake_mobile(i)) for i, c in enumerate(cells)])
    assert names_in(engine, block) == sorted(NAMES[:4])


def test_a_name_leading_a_cell_of_a_name_column(engine):
    cells = ["张伟 13912345678", "王芳（经理）", "李娜", "刘洋/销售部"]
    block = TableBlock(("联系人", "序号"), [(c, str(i)) for i, c in enumerate(cells)])
    assert names_in(engine, block) == sorted(["张伟", "王芳", "李娜", "刘洋"])


def test_titles_under_a_name_header_are_not_names(engine):
    cells = ["高等数学", "线性代数", "大学英语", "马克思主义基本原理", "高等数学", "程序设计"]
    block = TableBlock(("name", "学分"), [(c, "4") for c in cells])
    assert names_in(engine, block) == []
