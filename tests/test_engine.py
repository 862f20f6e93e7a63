"""The fast engine: exact findings for text and table blocks, records, context limits, back ends."""

from __future__ import annotations

import pytest

from dlpscan.detect.backends import openings
from dlpscan.detect.engine import Engine
from dlpscan.detect.registry import load_definitions
from dlpscan.model import TableBlock, TextBlock


@pytest.fixture(scope="module", params=["re", "hyperscan"])
def engine(request) -> Engine:
    if request.param == "hyperscan":
        pytest.importorskip("hyperscan")
    return Engine(backend=request.param)


def rows(findings) -> list[tuple]:
    return [
        (f.entity_type, f.value, f.start, f.end, round(f.score, 6), f.masked, f.damaged, f.record, f.column)
        for f in findings
    ]


def test_backend_names(engine):
    assert engine.backend in ("re", "hyperscan")
    assert Engine(backend="re").backend == "re"


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match="unknown detection backend"):
        Engine(backend="pcre")


def test_text_findings_carry_line_numbers_and_companion_names(engine):
    text = "第一行\n张三 13912345678\n身份证号：\n110101199003078670"
    assert rows(engine.scan_text(text)) == [
        ("CN_NAME", "张三", 4, 6, 0.6, False, False, 1, None),
        ("CN_MOBILE", "13912345678", 7, 18, 0.85, False, False, 1, None),
        # a value that opens its line reads its label from the line before
        ("CN_RESIDENT_ID", "110101199003078670", 25, 43, 1.0, False, False, 3, None),
    ]


def test_scan_dispatches_on_the_block_type(engine):
    assert rows(engine.scan(TextBlock("手机13912345678"))) == [
        ("CN_MOBILE", "13912345678", 2, 13, 1.0, False, False, 0, None)
    ]
    table = TableBlock(header=("手机",), rows=[("13912345678",)])
    assert rows(engine.scan(table)) == [("CN_MOBILE", "13912345678", 0, 11, 1.0, False, False, 0, 0)]


def test_table_headers_rows_and_columns(engine):
    block = TableBlock(
        header=("姓名", "身份证号", "手机", "备注"),
        rows=[
            ("张三", "110101199003078670", "13912345678", "订单号"),
            ("李四", "11010519491231002X", "138****5678", "110101199003078670"),
        ],
    )
    assert rows(engine.scan_table(block)) == [
        ("CN_RESIDENT_ID", "110101199003078670", 3, 21, 1.0, False, False, 0, 1),
        ("CN_MOBILE", "13912345678", 22, 33, 1.0, False, False, 0, 2),
        ("CN_RESIDENT_ID", "11010519491231002X", 41, 59, 0.77, False, False, 1, 1),
        ("CN_MOBILE", "138****5678", 60, 71, 1.0, True, False, 1, 2),
        # the 订单号 cell of the row above does not reach into this row
        ("CN_RESIDENT_ID", "110101199003078670", 72, 90, 0.9, False, False, 1, 3),
        ("CN_NAME", "张三", 0, 2, 0.9, False, False, 0, 0),
        ("CN_NAME", "李四", 38, 40, 0.9, False, False, 1, 0),
    ]


def test_cells_of_the_same_row_are_context(engine):
    block = TableBlock(header=("", ""), rows=[("身份证号", "110101199003078670"), ("订单号", "13912345678")])
    assert rows(engine.scan_table(block)) == [
        ("CN_RESIDENT_ID", "110101199003078670", 5, 23, 1.0, False, False, 0, 1)
    ]


def test_ragged_rows_and_missing_headers(engine):
    block = TableBlock(header=("姓名",), rows=[("张三", "13912345678"), ()])
    assert rows(engine.scan_table(block)) == [
        ("CN_MOBILE", "13912345678", 3, 14, 0.85, False, False, 0, 1),
        ("CN_NAME", "张三", 0, 2, 0.9, False, False, 0, 0),
    ]


def test_overlaps_resolve_to_one_finding(engine):
    # one span, several candidate types: the best (score, priority, length) wins
    assert [f.entity_type for f in engine.scan_text("622126198506121153")] == ["CN_RESIDENT_ID"]
    assert [f.entity_type for f in engine.scan_text("卡号：622126198506121153")] == ["CN_BANK_CARD"]


def test_a_subset_of_definitions():
    only = [d for d in load_definitions() if d.entity == "CN_MOBILE"]
    engine = Engine(only, backend="re")
    assert [f.entity_type for f in engine.scan_text("张三 13912345678 110101199003078670")] == ["CN_MOBILE"]


def test_repeated_scans_are_identical(engine):
    text = "张三 13912345678\n" * 50 + "地址：北京市朝阳区建国路88号\n" * 50
    assert engine.scan_text(text) == engine.scan_text(text)


def test_cell_span_skips_leading_whitespace(engine):
    (f,) = engine.scan_table(TableBlock(header=("姓名",), rows=[(" 王五 ",)]))
    assert (f.start, f.end) == (1, 3)


def test_masked_id_hidden_digits_exclude_the_check_character(engine):
    (f,) = engine.scan_text("110101********123X")
    assert (f.masked, f.hidden_digits) == (True, 8)


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        (r"(?<![0-9])1[3-9]\d{9}", {"1"}),
        (r"(?:\+|00)?86[ -]?1\d{10}", {"+", "00", "86"}),
        (r"(?:姓名|收件人)[:=](?P<value>\w+)", {"姓名", "收件人"}),
        (r"[HM]\d{8}", {"H", "M"}),
        (r"x*y", {"x", "y"}),
    ],
)
def test_openings_of_a_pattern(regex, expected):
    assert openings(regex) == expected


