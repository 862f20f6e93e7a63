"""XML and HTML.

XML is parsed as a stream with defusedxml: entity declarations and external references are
refused (a billion-laughs file becomes a `skipped` status), elements are dropped once handled.
An element whose children are all leaves is a record; consecutive records of one kind form a
table. Other leaves become 'path/tag: value' lines. HTML tables become TableBlocks (a row of
<th> cells is the header), other HTML text becomes a TextBlock.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import BinaryIO, TextIO
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree as DET

from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError, LimitExceeded
from dlpscan.extract.jsondoc import records_blocks
from dlpscan.extract.plain import split_text
from dlpscan.extract.tables import HEADER_SEARCH_ROWS, chunk_rows, clean_header, table_blocks
from dlpscan.model import Block

_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DECL_TEXT = re.compile(r"""^(\ufeff?\s*<\?xml[^>]*?)encoding\s*=\s*["'][^"']*["']""")
_EXPAT_ENCODINGS = {
    "utf-8",
    "utf8",
    "utf-16",
    "utf16",
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "latin-1",
    "latin1",
}


def read_xml(f: BinaryIO, ctx: Context, detected: str = "utf-8") -> Iterator[Block]:
    """`detected` is the encoding found by sampling, used when the XML declares none."""
    try:
        yield from _xml_blocks(_expat_compatible(f, detected), ctx)
    except defusedxml.DefusedXmlException:
        raise LimitExceeded(
            "XML entity declarations or external references refused (entity expansion / XXE)"
        ) from None
    except ParseError:
        raise ExtractError("ParseError: malformed XML") from None


def _expat_compatible(f: BinaryIO, detected: str):
    """Expat reads UTF-8/UTF-16/Latin-1 only: re-encode e.g. GBK XML as UTF-8."""
    head = f.read(256)
    f.seek(0)
    m = _DECL_ENCODING.match(head)
    declared = m.group(1).decode().lower() if m else None
    if declared in _EXPAT_ENCODINGS or (declared is None and detected.startswith(("utf", "ascii"))):
        return f
    return _Reencoded(io.TextIOWrapper(f, encoding=_codec(declared or detected), errors="replace"))


def _codec(name: str) -> str:
    lowered = name.lower()
    if lowered in {"gb2312", "gbk", "gb18030", "cp936"}:
        return "gb18030"
    try:
        return io.TextIOWrapper(io.BytesIO(), encoding=lowered).encoding
    except LookupError:
        return "utf-8"


class _Reencoded:
    """A byte stream of UTF-8 over a decoded text stream, with the XML declaration rewritten."""

    def __init__(self, tf: TextIO) -> None:
        self._tf = tf
        self._first = True

    def read(self, n: int = -1) -> bytes:
        text = self._tf.read(max(n // 4, 1) if n > 0 else -1)
        if self._first:
            self._first = False
            text = _DECL_TEXT.sub(r'\1encoding="utf-8"', text, count=1)
        return text.encode("utf-8")


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""  # comments / processing instructions
    return tag.rsplit("}", 1)[-1]


def _xml_blocks(source, ctx: Context) -> Iterator[Block]:
    limits = ctx.limits
    frames: list[list] = []  # [element, local tag, has a child, has a non-leaf child]
    lines: list[str] = []
    line_chars = 0
    group_key: str | None = None
    group: list[dict] = []
    group_first = 1

    def flush_group() -> Iterator[Block]:
        nonlocal group, group_first
        if group:
            yield from records_blocks(group, ctx, group_key or "", group_first)
            group_first += len(group)
            group = []

    for event, elem in DET.iterparse(source, events=("start", "end")):
        if event == "start":
            if frames:
                frames[-1][2] = True
            frames.append([elem, _local(elem.tag), False, False])
            if len(frames) > limits.max_structure_depth:
                raise LimitExceeded("XML nesting deeper than limit")
            continue
        _, tag, has_child, has_nonleaf = frames.pop()
        if not has_child:
            if not frames:  # a lone root leaf
                lines.append(f"{tag}: {(elem.text or '').strip()}")
            continue  # a leaf is read with its parent
        if frames:
            frames[-1][3] = True
        where = "/".join([*(f[1] for f in frames), tag])
        children = list(elem)
        if not has_nonleaf and len(children) >= 2:
            tags = [_local(c.tag) for c in children]
            if 3 * max(Counter(tags).values()) >= 2 * len(tags):  # a list: <customer name=".."/> x n
                records = [_leaf_record(c, tag) for c, tag in zip(children, tags, strict=True)]
            else:  # one record; a repeated field keeps every value (phone, phone#2)
                record = {f"@{_local(k)}": v for k, v in elem.attrib.items()}
                seen: Counter[str] = Counter()
                for c, ctag in zip(children, tags, strict=True):
                    seen[ctag] += 1
                    record.update(_leaf_record(c, ctag if seen[ctag] == 1 else f"{ctag}#{seen[ctag]}"))
                records = [record]
            if where != group_key:
                yield from flush_group()
                group_key, group_first = where, 1
            for record in records:
                group.append(record)
                if len(group) >= limits.table_block_rows:
                    ctx.check()
                    yield from flush_group()
        else:
            new = list(_element_lines(elem, where))
            lines.extend(new)
            line_chars += sum(len(x) for x in new)
        elem.clear()
        if frames:
            parent = frames[-1][0]
            if len(parent) and parent[-1] is elem:
                parent.remove(elem)
        if line_chars > limits.text_block_chars:
            yield from split_text("\n".join(lines), ctx, "elements")
            lines, line_chars = [], 0
    yield from flush_group()
    if lines:
        yield from split_text("\n".join(lines), ctx, "elements")


def _leaf_record(leaf, tag: str) -> dict[str, str]:
    """A leaf element's text and attributes as record fields (tag, tag@attribute)."""
    record = {f"{tag}@{_local(k)}": v for k, v in leaf.attrib.items()}
    record[tag] = (leaf.text or "").strip()
    return record


