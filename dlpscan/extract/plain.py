"""Free text cut into TextBlocks of about `text_block_chars`, from a stream or a string."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, TextIO

from dlpscan.extract.context import Context
from dlpscan.model import TextBlock


def text_blocks(tf: TextIO, ctx: Context, location: str = "lines") -> Iterator[TextBlock]:
    """Free text in blocks of about `text_block_chars`, cut at line ends (or, for one enormous
    line, at a space or anywhere). Locations count lines from 1."""
    size = ctx.limits.text_block_chars
    carry = ""
    line = 1
    while True:
        ctx.check()
        chunk = tf.read(size)
        buf = carry + chunk
        if not chunk or len(buf) < size:
            if buf.strip():
                yield TextBlock(buf, _lines_location(location, line, buf.endswith("\n"), buf.count("\n")))
            return
        cut = buf.rfind("\n", 0, size) + 1 or buf.rfind(" ", size // 2, size) + 1 or size
        block, carry = buf[:cut], buf[cut:]
        newlines = block.count("\n")
        if block.strip():
            yield TextBlock(block, _lines_location(location, line, block.endswith("\n"), newlines))
        line += newlines


def utf8_blocks(f: BinaryIO, ctx: Context, location: str = "lines") -> Iterator[TextBlock]:
    """`text_blocks` of UTF-8 bytes (a BOM already read) in blocks of at most `text_block_chars`
    bytes, cut at line ends and decoded whole (U+FFFD for broken bytes, newlines translated, as a
    text stream reads them). A text stream decodes a few KB at a time into a growing string: for
    UTF-8 this is about half the cost of reading."""
    size = ctx.limits.text_block_chars
    buf = b""  # never more than `size` bytes
    line = 1
    eof = False
    while buf or not eof:
        ctx.check()
        if not eof and len(buf) < size:
            chunk = f.read(size - len(buf))
            eof = not chunk
            buf += chunk
            continue
        cut = len(buf) if eof else _line_cut(buf) or _cut_in_line(buf, size)
        data, buf = _translated(buf[:cut]), buf[cut:]
        text = data.decode("utf-8", errors="replace")
        newlines = text.count("\n")  # fewer characters than bytes to count
        if text.strip():
            yield TextBlock(text, _lines_location(location, line, text.endswith("\n"), newlines))
        line += newlines


def _line_cut(buf: bytes) -> int:
    """Just after the last line break (LF, CR LF or CR) of `buf`; 0: none. A CR that ends `buf` may
    be the first half of a CR LF: the cut comes before it."""
    end = len(buf) - 1 if buf.endswith(b"\r") else len(buf)
    return max(buf.rfind(b"\n", 0, end), buf.rfind(b"\r", 0, end)) + 1


def _cut_in_line(buf: bytes, size: int) -> int:
    """Where to cut one enormous line: after a space in its second half, else at `size`; never
    inside a UTF-8 character (of valid text) or between CR and a LF that may follow."""
    cut = buf.rfind(b" ", size // 2, size) + 1 or size
    lead = cut - 1  # the first byte of the character that holds the byte before the cut
    while lead > max(cut - 4, 0) and 0x80 <= buf[lead] < 0xC0:
        lead -= 1
    if lead + _width(buf[lead]) > cut:
        cut = lead
    if buf[cut - 1 : cut] == b"\r" and buf[cut : cut + 1] in (b"\n", b""):  # LF may come next
        cut -= 1
    return max(cut, 1)  # a block of one byte at least (only a block of a few bytes gets here)


def _width(lead: int) -> int:
    """Bytes of the UTF-8 character led by `lead` (1 for a stray continuation byte)."""
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _translated(data: bytes) -> bytes:
    """Universal newlines, as a text stream reads them: CR LF and a lone CR become LF."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def split_text(text: str, ctx: Context, location: str) -> Iterator[TextBlock]:
    """An in-memory string as one block, or several when it is larger than a block."""
    size = ctx.limits.text_block_chars
    if len(text) <= size:
        if text.strip():
            yield TextBlock(text, location)
        return
    start = 0
    while start < len(text):
        ctx.check()
        end = min(len(text), start + size)
        if end < len(text):
            end = text.rfind("\n", start, end) + 1 or end
        part = text[start:end]
        if part.strip():
            yield TextBlock(part, location)
        start = end


def _lines_location(prefix: str, first: int, ends_line: bool, newlines: int) -> str:
    """Lines first..last of a block that holds `newlines` line breaks (counted once, by the caller)
    and, with `ends_line`, ends with one."""
    last = first + max(newlines - (1 if ends_line else 0), 0)
    return f"{prefix} {first}-{last}" if prefix else ""
