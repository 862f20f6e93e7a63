"""Decoded views of text that carries values encoded: percent-encoding (`name=%E5%BC%A0%E4%B8%89`,
`phone=%2B86...`), quoted-printable (vCard 2.1 `FN;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0...`), JSON
escapes inside strings that are themselves strings (`{\\"name\\":\\"\\u5f20\\"}`), bytes printed by
programs (`\\xe5\\xbc\\xa0`), HTML character references in text (`&#24352;`) and base64 where a
label says so (`idcard_b64=...`, `身份证号(base64)：...`).

A view is the text with each encoded run replaced by what it stands for (labels stay, a label's
base64 marker is dropped so that `name_base64=` reads as `name=`). The engine scans the view like
any text and maps each finding back to the span of the original text it came from; decoded values
stay inside the process like every other value. Building a view is one linear pass.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

# Cheap test first: most text holds none of these.
_MARK = r"(?:[_.-]?(?:base64|b64)|\((?:base64|b64)\))"  # name_base64=, idcard_b64:, 证件号(base64)：
_B64_SEPARATOR = r"[\"']?[ ]?[:=][ ]?[\"']?"
# One search per kind, each led by a literal (fast), rather than one alternation (slow); beside each,
# the character it cannot match without: `in` finds one character (or its absence) several times
# faster than a search walks text that holds none (a longer needle is not faster than the search).
_HINTS = (
    ("%", re.compile(r"%[0-9A-Fa-f]{2}")),
    ("=", re.compile(r"=[89A-F][0-9A-F]=[89A-F][0-9A-F]")),  # quoted-printable UTF-8/GBK (vCard 2.1, e-mail)
    ("6", re.compile(rf"64\)?{_B64_SEPARATOR}")),  # the end of a base64 label: b64=, base64:, (base64)：
    ("&", re.compile(r"&#(?:[0-9]{2,7}|[xX][0-9A-Fa-f]{2,6});")),  # HTML character references in text
)
_ESCAPED = re.compile(r"\\+(?:u[0-9A-Fa-f]{4}|\"|x[89a-fA-F][0-9a-fA-F]\\+x[89a-fA-F][0-9a-fA-F])")
# The same searches for a scanner that runs them in a pass it makes anyway (the engine's Hyperscan
# pass): ASCII classes only, so that they match alike there. Text is hinted where one matches.
_SEARCHES = (*(rx for _, rx in _HINTS), _ESCAPED)
HINT_PATTERNS = tuple(rx.pattern for rx in _SEARCHES)
_ENCODED = re.compile(
    r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)"
    r"|(?P<qp>(?:=[0-9A-F]{2}){2,})"
    r"|(?P<uni>(?:\\+u[0-9A-Fa-f]{4})+)"
    r"|(?P<hex>(?:\\+x[0-9A-Fa-f]{2}){2,})"
    r"|(?P<ref>(?:&#(?:\d{2,7}|[xX][0-9A-Fa-f]{2,6});)+)"
    r"|(?P<esc>\\+[\"/])"
    rf"|(?P<mark>(?i:{_MARK})){_B64_SEPARATOR}(?P<b64>[A-Za-z0-9+/_-]{{8,}}={{0,2}})"
)
_MERGE_GAP = 4096  # encoded lines closer than this are decoded as one stretch
_PRINTABLE = re.compile(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]*")


@dataclass(frozen=True, slots=True)
class View:
    """Decoded text and its rewritten runs, in order: (view start, view end, original start,
    original end)."""

    text: str
    runs: tuple[tuple[int, int, int, int], ...]
    starts: tuple[int, ...]  # view start of each run

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the view's text[start:end]. A position inside a rewritten run maps
        to that run's whole original span; one outside shifts by the runs before it."""
        return self._position(start, left=True), self._position(end, left=False)

    def _position(self, pos: int, left: bool) -> int:
        i = bisect.bisect_right(self.starts, pos) - 1
        if i < 0:
            return pos
        v_start, v_end, o_start, o_end = self.runs[i]
        if pos == v_start and not left:
            return o_start  # a span ending where a run begins
        if pos >= v_end:
            return o_end + (pos - v_end)
        return o_start if left else o_end