def _element_lines(elem, where: str) -> Iterator[str]:
    """'path: text' lines for an element that is not a record: its text, attributes and leaves."""
    text = (elem.text or "").strip()
    if text:
        yield f"{where}: {text}"
    for k, v in elem.attrib.items():
        yield f"{where}@{_local(k)}: {v}"
    for c in elem:
        if len(c) == 0:
            ctag = f"{where}/{_local(c.tag)}"
            ctext = (c.text or "").strip()
            if ctext:
                yield f"{ctag}: {ctext}"
            for k, v in c.attrib.items():
                yield f"{ctag}@{_local(k)}: {v}"
        tail = (c.tail or "").strip()
        if tail:
            yield tail


class _HtmlCollector(HTMLParser):
    """Collects HTML text and tables; completed pieces are taken out with `drain()`."""

    _BREAKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"}
    )
    _SKIP = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tables: list[tuple[list[tuple[str, ...]], int | None]] = []
        self._skip = 0
        self._open: list[tuple[list[tuple[str, ...]], int | None]] = []
        self._row: list[str] | None = None
        self._row_th: list[bool] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "table":
            self._open.append(([], None))
        elif tag == "tr" and self._open:
            self._end_row()
            self._row, self._row_th = [], []
        elif tag in ("td", "th") and self._open:
            self._end_cell()
            if self._row is None:
                self._row, self._row_th = [], []
            self._cell = []
            self._row_th.append(tag == "th")
        elif tag in self._BREAKS:
            self._put("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._open:
            self._end_row()
            rows, header = self._open.pop()
            if rows:
                self.tables.append((rows, header))
        elif tag == "tr":
            self._end_row()
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in self._BREAKS:
            self._put("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._put(data)

    def _put(self, s: str) -> None:
        if self._cell is not None:
            self._cell.append(s)
        elif not self._open:
            self.text.append(s)

    def _end_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is not None and self._open:
            rows, header = self._open[-1]
            if header is None and self._row_th and all(self._row_th) and len(rows) < HEADER_SEARCH_ROWS:
                self._open[-1] = (rows, len(rows))
            rows.append(tuple(self._row))
        self._row = None

    def drain(self) -> tuple[str, list]:
        text, tables = "".join(self.text), self.tables
        self.text, self.tables = [], []
        return text, tables


def read_html(tf: TextIO, ctx: Context) -> Iterator[Block]:
    parser = _HtmlCollector()
    pending_text: list[str] = []
    pending_chars = 0
    n_tables = 0
    while True:
        ctx.check()
        chunk = tf.read(1024**2)
        if chunk:
            parser.feed(chunk)
        else:
            parser.close()
        text, tables = parser.drain()
        pending_text.append(text)
        pending_chars += len(text)
        if pending_chars > ctx.limits.text_block_chars:
            yield from split_text(_squeeze("".join(pending_text)), ctx, "text")
            pending_text, pending_chars = [], 0
        for rows, header in tables:
            n_tables += 1
            location = f"table {n_tables}"
            if header is None:
                yield from table_blocks(iter(rows), ctx, location, header_fallback="first")
            else:
                yield from chunk_rows(
                    rows[header + 1 :], iter(()), clean_header(rows[header]), ctx, location, header + 2
                )
        if not chunk:
            break
    yield from split_text(_squeeze("".join(pending_text)), ctx, "text")


def _squeeze(text: str) -> str:
    return re.sub(r"\n\s*\n+", "\n", text).strip()
