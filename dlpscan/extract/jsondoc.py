"""JSON and JSON Lines.

A list of objects anywhere in the tree becomes a TableBlock (union of keys as header, nested
objects flattened as 'a.b'); everything else becomes 'path.key: value' lines, so key names such
as "mobile" or "idCardNo" stand next to their values like labels in text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from dlpscan.extract.context import Context
from dlpscan.extract.decode import open_text
from dlpscan.extract.errors import LimitExceeded
from dlpscan.extract.plain import file_blocks, split_text
from dlpscan.extract.tables import chunk_rows
from dlpscan.model import Block, TableBlock

_DEEP = "JSON nesting deeper than limit"


def read_json(f: BinaryIO, size: int, encoding: str, ctx: Context) -> Iterator[Block]:
    if size > ctx.limits.max_tree_bytes:
        if _looks_like_lines(f, encoding):
            yield from jsonl_blocks(open_text(f, encoding), ctx)
        else:
            yield from file_blocks(f, encoding, ctx)
        return
    text = f.read().decode(encoding, errors="replace").lstrip("\ufeff")
    try:
        tree = json.loads(text)
    except RecursionError:  # too deep to parse: its values are still read, as text
        ctx.note("json_too_deep_read_as_text")
        yield from split_text(text, ctx, "text")
        return
    except ValueError:
        if _lines_parse(text):
            yield from jsonl_blocks(iter(text.splitlines()), ctx)
        else:
            yield from split_text(text, ctx, "text")
        return
    try:
        blocks = list(tree_blocks(tree, ctx))
    except LimitExceeded:  # nested deeper than the limit: read as text instead
        ctx.note("json_too_deep_read_as_text")
        yield from split_text(text, ctx, "text")
        return
    yield from blocks


def tree_blocks(tree: object, ctx: Context, root: str = "") -> Iterator[Block]:
    """Blocks for a parsed JSON-like tree (dicts, lists, scalars)."""
    lines: list[str] = []
    tables: list[tuple[str, list[dict]]] = []
    _walk(tree, root, 0, lines, tables, ctx.limits.max_structure_depth)
    if lines:
        yield from split_text("\n".join(lines), ctx, "fields")
    for path, records in tables:
        yield from records_blocks(records, ctx, path or "$")


SPARSE_FACTOR = 4  # a block's header x rows may exceed the values it holds at most this many times


def records_blocks(
    records: list[dict], ctx: Context, location: str, first_row: int = 1
) -> Iterator[TableBlock]:
    """Records as TableBlocks whose header is the union of their keys.

    A block is cut before it turns sparse (records with keys of their own): one union header over
    thousands of records with distinct keys made rows x keys, quadratic in the records."""
    header: dict[str, None] = {}
    block: list[dict[str, str]] = []
    filled = 0
    for record in records:
        flat = flatten(record)
        width = len(header) + sum(1 for k in flat if k not in header)
        cells = width * (len(block) + 1)
        if block and cells > SPARSE_FACTOR * (filled + len(flat)) + 64:
            yield from _block(block, header, ctx, location, first_row)
            first_row += len(block)
            header, block, filled = {}, [], 0
        header.update(dict.fromkeys(flat))
        block.append(flat)
        filled += len(flat)
    if block:
        yield from _block(block, header, ctx, location, first_row)


def _block(
    block: list[dict[str, str]], header: dict[str, None], ctx: Context, location: str, first_row: int
) -> Iterator[TableBlock]:
    keys = tuple(header)
    rows = (tuple(r.get(k, "") for k in keys) for r in block)
    yield from chunk_rows([], rows, keys, ctx, location, first_row)


def jsonl_blocks(lines, ctx: Context) -> Iterator[Block]:
    """JSON Lines, streamed: each block's header is the union of keys of its own records."""
    size = ctx.limits.table_block_rows
    batch: list[dict] = []
    other: list[str] = []
    first = 1
    n = 0
    for line in lines:
        n += 1
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            other.append(line)
            continue
        if isinstance(value, dict):
            batch.append(value)
        else:
            other.append(line)
        if len(batch) >= size:
            yield from records_blocks(batch, ctx, "lines", first)
            batch, first = [], n + 1
    if batch:
        yield from records_blocks(batch, ctx, "lines", first)
    if other:
        yield from split_text("\n".join(other), ctx, "lines")


def flatten(obj: dict, prefix: str = "", out: dict | None = None, depth: int = 0) -> dict[str, str]:
    out = {} if out is None else out
    if depth > 50:
        out[prefix or "value"] = _compact(obj)
        return out
    for k, v in obj.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            flatten(v, key, out, depth + 1)
        elif isinstance(v, list):
            out[key] = _compact(v) if v else ""
        else:
            out[key] = scalar(v)
    return out


def scalar(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _compact(v: object) -> str:
    try:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return str(v)


def _walk(node: object, path: str, depth: int, lines: list[str], tables: list, max_depth: int) -> None:
    if depth > max_depth:
        raise LimitExceeded(_DEEP)
    if isinstance(node, dict):
        for k, v in node.items():
            _walk(v, f"{path}.{k}" if path else str(k), depth + 1, lines, tables, max_depth)
    elif isinstance(node, list):
        records = [v for v in node if isinstance(v, dict)]
        if records and len(records) * 2 >= len(node):
            tables.append((path, records))
            node = [v for v in node if not isinstance(v, dict)]
        for i, v in enumerate(node):
            _walk(v, f"{path}[{i}]", depth + 1, lines, tables, max_depth)
    elif node is not None and node != "":
        lines.append(f"{path or 'value'}: {scalar(node)}")


def _lines_parse(text: str) -> bool:
    """Is this JSON Lines (most non-empty lines of the start are JSON objects)?"""
    lines = [ln for ln in text[:65536].splitlines()[:50] if ln.strip()]
    if len(lines) < 2:
        return False
    return sum(_is_object(ln) for ln in lines) >= 0.8 * len(lines)


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _looks_like_lines(f: BinaryIO, encoding: str) -> bool:
    head = f.read(65536).decode(encoding, errors="replace")
    f.seek(0)
    return _lines_parse(head.rsplit("\n", 1)[0] if "\n" in head else head)
