"""OCR text items -> blocks that keep the image's layout: lines, tables, ID cards and bank cards.

Boxes are first deskewed (the median slope of the text lines, so a photo taken at an angle still
has level rows), then grouped into lines by vertical overlap. Consecutive lines that hold two or
more boxes are a table when their boxes fall into two or more column bands (x-ranges no box
crosses): a photographed customer list becomes a TableBlock under its header row, so its columns
count as column evidence. An ID-card front (公民身份号码 with at least two of 姓名, 性别, 民族,
出生, 住址) becomes one table row per card under those labels, so name, address and number form one
record; a bank card (one 16-19 digit line and a bank word) becomes a one-cell table under 卡号.
Every block carries the engine's confidence for each piece of text (`model.OcrText`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from statistics import median

from dlpscan.extract.ocr import TextItem
from dlpscan.extract.tables import clean_header, find_header
from dlpscan.model import Block, OcrText, TableBlock, TextBlock

ID_CARD = "id_card"
BANK_CARD = "bank_card"
ID_LABELS = ("姓名", "性别", "民族", "出生", "住址")
ID_NUMBER_LABEL = re.compile(r"(?:公民)?身份(?:证)?号码")
ID_HEADER = (*ID_LABELS, "公民身份号码")
MIN_ID_LABELS = 2
BANK_WORDS = re.compile(
    r"银行|银联|信用卡|借记卡|储蓄卡|有效期|unionpay|valid|thru|bank|debit|credit", re.IGNORECASE
)
CARD_NUMBER = re.compile(r"[0-9][0-9 ]{14,24}[0-9]")
MAX_CARD_LINES = 15  # a bank card photo holds a few lines; a page of text is not a card
MIN_SKEW_DEGREES = 0.5


@dataclass(slots=True)
class _Box:
    """A text item as an axis-aligned box (after deskewing)."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    confidence: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


Line = list[_Box]


def layout_blocks(items: Sequence[TextItem], location: str) -> list[Block]:
    """The blocks of one image (or page), top to bottom."""
    lines = _lines(_deskewed(items))
    if not lines:
        return []
    card = _id_cards(lines, location) or _bank_card(lines, location)
    if card is not None:
        table, rest = card
        return [table, *_blocks(rest, location)]
    return list(_blocks(lines, location))


# -- geometry -------------------------------------------------------------------------------------


def _deskewed(items: Sequence[TextItem]) -> list[_Box]:
    """Axis-aligned boxes, rotated by the median slope of the wide boxes' top edges."""
    slopes = [
        math.atan2(b[1][1] - b[0][1], b[1][0] - b[0][0])
        for b in (item.box for item in items)
        if math.dist(b[0], b[1]) > 2 * math.dist(b[1], b[2])
    ]
    angle = median(slopes) if slopes else 0.0
    cos, sin = math.cos(angle), math.sin(angle)
    level = abs(math.degrees(angle)) < MIN_SKEW_DEGREES
    boxes = []
    for item in items:
        points = item.box if level else [(x * cos + y * sin, -x * sin + y * cos) for x, y in item.box]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        boxes.append(_Box(min(xs), min(ys), max(xs), max(ys), item.text.strip(), item.confidence))
    return [b for b in boxes if b.text]


def _lines(boxes: list[_Box]) -> list[Line]:
    """Boxes grouped into lines (a box joins a line its middle falls into), each sorted left to right."""
    lines: list[Line] = []
    for box in sorted(boxes, key=lambda b: b.middle):
        for line in reversed(lines[-3:]):
            top, bottom = median(b.y0 for b in line), median(b.y1 for b in line)
            if top <= box.middle <= bottom:
                line.append(box)
                break
        else:
            lines.append([box])
    for line in lines:
        line.sort(key=lambda b: b.x0)
    return lines


def _bands(boxes: Iterable[_Box]) -> list[tuple[float, float]]:
    """Column bands: the union of the boxes' x-ranges, merged where they overlap."""
    bands: list[tuple[float, float]] = []
    for x0, x1 in sorted((b.x0, b.x1) for b in boxes):
        if bands and x0 <= bands[-1][1]:
            bands[-1] = (bands[-1][0], max(bands[-1][1], x1))
        else:
            bands.append((x0, x1))
    return bands


def _split_bridges(lines: Sequence[Line]) -> list[Line]:
    """The lines with every box that bridges a gap between the other lines' columns cut at that gap
    (a header "序号姓名" read as one run above separate 序号 and 姓名 cells). CJK text is evenly
    spaced, so the text is cut in proportion to the box's width."""
    out: list[Line] = []
    for i, line in enumerate(lines):
        others = _bands(b for j, other in enumerate(lines) if j != i for b in other)
        pieces: Line = []
        for box in line:
            inside = [band for band in others if box.x0 < band[1] and band[0] < box.x1]
            if len(inside) < 2:
                pieces.append(box)
                continue
            cuts = [(a[1] + b[0]) / 2 for a, b in itertools.pairwise(inside)]
            at = [round(len(box.text) * (x - box.x0) / (box.x1 - box.x0)) for x in (box.x0, *cuts, box.x1)]
            spans = [(max(box.x0, x0), min(box.x1, x1)) for x0, x1 in inside]  # apart, like the columns
            for (x0, x1), (t0, t1) in zip(spans, itertools.pairwise(at), strict=True):
                if box.text[t0:t1].strip():
                    pieces.append(_Box(x0, box.y0, x1, box.y1, box.text[t0:t1].strip(), box.confidence))
        out.append(pieces)
    return out


# -- text and tables ------------------------------------------------------------------------------


