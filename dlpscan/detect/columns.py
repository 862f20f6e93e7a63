"""Decisions about a table made once per block, before its cells are read.

- Forms: a sheet or Word table that pairs labels with values (姓名 | 张三 | 性别 | 男) or lists one
  person per column under labels in its first column (a transposed sheet) is re-read as an
  ordinary table: one column per label, one row per person.
- Name columns: a column holds names when its header says so and enough of its cells are names,
  or, whatever its header, when nearly all of its cells are distinct surname-led names that are
  not place names, beside person identifiers on the same rows.
- Glued columns: a column of long digit runs (fields of a fixed-width file with no boundary
  between them) is split where, on nearly every row, a value of some type starts.

Both engines (the compiled and the pure-Python loop) get these decisions alike: they only change
which block is scanned and which columns are read as whole cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from dlpscan.detect import tables
from dlpscan.detect.scoring import Finding
from dlpscan.detect.text import fold
from dlpscan.model import TableBlock

# Labels of personal forms that name no entity type, so that their values are not read as the
# value of the label before them.
FORM_LABELS = frozenset(
    "性别 民族 出生日期 出生年月 生日 年龄 籍贯 学历 文化程度 婚姻状况 政治面貌 职业 职务 职称 工作单位 "
    "单位 邮编 邮政编码 备注 日期 国籍 血型 身高 体重 专业 毕业院校 部门 入职日期 关系 与本人关系 健康状况 "
    "宗教信仰 户口性质 证件类型 开户行 开户银行 金额 用途 编号 序号".split()
)
_MAX_LABEL_CHARS = 12
MAX_FORM_ROWS = 200  # a form, or a sheet of people in columns, has a row per field: not thousands
_LABEL_SLACK = 4  # characters a label cell may add around a known header word: 身份证号码, 联系电话
_STRIP = re.compile(r"[\s:：*＊]+")
_DIGIT = re.compile(r"\d")

# Name columns without a header that says so.
SAMPLE_CELLS = 200
MIN_CELLS = 3
MIN_CELLS_ALONE = 10
NAME_SHARE_WITH_HEADER = 0.3  # a 客户 column of people and companies
NAME_SHARE = 0.8
NAME_SHARE_ALONE = 0.9  # no person identifier on the rows: a column of names and nothing else
DISTINCT_SHARE = 0.7  # names rarely repeat; products, cities and status words do
PLACE_SHARE = 0.3
BESIDE_SHARE = 0.5


class LabelCells:
    """Which cells are labels: a known header word of some type (and little more), or a form label."""

    def __init__(self, header_words: Iterable[str]) -> None:
        words = sorted({w.lower() for w in header_words}, key=len, reverse=True)
        self._han = re.compile("|".join(map(re.escape, (w for w in words if not w.isascii()))) or "(?!)")
        self._ascii = frozenset(w.replace("_", "") for w in words if w.isascii())

    def __call__(self, cell: str) -> bool:
        text = _STRIP.sub("", cell)
        if not text or len(text) > _MAX_LABEL_CHARS or _DIGIT.search(text):
            return False
        if text in FORM_LABELS:
            return True
        if text.isascii():
            return text.lower().replace("_", "") in self._ascii
        m = self._han.search(text)
        return m is not None and len(text) - len(m.group()) <= _LABEL_SLACK


@dataclass(frozen=True, slots=True)
class _Pair:
    label: str
    values: tuple[str, ...]


def as_form(block: TableBlock, is_label: Callable[[str], bool]) -> TableBlock | None:
    """`block` re-read as label columns when it is a form or a transposed sheet, else None.

    A form: most non-empty data rows hold a label cell, two rows at least with the header row, and
    those labels differ (a column that
    repeats one label word, such as 客户 in a 类型 column, is data). The header row, which the
    extractor took for column names, is part of the form. Rows without labels are kept after
    the people, in columns of their own with no header.
    """
    if len(block.rows) > MAX_FORM_ROWS:
        return None
    data = [r for r in block.rows if any(c.strip() for c in r)]
    head = [tuple(block.header)] if any(h.strip() for h in block.header) else []
    in_data: list[str] = []
    unlabelled = 0
    for r in data:
        if (c := next((c for c in r if is_label(c)), None)) is not None:
            in_data.append(c)
            continue
        unlabelled += 1
        if unlabelled * 2 > len(data):  # most rows have no label (a customer list): not a form,
            return None  # known without reading the rest
    found = in_data + [c for r in head if (c := next((c for c in r if is_label(c)), None)) is not None]
    if not in_data or len(found) < 2 or len(in_data) * 2 < len(data) or len(set(found)) * 2 < len(found):
        return None
    rows = head + data
    transposed = _is_transposed(rows, is_label)
    pairs: list[_Pair] = []
    rest: list[tuple[str, ...]] = []
    for row in rows:
        at = [i for i, c in enumerate(row) if is_label(c)]
        if not at:
            rest.append(row)
            continue
        if any(c.strip() for c in row[: at[0]]):
            rest.append(row[: at[0]])
        for j, i in enumerate(at):
            end = at[j + 1] if j + 1 < len(at) else len(row)
            values = tuple(row[i + 1 : end])
            if not transposed:  # one value per label; what follows it is not that label's
                first = next((k for k, v in enumerate(values) if v.strip()), None)
                if first is not None and any(v.strip() for v in values[first + 1 :]):
                    rest.append(values[first + 1 :])
                values = values[first : first + 1] if first is not None else ()
            pairs.append(_Pair(row[i], values))
    people = max((len(p.values) for p in pairs), default=0)
    width = len(pairs) + max((len(r) for r in rest), default=0)
    out: list[tuple[str, ...]] = []
    for k in range(people):
        cells = [p.values[k] if k < len(p.values) else "" for p in pairs]
        out.append(tuple(cells) + ("",) * (width - len(cells)))
    for r in rest:
        out.append(("",) * len(pairs) + tuple(r) + ("",) * (width - len(pairs) - len(r)))
    header = tuple(p.label for p in pairs) + ("",) * (width - len(pairs))
    return TableBlock(header, out, block.location, block.first_row, block.ocr)


def _is_transposed(rows: Sequence[tuple[str, ...]], is_label: Callable[[str], bool]) -> bool:
    """Labels in the first column only, each followed by several values (one person per column)."""
    first_only = sum(1 for r in rows if r and is_label(r[0]) and not any(is_label(c) for c in r[1:]))
    wide = sum(1 for r in rows if sum(1 for c in r[1:] if c.strip()) >= 3)
    return first_only * 10 >= len(rows) * 6 and wide * 2 >= len(rows)


@cache
def place_names() -> frozenset[str]:
    """Division names with and without their unit (南京市, 南京, 朝阳区, 朝阳): a column of them is
    a column of places, even where they begin with a surname character."""
    out: set[str] = set()
    units = ("自治州", "自治县", "地区", "市", "县", "区", "省", "旗", "盟")
    for division in tables.divisions().values():
        name = division.name
        out.add(name)
        for unit in units:
            if name.endswith(unit) and len(name) - len(unit) >= 2:
                out.add(name[: -len(unit)])
                break
    return frozenset(out)


def name_column(
    cells: Sequence[str],
    name_of: Callable[[str], str | None],
    header: int,
    beside_identifiers: bool,
) -> bool:
    """Does this column hold names? `name_of` gives the name a cell holds, if any; `header` is
    header_relation() of the column's header for names; `beside_identifiers` is read only when the
    header says nothing (0)."""
    if header < 0:
        return False
    values = []
    for cell in cells:
        value = fold(cell).strip()
        if value:
            values.append(value)
            if len(values) >= SAMPLE_CELLS:
                break
    if not values:
        return False
    names = [n for v in values if "*" not in v and (n := name_of(v)) is not None]
    masked = sum(1 for v in values if "*" in v)
    if header > 0:
        if len(values) < 4:
            return True
        short = sum(1 for v in names if len(v) <= 3)  # names have 2-3 characters; titles, courses 4+
        return (len(names) + masked) >= NAME_SHARE_WITH_HEADER * len(values) and short * 2 >= len(names)
    if len(values) < (MIN_CELLS if beside_identifiers else MIN_CELLS_ALONE):
        return False
    needed = NAME_SHARE if beside_identifiers else NAME_SHARE_ALONE
    if len(names) < needed * len(values):
        return False
    if len(values) >= 10 and len(set(values)) < DISTINCT_SHARE * len(values):
        return False
    places = place_names()
    return sum(1 for v in names if v in places) < PLACE_SHARE * len(names)


def found_rows(findings: Sequence[Finding], types: frozenset[str]) -> dict[tuple[str, int], set[int]]:
    """(type, column) -> the rows (records) of the table findings of `types`."""
    out: dict[tuple[str, int], set[int]] = {}
    for f in findings:
        if f.column is not None and f.entity_type in types:
            out.setdefault((f.entity_type, f.column), set()).add(f.record)
    return out


def rows_with_identifiers(findings: Sequence[Finding], direct: frozenset[str]) -> set[int]:
    """Rows (records) holding an exposed direct identifier."""
    return {f.record for f in findings if f.entity_type in direct and not f.masked}


# Columns of digits glued together (fixed-width fields without a boundary between them).
_GLUED = re.compile(r"[0-9Xx]{22,64}")
GLUED_SAMPLE = 40
GLUED_PROBE = 10
WINDOW_LENGTHS = range(19, 10, -1)  # longest first: a card holds shorter runs that pass too
WINDOW_SHARE = 0.8


def split_glued(block: TableBlock, is_value: Callable[[str], bool]) -> TableBlock | None:
    """`block` with each column of long digit runs (fields of a fixed-width file with no boundary
    between them) split where, on nearly every row, a value starts (`is_value`: some type's
    pattern and validator accept the whole window); None when no column is such a column."""
    plans: dict[int, list[tuple[int, int]]] = {}
    for c in range(len(block.header)):
        cells = [row[c] for row in block.rows[:GLUED_SAMPLE] if c < len(row) and row[c]]
        if len(cells) >= MIN_CELLS and all(_GLUED.fullmatch(x) for x in cells):
            starts = _value_starts(cells, is_value)
            if starts:
                plans[c] = starts
    if not plans:
        return None
    header: list[str] = []
    for c, h in enumerate(block.header):
        header.extend([h] * (2 * len(plans[c]) + 1 if c in plans else 1))
    rows = []
    for row in block.rows:
        cells: list[str] = []
        for c, cell in enumerate(row):
            if c in plans:
                cells.extend(_cut(cell, plans[c], is_value))
            else:
                cells.append(cell)
        rows.append(tuple(cells))
    return TableBlock(tuple(header), rows, block.location, block.first_row, block.ocr)


def _value_length(cell: str, offset: int, is_value: Callable[[str], bool]) -> int:
    """The longest value starting at `offset` of `cell` (0: none)."""
    for length in WINDOW_LENGTHS:
        if offset + length <= len(cell) and is_value(cell[offset : offset + length]):
            return length
    return 0


def _value_starts(cells: Sequence[str], is_value: Callable[[str], bool]) -> list[tuple[int, int]]:
    """(offset, usual length) where a value starts on WINDOW_SHARE of the cells, not overlapping."""
    probe = cells[:GLUED_PROBE]
    found = []
    for offset in range(max(len(x) for x in cells) - min(WINDOW_LENGTHS) + 1):
        if sum(1 for x in probe if _value_length(x, offset, is_value)) < WINDOW_SHARE * len(probe):
            continue
        lengths = [n for x in cells if (n := _value_length(x, offset, is_value))]
        if len(lengths) >= WINDOW_SHARE * len(cells):
            found.append((len(lengths), max(set(lengths), key=lengths.count), offset))
    taken: list[tuple[int, int]] = []
    for _, length, offset in sorted(found, key=lambda t: (-t[0], -t[1], t[2])):
        if all(offset + length <= o or o + n <= offset for o, n in taken):
            taken.append((offset, length))
    return sorted(taken)


def _cut(cell: str, starts: Sequence[tuple[int, int]], is_value: Callable[[str], bool]) -> list[str]:
    """The cell cut before and after each value: always 2 * len(starts) + 1 pieces."""
    pieces: list[str] = []
    pos = 0
    for offset, usual in starts:
        start = max(pos, offset)
        pieces.append(cell[pos:start])
        if is_value(cell[start : start + usual]):
            end = start + usual
        else:
            end = start + (_value_length(cell, start, is_value) or usual)
        pieces.append(cell[start:end])
        pos = end
    pieces.append(cell[pos:])
    return pieces
