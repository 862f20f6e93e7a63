"""The Presidio adapter decides exactly like the fast engine, and both scanner back ends agree.

Findings are compared as (type, start, end, score); failures name text indices, never values.
"""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path

import pytest
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer

from dlpscan.detect.engine import Engine
from dlpscan.detect.presidio import (
    LANGUAGE,
    CompanionNameRecognizer,
    DefinitionRecognizer,
    OfflineNlpEngine,
    analyzer_engine,
    recognizers,
)
from dlpscan.detect.registry import load_definitions
from dlpscan.model import TableBlock

TEXT_CASES = Path(__file__).resolve().parent / "data" / "external" / "text_cases.jsonl"

TEXTS = [
    # labels and exposed values
    "姓名：张三，身份证号：11010519491231002X，手机13912345678",
    "联系人：王小明 电话：010-65123456 邮箱 wang@example.com",
    "卡号 6212345678901265 户名 赵六",
    "收件人: 欧阳娜娜 电话 +86 139 1234 5678 地址：北京市朝阳区建国路88号",
    "护照号：E12345678，港澳通行证：C12345678，回乡证 H12345678",
    "统一社会信用代码：91110000600037341L 法定代表人：李四",
    "车牌京A12345，新能源车牌粤B·D12345，沪A·12345D",
    # traps
    "手机13800138000",
    "订单号：110101199003078670",
    "订单号 2023101012345678901 交易号 6212345678901265",
    "金额 13800138000.00 元，时间戳 1700000000000",
    "IMEI 490154203237518 QQ：13912345678",
    "icon@2x.png logo@3x.webp user@localhost",
    "京A座 北京A12345 浙苏H6F681",
    "400-860-8608 95588 2023-10-10 邮编 310000",
    "A110101199003078670 1101011990030786701 91110000600037341N",
    "622126198506121153\n卡号：622126198506121153",
    "身份证号：110105194912310000 身份证 110105194912310000",
    # masked values
    "110101********123X 138****5678 6222 **** **** 1234 010-6512****",
    "张三 138****5678 李四 1380013****",
    # full-width digits and separators
    "身份证：１１０１０１１９９００３０７８６７０ 手机：１３９１２３４５６７８",
    "ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ （010）6512 3456",
    # prefixes and grouping
    "0086-13912345678 86-13912345678 (+86)13912345678 013912345678",
    "6212 3456 7890 0000 003 / 6212-3456-7890-1265",
    "身份证 110101 19900307 8670；110101 1990 0307 8670",
    # companion names on identifier lines
    "张三 13912345678\n李四 王五 没有号码\n赵六 110101199003078670",
    "车牌号：粤B12345 项目经理 13912345678",
    "王小明、李华 13912345678 张*",
    # names with labels
    "姓名：刘欣䶮 姓名：凯文·杜兰特 联系人：王小明先生",
    "客户：诸葛亮\n甲方：张三丰\n乙方：测试",
    # addresses
    "浙江省杭州市西湖区文三路100号，电话0571-87654321",
    "北京市朝阳区人民法院 北京市朝阳区*** 家住四川省成都市武侯区人民南路四段1号",
    # dense mixed lines
    "张三,110101199003078670,13912345678,6212345678901265,北京市海淀区马连洼街道289号",
    "李四\t11010519491231002x\t139-1234-5678\twang.li@example.org",
    # context windows across lines and negative labels
    "身份证号：\n110101199003078670",
    "运单号\n13912345678",
    "QQ号 13912345678 手机 13912345679",
    # nothing
    "",
    "今天天气很好，我们去公园散步。",
    "1234567890123456789012345",
]

CELLS = [
    ("身份证号", "11010519491231002X"),
    ("身份证", "110105194912310000"),
    ("订单号", "110101199003078670"),
    ("姓名", "张三"),
    ("姓名", "孟  伟"),
    ("姓名", " 王五 "),  # keeps the two engines' cell spans tied together (see test_engine)
    ("姓名", "张*"),
    ("公司名称", "张三"),
    ("护照号", "E12345678"),
    ("手机", "138****5678"),
    ("备注", "13912345678"),
    ("联系电话", "13800138000"),
    ("地址", "北京市朝阳区建国路88号"),
    ("家庭住址", "北京市海淀区马********"),
    ("公司地址", "北京市海淀区马连洼街道289号"),
    ("卡号", "2023101012345678901"),
    ("邮箱", "wang@example.com"),
    ("车牌", "粤B·D12345"),
    ("证件号码", "610104620927690"),
]


def external_texts() -> list[str]:
    with TEXT_CASES.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def as_set(findings) -> list[tuple]:
    return sorted((f.entity_type, f.start, f.end, round(f.score, 6)) for f in findings)


@pytest.fixture(scope="module")
def analyzer() -> AnalyzerEngine:
    return analyzer_engine()


@pytest.fixture(scope="module", params=["re", "hyperscan"])
def fast(request) -> Engine:
    if request.param == "hyperscan":
        pytest.importorskip("hyperscan")
    return Engine(backend=request.param)


def presidio(analyzer: AnalyzerEngine, text: str, context: list[str] | None = None) -> list[tuple]:
    return as_set(analyzer.analyze(text, language=LANGUAGE, context=context))


def test_shared_texts_cover_every_entity_type(fast):
    found = {f.entity_type for t in TEXTS for f in fast.scan_text(t)}
    assert found == {d.entity for d in load_definitions()}


@pytest.mark.parametrize("source", ["own", "external"])
def test_presidio_finds_what_the_fast_engine_finds(fast, analyzer, source):
    texts = TEXTS if source == "own" else external_texts()
    differ = [i for i, t in enumerate(texts) if as_set(fast.scan_text(t)) != presidio(analyzer, t)]
    assert differ == []