def _blocks(lines: list[Line], location: str) -> Iterator[Block]:
    """Runs of multi-box lines that form columns become tables; all else is text, in order."""
    text: list[Line] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and len(lines[j]) >= 2:
            j += 1
        table = _table(lines[i:j], location) if j - i >= 2 else None
        if table is None:
            text.append(lines[i])
            i += 1
            continue
        before, block = table
        text.extend(before)
        if text:
            yield _text_block(text, location)
            text = []
        yield block
        i = j
    if text:
        yield _text_block(text, location)


def _text_block(lines: Sequence[Line], location: str) -> TextBlock:
    parts: list[str] = []
    spans: list[tuple[int, int, float]] = []
    at = 0
    for n, line in enumerate(lines):
        if n:
            parts.append("\n")
            at += 1
        for k, box in enumerate(line):
            if k:
                parts.append(" ")
                at += 1
            parts.append(box.text)
            spans.append((at, at + len(box.text), box.confidence))
            at += len(box.text)
    return TextBlock("".join(parts), location, ocr=OcrText(spans=tuple(spans)))


def _table(lines: Sequence[Line], location: str) -> tuple[list[Line], TableBlock] | None:
    """(lines before the header, the table) when the lines' boxes form two or more columns."""
    lines = _split_bridges(lines)
    bands = _bands(b for line in lines for b in line)
    if len(bands) < 2:
        return None
    rows: list[tuple[str, ...]] = []
    confidences: list[tuple[float, ...]] = []
    for line in lines:
        cells: list[list[_Box]] = [[] for _ in bands]
        for box in line:
            cells[next(k for k, (x0, x1) in enumerate(bands) if x0 <= box.x0 <= x1)].append(box)
        rows.append(tuple(" ".join(b.text for b in cell) for cell in cells))
        confidences.append(tuple(min((b.confidence for b in cell), default=1.0) for cell in cells))
    h = find_header(rows)
    header = ("",) * len(bands) if h is None else clean_header(rows[h])
    before = [] if h is None else list(lines[:h])
    start = 0 if h is None else h + 1
    if start >= len(rows):
        return None
    block = TableBlock(
        header, rows[start:], location, first_row=start + 1, ocr=OcrText(cells=tuple(confidences[start:]))
    )
    return before, block


# -- cards ----------------------------------------------------------------------------------------


def _line_text(line: Line) -> str:
    return "".join(b.text for b in line).replace(" ", "")


def _id_cards(lines: list[Line], location: str) -> tuple[TableBlock, list[Line]] | None:
    """ID-card fronts: each 公民身份号码 line closes one card, labelled fields above it."""
    texts = [_line_text(line) for line in lines]
    rows: list[tuple[str, ...]] = []
    confidences: list[tuple[float, ...]] = []
    used: set[int] = set()
    start = 0
    for end, text in enumerate(texts):
        m = ID_NUMBER_LABEL.search(text)
        if m is None:
            continue
        fields = _id_fields(lines, texts, start, end)
        number = text[m.end() :] or (texts[end + 1] if end + 1 < len(texts) else "")
        if len(fields) >= MIN_ID_LABELS and number:
            row = [fields.get(label, ("", 1.0, ())) for label in ID_LABELS]
            row.append((number, _confidence(lines[end]), (end,)))
            rows.append(tuple(value for value, _, _ in row))
            confidences.append(tuple(conf for _, conf, _ in row))
            used.update(k for _, _, taken in row for k in taken)
        start = end + 1
    if not rows:
        return None
    table = TableBlock(ID_HEADER, rows, location, ocr=OcrText(cells=tuple(confidences), card=ID_CARD))
    return table, [line for k, line in enumerate(lines) if k not in used]


def _id_fields(
    lines: list[Line], texts: list[str], start: int, end: int
) -> dict[str, tuple[str, float, tuple[int, ...]]]:
    """Label -> (value, confidence, line indices) for the labelled lines between start and end."""
    fields: dict[str, tuple[str, float, tuple[int, ...]]] = {}
    k = start
    while k < end:
        text = texts[k]
        label = next((lb for lb in ID_LABELS if text.startswith(lb)), None)
        if label is None:
            k += 1
            continue
        taken = [k]
        if label == "住址":  # the address runs on over the following unlabelled lines
            while k + 1 < end and not any(texts[k + 1].startswith(lb) for lb in ID_LABELS):
                k += 1
                taken.append(k)
        value = "".join(texts[n] for n in taken)[len(label) :]
        for other in ID_LABELS:  # "性别男民族汉": two fields on one line
            at = value.find(other) if other != label else -1
            if at > 0:
                fields.setdefault(other, (value[at + len(other) :], _confidence(lines[k]), (k,)))
                value = value[:at]
        fields[label] = (value, min(_confidence(lines[n]) for n in taken), tuple(taken))
        k += 1
    return fields


def _bank_card(lines: list[Line], location: str) -> tuple[TableBlock, list[Line]] | None:
    """A bank card: a single line that is a 16-19 digit number, and a bank word on the card."""
    if len(lines) > MAX_CARD_LINES or not any(BANK_WORDS.search(_line_text(line)) for line in lines):
        return None
    numbers = [
        k
        for k, line in enumerate(lines)
        if (m := CARD_NUMBER.fullmatch(" ".join(b.text for b in line).strip()))
        and 16 <= len(m.group().replace(" ", "")) <= 19
    ]
    if len(numbers) != 1:
        return None
    k = numbers[0]
    number = " ".join(b.text for b in lines[k]).strip()
    table = TableBlock(
        ("卡号",), [(number,)], location, ocr=OcrText(cells=((_confidence(lines[k]),),), card=BANK_CARD)
    )
    return table, lines[:k] + lines[k + 1 :]


def _confidence(line: Line) -> float:
    return min(b.confidence for b in line)
