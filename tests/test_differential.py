"""The compiled candidate loop (dlpscan/detect/_core.pyx) against the pure-Python reference loop.

Both must return identical findings (type, value, span, score, flags, record, column, confirmed) on
every text and table: the traps of the recognizer tests, the hard negatives and cells of the Presidio
tests, and generated text and tables that mix valid and invalid values, labels, negative labels, masks,
full-width forms, cased non-ASCII letters next to labels and line and cell boundaries.
`Engine(compiled=True)` needs the built extension even when DLPSCAN_PURE_PYTHON is set (CI runs this
file that way too, so the rest of the suite exercises the pure path).
"""

from __future__ import annotations

import importlib
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_compiled_checks import names
from test_presidio import CELLS, TEXTS, generated_text

from dlpscan.detect import backends
from dlpscan.detect.engine import Engine
from dlpscan.detect.layout import table_layout
from dlpscan.detect.registry import load_definitions
from dlpscan.detect.validators import id_check_char
from dlpscan.model import TableBlock

pytest.importorskip("dlpscan.detect._core", reason="the compiled loop is not built (no C compiler)")

RECOGNIZER_TESTS = Path(__file__).parent / "recognizers"
BACKENDS = ["re", "hyperscan"]


@pytest.fixture(scope="module", params=BACKENDS)
def engines(request) -> tuple[Engine, Engine]:
    if request.param == "hyperscan":
        pytest.importorskip("hyperscan")
    defs = load_definitions()
    return Engine(defs, request.param, compiled=False), Engine(defs, request.param, compiled=True)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item)


def recognizer_cases() -> list[tuple[str, ...]]:
    """The string arguments of every parametrized recognizer test (traps, headers and cells)."""
    sys.path.insert(0, str(RECOGNIZER_TESTS))
    cases: list[tuple[str, ...]] = []
    for path in sorted(RECOGNIZER_TESTS.glob("test_*.py")):
        module = importlib.import_module(path.stem)
        for name in dir(module):
            for mark in getattr(getattr(module, name), "pytestmark", []):
                if mark.name == "parametrize" and len(mark.args) >= 2:
                    for argvalues in mark.args[1]:
                        values = argvalues.values if hasattr(argvalues, "values") else argvalues
                        strings = tuple(_strings(values))
                        if strings:
                            cases.append(strings)
    return cases


CASES = recognizer_cases()


def test_the_recognizer_tests_provide_cases():
    assert len(CASES) > 100


def test_recognizer_traps_as_text(engines):
    pure, compiled = engines
    texts = [s for case in CASES for s in case] + TEXTS
    assert [t for t in texts if pure.scan_text(t) != compiled.scan_text(t)] == []
    joined = "\n".join(texts)  # labels of one case now sit on the line before the next
    assert pure.scan_text(joined) == compiled.scan_text(joined)


def test_recognizer_cases_as_tables(engines):
    pure, compiled = engines
    tables = [TableBlock(header=(case[0],), rows=[case[1:]]) for case in CASES if len(case) >= 2]
    tables += [TableBlock(header=(h,), rows=[(c,)]) for h, c in CELLS]
    assert [t for t in tables if pure.scan(t) != compiled.scan(t)] == []


def resident_id(rng: random.Random, valid: bool = True) -> str:
    body = f"{rng.choice(['110101', '310104', '440305', '510107', '999999'])}{rng.randint(1940, 2015)}"
    body += f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    check = id_check_char(body)
    return body + (check if valid else rng.choice("0123456789X".replace(check, "")))


def luhn_card(rng: random.Random) -> str:
    digits = [int(c) for c in rng.choice(["622202", "621700", "436742", "625807"])]
    digits += [rng.randint(0, 9) for _ in range(rng.choice([9, 10, 12]))]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


