"""What legal data categories cost on top of detection: the categoriser against the engine, same run.

Inputs (generated): dense customer text (bench_detect's generator, a record every ~400 bytes: the
worst case for text, every line names someone), a 200,000-row call-detail table in blocks of 1,000
rows (every row is a category record), and a 200,000-row customer table with no category headers
(the common case: decided by the header row). For each, CPU seconds of `Engine.scan` over the
blocks and of `Categoriser.block` over the same blocks and findings, and their ratio. Then the
whole per-file path (`FileScanner.scan_path`) on a file (default: the dense text, written to a
temporary file) with the shipped categories and with none, best of 3 CPU seconds each.

    python bench/bench_categories.py [--quick] [--file PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_detect import DENSE, generate
from edm_people import customers, mobile

from dlpscan.detect.categories import load_categories
from dlpscan.detect.categorise import Categoriser
from dlpscan.detect.engine import Engine
from dlpscan.detect.registry import entity_types
from dlpscan.model import Block, TableBlock, TextBlock
from dlpscan.pipeline import FileScanner, ScanSettings

BLOCK_ROWS = 1_000
TEXT_BLOCK = 1_000_000  # characters per text block, like the text extractor's chunks


def text_blocks(size: int) -> list[Block]:
    text = generate(size, every=DENSE)
    return [TextBlock(text[i : i + TEXT_BLOCK]) for i in range(0, len(text), TEXT_BLOCK)]


def table_blocks(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[Block]:
    return [
        TableBlock(header, rows[i : i + BLOCK_ROWS], first_row=i + 2) for i in range(0, len(rows), BLOCK_ROWS)
    ]


def cdr_rows(n: int) -> list[tuple[str, ...]]:
    rng = random.Random(3)
    subscribers = [c.mobile for c in customers(2_000, 3)]
    return [
        (
            rng.choice(subscribers),
            mobile(rng),
            f"2024-03-01 {i % 24:02d}:{i % 60:02d}:00",
            str(rng.randint(3, 900)),
        )
        for i in range(n)
    ]


def customer_rows(n: int) -> list[tuple[str, ...]]:
    return [(c.name, c.id, c.mobile, c.email) for c in customers(n, 4)]


def cpu(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, a smoke run")
    parser.add_argument("--file", type=Path, help="the file for the whole-path comparison")
    args = parser.parse_args()
    rows = 20_000 if args.quick else 200_000
    engine = Engine()
    categoriser = Categoriser(load_categories(), entity_types())
    inputs = {
        f"dense text {4 if not args.quick else 1} MB": text_blocks((4 if not args.quick else 1) * 1_000_000),
        f"call records {rows:,} rows": table_blocks(
            ("Caller", "Callee", "StartTime", "Duration"), cdr_rows(rows)
        ),
        f"customers {rows:,} rows": table_blocks(("姓名", "身份证号", "手机", "邮箱"), customer_rows(rows)),
    }
    print(f"backend: {engine.backend}, compiled loop: {engine.compiled}\n")
    print("| input | engine CPU s | categoriser CPU s | categoriser / engine | category records |")
    print("|---|---:|---:|---:|---:|")
    for name, blocks in inputs.items():
        found: list = []
        t_engine = cpu(lambda blocks=blocks, found=found: found.extend(engine.scan(b) for b in blocks))
        hits: list = []
        t_cat = cpu(
            lambda blocks=blocks, found=found, hits=hits: hits.extend(
                categoriser.block(b, f) for b, f in zip(blocks, found, strict=True)
            )
        )
        records = sum(len(h.records) for block in hits for h in block)
        print(f"| {name} | {t_engine:.2f} | {t_cat:.3f} | {t_cat / t_engine:.1%} | {records:,} |")
    whole_path(args.file, 1_000_000 if args.quick else 4_000_000)


def whole_path(path: Path | None, size: int) -> None:
    """CPU seconds of FileScanner.scan_path with the shipped categories and with none."""
    with tempfile.TemporaryDirectory() as tmp:
        if path is None:
            path = Path(tmp) / "dense.txt"
            path.write_text(generate(size, every=DENSE), encoding="utf-8")
        with_categories = FileScanner(ScanSettings(key=b"k"))
        without = FileScanner(ScanSettings(key=b"k"))
        without.categoriser = Categoriser((), entity_types())
        best = {"with": float("inf"), "without": float("inf")}
        for _ in range(3):
            for name, scanner in (("without", without), ("with", with_categories)):
                best[name] = min(best[name], cpu(lambda scanner=scanner: scanner.scan_path(path, path.name)))
    print(
        f"\nscan_path {path.name}: {best['with']:.2f} s with categories, {best['without']:.2f} s without "
        f"({best['with'] / best['without'] - 1:+.1%})"
    )


if __name__ == "__main__":
    main()
