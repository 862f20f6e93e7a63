"""Columnar exports from data platforms: Parquet (pyarrow) and Avro object container files (fastavro).

Both are recognised by their magic bytes (libmagic calls them application/octet-stream), imported
only when such a file is read (pyarrow alone costs about 0.3 s of start-up), and read batch by
batch into TableBlocks under their column names: memory follows the batch, not the file. Nested
values (structs, lists, maps) are flattened like JSON records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError, LimitExceeded
from dlpscan.extract.jsondoc import flatten
from dlpscan.extract.source import Source
from dlpscan.extract.tables import chunk_rows, render_cell
from dlpscan.model import Block

PARQUET = "application/vnd.apache.parquet"
AVRO = "application/avro"
PARQUET_MAGIC = b"PAR1"
_DEPTH = 50
AVRO_MAGIC = b"Obj\x01"


def kind_of(head: bytes) -> str | None:
    """The columnar media type of a file starting with `head`, or None."""
    if head.startswith(PARQUET_MAGIC):
        return PARQUET
    if head.startswith(AVRO_MAGIC):
        return AVRO
    return None


def read_parquet(src: Source, ctx: Context) -> Iterator[Block]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with src.open() as f:
        try:
            pf = pq.ParquetFile(f)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise ExtractError(f"{type(e).__name__}: cannot read Parquet file") from None
        meta = pf.metadata
        if meta.num_rows * max(1, meta.num_columns) > ctx.limits.max_cells_per_sheet:
            raise LimitExceeded(
                f"Parquet file has more cells than the limit ({ctx.limits.max_cells_per_sheet})"
            )
        for i in range(meta.num_row_groups):
            if meta.row_group(i).total_byte_size > ctx.limits.max_member_bytes:
                raise LimitExceeded("Parquet row group larger than limit")
        first = 1
        batches = pf.iter_batches(batch_size=ctx.limits.table_block_rows)
        while True:
            ctx.check()
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, OSError, ValueError) as e:
                raise ExtractError(f"{type(e).__name__}: cannot read Parquet data") from None
            records = batch.to_pylist()
            yield from _record_blocks(records, ctx, first)
            first += len(records)


def read_avro(src: Source, ctx: Context) -> Iterator[Block]:
    import fastavro

    with src.open() as f:
        try:
            reader = fastavro.reader(f)
        except (ValueError, TypeError, EOFError, KeyError, IndexError, OSError) as e:
            raise ExtractError(f"{type(e).__name__}: cannot read Avro file") from None
        batch: list[dict] = []
        first = 1
        cells = 0
        records = iter(reader)
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except (ValueError, TypeError, EOFError, KeyError, IndexError, OSError, MemoryError) as e:
                raise ExtractError(f"{type(e).__name__}: cannot read Avro data") from None
            batch.append(record if isinstance(record, dict) else {"value": record})
            cells += len(batch[-1])
            if cells > ctx.limits.max_cells_per_sheet:
                raise LimitExceeded(
                    f"Avro file has more cells than the limit ({ctx.limits.max_cells_per_sheet})"
                )
            if len(batch) >= ctx.limits.table_block_rows:
                ctx.check()
                yield from _record_blocks(batch, ctx, first)
                first += len(batch)
                batch = []
        if batch:
            yield from _record_blocks(batch, ctx, first)


def _record_blocks(records: list[dict], ctx: Context, first_row: int) -> Iterator[Block]:
    flat = [flatten(_plain(r)) for r in records]
    header: dict[str, None] = {}
    for r in flat:
        header.update(dict.fromkeys(r))
    keys = tuple(header)
    rows = (tuple(r.get(k, "") for k in keys) for r in flat)
    yield from chunk_rows([], rows, keys, ctx, "", first_row)


def _plain(value: object, depth: int = 0) -> object:
    """Values as JSON would hold them: bytes as text, decimals and dates as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()} if depth < _DEPTH else str(value)
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value] if depth < _DEPTH else str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return render_cell(value)
    return value
