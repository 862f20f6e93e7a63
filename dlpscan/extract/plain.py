"""Free text cut into TextBlocks of about `text_block_chars`, from a stream or a string."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

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
                yield TextBlock(buf, _lines_location(location, line, buf, buf.count("\n")))
            return
        cut = buf.rfind("\n", 0, size) + 1 or buf.rfind(" ", size // 2, size) + 1 or size
        block, carry = buf[:cut], buf[cut:]
        newlines = block.count("\n")
        if block.strip():
            yield TextBlock(block, _lines_location(location, line, block, newlines))
        line += newlines


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


def _lines_location(prefix: str, first: int, block: str, newlines: int) -> str:
    """Lines first..last of `block`, which holds `newlines` line breaks (counted once, by the caller)."""
    last = first + max(newlines - (1 if block.endswith("\n") else 0), 0)
    return f"{prefix} {first}-{last}" if prefix else ""