LABELS = [
    "身份证号：",
    "手机：",
    "卡号 ",
    "订单号 ",
    "运单号：",
    "QQ ",
    "ts=",
    "电话 ",
    "姓名：",
    "地址：",
    "护照 ",
    "ΣΊΣΥΦΟΣ 手机",
    "ID NO ",
    "Tel:",
    "流水号",
    "Кард ",
    "ｃａｒｄ：",
    "户名 ",
    "联系人：",
]


def value(rng: random.Random) -> str:
    return rng.choice(
        [
            lambda: resident_id(rng),
            lambda: resident_id(rng, valid=False),
            lambda: luhn_card(rng),
            lambda: f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}",
            lambda: (
                f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}"
            ),
            lambda: f"0{rng.choice(['10', '21', '571', '755'])}-{rng.randint(2_000_000, 89_999_999)}",
            lambda: f"{resident_id(rng)[:6]}********{rng.randint(0, 9999):04d}",
            lambda: f"13{rng.randint(0, 9)}****{rng.randint(0, 9999):04d}",
            lambda: rng.choice(["张三", "欧阳娜娜", "王小明", "李四", "诸葛亮", "凯文·杜兰特", "车牌号"]),
            lambda: rng.choice(
                ["北京市朝阳区建国路88号", "浙江省杭州市西湖区文三路100号", "广东省深圳市南山区"]
            ),
            lambda: rng.choice(["wang@example.com", "icon@2x.png", "粤B·D12345", "京A12345", "E12345678"]),
            lambda: "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 24))),
            lambda: "".join(chr(0xFF10 + int(c)) for c in resident_id(rng)[:17]) + "X",
            lambda: rng.choice(
                ["6666666666666666", "6262626262626262", "6222 2222 2222 2222", "13888888888"]
            ),
            lambda: rng.choice(["14912345678", "1064812345678", "13800138000", "19912345678"]),
        ]
    )()


def mixed_text(seed: int, lines: int) -> str:
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(LABELS) if rng.random() < 0.6 else "")
            parts.append(value(rng))
            parts.append(rng.choice(["，", " ", "\t", ",", "；", "\x1f", "", "  ", "我们去公园"]))
        out.append("".join(parts))
    return rng.choice(["\n", "\r\n", "\n\n"]).join(out)


@pytest.mark.parametrize("seed", range(6))
def test_generated_text(engines, seed):
    pure, compiled = engines
    text = mixed_text(seed, 3000)
    found = compiled.scan_text(text)
    assert len(found) > 2000
    assert pure.scan_text(text) == found


def test_companion_name_tokens(engines):
    """Han tokens beside an identifier, drawn from the surnames, stop words, label words and endings
    that the name check looks up (in the compiled loop as packed keys, not as slices in sets)."""
    pure, compiled = engines
    rng = random.Random(9)
    tokens = [t for t in names(rng) if t]
    lines = [
        f"{rng.choice(tokens)} {resident_id(rng)}，{rng.choice(tokens)}{rng.choice(tokens)}"
        for _ in range(3000)
    ]
    text = "\n".join(lines)
    found = compiled.scan_text(text)
    assert sum(f.entity_type == "CN_NAME" for f in found) > 500
    assert pure.scan_text(text) == found


def test_companion_names_of_findings_out_of_line_order():
    """The compiled companion-name pass takes a line's findings as one run of equal records; findings
    whose lines or starts come out of order are regrouped as the reference groups them."""
    from dlpscan.detect import compiled as compiled_modules
    from dlpscan.detect.evidence import COMPANION_WINDOW, companion_names

    core = compiled_modules.core(True)
    engine = Engine(load_definitions(), "re", compiled=False)
    rng = random.Random(4)
    tokens = [t for t in names(rng) if t]
    text = "\n".join(
        f"{rng.choice(tokens)} {resident_id(rng)} {rng.choice(tokens)}，{resident_id(rng)}{rng.choice(tokens)}"
        for _ in range(400)
    )
    findings = [f for f in engine.scan_text(text) if f.entity_type != "CN_NAME"]
    is_name = engine._validate["CN_NAME"]
    direct = engine._direct
    for order in (findings, list(reversed(findings)), rng.sample(findings, len(findings))):
        expected = companion_names(text, order, direct, is_name)
        assert len(expected) > 300
        assert core.companion_names(text, order, direct, is_name, COMPANION_WINDOW) == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_prose_with_digit_noise(engines, seed):
    pure, compiled = engines
    text = generated_text(seed, 200_000)
    assert pure.scan_text(text) == compiled.scan_text(text)


