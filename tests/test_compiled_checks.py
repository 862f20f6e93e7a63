"""The compiled validators and fold (dlpscan/detect/_core.pyx) against the Python ones they replace.

Each must return exactly what the function in validators.py / text.py returns, on values built to hit
every branch: check characters, birth dates at the edges (1900, today, 29 February), abolished
division codes, every mobile prefix, placeholders, USCC categories, address words, names with '·',
labels, stopwords and honorifics, and characters the C code hands back to Python (non-ASCII digits).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import heapq
import random
import sys

import pytest

from dlpscan.detect import tables, validators
from dlpscan.detect.registry import label_words, load_definitions
from dlpscan.detect.text import fold

core = pytest.importorskip("dlpscan.detect._core", reason="the compiled loop is not built (no C compiler)")


def _id(body17: str) -> str:
    return body17 + validators.id_check_char(body17)


def resident_ids(rng: random.Random) -> list[str]:
    codes = sorted(tables.divisions())
    abolished = [c for c, d in tables.divisions().items() if d.last_year is not None]
    today = dt.date.today()
    births = ["19000101", "18991231", "19000229", "20000229", "19960229", "19970229", "20231131"]
    births += [today.strftime("%Y%m%d"), (today + dt.timedelta(days=1)).strftime("%Y%m%d"), "20991231"]
    out = []
    for _ in range(3000):
        code = rng.choice([rng.choice(codes), rng.choice(abolished), f"{rng.randint(0, 999999):06d}"])
        birth = (
            rng.choice(births) if rng.random() < 0.2 else f"{rng.randint(1880, 2030)}{rng.randint(0, 13):02d}"
        )
        if len(birth) == 6:
            birth += f"{rng.randint(0, 32):02d}"
        body = code + birth + f"{rng.randint(0, 999):03d}"
        value = _id(body)
        r = rng.random()
        if r < 0.1:
            value = body + rng.choice("0123456789XA")
        elif r < 0.2:
            value = code + birth[2:] + f"{rng.randint(0, 999):03d}"  # legacy 15 digits
        elif r < 0.25:
            value = value.replace(rng.choice(value[:17]), "٣", 1)  # a non-ASCII digit
        elif r < 0.3:
            value = value[: rng.randint(0, 20)]
        out.append(value)
    return out + sorted(validators.SAMPLE_IDS) + ["", "X" * 18, "11010519491231002x"]


def usccs(rng: random.Random) -> list[str]:
    alphabet = validators._USCC_ALPHABET
    out = ["91110000600037341L", "911100006000373410", ""]
    for _ in range(3000):
        head = (
            rng.choice("123456789ANYZ0") + rng.choice("0123459A") + rng.choice(["11", "10", "05", "44", "9Z"])
        )
        chars = "0123456789" if rng.random() < 0.3 else alphabet + "IOSVZ"
        body = head + "".join(rng.choice(chars) for _ in range(13))
        total = sum(
            alphabet.index(c) * w
            for c, w in zip(body, validators._USCC_WEIGHTS, strict=False)
            if c in alphabet
        )
        check = alphabet[(31 - total % 31) % 31]
        out.append(body + (check if rng.random() < 0.7 else rng.choice(alphabet)))
        if rng.random() < 0.1:
            out.append(out[-1][:17] + "٣")
    return out


def mobiles(rng: random.Random) -> list[str]:
    prefixes = sorted(tables.mobile_prefixes())
    out = [*sorted(validators.PLACEHOLDER_MOBILES), "13977777777", "13900000000", "1390000000٣"]
    for _ in range(3000):
        p = rng.choice(prefixes) if rng.random() < 0.8 else str(rng.randint(100, 199))
        out.append(p + "".join(rng.choice("0123456789") for _ in range(11 - len(p))))
    return out + [m[:10] for m in out[:50]] + ["１３９１２３４５６７８"]


def addresses(rng: random.Random) -> list[str]:
    words = [
        "北京",
        "省",
        "自治区",
        "市",
        "区",
        "县",
        "旗",
        "州",
        "盟",
        "镇",
        "乡",
        "街道",
        "街",
        "道",
        "路",
        "巷",
    ]
    words += [
        "弄",
        "村",
        "号",
        "栋",
        "单元",
        "单",
        "元",
        "楼",
        "室",
        "层",
        "户",
        "组",
        "座",
        "幢",
        "12",
        "٣",
        "*",
    ]
    words += ["朝阳", "建国", "a", " ", "大厦", "花园"]
    return ["".join(rng.choice(words) for _ in range(rng.randint(1, 8))) for _ in range(4000)]


def names(rng: random.Random) -> list[str]:
    single, compound = tables.surnames()
    stop = sorted(tables.name_stopwords())
    labels = sorted(label_words(load_definitions()))
    han = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英䶮"
    parts = [
        *sorted(single)[:80],
        *sorted(compound),
        *han,
        "·",
        "·",
        "先生",
        "女士",
        "公司",
        "银行",
        "a",
        "1",
    ]
    out = (
        stop[:300]
        + labels
        + [w + "号" for w in labels[:50]]
        + ["", "张", "凯文·杜兰特", "·张三", "张三·", "张··三"]
    )
    for _ in range(4000):
        out.append("".join(rng.choice(parts) for _ in range(rng.randint(1, 5))))
    return out


@pytest.mark.parametrize(
    ("name", "python", "values", "outcomes"),
    [
        ("cn_resident_id", validators.cn_resident_id, resident_ids, {0.0, 0.2, 0.3, 0.7, 1.0}),
        ("cn_uscc", validators.cn_uscc, usccs, {0.0, 0.3, 1.0}),
        ("cn_mobile", validators.cn_mobile, mobiles, {0.0, 0.4, 1.0}),
        ("mobile_segment_confidence", validators.mobile_segment_confidence, mobiles, {0.0, 0.4, 1.0}),
        ("cn_address", validators.cn_address, addresses, {0.0, 1.0}),
    ],
)
def test_compiled_validators_decide_like_python(name, python, values, outcomes):
    cases = values(random.Random(7))
    if name == "mobile_segment_confidence":  # defined for 11-digit values only
        cases = [v for v in cases if len(v) == 11 and v.isdigit()]
    assert {python(v) for v in cases} == outcomes  # the cases reach every outcome
    assert [v for v in cases if core.validate(name, v) != python(v)] == []


@pytest.mark.parametrize(
    ("python", "values"),
    [
        (validators.cn_resident_id, resident_ids),
        (validators.cn_uscc, usccs),
        (validators.cn_mobile, mobiles),
        (validators.cn_address, addresses),
    ],
)
def test_fast_validators_decide_like_python(python, values):
    fast = core.fast_validator(python)
    assert fast is not python
    cases = values(random.Random(11))
    assert [v for v in cases if fast(v) != python(v)] == []


def test_fast_validator_of_a_bound_name_check_and_of_one_without_a_compiled_form():
    labels = label_words(load_definitions())
    bound = functools.partial(validators.cn_name, labels=labels)
    fast = core.fast_validator(bound)
    cases = names(random.Random(5))
    assert [v for v in cases if fast(v) != bound(v)] == []
    assert core.fast_validator(validators.cn_passport) is validators.cn_passport


def test_compiled_name_check_decides_like_python():
    labels = label_words(load_definitions())
    cases = names(random.Random(3))
    assert {validators.cn_name(v, labels) for v in cases} == {0.0, 0.8, 1.0}
    assert [v for v in cases if core.validate("cn_name", v, labels) != validators.cn_name(v, labels)] == []


def test_compiled_fold_equals_python_fold():
    rng = random.Random(5)
    alphabet = "ａＺ０９＋－—–‐（）：\u3000\u00a0＊×●•※＃＠．＿abc张三 \n" + "".join(
        chr(c) for c in (0x1F600, 0xE9, 0x3400)
    )
    texts = ["", "plain ascii", "只有汉字", "\U0001f600"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(3000)
    ]
    assert [t for t in texts if core.fold(t) != fold(t)] == []
    assert core.fold("abc：") == "abc:" and core.fold("abc：").isascii()  # narrowed like a Python str


@pytest.mark.parametrize("seed", range(3))
def test_compiled_fold_utf8_equals_fold_then_encode(seed: int):
    """One pass gives the folded str (as narrow as Python would make it) and the UTF-8 that encode
    gives with surrogates passed: every width of character, lone surrogates, folds that narrow a str
    (a latin-1 no-break space, a full-width colon beside ASCII only) and folds beside wider characters."""
    from dlpscan.detect.text import _FOLD, fold_utf8

    rng = random.Random(seed)
    alphabet = [chr(c) for c in (0x7F, 0x80, 0xA0, 0xE9, 0xFF, 0x100, 0x7FF, 0x800, 0xD800, 0xDBFF, 0xDC00)]
    alphabet += [chr(c) for c in (0xDFFF, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF)]
    alphabet += [chr(c) for c in sorted(_FOLD)] + list("ab1:张三\n ")
    texts = [
        "",
        "plain ascii",
        "只有汉字",
        "\U0001f600",
        "\u00a0",
        "abc：",
        "é：",
        "\ud800：",
        "张：\U0001f600",
    ]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(4000)]
    for text in texts:
        folded, data = core.fold_utf8(text)
        want, want_data = fold_utf8(text)
        assert (folded, data) == (want, want_data), repr(text)
        assert sys.getsizeof(folded) == sys.getsizeof(want), repr(text)  # as narrow as Python's
    assert core.fold_utf8("abc：")[0].isascii() and core.fold_utf8("é\u00a0")[0] == "é "


def cards(rng: random.Random) -> list[str]:
    bins = sorted(tables.bank_bins())
    out = []
    for _ in range(3000):
        head = rng.choice(bins) if rng.random() < 0.8 else str(rng.randint(100, 999999))
        out.append(head + "".join(rng.choice("0123456789") for _ in range(rng.randint(16, 19) - len(head))))
    # Digits other than ASCII ones (str.isdigit allows them) end the prefix a BIN can match.
    odd = [v[:k] + d + v[k + 1 :] for v in out[:300] for k, d in ((rng.randint(0, 11), "٣"), (7, "²"))]
    return [*out, *odd, "", "62", "6", "6" * 70]


def test_compiled_card_issuer_decides_like_python():
    cases = cards(random.Random(11))
    assert {validators.card_issuer_confidence(v) for v in cases} == {0.3, 1.0}
    assert [
        v for v in cases if core.validate("card_issuer_confidence", v) != validators.card_issuer_confidence(v)
    ] == []


def test_compiled_minor_check_equals_python():
    today = dt.date(2026, 3, 1)
    rng = random.Random(2)
    cases = ["110101201203010012", "110101201203020012", "110101201202290012", "110101201602290012"]
    cases += ["110101120301001", "110101000002290012", "11010120120001001X", "1101012012٣301001X", "1101"]
    cases += [
        f"110101{rng.randint(1995, 2026)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}0012"
        for _ in range(3000)
    ]
    expected = [validators.minor_age(v, today) for v in cases]
    assert 100 < sum(expected) < len(cases) - 100
    assert [core.is_minor(v, today) for v in cases] == expected


def test_compiled_tally_aggregates_like_python(monkeypatch):
    from test_differential import mixed_text

    from dlpscan.aggregate import DocumentAggregate
    from dlpscan.detect.engine import Engine
    from dlpscan.model import TableBlock, TextBlock

    defs = load_definitions()
    engine = Engine(defs)
    blocks = [TextBlock(mixed_text(seed, 400), "notes.txt lines 1-400") for seed in range(3)]
    blocks.append(
        TableBlock(("姓名", "身份证号", "手机"), [("张三", "11010519491231002X", "138****8000")] * 3)
    )
    found = [(engine.scan(b), b) for b in blocks] + [(engine.scan(blocks[0]), None)]
    shuffled = engine.scan(blocks[1])  # records out of order: a line's findings apart from each other
    random.Random(4).shuffle(shuffled)
    found.append((shuffled, blocks[1]))
    # out of order and far apart (counted in a dict, not an array of the rows between)
    spread = [dataclasses.replace(f, record=f.record * 10_000) for f in engine.scan(blocks[2])]
    random.Random(5).shuffle(spread)
    found.append((spread, None))
    minors = TextBlock("学生 身份证 110105201803070015\n家长 身份证 11010519491231002X\n", "kids.txt")
    found.append((engine.scan(minors), minors))

    def aggregate(pure: str) -> tuple:
        monkeypatch.setenv("DLPSCAN_PURE_PYTHON", pure)
        agg = DocumentAggregate(defs, b"k")
        for findings, block in found:
            agg.add_block(findings, block)
        return agg.entities(with_fingerprints=True), agg.masked(), agg.records, agg.final_notes()

    python, compiled = aggregate("1"), aggregate("0")
    assert python[2] > 100 and python[1] and set(python[0]) >= {"CN_RESIDENT_ID", "CN_MOBILE", "CN_NAME"}
    assert python[3].get("minors", 0) >= 1
    assert compiled == python


def test_compiled_smallest_values_equal_heapq():
    rng = random.Random(6)
    alphabet = "0123456789X张王李三四·"
    for size in (0, 1, 2, 3, 5, 200, 5000):
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3))) for _ in range(size)]
        for k in (0, 1, 3, 7):  # values repeat: each is kept once
            assert core.smallest(k, values) == heapq.nsmallest(k, set(values))


def test_a_build_of_another_source_is_not_used(monkeypatch):
    from dlpscan import extensions
    from dlpscan.detect import compiled

    monkeypatch.delenv("DLPSCAN_PURE_PYTHON", raising=False)
    extensions._stale.cache_clear()
    assert compiled.core() is core
    built_from = core.SOURCE_DIGEST
    monkeypatch.setattr(core, "SOURCE_DIGEST", "0" * 64)  # as if the .pyx changed after the build
    extensions._stale.cache_clear()
    assert compiled.core() is None
    with pytest.raises(ImportError, match="another version"):
        compiled.core(required=True)
    monkeypatch.setattr(core, "SOURCE_DIGEST", built_from)  # the environment stays as set above
    extensions._stale.cache_clear()
    assert compiled.core() is core


def test_findings_are_built_through_their_slots_and_equal_the_dataclass():
    """The loop makes Findings by writing their slots; a change of Finding's fields must be made in
    _core._FIELDS too, or every finding would take the slow attribute path (this test says so)."""
    from dlpscan.detect.scoring import Finding

    assert core.finding_slots()
    for args in [
        ("CN_MOBILE", "13912345678", 3, 14, 0.85, False, False, 0, 2, None, True),
        ("CN_BANK_CARD", "6222****1234", 0, 12, 1.0, True, False, 4, 0, 3, False),
        ("CN_NAME", "张三", 7, 9, 0.6, False, True, 0, 41, None, False),
    ]:
        built, reference = core.finding(*args), Finding(*args)
        assert built == reference
        assert [type(getattr(built, f)) for f in core._FIELDS] == [
            type(getattr(reference, f)) for f in core._FIELDS
        ]
        assert {type(getattr(built, f)) for f in core._FIELDS} <= {str, int, float, bool, type(None)}
        assert not gc.is_tracked(built) and gc.is_tracked(reference)  # no cycle: the collector skips it


def test_findings_of_a_scan_are_not_walked_by_the_cyclic_collector():
    from dlpscan.detect.engine import Engine

    findings = Engine(compiled=True).scan_text("客户 张三 手机 13912345678 身份证 11010119900307867X\n")
    assert len(findings) >= 2 and not any(gc.is_tracked(f) for f in findings)


def test_the_source_digest_covers_the_shared_include(tmp_path):
    """A module is stale when a .pxi or .h it names changed, not only its .pyx; the digest the build hook
    (hatch_build.py) built into each module is the one the check computes."""
    from pathlib import Path

    from dlpscan import extensions
    from dlpscan.detect import compiled

    (tmp_path / "m.pyx").write_text('include "_shared.pxi"\n')
    (tmp_path / "_shared.pxi").write_text("cdef int x = 1\n")
    before = extensions.source_digest(tmp_path / "m.pyx")
    (tmp_path / "_shared.pxi").write_text("cdef int x = 2\n")
    assert extensions.source_digest(tmp_path / "m.pyx") != before
    # a C header it names counts too; one it does not name (another module's) does not
    (tmp_path / "m.pyx").write_text('include "_shared.pxi"\ncdef extern from "_mine.h":\n    int y\n')
    (tmp_path / "_mine.h").write_text("#define y 1\n")
    (tmp_path / "_theirs.h").write_text("#define z 1\n")
    before = extensions.source_digest(tmp_path / "m.pyx")
    (tmp_path / "_theirs.h").write_text("#define z 2\n")
    assert extensions.source_digest(tmp_path / "m.pyx") == before
    (tmp_path / "_mine.h").write_text("#define y 2\n")
    assert extensions.source_digest(tmp_path / "m.pyx") != before
    detect = Path(compiled.__file__).parent
    assert extensions.source_digest(detect / "_core.pyx") == core.SOURCE_DIGEST
    native = compiled.native()
    if native is not None:
        assert extensions.source_digest(detect / "_native.pyx") == native.SOURCE_DIGEST
    xlsxscan = extensions.load("dlpscan.extract._xlsxscan")
    if xlsxscan is not None:
        assert extensions.source_digest(Path(xlsxscan.__file__).with_suffix("").with_suffix(".pyx")) == (
            xlsxscan.SOURCE_DIGEST
        )


def test_compiled_found_rows_equal_python():
    from dlpscan.detect import columns
    from dlpscan.detect.engine import Engine
    from dlpscan.model import TableBlock

    engine = Engine(load_definitions())
    rows = [("张三", "北京市朝阳区建国路88号", "11010519491231002X", "13912345678")] * 5
    rows += [("李四", "上海市浦东新区世纪大道100号", "", "13812345678 13712345678")] * 3
    findings = engine.scan(TableBlock(("姓名", "地址", "身份证号", "手机"), rows))
    random.Random(5).shuffle(findings)  # in any order
    findings.append(dataclasses.replace(findings[0], column=None))  # a finding beside the table
    for types in (frozenset(), frozenset({"CN_ADDRESS", "CN_MOBILE"}), frozenset({"CN_NAME", "CN_MOBILE"})):
        assert core.found_rows(findings, types) == columns.found_rows(findings, types)
    assert core.found_rows(findings, frozenset({"CN_MOBILE"})) == {("CN_MOBILE", 3): set(range(8))}


def test_compiled_count_newlines_equals_str_count():
    """Every string kind, every range of a few texts (empty, at both ends), and a range out of bounds."""
    rng = random.Random(7)
    texts = ["", "\n", "a\nb\n", "只有\n汉字\n\n", "\U0001f600\n\n\U0001f600", "é\n" * 40]
    texts += ["".join(rng.choice("a\n张\U0001f600é ") for _ in range(rng.randint(0, 90))) for _ in range(200)]
    for text in texts:
        for lo in range(len(text) + 1):
            hi = rng.randint(lo, len(text))
            assert core.count_newlines(text, lo, hi) == text.count("\n", lo, hi), (text, lo, hi)
    with pytest.raises(IndexError):
        core.count_newlines("a\n", 0, 3)