@pytest.mark.parametrize("regex", [r"(?i)address", r"[^,]+", r".*x", r"\w+"])
def test_openings_unknown_fall_back_to_the_full_alternation(regex):
    assert openings(regex) is None


def test_hyperscan_database_is_cached_and_a_damaged_entry_recompiled(tmp_path, monkeypatch):
    pytest.importorskip("hyperscan")
    from dlpscan.detect import hs_cache

    monkeypatch.setenv(hs_cache.CACHE_ENV, str(tmp_path))
    defs = load_definitions()
    first = Engine(defs, backend="hyperscan")
    entries = sorted(tmp_path.glob("hs-*.db"))  # the guarded and the open database
    assert len(entries) == 2
    stored = [entry.read_bytes() for entry in entries]
    assert Engine(defs, backend="hyperscan").scan_text("手机13912345678") == first.scan_text(
        "手机13912345678"
    )
    assert [entry.read_bytes() for entry in entries] == stored  # loaded, not rewritten
    for entry in entries:
        entry.write_bytes(b"not a database")
    again = Engine(defs, backend="hyperscan")
    assert [f.value for f in again.scan_text("手机13912345678")] == ["13912345678"]
    assert [entry.read_bytes() for entry in entries] == stored
    assert not list(tmp_path.glob(".hs-*"))  # no temporary files left behind


def test_hyperscan_cache_key_follows_expressions_and_library():
    from dlpscan.detect.hs_cache import cache_key

    base = cache_key([b"a", b"b"], [1, 1], "0.9.1")
    assert base == cache_key([b"a", b"b"], [1, 1], "0.9.1")
    others = {
        cache_key([b"ab"], [1], "0.9.1"),
        cache_key([b"a", b"b"], [1, 3], "0.9.1"),  # one pattern's flags (its start of match) changed
        cache_key([b"a", b"b"], [1, 1], "0.9.2"),
    }
    assert len({base, *others}) == 4


def test_an_unwritable_cache_folder_still_scans(tmp_path, monkeypatch):
    pytest.importorskip("hyperscan")
    from dlpscan.detect import hs_cache

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(hs_cache.CACHE_ENV, str(blocker / "sub"))
    engine = Engine(load_definitions(), backend="hyperscan")
    assert [f.value for f in engine.scan_text("手机13912345678")] == ["13912345678"]


def test_name_validation_reads_the_label_words_of_user_recognizers(tmp_path):
    (tmp_path / "employee_no.yaml").write_text(
        "entity: EMPLOYEE_NO\n"
        "description: staff number\n"
        "normaliser: upper_alnum\n"
        "patterns:\n"
        "  - {name: staff, regex: '(?<![0-9A-Za-z])E\\d{6}(?![0-9A-Za-z])', score: 0.4}\n"
        "context:\n  words: [王工]\n",
        encoding="utf-8",
    )
    block = TableBlock(header=("姓名",), rows=[("王工号",)])
    assert [f.value for f in Engine(load_definitions()).scan(block)] == ["王工号"]
    assert Engine(load_definitions([tmp_path])).scan(block) == []


def test_whole_cells_are_read_only_under_a_header_naming_one_cell_type():
    from dlpscan.detect.decide import whole_cell_types

    defs = load_definitions()
    names = [d.entity for d in whole_cell_types({"CN_NAME": 1, "CN_ADDRESS": 0}, defs)]
    assert names == ["CN_NAME"]
    assert whole_cell_types({"CN_NAME": 1, "CN_ADDRESS": 1}, defs) == []
    assert whole_cell_types({"CN_NAME": 1, "CN_MOBILE": 1}, defs) == []  # the header is ambiguous
    assert whole_cell_types({"CN_MOBILE": 1}, defs) == []  # not a cell detector


def test_a_header_seen_before_decides_a_new_block_as_on_a_fresh_engine():
    header = ("客户", "备注", "手机")
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
    people = [
        ("张" + a, "王" + b, f"139{i:08d}")
        for i, (a, b) in enumerate(zip(given, reversed(given), strict=True))
    ]
    names = TableBlock(header, people)
    remarks = [
        "已回访",
        "待跟进",
        "已签约",
        "无意向",
        "再联系",
        "已流失",
        "需报价",
        "已付款",
        "已发货",
        "待审核",
    ]
    remarks += ["已退款", "已关闭", "新客户"]
    notes = (
        TableBlock(  # a third of the 备注 cells are names: a names column under its header, not by content
            header, [(a, people[i][1] if i < 7 else remarks[i - 7], m) for i, (a, _, m) in enumerate(people)]
        )
    )
    seen = Engine()
    first = seen.scan(names)  # the 备注 column is read as names by its content, in this block only
    assert any(f.entity_type == "CN_NAME" and f.column == 1 for f in first)
    assert seen.scan(notes) == Engine().scan(notes)
    assert seen.scan(names) == first


@pytest.mark.parametrize("compiled", [False, True])
def test_backends_agree_where_a_rejected_match_holds_a_shorter_one(compiled):
    """ "+86 139 …" after an order number is no mobile from "+", but "139 …" inside it is. `re` visits
    every start; Hyperscan must propose the inner one too (a leftmost start of match alone hides it)."""
    pytest.importorskip("hyperscan")
    from test_differential import mixed_text

    defs = load_definitions()
    text = "订单号 19112  +86 139 2058 6784\t地址"
    by_re = Engine(defs, "re", compiled=compiled).scan_text(text)
    assert [(f.entity_type, f.value) for f in by_re] == [("CN_MOBILE", "13920586784")]
    assert Engine(defs, "hyperscan", compiled=compiled).scan_text(text) == by_re
    mixed = mixed_text(0, 1500)
    assert Engine(defs, "hyperscan", compiled=compiled).scan_text(mixed) == Engine(
        defs, "re", compiled=compiled
    ).scan_text(mixed)
