"""Free text cut into TextBlocks of about `text_block_chars`, from a stream or a string."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from typing import BinaryIO, TextIO, TypeVar

from dlpscan.extract.context import Context
from dlpscan.extract.decode import open_text
from dlpscan.model import TextBlock

_S = TypeVar("_S", str, bytes)


def text_blocks(tf: TextIO, ctx: Context) -> Iterator[TextBlock]:
    """Free text in blocks of at most `text_block_chars` characters, cut at line ends (or, for one
    enormous line, at a space or anywhere). Locations count lines from 1."""
    size = ctx.limits.text_block_chars

    def cut(buf: str) -> int:
        return buf.rfind("\n") + 1 or buf.rfind(" ", size // 2) + 1 or size

    return _located((block for block, _ in _pieces(tf.read, "", size, cut)), ctx)


def _located(texts: Iterator[str], ctx: Context) -> Iterator[TextBlock]:
    """The blocks of consecutive `texts` that hold more than white space, with the lines each holds."""
    line = 1
    for text in texts:
        ctx.check()
        newlines = text.count("\n")
        if text.strip():
            last = line + max(newlines - text.endswith("\n"), 0)
            yield TextBlock(text, f"lines {line}-{last}")
        line += newlines


def _pieces(
    read: Callable[[int], _S], empty: _S, size: int, cut: Callable[[_S], int]
) -> Iterator[tuple[_S, bool]]:
    """What `read` gives, in pieces of at most `size` (bytes or characters) cut where `cut` says in a
    full buffer, and whether each is the last: the buffer never holds more than `size`."""
    buf, eof = empty, False
    while True:
        if not eof and len(buf) < size:
            chunk = read(size - len(buf))
            eof = not chunk
            buf += chunk
            continue
        at = len(buf) if eof else cut(buf)
        yield buf[:at], eof
        if eof:
            return
        buf = buf[at:]


# Encodings (codecs' names) in which the bytes CR and LF are always line breaks, never part of a
# character: a file in one of them is cut into blocks as bytes and each block decoded whole.
LINE_SAFE = frozenset(
    {
        "utf-8",
        "utf-8-sig",
        "gb18030",
        "big5hkscs",
        "shift_jis",
        "cp932",
        "shift_jis_2004",
        "euc_jp",
        "euc_jis_2004",
        "euc_kr",
        "cp949",
        "johab",
    }
)


def file_blocks(f: BinaryIO, encoding: str, ctx: Context) -> Iterator[TextBlock]:
    """Free text in `encoding` from the stream `f`: `byte_blocks` where the encoding allows it,
    else a text stream's `text_blocks`."""
    if codecs.lookup(encoding).name in LINE_SAFE:
        return byte_blocks(f, encoding, ctx)
    return text_blocks(open_text(f, encoding), ctx)


def byte_blocks(f: BinaryIO, encoding: str, ctx: Context) -> Iterator[TextBlock]:
    """`text_blocks` of a file in a LINE_SAFE encoding, read as bytes: blocks of at most
    `text_block_chars` bytes cut at line ends, decoded a block at a time (U+FFFD for broken bytes,
    newlines translated, a BOM dropped, as a text stream reads them; a CJK codec may replace broken
    bytes otherwise where a block is cut). A text stream decodes a few KB at a time into a growing
    string and translates newlines character by character: a third of the cost of reading."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")  # holds a character cut in two
    size = ctx.limits.text_block_chars
    pieces = _pieces(f.read, b"", size, lambda buf: _line_cut(buf) or _cut_in_line(buf, size))
    # the last piece: with the bytes the decoder still holds
    return _located((decoder.decode(_translated(data), final=last) for data, last in pieces), ctx)


def _line_cut(buf: bytes) -> int:
    """Just after the last line break (LF, CR LF or CR) of `buf`; 0: none. A CR that ends `buf` may
    be the first half of a CR LF: the cut comes before it."""
    end = len(buf) - 1 if buf.endswith(b"\r") else len(buf)
    return max(buf.rfind(b"\n", 0, end), buf.rfind(b"\r", 0, end)) + 1


def _cut_in_line(buf: bytes, size: int) -> int:
    """Where to cut one enormous line: after a space in its second half, else at `size` (the decoder
    keeps a character cut there for the next block); never between CR and a LF that may follow."""
    cut = buf.rfind(b" ", size // 2, size) + 1 or size
    if buf[cut - 1 : cut] == b"\r" and buf[cut : cut + 1] in (b"\n", b""):
        cut -= 1
    return max(cut, 1)  # a block of one byte at least (only a block of a few bytes gets here)


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
