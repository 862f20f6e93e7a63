"""SQL dumps (mysqldump, pg_dump, hand-written INSERTs).

`INSERT INTO t (cols) VALUES (...),(...)` becomes a TableBlock with the column names as header;
when the INSERT names no columns, the column list of the dump's `CREATE TABLE t` is used.
PostgreSQL `COPY t (cols) FROM stdin` data is read the same way. Every other line (DDL,
comments, UPDATEs) is handed on as text. The file is streamed line by line; values are found
with one tokenising regex, so long extended INSERT lines cost no per-character Python work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from dlpscan.extract.context import Context
from dlpscan.extract.plain import split_text
from dlpscan.model import Block, TableBlock

_NAME = r"(?:`[^`]+`|\"[^\"]+\"|\[[^\]]+\]|[\w$]+)"
_QNAME = rf"{_NAME}(?:\s*\.\s*{_NAME})*"
_INSERT = re.compile(
    rf"^\s*(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*(?:INTO\s+)?"
    rf"(?P<table>{_QNAME})\s*(?:\((?P<cols>[^)]*)\))?\s*VALUES?\s*",
    re.I,
)
_CREATE = re.compile(
    rf"^\s*CREATE\s+(?:(?:GLOBAL|LOCAL|TEMPORARY|TEMP|UNLOGGED)\s+)*TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<table>{_QNAME})\s*\(\s*(?P<rest>.*)$",
    re.I,
)
_COPY = re.compile(rf"^\s*COPY\s+(?P<table>{_QNAME})\s*(?:\((?P<cols>[^)]*)\))?\s+FROM\s+stdin", re.I)
_COLUMN = re.compile(rf"^\s*(?P<name>{_NAME})\s+\w", re.I)
_NOT_COLUMN = re.compile(
    r"^\s*(?:PRIMARY|KEY|UNIQUE|INDEX|CONSTRAINT|FOREIGN|CHECK|FULLTEXT|SPATIAL|EXCLUDE|PERIOD)\b", re.I
)
_TOKEN = re.compile(
    r"""(?P<s>'(?:[^'\\]|\\.|'')*')|(?P<d>"(?:[^"\\]|\\.|"")*")|(?P<open>'|")|(?P<p>[(),;])|(?P<w>[^\s(),;'"]+)""",
    re.S,
)
_ESCAPE = re.compile(r"\\(.)|''|\"\"", re.S)
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_COPY_ESCAPE = re.compile(r"\\(.)")


def _unquote_name(name: str) -> str:
    return name.strip().strip('`"[]')


def _names(cols: str) -> tuple[str, ...]:
    return tuple(_unquote_name(c.split(".")[-1]) for c in cols.split(","))


def _create_columns(body: str) -> tuple[str, ...]:
    """Column names from the text after `CREATE TABLE t (`, up to its closing parenthesis."""
    pieces, depth, start, end = [], 0, 0, len(body)
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                end = i
                break
            depth -= 1
        elif ch == "," and depth == 0:
            pieces.append(body[start:i])
            start = i + 1
    pieces.append(body[start:end])
    columns = []
    for piece in pieces:
        c = _COLUMN.match(piece)
        if c and not _NOT_COLUMN.match(piece):
            columns.append(_unquote_name(c.group("name")))
    return tuple(columns)


def _unescape(m: re.Match) -> str:
    if m.group(1) is None:
        return m.group(0)[0]
    return _ESCAPES.get(m.group(1), m.group(1))


def _value(token: str) -> str:
    if token[0] in "'\"":
        body = token[1:-1]
        return _ESCAPE.sub(_unescape, body) if ("\\" in body or token[0] * 2 in body) else body
    return "" if token.upper() == "NULL" else token


class _Tables:
    """Rows collected per table, handed on in TableBlocks of `table_block_rows`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.columns: dict[str, tuple[str, ...]] = {}
        self.counts: dict[str, int] = {}
        self.table = ""
        self.header: tuple[str, ...] = ()
        self.rows: list[tuple[str, ...]] = []

    def start(self, table: str, cols: str | None) -> list[Block]:
        out = self.flush() if table != self.table else []
        self.table = table
        self.header = _names(cols) if cols else self.columns.get(table, ())
        return out

    def add(self, row: list[str]) -> list[Block]:
        self.rows.append(tuple(row))
        return self.flush() if len(self.rows) >= self.ctx.limits.table_block_rows else []

    def flush(self) -> list[Block]:
        if not self.rows:
            return []
        self.ctx.check()
        width = max(len(r) for r in self.rows)
        header = self.header if len(self.header) == width else (self.header + ("",) * width)[:width]
        first = self.counts.get(self.table, 0) + 1
        self.counts[self.table] = first - 1 + len(self.rows)
        block = TableBlock(header=header, rows=self.rows, location=f"table {self.table}", first_row=first)
        self.rows = []
        return [block]


def read_sql(tf: TextIO, ctx: Context) -> Iterator[Block]:
    tables = _Tables(ctx)
    text: list[str] = []
    text_chars = 0
    max_line = ctx.limits.text_block_chars
    in_values = in_copy = False
    create_table: str | None = None
    create_body = ""
    depth = 0
    row: list[str] = []
    carry = ""
    while True:
        line = tf.readline(max_line)
        if not line:
            break
        if in_copy:
            if line.rstrip("\r\n") == "\\.":
                in_copy = False
                yield from tables.flush()
            else:
                fields = line.rstrip("\r\n").split("\t")
                yield from tables.add(["" if f == "\\N" else _COPY_ESCAPE.sub(_unescape, f) for f in fields])
            continue
        if not in_values:
            m = _INSERT.match(line)
            if m:
                yield from tables.start(_unquote_name(m.group("table")), m.group("cols"))
                in_values, depth, row, carry = True, 0, [], ""
                line = line[m.end() :]
            else:
                m = _COPY.match(line)
                if m:
                    yield from tables.start(_unquote_name(m.group("table")), m.group("cols"))
                    in_copy = True
                    continue
                if create_table is None:
                    m = _CREATE.match(line)
                    if m:
                        create_table, create_body, line_rest = (
                            _unquote_name(m.group("table")),
                            "",
                            m.group("rest"),
                        )
                else:
                    line_rest = line
                if create_table is not None:
                    create_body += line_rest
                    if create_body.count(")") > create_body.count("(") or line.rstrip().endswith(";"):
                        tables.columns[create_table] = _create_columns(create_body)
                        create_table = None
                text.append(line)
                text_chars += len(line)
                if text_chars > max_line:
                    yield from split_text("".join(text), ctx, "statements")
                    text, text_chars = [], 0
                continue
        buf = carry + line
        carry = ""
        cut = not line.endswith("\n")  # a line longer than max_line arrives in pieces
        for m in _TOKEN.finditer(buf):
            kind = m.lastgroup
            if kind == "open" or (cut and kind != "p" and m.end() == len(buf)):
                carry = buf[m.start() :]  # a value continues in the next piece or line
                if len(carry) > max_line:  # an unterminated quote: give up on it, keep going
                    row.append(carry[1:])
                    carry = ""
                break
            tok = m.group()
            if kind != "p":
                if depth == 1:
                    row.append(_value(tok))
            elif tok == "(":
                depth += 1
                if depth == 1:
                    row = []
            elif tok == ")":
                if depth == 1:
                    yield from tables.add(row)
                depth = max(depth - 1, 0)
            elif tok == ";" and depth == 0:
                in_values = False
                yield from tables.flush()
                break
    yield from tables.flush()
    if text:
        yield from split_text("".join(text), ctx, "statements")
