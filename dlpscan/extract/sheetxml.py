"""Worksheet XML read the way calamine reads it: a lenient streaming tokenizer (quick-xml's rules)
and calamine's walk over the cells of a sheet (calamine/src/xlsx/cells_reader.rs).

calamine places a cell at its `r` reference or, without one, at the current row (set by
`<row r>`, advanced by `</row>`) and column (set by the last reference, advanced by each `<c>`),
in wrapping 32-bit arithmetic, and keeps the cells whose value is not empty. `cells()` follows
the same rules, so the positions it yields are the positions calamine lays out; where calamine
stops with an error the walk goes on (it may only see more cells than calamine, never fewer).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

START, END, TEXT, DOCTYPE = 0, 1, 2, 3
Event = tuple[int, bytes, bytes]  # (kind, element name, attributes or text)
CHUNK = 1024**2
MAX_TOKEN = 16 * 1024**2  # one tag or text run; a cell holds at most 32,767 characters
_U32 = 0xFFFFFFFF
_XML_SPACE = b" \t\r\n"  # quick-xml's whitespace (names)

# One token as quick-xml delimits it: a text run, or markup from "<" to its ">" (comments, CDATA
# and processing instructions end at their first terminator; a start tag ends at the first ">"
# outside quotes, its name at the first whitespace; an end tag ends at the first ">").
_TOKEN = re.compile(
    rb"(?P<text>[^<]+)|<(?:!--.*?--|\?.*?\?|!\[CDATA\[(?P<cdata>.*?)\]\]"
    rb"|(?P<bang>!)(?!--|\[CDATA\[)(?:[^>\[]|\[[^\]]*\])*"
    rb"|/(?P<end>[^>]*)"
    rb"|(?P<name>(?![!?/])[^ \t\r\n>]*)(?P<attrs>(?:[^>\"']|\"[^\"]*\"|'[^']*')*))>",
    re.S,
)
# One attribute as calamine's parser reads it: key up to "=" (trailing space trimmed), a quoted value.
_ATTRIBUTE = re.compile(rb"[ \t\r\n\x0c]*([^=]*?)[ \t\r\n\x0c]*=[ \t\r\n\x0c]*(?:\"([^\"]*)\"|'([^']*)')")
_REFERENCE = re.compile(rb"([A-Za-z]*)([0-9]*)")


class Malformed(Exception):
    """The XML ends inside markup (calamine stops there too)."""


class TooLong(Malformed):
    """One tag or text run is longer than MAX_TOKEN (calamine would read on)."""


def events(read: Callable[[int], bytes]) -> Iterator[Event]:
    """START (name, raw attributes), END (name), TEXT (raw text, CDATA included) and DOCTYPE
    events of the XML that `read(n)` returns piece by piece. An empty element is a START and an
    END, as calamine configures quick-xml (expand_empty_elements)."""
    buf, pos, eof = b"", 0, False
    while True:
        for m in iter(_TOKEN.scanner(buf, pos).match, None):
            kind = m.lastgroup
            if kind == "text":
                if m.end() == len(buf) and not eof:
                    break  # the run may go on in the next piece
                yield TEXT, b"", m["text"]
            elif kind == "attrs":
                name, attrs = m["name"], m["attrs"]
                empty = (attrs or name)[-1:] == b"/"
                if empty and attrs:
                    attrs = attrs[:-1]
                elif empty:
                    name = name[:-1]
                yield START, name, attrs
                if empty:
                    yield END, name, b""
            elif kind == "end":
                yield END, m["end"].rstrip(_XML_SPACE), b""
            elif kind == "cdata":
                yield TEXT, b"", m["cdata"]
            elif kind == "bang":
                yield DOCTYPE, b"", b""
            pos = m.end()
        if eof:
            if pos < len(buf):
                raise Malformed("XML ends inside markup")
            return
        buf, pos = buf[pos:], 0
        if len(buf) > MAX_TOKEN:
            raise TooLong("XML markup or text longer than the limit")
        more = read(max(CHUNK, len(buf)))  # at least doubles what is retried: linear overall
        eof = not more
        buf += more


@lru_cache(maxsize=1024)
def local(name: bytes) -> bytes:
    """quick-xml's local name: what follows the first ':'."""
    return name.partition(b":")[2] if b":" in name else name


def attribute_matches(raw: bytes) -> Iterator[re.Match[bytes]]:
    """One match per attribute as calamine's parser reads them (key: group 1, value: group 2 or
    3); stops where it fails."""
    return iter(_ATTRIBUTE.scanner(raw).match, None)