@pytest.mark.parametrize("database", ["guarded", "open"])
def test_either_hyperscan_database_gives_the_references_findings(database, monkeypatch):
    """Hyperscan scans a block with few ASCII letters and digits with its open database (the
    StartReach patterns without their leading guards), other blocks with the guarded one. Each,
    forced on every kind of text and table, gives the pure reference's findings."""
    monkeypatch.setattr(backends, "few_alnum", lambda data: database == "open")
    defs = load_definitions()
    pure, compiled = Engine(defs, "re", compiled=False), Engine(defs, "hyperscan", compiled=True)
    assert compiled.backend == "hyperscan"
    texts = [s for case in CASES for s in case] + TEXTS
    prose = generated_text(3, 3_000) + "。今天的会议安排如下，请大家准时参加。" * 600
    for text in [*texts, "\n".join(texts), generated_text(4, 100_000), mixed_text(5, 1500), prose]:
        assert compiled.scan_text(text) == pure.scan_text(text), text[:80]
    rng = random.Random(6)
    rows = [tuple(value(rng) for _ in range(4)) for _ in range(500)]
    block = TableBlock(header=tuple(HEADERS[:4]), rows=rows, first_row=2)
    assert compiled.scan(block) == pure.scan(block)


def _separated_ids(rng: random.Random, count: int) -> list[str]:
    """Resident IDs with a space or hyphen (or none) at each place the pattern allows one."""
    out = []
    for _ in range(count):
        v = resident_id(rng, rng.random() < 0.7)
        seps = [rng.choice(["", "", " ", "-"]) for _ in range(3)]
        out.append(f"{v[:6]}{seps[0]}{v[6:10]}{seps[1]}{v[10:14]}{seps[2]}{v[14:]}")
    return out


def test_scanner_forms_match_wherever_their_patterns_match():
    """A pattern's `scanner_regex` (what the candidate scanners compile in its place: a prefix, or
    the same language in a form Hyperscan scans faster) matches at every position where the
    pattern matches, so that no candidate is lost."""
    rng = random.Random(7)
    texts = [s for case in CASES for s in case] + TEXTS
    texts += [mixed_text(8, 2000), generated_text(9, 50_000), " ".join(_separated_ids(rng, 3000))]
    forms = [p for d in load_definitions() for p in d.patterns if p.scanner_regex]
    assert len(forms) >= 7
    for p in forms:
        scanner = re.compile(p.scanner_regex)
        for text in texts:
            missed = [m.start() for m in p.compiled.finditer(text) if not scanner.match(text, m.start())]
            assert missed == [], (p.name, text[:80])


def test_scanner_forms_leave_the_findings_as_the_patterns_give_them():
    """The pure loop with the patterns themselves scanned (no scanner forms) finds what the engine
    finds with them."""
    defs = load_definitions()
    plain = [
        d.model_copy(
            update={"patterns": tuple(p.model_copy(update={"scanner_regex": None}) for p in d.patterns)}
        )
        for d in defs
    ]
    reference, engine = Engine(plain, "re", compiled=False), Engine(defs, compiled=True)
    rng = random.Random(10)
    texts = [s for case in CASES for s in case] + TEXTS
    for text in ["\n".join(texts), mixed_text(11, 1500), "，".join(_separated_ids(rng, 2000))]:
        assert engine.scan_text(text) == reference.scan_text(text)


HEADERS = [
    "姓名",
    "身份证号",
    "手机",
    "卡号",
    "订单号",
    "地址",
    "公司地址",
    "备注",
    "联系人",
    "证件号码",
    "",
    "邮箱",
    "运单号",
    "客户名称",
    "电话/手机",
]


