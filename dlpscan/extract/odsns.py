"""OpenDocument namespaces under prefixes of the file's own (odscheck, odsbulk, odssparse).

calamine matches `table:table-row`, `text:p`, `office:value`… as written, not by namespace: a
content.xml that binds the table, text or office namespace to another prefix, or makes one the
default namespace, is valid ODF but calamine reads no table from it. Such a file is not left to
calamine (Renamed), and `standard()` rewrites its names to the standard prefixes for odsxml.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

from dlpscan.extract import sheetxml

_STANDARD = {  # namespace URI -> the prefix calamine expects
    b"urn:oasis:names:tc:opendocument:xmlns:office:1.0": b"office",
    b"urn:oasis:names:tc:opendocument:xmlns:table:1.0": b"table",
    b"urn:oasis:names:tc:opendocument:xmlns:text:1.0": b"text",
}
_Renames = dict[bytes, bytes]  # prefix as written (b"": the default namespace) -> standard prefix


class Renamed(Exception):
    """content.xml binds an OpenDocument namespace to a prefix calamine does not read."""

    def __init__(self) -> None:
        super().__init__("OpenDocument namespaces under prefixes calamine does not read")


def check(attrs: bytes) -> None:
    """Raise Renamed when a start tag's attributes bind an OpenDocument namespace to another prefix."""
    if b"xmlns" in attrs and _declared({}, attrs):
        raise Renamed


def standard(evs: Iterator[sheetxml.Event]) -> Iterator[sheetxml.Event]:
    """The events with every name under the office, table and text namespaces written with its
    standard prefix, declarations followed in scope; the others as written. Until a declaration
    renames, events pass unchanged and uncounted (the usual file)."""
    scopes: list[tuple[int, _Renames]] = []  # (depth of the declaring element, renames in force)
    renames: _Renames = {}
    depth = 0  # elements open below the outermost renaming declaration's parent
    for event in evs:
        if not scopes and (event[0] != sheetxml.START or b"xmlns" not in event[2]):
            yield event
            continue
        kind, name, data = event
        if kind == sheetxml.START:
            depth = depth + 1 if scopes else 1
            if b"xmlns" in data and (declared := _declared(renames, data)) != renames:
                scopes.append((depth, declared))
                renames = declared
            if renames:
                name, data = _name(name, renames, b""), _attributes(data, renames)
        elif kind == sheetxml.END:
            if renames:
                name = _name(name, renames, b"")
            if scopes[-1][0] == depth:
                scopes.pop()
                renames = scopes[-1][1] if scopes else {}
            depth -= 1
        yield kind, name, data


def _declared(renames: _Renames, attrs: bytes) -> _Renames:
    """`renames` with the namespace declarations in `attrs` applied."""
    out = dict(renames)
    for key, raw in sheetxml.attributes(attrs):
        if key != b"xmlns" and not key.startswith(b"xmlns:"):
            continue
        prefix = key[6:]
        wanted = _STANDARD.get(html.unescape(raw.decode("utf-8", "replace")).encode())
        if wanted is not None and wanted != prefix:
            out[prefix] = wanted
        else:
            out.pop(prefix, None)
    return out


def _name(name: bytes, renames: _Renames, default: bytes | None) -> bytes:
    """`name` with its prefix standard; `default` is the prefix of an unprefixed name (None: an
    attribute's, which is in no namespace)."""
    prefix, colon, local = name.partition(b":")
    if not colon:
        prefix, local = default, name
    wanted = renames.get(prefix) if prefix is not None else None
    return wanted + b":" + local if wanted is not None else name


def _attributes(data: bytes, renames: _Renames) -> bytes:
    """The raw attributes with their keys' prefixes standard, the rest of the bytes unchanged."""
    parts, end = [], 0
    for m in sheetxml.attribute_matches(data):
        parts += (data[end : m.start(1)], _name(m[1], renames, None))
        end = m.end(1)
    parts.append(data[end:])
    return b"".join(parts)