def hinted(text: str) -> bool:
    """Might `text` hold encoded values? (A quick test; most text does not.) Some HINT_PATTERNS
    matches in `text`."""
    return any(literal in text and rx.search(text) is not None for literal, rx in _HINTS) or (
        "\\" in text and _ESCAPED.search(text) is not None
    )


def hinted_at(text: str, hits: Iterable[tuple[int, int]]) -> bool:
    """`hinted(text)` from a scanner's candidates (start, index in HINT_PATTERNS) in `text`."""
    return any(_SEARCHES[i].match(text, start) is not None for start, i in hits)


def _hints(text: str) -> Iterator[re.Match[str]]:
    """Every hint in `text`, in order (one pass of each search)."""
    streams = [rx.finditer(text) for literal, rx in _HINTS if literal in text]
    if "\\" in text:
        streams.append(_ESCAPED.finditer(text))
    return heapq.merge(*streams, key=lambda m: m.start())


def regions(text: str) -> Iterator[tuple[int, View]]:
    """(offset, view) of each stretch of whole lines of `text` that holds encoded values, so that
    a large text with a few encoded lines is decoded and scanned again only around them."""
    start = end = -1
    for m in _hints(text):
        if m.start() < end + _MERGE_GAP and end >= 0:
            if m.end() > end:  # else its line ends at `end` or before: no search (one long line stays linear)
                end = _line_end(text, m.end())
            continue
        if end >= 0 and (view := decoded_view(text[start:end])) is not None:
            yield start, view
        start, end = text.rfind("\n", 0, m.start()) + 1, _line_end(text, m.end())
    if end >= 0 and (view := decoded_view(text[start:end])) is not None:
        yield start, view


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def decoded_view(text: str) -> View | None:
    """The decoded view of `text`, or None when nothing in it is encoded."""
    if not hinted(text):
        return None
    parts: list[str] = []
    runs: list[tuple[int, int, int, int]] = []
    last = 0
    size = 0
    for m in _ENCODED.finditer(text):
        for start, end, decoded in _decoded_runs(m):
            parts.append(text[last:start])
            size += start - last
            parts.append(decoded)
            runs.append((size, size + len(decoded), start, end))
            size += len(decoded)
            last = end
    if not runs:
        return None
    parts.append(text[last:])
    return View("".join(parts), tuple(runs), tuple(r[0] for r in runs))


def _decoded_runs(m: re.Match[str]) -> list[tuple[int, int, str]]:
    """(start, end, decoded text) of the runs one match rewrites; none when it does not decode.
    A labelled base64 value is two runs: the label's marker, dropped, and the value."""
    kind = m.lastgroup
    raw = m.group(kind or 0)
    if kind == "pct":
        value = _text_of(unquote_to_bytes(raw))
    elif kind == "qp":
        value = _text_of(bytes.fromhex(raw.replace("=", "")))
        value = value if value is not None and not value.isascii() else None
    elif kind == "uni":
        units = re.findall(r"u([0-9A-Fa-f]{4})", raw)
        value = b"".join(int(u, 16).to_bytes(2, "big") for u in units).decode("utf-16-be", errors="replace")
    elif kind == "hex":  # bytes printed by a program: \xe5\xbc\xa0
        value = _text_of(bytes.fromhex(re.sub(r"\\+x", "", raw)))
        value = value if value is not None and not value.isascii() else None
    elif kind == "ref":
        value = html.unescape(raw)
    elif kind == "esc":
        value = raw[-1]
    else:
        value = _base64_text(raw)
        if value is None:
            return []
        return [(*m.span("mark"), ""), (*m.span("b64"), value)]
    return [] if value is None else [(m.start(), m.end(), value)]


def _base64_text(raw: str) -> str | None:
    altchars = b"-_" if "-" in raw or "_" in raw else None
    try:
        data = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=altchars)
    except (binascii.Error, ValueError):
        return None
    return _text_of(data)


def _text_of(data: bytes) -> str | None:
    """Bytes as text (UTF-8, else GB18030) when they are printable text, else None."""
    for encoding in ("utf-8", "gb18030"):
        try:
            value = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return value if _PRINTABLE.fullmatch(value) else None
    return None
