"""The compiled loop's matcher (`_core.Matcher`, programs from `detect/matchprog.py`) against `re`:
the same end, or no match, at every position of generated text, for every shipped pattern and for
hand-written patterns that reach each construct (classes, greedy repeats that must give back,
alternatives, repeated groups, lookarounds that read before the position asked about)."""

from __future__ import annotations

import random
import re

import pytest

from dlpscan.detect import matchprog
from dlpscan.detect.registry import load_definitions

core = pytest.importorskip("dlpscan.detect._core", reason="the compiled loop is not built (no C compiler)")

# The edges of the common Han block (U+4E00-U+9FA5), which the matcher's sets read at once, and
# literals beside their neighbours (上 and 北 among 三下化匘), which single-character sets compare with.
HAN_EDGES = "\u4dff\u4e00\u4e01\u9fa5\u9fa6\u9fff\ua000三下化匘北京上海市"
# Characters the shipped patterns are about, and their neighbours: ASCII and full-width digits,
# other decimal digits (re's \d takes them), separators, letters, Han, labels, masks, spaces.
ALPHABET = [
    *"0123456789012345678901234567890123456789Xx -+()*.:=@_,;|'\"<>\n\t",
    *"ABCDEFGHJKLMNPQRTUWXYZabcdehmpsyz",
    *"省市区县路街号栋室单元北京上海广东张王李姓名地址身份证手机卡号，。；：（）",
    *HAN_EDGES,
    "\u3000",
    "\u00a0",
    "٣",
    "²",
    "０",
    "\U0001f600",
]
HAND_WRITTEN = [
    r"a{2,4}ab",  # a greedy repeat gives back characters to what follows
    r"(?:ab|a)(?:bc|c)d",  # an alternative fails later: the next one is tried
    r"(?:[ -]?\d{2}){2,3}\d",  # a repeated group gives back a repetition
    r"(?<![0-9A-Za-z])\d{3}(?![0-9A-Za-z]|\.\d)",
    r"(?<=[:=])\s*[^\s,]{2,5}",
    r"(?=[0-9Xx*]{6}(?![0-9*]))\d{0,4}\*{1,6}\d?",
    r"[^\s\d\w]+",
    r"(?P<x>\d+)-(?:\D|\S)\W",
    r"[\u4e00-\u9fa5]{2,4}[^\u4e00-\u9fa5]",  # sets that hold the common Han block whole, or none of it
    r"[\u4e00-\u9fff\d]+[^\s,，]{2}",
    r"[\u4e01-\u9fa5]+|[\u3400-\u4e00]+",  # ranges that end inside the block: read one by one
    r"[^\W\d]{3}\w",
    r"(?:北京|上海|北)市?\w{0,2}",  # alternatives that start with one Han character each
    r"(?:x|\d{2})*?y",  # lazy: refused, re decides
    r"^\d+$",  # anchors: refused
    r"(?i)abc",  # flags: refused
]


def texts(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))) for _ in range(count)]


def shipped_patterns() -> list[re.Pattern[str]]:
    return [p.compiled for d in load_definitions() for p in d.patterns]


def corpus_lines() -> list[str]:
    """Lines of the differential tests' generated text and tables and of the Presidio tests' texts."""
    from test_differential import mixed_text
    from test_presidio import CELLS, TEXTS, generated_text

    labelled = [
        "地址：北京市朝阳区建国路88号院3号楼",
        "address=上海市浦东新区世纪大道100号",
        "FN:张;三丰",
        "N:王;小明",
    ]
    text = "\n".join([mixed_text(1, 1500), generated_text(1, 60_000), *TEXTS, *map(str, CELLS), *labelled])
    return text.splitlines()


LINES = corpus_lines()


def seeded_texts(pattern: re.Pattern[str], rng: random.Random) -> list[str]:
    """Random text around strings the pattern matches, cut and altered: near misses of every kind."""
    found = [m.group() for t in LINES for m in pattern.finditer(t) if m.group()]
    found += [m.group() for t in texts(rng, 1000) for m in pattern.finditer(t) if m.group()]
    out = []
    for _ in range(400):
        base = rng.choice(found) if found else ""
        cut = rng.randint(0, len(base))
        noise = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 3)))
        spliced = base[:cut] + noise + base[cut + rng.randint(0, 2) :] if rng.random() < 0.5 else base
        out.append(rng.choice(ALPHABET) + spliced + rng.choice(ALPHABET))
    return out


def differences(
    pattern: re.Pattern[str], samples: list[str]
) -> list[tuple[str, int, int | None, int | None]]:
    matcher = core.matcher(pattern)
    assert matcher is not None, pattern.pattern
    out = []
    for text in samples:
        for pos in range(len(text) + 1):
            m = pattern.match(text, pos)
            expected = None if m is None else m.end()
            got = matcher.match_end(text, pos)
            if got != expected:
                out.append((text, pos, expected, got))
    return out


@pytest.mark.parametrize("index", range(len(shipped_patterns())))
def test_each_shipped_pattern_ends_where_re_ends(index):
    pattern = shipped_patterns()[index]
    if matchprog.program(pattern) is None:  # outside the subset (vCard labels, e-mail): re confirms it
        assert core.matcher(pattern) is None
        return
    rng = random.Random(index)
    samples = texts(rng, 300) + seeded_texts(pattern, rng)
    assert sum(pattern.match(t, p) is not None for t in samples for p in range(len(t))) > 0
    assert differences(pattern, samples) == []


def test_the_hot_patterns_are_in_the_subset():
    """Resident ID, card, mobile, USCC and address candidates are most of a dense export's."""
    covered = {d.entity for d in load_definitions() for p in d.patterns if matchprog.program(p.compiled)}
    assert {"CN_RESIDENT_ID", "CN_BANK_CARD", "CN_MOBILE", "CN_USCC", "CN_ADDRESS"} <= covered


@pytest.mark.parametrize("regex", HAND_WRITTEN)
def test_hand_written_constructs(regex):
    pattern = re.compile(regex)
    if matchprog.program(pattern) is None:
        assert regex.startswith(("(?i)", "^")) or "*?" in regex
        return
    rng = random.Random(regex)
    alphabet = [*"aabbccdxy0123456789 -.:=*Xx,", "٣", "张", "\n", *HAN_EDGES]
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(4000)]
    assert differences(pattern, samples) == []


def test_a_repeated_group_without_a_small_bound_is_refused():
    assert matchprog.program(re.compile(r"(?:ab)+c")) is None
    assert matchprog.program(re.compile(r"(?:a?)+c")) is None  # a repetition could match nothing
    assert matchprog.program(re.compile(r"(?:ab){1,3}c")) is not None
    assert matchprog.program(re.compile(r"(?:(?:ab){1,8}c){1,8}")) is not None
    assert matchprog.program(re.compile(r"(?:(?:ab){1,9}c){1,8}")) is None  # nested: 72 calls deep