@pytest.mark.parametrize(("header", "cell"), CELLS, ids=[h for h, _ in CELLS])
def test_cell_with_header_context_scores_like_the_table_path(fast, analyzer, header, cell):
    table = fast.scan_table(TableBlock(header=(header,), rows=[(cell,)]))
    assert presidio(analyzer, cell, [header]) == as_set(table)


def test_header_context_boosts_and_negative_headers_suppress(analyzer):
    plain = presidio(analyzer, "E12345678")
    boosted = presidio(analyzer, "E12345678", ["护照号码"])
    suppressed = presidio(analyzer, "110101199003078670", ["订单号"])
    assert (plain, boosted, suppressed) == ([], [("CN_PASSPORT", 0, 9, 0.9)], [])


def test_exact_results_and_metadata(analyzer):
    results = analyzer.analyze("姓名：张三 手机138****5678 身份证110101199003078670", language=LANGUAGE)
    got = sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in results)
    assert got == [("CN_MOBILE", 8, 19, 0.95), ("CN_NAME", 3, 5, 0.8), ("CN_RESIDENT_ID", 23, 41, 1.0)]
    masked = {r.entity_type: r.recognition_metadata["dlpscan"]["masked"] for r in results}
    assert masked == {"CN_MOBILE": True, "CN_NAME": False, "CN_RESIDENT_ID": False}


def test_recognizers_are_chinese_and_one_per_definition():
    recs = recognizers()
    defs = load_definitions()
    assert [r.supported_entities for r in recs if isinstance(r, DefinitionRecognizer)] == [
        [d.entity] for d in defs
    ]
    assert [type(r) for r in recs if not isinstance(r, DefinitionRecognizer)] == [CompanionNameRecognizer]
    assert {r.supported_language for r in recs} == {"zh"}


def test_readme_snippet_works_with_a_stock_analyzer_engine():
    analyzer = AnalyzerEngine(supported_languages=["zh"], nlp_engine=OfflineNlpEngine())
    for r in recognizers():
        analyzer.registry.add_recognizer(r)
    results = analyzer.analyze("手机13912345678，身份证110101199003078670", language="zh")
    ours = sorted((r.entity_type, r.start, r.end) for r in results if r.entity_type.startswith("CN_"))
    assert ours == [("CN_MOBILE", 2, 13), ("CN_RESIDENT_ID", 17, 35)]


def test_other_recognizers_keep_presidio_context_enhancement():
    zip_code = PatternRecognizer(
        supported_entity="CN_POSTCODE",
        patterns=[Pattern("postcode", r"(?<!\d)\d{6}(?!\d)", 0.3)],
        context=["邮编"],
        supported_language=LANGUAGE,
    )
    analyzer = analyzer_engine()
    analyzer.registry.add_recognizer(zip_code)
    results = analyzer.analyze("310000", language=LANGUAGE, context=["邮编"])
    assert [(r.entity_type, round(r.score, 6)) for r in results] == [("CN_POSTCODE", 0.65)]


def test_analyzer_engine_is_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    analyzer = analyzer_engine()
    results = analyzer.analyze("邮箱 li.si@example.org 手机 13912345678", language=LANGUAGE)
    assert sorted(r.entity_type for r in results) == ["CN_MOBILE", "EMAIL_ADDRESS"]


def test_offline_nlp_engine_tokenizes_chinese_without_a_segmenter_package():
    nlp = OfflineNlpEngine(languages=["zh"], tokenize=True)
    nlp.load()
    artifacts = nlp.process_text("张三的手机", "zh")
    assert [t.text for t in artifacts.tokens] == ["张", "三", "的", "手", "机"]
    assert artifacts.tokens_indices == [0, 1, 2, 3, 4]
    assert OfflineNlpEngine().process_text("张三", "zh").tokens_indices == []


def generated_text(seed: int, size: int) -> str:
    """Chinese-looking text with planted IDs, phones, cards, names and digit noise (valid and not)."""
    rng = random.Random(seed)
    han = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
    planted = [
        "姓名：张三 身份证号：110101199003078670 手机13912345678",
        "卡号 6212 3456 7890 0000 003 户名 李四",
        "订单号 2023101012345678901 运单号 13912345678",
        "110101********123X 138****5678",
        "ts=1700000000000 金额13800138000.00",
        "王小明 13912345679\n",
        "地址：浙江省杭州市西湖区文三路100号",
        "wang@example.com icon@2x.png 京A12345",
        "622126198506121153 91110000600037341L",
        "１３９１２３４５６７８ ＋８６ １３９ １２３４ ５６７８",
    ]
    parts: list[str] = []
    length = 0
    while length < size:
        r = rng.random()
        if r < 0.05:
            piece = rng.choice(planted)
        elif r < 0.15:
            piece = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 22)))
        elif r < 0.18:
            piece = "\n"
        else:
            piece = "".join(rng.choice(han) for _ in range(rng.randint(4, 30)))
        parts.append(piece)
        length += len(piece) + 1
    return " ".join(parts)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_both_back_ends_agree_on_megabyte_texts(seed):
    pytest.importorskip("hyperscan")
    text = generated_text(seed, 400_000)  # about 1 MB of UTF-8
    by_re = Engine(backend="re").scan_text(text)
    by_hs = Engine(backend="hyperscan").scan_text(text)
    assert len(by_re) > 1000
    assert by_re == by_hs


def test_both_back_ends_agree_on_the_shared_texts():
    pytest.importorskip("hyperscan")
    texts = TEXTS + external_texts()
    by_re, by_hs = Engine(backend="re"), Engine(backend="hyperscan")
    assert [i for i, t in enumerate(texts) if by_re.scan_text(t) != by_hs.scan_text(t)] == []
