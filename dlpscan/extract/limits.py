"""Safety limits that hold against hostile files. Every breach becomes a status with a reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 2 * 1024**3  # a single file (or archive member) larger than this is skipped
    max_archive_total_bytes: int = 4 * 1024**3  # uncompressed bytes read from one archive, all members
    max_member_bytes: int = 1024**3  # one archive member, uncompressed
    max_compression_ratio: float = 200.0  # per member and per archive
    max_nesting_depth: int = 5  # archives inside archives
    max_members: int = 100_000  # members per archive
    max_cells_per_sheet: int = 20_000_000
    max_pdf_pages: int = 5_000
    max_decode_seconds: float = 300.0  # wall time spent extracting one document
    text_block_chars: int = 1_000_000  # free text goes on in blocks of about this size (UTF-8, CJK: bytes)
    table_block_rows: int = 2_000  # table rows per TableBlock
    table_block_cells: int = 100_000  # cells per TableBlock: detection memory grows with cells, not rows
    ratio_min_bytes: int = 10 * 1024**2  # compression ratios are enforced once this much is inflated
    max_tree_bytes: int = 64 * 1024**2  # larger JSON is streamed (as JSON Lines or text), not parsed
    max_structure_depth: int = 200  # nesting of JSON / XML elements
    max_ocr_pages: int = 100  # PDF pages and images read by OCR per document (0 turns OCR off)
    max_image_pixels: int = 64_000_000  # one image, frame or rendered page; larger ones are not decoded
