"""Text files: plain text, logs and markdown, delimited exports, JSON, XML/HTML and SQL dumps.

Everything is decoded once with the detected encoding and streamed: nothing here holds a whole
large file in memory (JSON up to `max_tree_bytes` is parsed as a tree; larger JSON is streamed
as JSON Lines or as text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dlpscan.extract import delimited, fixedwidth, jsondoc, markup, sqldump
from dlpscan.extract.context import Context
from dlpscan.extract.decode import SAMPLE_BYTES, detect_encoding, open_text, sample_of
from dlpscan.extract.plain import file_blocks
from dlpscan.extract.source import Source
from dlpscan.model import Block

_TEXT_ONLY_SUFFIXES = {".log", ".md", ".markdown", ".rst", ".ini", ".conf", ".cfg", ".yaml", ".yml"}
_DELIMITED_TYPES = {"text/csv", "text/tab-separated-values", "application/csv"}
_JSON_TYPES = {"application/json", "application/x-ndjson", "application/ld+json"}
_JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
_XML_TYPES = {"text/xml", "application/xml", "image/svg+xml", "application/rss+xml", "application/atom+xml"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
STRUCTURED_TYPES = _JSON_TYPES | _XML_TYPES | _HTML_TYPES | {"application/sql", "application/csv"}
_SQL_START = re.compile(
    r"^\s*(?:INSERT\s+(?:IGNORE\s+)?INTO|CREATE\s+TABLE|COPY\s+\S+.*\bFROM\s+stdin)", re.I | re.M
)


def text_kind(media_type: str, suffix: str, head: str) -> str:
    """One of: json, xml, html, sql, csv (permissive), table? (strict), text.

    Content decides; the suffix only breaks ties the content leaves open (JSON that starts like
    JSON, CSV versus prose, a log that happens to have commas). A `.sql` name without SQL
    statements is read as the text it is.
    """
    lead = head.lstrip("\ufeff \t\r\n")[:1]
    if media_type in _JSON_TYPES or (suffix in _JSON_SUFFIXES and lead in ("{", "[")):
        return "json"
    if media_type in _HTML_TYPES:
        return "html"
    if media_type in _XML_TYPES or (
        lead == "<" and (suffix == ".xml" or head.lstrip("\ufeff \t\r\n").startswith("<?xml"))
    ):
        return "xml"
    statements = _SQL_START.search(head[:SAMPLE_BYTES])
    if media_type in {"application/sql", "text/x-sql"} or (statements and suffix == ".sql"):
        return "sql"
    if suffix in _TEXT_ONLY_SUFFIXES:
        return "text"
    if statements and "VALUES" in head.upper():
        return "sql"
    if media_type in _DELIMITED_TYPES or suffix in {".csv", ".tsv"}:
        return "csv"
    return "table?"


def read_text(src: Source, ctx: Context, media_type: str) -> Iterator[Block]:
    with src.open() as f:
        encoding = detect_encoding(sample_of(f, src.size))
        head = delimited.head_text(f.read(SAMPLE_BYTES), encoding)
        f.seek(0)
        kind = text_kind(media_type, src.suffix, head)
        if kind == "json":
            yield from jsondoc.read_json(f, src.size, encoding, ctx)
        elif kind == "xml":
            yield from markup.read_xml(f, ctx, encoding)
        elif kind == "html":
            yield from markup.read_html(open_text(f, encoding), ctx)
        elif kind == "sql":
            yield from sqldump.read_sql(open_text(f, encoding), ctx)
        else:
            layout = None
            if kind in ("csv", "table?") and src.size > 0:
                layout = delimited.sniff_layout(head, strict=kind == "table?")
            grid = fixedwidth.sniff_grid(head) if layout is None and kind == "table?" else None
            if layout is not None:
                yield from delimited.delimited_blocks(open_text(f, encoding, newline=""), layout, ctx)
            elif grid is not None:
                yield from fixedwidth.fixed_width_blocks(open_text(f, encoding), grid, ctx)
            else:
                yield from file_blocks(f, encoding, ctx)
