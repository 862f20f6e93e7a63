"""Extraction benchmarks: generates its inputs in a temporary folder and prints a Markdown table.

    .venv/bin/python bench/bench_extract.py                  # default sizes (about 2 minutes)
    .venv/bin/python bench/bench_extract.py --quick          # small sizes, a smoke run
    .venv/bin/python bench/bench_extract.py --stream-mb 1024 # peak RSS while streaming a 1 GB CSV
    .venv/bin/python bench/bench_extract.py --adversarial 1  # worst case per reader, 1 MB inputs

Measures: xlsx rows/s (calamine vs openpyxl read-only) on a 100k-row sheet, text-layer PDF
pages/s (pypdfium2 vs pdfplumber), GBK CSV MB/s, files/s over 10,000 small files, and the peak
RSS of a separate process that streams a large CSV through `open_documents`.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dlpscan.extract import Limits, open_documents
from dlpscan.extract.context import Context
from dlpscan.extract.excel import read_spreadsheet
from dlpscan.extract.pdf import read_pdf
from dlpscan.extract.sniff import XLSX
from dlpscan.extract.source import FileSource

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
HEADER = ["客户姓名", "证件号码", "手机号码", "卡号", "联系地址", "开户日期", "账户余额", "备注"]


def person(rnd: random.Random, i: int) -> list:
    return [
        rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
        f"1101011990{i % 10**8:08d}",
        float(13000000000 + rnd.randrange(10**9)),  # phones typed as numbers, as in many exports
        f"6222{i:015d}",
        f"广东省深圳市南山区科技园路{i % 999}号{i % 30}栋{i % 2000}室",
        f"2020-11-{1 + i % 28:02d}",
        rnd.randrange(10**7) / 100,
        "",
    ]


def count_rows(blocks) -> int:
    return sum(len(getattr(b, "rows", ())) for b in blocks)


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    """(result, CPU seconds of this process). CPU time, not wall time: the benchmark machine may be
    shared, and every reader here is single-threaded, so CPU time is what a dedicated core would take."""
    t0 = time.process_time()
    n = fn()
    return n, time.process_time() - t0


def bench_xlsx(tmp: Path, rows: int) -> list[tuple]:
    import xlsxwriter

    path = tmp / "customers.xlsx"
    wb = xlsxwriter.Workbook(str(path))  # shared strings, like Excel
    ws = wb.add_worksheet("客户")
    ws.write_row(0, 0, HEADER)
    rnd = random.Random(1)
    for i in range(rows):
        ws.write_row(i + 1, 0, person(rnd, i))
    wb.close()
    out = []
    for engine in ("calamine", "openpyxl"):
        n, dt = timed(
            lambda e=engine: count_rows(read_spreadsheet(FileSource(path), Context(Limits()), XLSX, e))
        )
        out.append(("xlsx, 8 columns", f"{n:,} rows", engine, f"{n / dt:,.0f} rows/s", dt))
    return out


def bench_pdf(tmp: Path, pages: int) -> list[tuple]:
    import pdfplumber
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp / "report.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    for p in range(pages):
        for line in range(50):
            c.drawString(
                40, 800 - 15 * line, f"Page {p} line {line}: customer {p * 50 + line} mobile 138{line:08d}"
            )
        c.showPage()
    c.save()
    n, dt = timed(lambda: len(list(read_pdf(FileSource(path), Context(Limits())))))

    def plumber() -> int:
        with pdfplumber.open(path) as pdf:
            done = 0
            for page in pdf.pages:
                page.extract_text()
                page.close()
                done += 1
            return done

    m, dt2 = timed(plumber)
    return [
        (
            "text-layer PDF, 50 lines/page",
            f"{pages} pages",
            "pypdfium2 (read_pdf)",
            f"{n / dt:,.0f} pages/s",
            dt,
        ),
        (
            "text-layer PDF, 50 lines/page",
            f"{pages} pages",
            "pdfplumber extract_text",
            f"{m / dt2:,.0f} pages/s",
            dt2,
        ),
    ]


def write_csv(path: Path, megabytes: int, encoding: str) -> None:
    rnd = random.Random(2)
    target = megabytes * 1024**2
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write(",".join(HEADER) + "\n")
        i = 0
        while f.tell() < target:
            f.write("".join(",".join(map(str, person(rnd, i + k))) + "\n" for k in range(1000)))
            i += 1000


def drain(path: Path) -> int:
    n = 0
    for doc in open_documents(path, path.name):
        n += count_rows(doc.blocks)
    return n


def bench_csv(tmp: Path, megabytes: int) -> list[tuple]:
    path = tmp / "customers_gbk.csv"
    write_csv(path, megabytes, "gbk")
    size = path.stat().st_size / 1024**2
    n, dt = timed(lambda: drain(path))
    return [("GBK CSV", f"{size:,.0f} MB, {n:,} rows", "open_documents", f"{size / dt:,.1f} MB/s", dt)]


def bench_small_files(tmp: Path, count: int) -> list[tuple]:
    folder = tmp / "small"
    folder.mkdir()
    rnd = random.Random(3)
    for i in range(count):
        rows = [person(rnd, i * 10 + k) for k in range(10)]
        if i % 2:
            (folder / f"f{i}.csv").write_text(
                "\n".join(",".join(map(str, r)) for r in [HEADER, *rows]), "utf-8"
            )
        else:
            (folder / f"f{i}.txt").write_text(
                "\n".join(f"姓名：{r[0]} 电话：{int(r[2])}" for r in rows), "utf-8"
            )
    files = sorted(folder.iterdir())
    n, dt = timed(lambda: sum(1 for f in files for _ in [drain(f)]))
    return [
        ("small files (10-row CSV / TXT)", f"{n:,} files", "open_documents", f"{n / dt:,.0f} files/s", dt)
    ]


def bench_stream(tmp: Path, megabytes: int) -> list[tuple]:
    path = tmp / "stream.csv"
    write_csv(path, megabytes, "utf-8")
    size = path.stat().st_size / 1024**2
    proc = subprocess.run(
        [sys.executable, __file__, "--measure-stream", str(path)], capture_output=True, text=True, check=True
    )
    r = json.loads(proc.stdout)
    peak = f"peak RSS {r['peak_mb']:,.0f} MB (after imports {r['base_mb']:,.0f} MB)"
    return [
        (
            "stream UTF-8 CSV",
            f"{size:,.0f} MB, {r['rows']:,} rows",
            peak,
            f"{size / r['seconds']:,.1f} MB/s",
            r["seconds"],
        )
    ]


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over an exec from
    the forking parent, which would report the benchmark parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_stream(path: Path) -> None:
    """Run in a child process: its own peak RSS is the measurement."""
    base = peak_rss_mb()
    rows, dt = timed(lambda: drain(path))
    print(json.dumps({"rows": rows, "seconds": dt, "peak_mb": peak_rss_mb(), "base_mb": base}))


def bench_adversarial(megabytes: float) -> list[str]:
    """Worst-case throughput per reader: each hostile input class the fuzzing found (tests/fuzz/
    hostile.py) against an ordinary file of the same format and size, both through the whole
    pipeline (read, detect, aggregate, policy) as a worker runs it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from fuzz import hostile, seeds, targets

    size = int(megabytes * 1024**2)
    targets.scanner()
    normal_cache: dict[str, float] = {}
    rows = []
    for name, (kind, make) in hostile.HOSTILE.items():
        data = make(size)
        if kind not in normal_cache:
            ordinary = seeds.normal(kind, len(data))
            _, dt = timed(lambda d=ordinary, k=kind: len(targets.run(k, d)))
            normal_cache[kind] = len(ordinary) / 1024**2 / dt
        _, dt = timed(lambda d=data, k=kind: len(targets.run(k, d)))
        mbps = len(data) / 1024**2 / dt
        rows.append(
            f"| {kind} | {name} | {len(data) / 1024**2:.2f} MB | {mbps:.2f} MB/s | {normal_cache[kind]:.2f} MB/s "
            f"| {normal_cache[kind] / mbps:.1f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return [
        "| reader | adversarial input | size | adversarial | normal, same size | slowdown |",
        "|---|---|---|---|---|---|",
        *rows,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke run)")
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--pdf-pages", type=int, default=500)
    parser.add_argument("--csv-mb", type=int, default=100)
    parser.add_argument("--small-files", type=int, default=10_000)
    parser.add_argument("--stream-mb", type=int, default=200)
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--adversarial", type=float, metavar="MB", help="only the worst-case table, inputs of about MB each"
    )
    parser.add_argument("--measure-stream", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_stream:
        measure_stream(args.measure_stream)
        return
    if args.adversarial:
        table = "\n".join(bench_adversarial(args.adversarial))
        print(table)
        if args.output:
            args.output.write_text(table + "\n", encoding="utf-8")
        return
    if args.quick:
        args.xlsx_rows, args.pdf_pages, args.csv_mb, args.small_files, args.stream_mb = 5000, 30, 5, 300, 10
    results = []
    with tempfile.TemporaryDirectory(prefix="dlpscan-bench-") as tmp:
        t = Path(tmp)
        for fn, size in (
            (bench_xlsx, args.xlsx_rows),
            (bench_pdf, args.pdf_pages),
            (bench_csv, args.csv_mb),
            (bench_small_files, args.small_files),
            (bench_stream, args.stream_mb),
        ):
            results.extend(fn(t, size))
            print(f"done: {fn.__name__}", file=sys.stderr)
    lines = [
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{_cpus()} CPUs; one process; throughput per CPU second of the reading process.",
        "",
        "| benchmark | input | reader | throughput | CPU seconds |",
        "|---|---|---|---|---|",
        *(f"| {b} | {i} | {r} | {tp} | {dt:.2f} |" for b, i, r, tp, dt in results),
    ]
    table = "\n".join(lines)
    print(table)
    if args.output:
        args.output.write_text(table + "\n", encoding="utf-8")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
