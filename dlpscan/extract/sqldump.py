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
from dlpscan.extract.tables import chunk_rows
from dlpscan.model import Block

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
_STRING_BODY = {q: re.compile(rf"(?:[^{q}\\]|\\.|{q}{q})*", re.S) for q in "'\""}
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
        self.cells = 0

    def start(self, table: str, cols: str | None) -> list[Block]:
        out = self.flush() if table != self.table else []
        self.table = table
        self.header = _names(cols) if cols else self.columns.get(table, ())
        return out

    def add(self, row: list[str]) -> list[Block]:
        self.rows.append(tuple(row))
        self.cells += len(row)
        limits = self.ctx.limits
        full = len(self.rows) >= limits.table_block_rows or self.cells >= limits.table_block_cells
        return self.flush() if full else []

    def flush(self) -> list[Block]:
        if not self.rows:
            return []
        self.ctx.check()
        width = max(len(r) for r in self.rows)
        header = self.header if len(self.header) == width else (self.header + ("",) * width)[:width]
        first = self.counts.get(self.table, 0) + 1
        self.counts[self.table] = first - 1 + len(self.rows)
        rows, self.rows, self.cells = self.rows, [], 0
        return list(chunk_rows([], iter(rows), header, self.ctx, f"table {self.table}", first))


class _OpenString:
    """A quoted value running over several lines or pieces, collected without rescanning it.

    Re-tokenising the growing value with every new line was quadratic: a dump with one
    unterminated quote and many short lines kept the reader busy for minutes.
    """

    def __init__(self, quote: str) -> None:
        self.quote = quote
        self._body = _STRING_BODY[quote]
        self.parts: list[str] = []
        self.size = 0
        self._tail = ""  # a quote or backslash at the end of a cut piece: its meaning depends on what follows

    def feed(self, piece: str, cut: bool, start: int = 0) -> str | None:
        """Add a piece; return what follows the closing quote, or None while the value is open."""
        if self._tail:
            piece, start = self._tail + piece, 0
            self._tail = ""
        end = self._body.match(piece, start).end()
        last = len(piece) - 1
        if end <= last and piece[end] == self.quote and not (cut and end == last):
            self._add(piece[: end + 1])
            return piece[end + 1 :]
        if end == last:
            self._tail, piece = piece[-1], piece[:-1]
        self._add(piece)
        return None

    def _add(self, piece: str) -> None:
        self.parts.append(piece)
        self.size += len(piece)

    def text(self) -> str:
        return "".join(self.parts) + self._tail


class _Create:
    """The column list of a CREATE TABLE statement, collected line by line up to its closing parenthesis."""

    def __init__(self, table: str, max_chars: int) -> None:
        self.table = table
        self.parts: list[str] = []
        self.size = 0
        self.balance = 0  # ')' minus '(' so far
        self.max_chars = max_chars

    def add(self, text: str, line: str) -> bool:
        """Add a line; True when the statement is complete (or too long to keep collecting)."""
        self.parts.append(text)
        self.size += len(text)
        self.balance += text.count(")") - text.count("(")
        return self.balance > 0 or line.rstrip().endswith(";") or self.size > self.max_chars

    def columns(self) -> tuple[str, ...]:
        return _create_columns("".join(self.parts))


def read_sql(tf: TextIO, ctx: Context) -> Iterator[Block]:
    tables = _Tables(ctx)
    text: list[str] = []
    text_chars = 0
    max_line = ctx.limits.text_block_chars
    in_values = in_copy = False
    create: _Create | None = None
    depth = 0
    row: list[str] = []
    carry = ""
    string: _OpenString | None = None
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
                rest = line
                if create is None:
                    m = _CREATE.match(line)
                    if m:
                        create, rest = _Create(_unquote_name(m.group("table")), max_line), m.group("rest")
                if create is not None and create.add(rest, line):
                    tables.columns[create.table] = create.columns()
                    create = None
                text.append(line)
                text_chars += len(line)
                if text_chars > max_line:
                    yield from split_text("".join(text), ctx, "statements")
                    text, text_chars = [], 0
                continue
        cut = not line.endswith("\n")  # a line longer than max_line arrives in pieces
        if string is not None:
            rest = string.feed(line, cut)
            if rest is None:
                if string.size > max_line:  # an unterminated quote: give up on it, keep going
                    row.append(string.text()[1:])
                    string = None
                continue
            line, string = string.text() + rest, None
        buf = carry + line
        carry = ""
        for m in _TOKEN.finditer(buf):
            kind = m.lastgroup
            if kind == "open":
                string = _OpenString(m.group())  # no closing quote in `buf`, or `s`/`d` had matched
                string.feed(buf[m.start() :], cut, 1)
                break
            if cut and kind != "p" and m.end() == len(buf):
                carry = buf[m.start() :]  # a value continues in the next piece
                if len(carry) > max_line:
                    row.append(carry)
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
    if string is not None and depth == 1:
        row.append(string.text()[1:])  # a value left open at the end of the file is still read
    if row and depth >= 1:
        yield from tables.add(row)
    yield from tables.flush()
    if text:
        yield from split_text("".join(text), ctx, "statements")