@pytest.mark.parametrize("seed", range(4))
def test_generated_tables(engines, seed):
    pure, compiled = engines
    rng = random.Random(seed)
    width = rng.randint(2, 7)
    header = tuple(rng.choice(HEADERS) for _ in range(width))
    rows = [
        tuple(
            value(rng) if rng.random() < 0.85 else rng.choice(LABELS) + value(rng)
            for _ in range(rng.randint(1, width))
        )
        for _ in range(1500)
    ]
    block = TableBlock(header=header, rows=rows, first_row=2)
    found = compiled.scan(block)
    assert len(found) > 500
    assert pure.scan(block) == found


@pytest.mark.parametrize("seed", range(3))
def test_table_layout_is_the_references(seed):
    core = importlib.import_module("dlpscan.detect._core")
    rng = random.Random(seed)
    cells = ["", "张三", "13912345678", "a\nb", "\U0001f600x", " 北京 ", "\n"]
    rows = [tuple(rng.choice(cells) for _ in range(rng.randint(0, 6))) for _ in range(300)]
    assert core.table_layout(rows) == table_layout(rows)
    assert core.table_layout([]) == table_layout([])
    assert core.table_layout([()]) == table_layout([()])


@pytest.mark.parametrize("seed", range(2))
def test_tables_with_empty_rows_and_cells_across_lines(engines, seed):
    pure, compiled = engines
    rng = random.Random(seed)
    rows = [
        tuple(value(rng) + rng.choice(["", "\n", " "]) for _ in range(rng.randint(0, 4))) for _ in range(800)
    ]
    block = TableBlock(header=("姓名", "身份证号", "手机", "地址"), rows=rows, first_row=2)
    found = compiled.scan(block)
    assert len(found) > 300
    assert pure.scan(block) == found


def test_environment_variable_forces_the_pure_loop(monkeypatch):
    monkeypatch.setenv("DLPSCAN_PURE_PYTHON", "1")
    assert Engine(load_definitions()).compiled is False
    assert Engine(load_definitions(), compiled=True).compiled is True
    monkeypatch.setenv("DLPSCAN_PURE_PYTHON", "0")
    assert Engine(load_definitions()).compiled is True


def _name_cell(rng: random.Random) -> str:
    surname, given = (
        rng.choice("张王李赵刘陈杨黄"),
        "".join(rng.choice("伟芳娜敏静丽强磊军洋") for _ in range(2)),
    )
    return rng.choice(
        [
            surname + given,
            f"{surname}  {given}",  # padded to line up
            f"{surname};{given}",  # vCard family;given
            f"{surname}\u3000{given}",
            f" {surname}{given}\u00a0",
            surname + "**",
            surname + "*" * 45,  # too long for a masked cell
            f"{surname}{given}（经理）",
            f"{surname}{given}/销售部",
            f"{surname}{given} 13912345678",
            f"{surname} {given}：财务",
            "北京市朝阳区",
            "客户",
            "",
            "   ",
            "Zhang Wei",
            f"{surname}{given}有限公司",
        ]
    )


@pytest.mark.parametrize("seed", range(3))
def test_whole_name_and_address_cells(engines, seed):
    """Cells read whole under a name or address header, and a name column known by its content only:
    padded, vCard, masked, led names, and what is not a name."""
    pure, compiled = engines
    rng = random.Random(seed)
    address = "浙江省杭州市西湖区文三路{}号"
    rows = [
        (
            _name_cell(rng),
            address.format(rng.randint(1, 999)),
            _name_cell(rng),
            f"1390000{rng.randint(0, 9999):04d}",
        )
        for _ in range(800)
    ]
    for header in [("姓名", "地址", "", "手机"), ("", "", "联系人", "")]:
        block = TableBlock(header=header, rows=rows, first_row=2)
        found = compiled.scan(block)
        assert sum(f.entity_type == "CN_NAME" for f in found) > 300
        assert pure.scan(block) == found