def attributes(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(key, raw value) pairs as calamine's attribute parser reads them; stops where it fails."""
    for m in attribute_matches(raw):
        yield m[1], m[2] if m[2] is not None else m[3]


def attribute(raw: bytes, key: bytes) -> bytes | None:
    """The first value of `key` (calamine's raw_attr)."""
    return next((v for k, v in attributes(raw) if k == key), None)


def _cell_attributes(raw: bytes) -> tuple[bytes | None, bytes | None]:
    """(r, t) of a <c> as calamine's get_attrs! reads them: the last of each, until r, s and t
    have been seen (repeats counted)."""
    ref = typ = None
    found = 0
    for key, value in attributes(raw):
        if key in (b"r", b"s", b"t"):
            if key == b"r":
                ref = value
            elif key == b"t":
                typ = value
            found += 1
            if found == 3:
                break
    return ref, typ


def _wrapped(digits: bytes) -> int:
    if len(digits) <= 18:
        return int(digits) & _U32
    value = 0
    for i in range(0, len(digits), 9):  # a long reference stays linear (no giant int)
        piece = digits[i : i + 9]
        value = (value * 10 ** len(piece) + int(piece)) & _U32
    return value


@lru_cache(maxsize=4096)
def column(letters: bytes) -> int:
    """The 1-based column of reference letters (A = 1, AA = 27), wrapping as calamine's."""
    col = 0
    for ch in letters.upper():
        col = (col * 26 + ch - 64) & _U32
    return col


def position(ref: bytes) -> tuple[int, int] | None:
    """(row, column), 0-based, of a reference as calamine computes them (wrapping u32); the
    column is -1 when the reference has none. None where calamine fails."""
    m = _REFERENCE.fullmatch(ref)
    if m is None or not m[2]:
        return None
    row = _wrapped(m[2])
    return (row - 1, column(m[1]) - 1) if row else None


def cells(evs: Iterator[Event], strings: Sequence[str] = ()) -> Iterator[tuple[int, int, object]]:
    """(row, column, value) of every cell calamine keeps (a value that is not empty), in file
    order. `strings` is the shared-string table."""
    for kind, name, _ in evs:
        if kind == START and local(name) == b"sheetData":
            break
    else:
        return
    row = col = 0
    for kind, name, data in evs:
        if kind == START:
            tag = local(name)
            if tag == b"row":
                ref = attribute(data, b"r")
                at = position(ref) if ref is not None else None
                if at is not None:
                    row = at[0]
            elif tag == b"c":
                ref, typ = _cell_attributes(data)
                at = position(ref) if ref is not None else None
                here = row
                if at is not None and at[1] >= 0:
                    here, col = at
                present, value = _value(evs, typ, strings)
                if present:
                    yield here, col, value
                col = (col + 1) & _U32
        elif kind == END:
            tag = local(name)
            if tag == b"row":
                row, col = (row + 1) & _U32, 0
            elif tag == b"sheetData":
                return


def _value(evs: Iterator[Event], typ: bytes | None, strings: Sequence[str]) -> tuple[bool, object]:
    """(whether calamine keeps the cell, its value) from the events up to </c>; the last child
    element decides, as in calamine's read_value."""
    present, value = False, None
    for kind, name, _ in evs:
        if kind == END and local(name) == b"c":
            break
        if kind != START:
            continue
        tag = local(name)
        if tag == b"v":
            present, value = _v(_texts(evs, name), typ, strings)
        elif tag == b"is":
            present, value = True, _inline(evs, name)
        elif tag == b"f":
            _texts(evs, name)
            present, value = False, None
    return present, value


def _texts(evs: Iterator[Event], name: bytes) -> list[bytes]:
    """The text events up to the end of the element `name` just started (nesting counted)."""
    out, depth = [], 1
    for kind, n, data in evs:
        if kind == TEXT:
            out.append(data)
        elif n == name:
            depth += 1 if kind == START else -1
            if not depth:
                break
    return out


def _v(texts: list[bytes], typ: bytes | None, strings: Sequence[str]) -> tuple[bool, object]:
    if typ in (b"inlineStr", b"is"):
        return False, None
    text = html.unescape(b"".join(texts).decode("utf-8", "replace"))
    if typ not in (b"n", b"s", b"b", b"e", None):
        return True, text  # str, d and others: kept even when empty
    if not texts or not texts[0]:
        return False, None
    if typ == b"s":
        index = int(text) if text.isascii() and text.isdigit() and len(text) < 20 else 0
        return True, strings[index] if index < len(strings) else ""
    if typ == b"b":
        return True, text != "0"
    if typ in (b"n", None):
        try:
            return True, float(text)
        except ValueError:
            return True, text
    return True, text


def _inline(evs: Iterator[Event], name: bytes) -> str:
    """The text of an <is> (or <si>) element: its <t> runs, phonetic runs (<rPh>) left out."""
    parts: list[str] = []
    phonetic = False
    for kind, n, _ in evs:
        if kind == END and n == name:
            break
        tag = local(n)
        if tag == b"rPh":
            phonetic = kind == START
        elif kind == START and tag == b"t" and not phonetic:
            parts.append(html.unescape(b"".join(_texts(evs, n)).decode("utf-8", "replace")))
    return "".join(parts)


def shared_strings(evs: Iterator[Event]) -> Iterator[str]:
    """The strings of a shared-string table, in order."""
    for kind, name, _ in evs:
        if kind == START and local(name) == b"si":
            yield _inline(evs, name)
