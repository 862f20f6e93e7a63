"""Batch scan throughput: `dlpscan scan` end to end on generated mixed corpora.

Measures, each as a real `dlpscan scan` process:
  * files/s on 10,000 small mixed files, with -j1 and -j2;
  * MB/s on a large mixed corpus (1 GB by default) with -j1 and -j2;
  * a no-change rescan of 100,000 files (the incremental path: nothing is read again);
  * peak RSS of the largest process (the CLI or one worker), from getrusage(RUSAGE_CHILDREN);
and, as the baseline in the same run, stock Presidio (`AnalyzerEngine` as shipped, spaCy English
model from the `bench` extra) analysing the extracted text of a sample of the same small files.

    python bench/bench_scan.py [--gb 1.0] [--small 10000] [--rescan 100000] [--markdown]
    python bench/bench_scan.py --throughput [--quick] [--markdown]   # -j1 against the naive baseline

Values are synthetic (valid check digits, no real person). Corpora are written under --workdir.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

MB = 1_000_000
# The command as users run it: the `dlpscan` executable beside this interpreter (it starts the workers'
# fork server first), else the module.
_EXECUTABLE = Path(sys.executable).with_name("dlpscan")
DLPSCAN = [str(_EXECUTABLE)] if _EXECUTABLE.is_file() else [sys.executable, "-m", "dlpscan.cli"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国玉志海燕红梅文博子涵雨轩浩然欣怡"
PROSE = "本季度项目进展顺利，各部门按计划推进工作，请相关同事于周五前提交总结材料并参加例会。"


def _id(rng: random.Random) -> str:
    body = f"{rng.choice(['110101', '310104', '440305', '330106'])}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def _person(rng: random.Random) -> list[str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    mobile = f"1{rng.choice(['38', '39', '58', '86', '77'])}{rng.randint(0, 99999999):08d}"
    address = (
        f"浙江省杭州市西湖区文三路{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2505)}室"
    )
    return [name, _id(rng), mobile, address]


def _csv_bytes(rng: random.Random, rows: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["姓名", "身份证号", "手机", "地址"])
    for _ in range(rows):
        w.writerow(_person(rng))
    return buf.getvalue().encode("gbk")


def _text_bytes(rng: random.Random, size: int) -> bytes:
    lines = []
    total = 0
    while total < size:
        line = PROSE if rng.random() < 0.98 else "联系人：" + " ".join(_person(rng)[:3])
        lines.append(line)
        total += len(line.encode()) + 1
    return ("\n".join(lines) + "\n").encode("utf-8")


def _xlsx_bytes(rng: random.Random, rows: int) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet("客户")
    sheet.write_row(0, 0, ["姓名", "身份证号", "手机", "地址"])
    for r in range(rows):
        sheet.write_row(r + 1, 0, _person(rng))
    book.close()
    return buf.getvalue()


def _json_bytes(rng: random.Random, rows: int) -> bytes:
    keys = ("realName", "idCardNo", "mobile", "address")
    data = {"code": 0, "data": {"list": [dict(zip(keys, _person(rng), strict=True)) for _ in range(rows)]}}
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def make_small(root: Path, count: int, seed: int = 1) -> None:
    """Mixed small files (0.5-30 KB): notes, CSV exports, JSON dumps, workbooks."""
    if root.exists() and sum(1 for _ in root.rglob("*")) >= count:
        return
    rng = random.Random(seed)
    for i in range(count):
        folder = root / f"dept{i % 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = i % 10
        if kind < 5:
            (folder / f"note{i}.txt").write_bytes(_text_bytes(rng, rng.randint(500, 6000)))
        elif kind < 8:
            (folder / f"export{i}.csv").write_bytes(_csv_bytes(rng, rng.randint(5, 200)))
        elif kind < 9:
            (folder / f"api{i}.json").write_bytes(_json_bytes(rng, rng.randint(5, 100)))
        else:
            (folder / f"list{i}.xlsx").write_bytes(_xlsx_bytes(rng, rng.randint(5, 100)))


def make_large(root: Path, total_bytes: int, seed: int = 2) -> None:
    """A large mixed corpus shaped like a file share: logs and notes with sparse personal data (~70%),
    dense customer exports as CSV (~10%) and workbooks (~10%), binary backups (~10%)."""
    if root.exists() and sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) >= total_bytes * 0.95:
        return
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    written, i = 0, 0
    while written < total_bytes:
        kind = i % 10
        if kind == 0:
            data = _csv_bytes(rng, 50_000)  # ~3.8 MB, ~200 k identifiers
            name = f"export{i}.csv"
        elif kind == 1:
            data = _xlsx_bytes(rng, 30_000)  # ~1.5 MB compressed
            name = f"list{i}.xlsx"
        elif kind == 2:
            data = rng.randbytes(4 * MB)
            name = f"backup{i}.bin"
        else:
            data = _text_bytes(rng, 4 * MB)
            name = f"notes{i}.log"
        (root / name).write_bytes(data)
        written += len(data)
        i += 1


def make_many(root: Path, count: int) -> None:
    """Tiny files for the no-change rescan."""
    if root.exists() and sum(1 for _ in root.rglob("*.txt")) >= count:
        return
    for i in range(count):
        folder = root / f"d{i // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.txt").write_text(f"会议纪要 {i}：无个人信息。\n", encoding="utf-8")


def dlpscan(*args: str) -> tuple[float, dict]:
    """Run the CLI; (wall seconds, summary counts from the JSONL report)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [*DLPSCAN, "scan", *args, "--quiet", "--format", "jsonl", "-o", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dlpscan failed ({proc.returncode}): {proc.stderr[-500:]}")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    return seconds, {
        "files": len(lines),
        "flagged": sum(1 for x in lines if x["flagged"]),
        "bytes": sum(x.get("size") or 0 for x in lines),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def stock_presidio_rate(root: Path, files: int) -> tuple[float, float, str]:
    """Stock Presidio on the extracted text of `files` small files: (MB/s, MB analysed, model)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_detect import stock_with_model

    from dlpscan.extract import open_documents
    from dlpscan.model import TableBlock

    model, analyzer = stock_with_model()
    if analyzer is None:
        return 0.0, 0.0, "no spaCy English model (pip install -e '.[bench]')"
    texts = []
    for path in sorted(root.rglob("*"))[: files * 2]:
        if not path.is_file():
            continue
        for doc in open_documents(path, str(path)):
            for block in doc.blocks:
                if isinstance(block, TableBlock):
                    texts.append("\n".join(",".join(r) for r in [block.header, *block.rows]))
                else:
                    texts.append(block.text)
        if len(texts) >= files:
            break
    analyzer.analyze("warm up", language="en")
    size = sum(len(t.encode("utf-8")) for t in texts) / MB
    start = time.process_time()
    for t in texts:
        analyzer.analyze(t, language="en")
    return size / (time.process_time() - start), size, model


# Runs a command and prints its exit code and the CPU seconds of every process it started, however
# long they outlive it: as a child subreaper it inherits orphans (the workers' fork server exits after
# the CLI) and waits for them, so their time is in RUSAGE_CHILDREN. (`perf stat` missed processes that
# outlived the command.)
_TREE_CPU = """
import ctypes, os, resource, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, usage.ru_utime + usage.ru_stime)
"""


def scan_seconds(path: Path, work: Path, env: dict[str, str] | None = None, attempts: int = 3) -> float:
    """CPU seconds of `dlpscan scan PATH -j1 --full` into a fresh SQLite store with fingerprints, as a
    user runs it (best of `attempts`), summed over every process of the command (CLI, fork server,
    worker): other jobs on a shared machine do not inflate it as they inflate wall-clock time."""
    best = float("inf")
    for attempt in range(attempts):
        db = work / f"throughput{attempt}.sqlite"
        db.unlink(missing_ok=True)
        cmd = [*DLPSCAN, "scan", str(path), "-j", "1", "--full", "--db", str(db)]
        cmd += ["--format", "jsonl", "--output", str(work / "r.jsonl"), "--fingerprint-key", "k", "-q"]
        proc = subprocess.run(
            [sys.executable, "-c", _TREE_CPU, *cmd],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
        rc, seconds = proc.stdout.split() if proc.returncode == 0 else ("?", "nan")
        if rc not in ("0", "1"):
            raise SystemExit(f"dlpscan failed ({rc}): {proc.stderr[-500:]!r}")
        best = min(best, float(seconds))
    return best


def net_seconds(path: Path, tiny: Path, work: Path, rounds: int = 5) -> float:
    """`scan_seconds` of PATH beyond the command's start-up: PATH and a one-line file scanned
    alternately (`rounds` each, the order swapped every round), the best of one minus the best of the
    other. The start-up (~1-1.5 CPU s) drifts with the machine over minutes and varies by ~50 ms from
    run to run, as much as a 10 MB sparse text costs; measured side by side, the drift stays out of
    the difference."""
    files: list[float] = []
    starts: list[float] = []
    for r in range(rounds):
        for which in (path, tiny) if r % 2 == 0 else (tiny, path):
            (files if which == path else starts).append(scan_seconds(which, work, attempts=1))
    return min(files) - min(starts)


# A text's command figure scans this many CPU seconds of copies of it in one command (at most
# MAX_COPIES): one 10 MB sparse text costs ~50 ms, less than the start-up's run-to-run swing.
COPIES_CPU = 0.5
MAX_COPIES = 12


def copies_of(path: Path, work: Path, count: int) -> Path:
    """A fresh folder of `count` copies of `path` (copies: the walk reads a linked inode once)."""
    folder = work / f"{path.stem}-copies"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(count):
        shutil.copyfile(path, folder / f"{i:02d}-{path.name}")
    return folder


_WORKER_CPU = """
import gc, sys, time
from pathlib import Path
from dlpscan.pipeline import FileScanner
from dlpscan.settings import ScanSettings
from dlpscan.workers import tune_allocator
tune_allocator()  # as a worker process sets itself up
scanner, path = FileScanner(ScanSettings(key=b"k")), Path(sys.argv[1])
gc.freeze()
scanner.scan_path(path, path.name)
best = float("inf")
for _ in range(5):
    start = time.process_time()
    scanner.scan_path(path, path.name)
    best = min(best, time.process_time() - start)
print(best)
"""


def worker_seconds(path: Path) -> float:
    """CPU seconds of one worker's `FileScanner.scan_path` (read, detect, aggregate, fingerprints,
    policy; no store), best of 5 after a first run, in a fresh interpreter set up as a worker is. On a noisy machine the
    command's CPU minus its start-up swings by more than a dense 4 MB file costs; this does not."""
    out = subprocess.run(
        [sys.executable, "-c", _WORKER_CPU, str(path)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[-1])


def tiny_wall_seconds(path: Path, work: Path) -> float:
    """Wall seconds from start to the prompt of `dlpscan scan PATH -j1` into an existing store, best of 5."""
    db = work / "wall.sqlite"
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [*DLPSCAN, "scan", str(path), "-j", "1", "--full", "--db", str(db), "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        best = min(best, time.perf_counter() - start)
    return best


def customer_files(work: Path, customers: int) -> tuple[Path, Path]:
    """The same customers (name, ID, mobile, address) as an xlsx workbook and as a GBK CSV."""
    rng = random.Random(9)
    people = [_person(rng) for _ in range(customers)]
    book, gbk = work / "customers.xlsx", work / "customers.csv"
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(book), {"constant_memory": True})
    sheet = workbook.add_worksheet("客户")
    sheet.write_row(0, 0, ["姓名", "身份证号", "手机", "地址"])
    for r, person in enumerate(people):
        sheet.write_row(r + 1, 0, person)
    workbook.close()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["姓名", "身份证号", "手机", "地址"])
    writer.writerows(people)
    gbk.write_bytes(buf.getvalue().encode("gbk"))
    return book, gbk


def target_rows(work: Path, quick: bool, corpora: Sequence[Path] = ()) -> list[tuple[str, ...]]:
    """Every target of issue #11 measured in one run, each beside its baseline: the naive `re`
    baseline on the same text, stock Presidio on a slice of it (regex recognizers, offline NLP
    engine: its cheapest form; with the `bench` extra also as shipped, spaCy English NER)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_detect import DENSE, TYPICAL, baseline_seconds, generate, stock_analyzer, stock_with_model

    work.mkdir(parents=True, exist_ok=True)
    tiny = work / "one-small-file.txt"
    tiny.write_text("客户 张三 手机 13912345678\n", encoding="utf-8")
    scan_seconds(tiny, work, attempts=1)  # warms the Hyperscan cache
    model, shipped = stock_with_model()
    regex_only = stock_analyzer(tokenize=False)
    rows: list[tuple[str, ...]] = []

    def presidio(text: str) -> str:
        sample = text[:50_000]
        out = []
        for name, analyzer in (("regex recognizers", regex_only), (model, shipped)):
            if analyzer is None:
                continue
            analyzer.analyze("warm up", language="en")
            start = time.process_time()
            analyzer.analyze(sample, language="en")
            out.append(f"{len(sample.encode()) / MB / (time.process_time() - start):.2f} MB/s ({name})")
        return "stock Presidio " + ", ".join(out)

    def text_target(label: str, path: Path, text: str, goal: float) -> None:
        mb = path.stat().st_size / MB
        worker_cpu = worker_seconds(path)
        count = min(MAX_COPIES, max(1, math.ceil(COPIES_CPU / worker_cpu)))
        folder = copies_of(path, work, count)
        ours = mb / max(net_seconds(folder, tiny, work) / count, 1e-6)
        shutil.rmtree(folder)
        worker = mb / worker_cpu
        base = mb / baseline_seconds(text)
        ratio, worker_ratio = ours / base, worker / base
        rows.append(
            (
                label,
                f">= {goal:g}x naive re",
                f"{ours:.1f} MB/s, {ratio:.2f}x (command minus start-up, per copy of {count} in one scan); "
                f"worker {worker:.1f} MB/s, {worker_ratio:.2f}x",
                f"naive re {base:.1f} MB/s; {presidio(text)}",
                "yes" if min(ratio, worker_ratio) >= goal else "no",
            )
        )

    for corpus in corpora:
        text = corpus.read_text(encoding="utf-8")
        text_target(f"dense text: {corpus.name}", corpus, text, 5)
    for kind, every, goal in (("dense", DENSE, 5), ("sparse", TYPICAL, 10)):
        text = generate((2 if quick else 10) * MB, seed=3, every=every)
        path = work / f"{kind}.txt"
        path.write_text("客户记录导出\n" + text, encoding="utf-8")
        text_target(
            f"{kind} text, 1 record / {every} B ({path.stat().st_size / MB:.0f} MB)", path, text, goal
        )

    customers = 20_000 if quick else 200_000
    book, gbk = customer_files(work, customers)
    seconds = net_seconds(book, tiny, work, rounds=3)
    rate = customers / seconds
    rows.append(
        (
            f"customer workbook, {customers:,} rows",
            ">= 150,000 rows/s",
            f"{rate:,.0f} rows/s",
            "",
            _met(rate, 150_000),
        )
    )
    seconds = net_seconds(gbk, tiny, work, rounds=3)
    mb = gbk.stat().st_size / MB
    text = gbk.read_bytes().decode("gbk")
    rows.append(
        (
            f"the same rows as GBK CSV ({mb:.0f} MB)",
            ">= 40 MB/s",
            f"{mb / seconds:.1f} MB/s ({customers / seconds:,.0f} rows/s)",
            f"naive re {mb / baseline_seconds(text):.1f} MB/s",
            _met(mb / seconds, 40),
        )
    )
    large = work / "large"
    make_large(large, int((0.1 if quick else 1.0) * 1e9))
    seconds, summary = dlpscan(str(large), "--no-store", "-j", "2")
    rate = summary["bytes"] / MB / seconds
    rows.append(
        (
            f"mixed share, {summary['bytes'] / 1e9:.2f} GB ({summary['files']} files), -j2, wall clock",
            ">= 30 MB/s",
            f"{rate:.1f} MB/s",
            f"{summary['flagged']} files flagged",
            _met(rate, 30),
        )
    )
    wall = tiny_wall_seconds(tiny, work)
    rows.append(
        ("one small file, wall clock to the prompt", "<= 1 s", f"{wall:.2f} s", "best of 5", _met(1, wall))
    )
    rows.append(
        ("peak RSS, largest process", "unchanged", f"{peak_rss_mb():,.0f} MB", "CLI or one worker", "")
    )
    return rows


def _met(value: float, goal: float) -> str:
    return "yes" if value >= goal else "no"


def throughput_rows(work: Path, quick: bool, corpora: Sequence[Path] = ()) -> list[tuple[str, str, str]]:
    """Dense and sparse text against the naive baseline, the 200,000-row customer workbook and the
    same rows as GBK CSV, one small file, 1/10/100 MB for linearity: all through `dlpscan scan -j1`.
    `corpora`: text files of your own, each scanned as it is against the baseline on its text."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_detect import DENSE, TYPICAL, baseline_seconds, generate

    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str]] = []
    tiny = work / "one-small-file.txt"
    tiny.write_text("客户 张三 手机 13912345678\n", encoding="utf-8")
    scan_seconds(tiny, work)  # warms the Hyperscan cache
    start_up = scan_seconds(tiny, work)
    rows.append(
        ("one small file (start-up, warm cache)", f"{start_up:.2f} s", "CPU s, all processes, whole command")
    )
    rows.append(
        ("one small file, wall clock", f"{tiny_wall_seconds(tiny, work):.2f} s", "best of 5, to the prompt")
    )

    def text_row(label: str, text: str, env: dict[str, str] | None = None) -> None:
        path = work / f"{label.split()[0]}.txt"
        path.write_text("客户记录导出\n" + text, encoding="utf-8")  # a generated start can look like "MZ.."
        mb = path.stat().st_size / MB
        ours = mb / max(scan_seconds(path, work, env) - start_up, 1e-6)
        base = mb / baseline_seconds(text)
        rows.append(
            (
                f"{label} ({mb:.0f} MB)",
                f"{ours:.1f} MB/s",
                f"naive re baseline {base:.1f} MB/s: ratio {ours / base:.2f}",
            )
        )

    for corpus in corpora:
        mb = corpus.stat().st_size / MB
        ours = mb / max(scan_seconds(corpus, work) - start_up, 1e-6)
        base = mb / baseline_seconds(corpus.read_text(encoding="utf-8"))
        rows.append(
            (
                f"{corpus.name} ({mb:.0f} MB)",
                f"{ours:.1f} MB/s",
                f"naive re baseline {base:.1f} MB/s: ratio {ours / base:.2f}",
            )
        )
    for mb in (1, 10) if quick else (1, 10, 100):
        text_row(f"dense-{mb} text, 1 record / {DENSE} B", generate(mb * MB, seed=mb, every=DENSE))
    text_row(
        "dense-pure text, pure-Python loop",
        generate(10 * MB, seed=10, every=DENSE),
        {"DLPSCAN_PURE_PYTHON": "1"},
    )
    text_row(f"sparse text, 1 record / {TYPICAL} B", generate(10 * MB, seed=3, every=TYPICAL))

    customers = 20_000 if quick else 200_000
    book, gbk = customer_files(work, customers)
    seconds = scan_seconds(book, work) - start_up
    rows.append(
        (
            f"customer workbook, {customers:,} rows",
            f"{customers / seconds:,.0f} rows/s",
            f"{book.stat().st_size / MB:.1f} MB xlsx, {seconds:.1f} s",
        )
    )
    seconds = scan_seconds(gbk, work) - start_up
    mb = gbk.stat().st_size / MB
    rows.append(
        (
            f"the same rows as GBK CSV ({mb:.0f} MB)",
            f"{mb / seconds:.1f} MB/s",
            f"{customers / seconds:,.0f} rows/s",
        )
    )
    rows.append(("peak RSS, largest process", f"{peak_rss_mb():,.0f} MB", "CLI or one worker"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dlpscan-bench"))
    parser.add_argument("--gb", type=float, default=1.0, help="size of the large mixed corpus")
    parser.add_argument("--small", type=int, default=10_000, help="number of small mixed files")
    parser.add_argument("--rescan", type=int, default=100_000, help="files for the no-change rescan")
    parser.add_argument("--stock-files", type=int, default=40, help="small files analysed by stock Presidio")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--throughput", action="store_true", help="only the -j1 throughput table against the naive baseline"
    )
    parser.add_argument(
        "--targets",
        action="store_true",
        help="only issue #11's targets, each measured beside its baseline in one run (about 10 minutes)",
    )
    parser.add_argument("--quick", action="store_true", help="with --throughput or --targets: smaller inputs")
    parser.add_argument(
        "--corpus", type=Path, action="append", default=[], help="with --throughput: also this text file"
    )
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    if args.throughput:
        print_rows(throughput_rows(work / "throughput", args.quick, args.corpus), args.markdown)
        return
    if args.targets:
        header = ("target (issue #11)", "goal", "measured", "beside it, same run", "met")
        print_rows(target_rows(work / "targets", args.quick, args.corpus), args.markdown, header)
        return
    rows: list[tuple[str, str, str]] = []

    small, large, many = work / "small", work / "large", work / "many"
    t = time.perf_counter()
    make_small(small, args.small)
    make_large(large, int(args.gb * 1e9))
    make_many(many, args.rescan)
    print(f"corpora ready in {time.perf_counter() - t:.0f} s", file=sys.stderr)

    for jobs in (1, 2):
        seconds, s = dlpscan(str(small), "--no-store", "-j", str(jobs))
        rows.append(
            (
                f"{s['files']:,} small mixed files, -j{jobs}",
                f"{s['files'] / seconds:,.0f} files/s",
                f"{seconds:.1f} s, {s['bytes'] / MB:.0f} MB, {s['flagged']:,} flagged",
            )
        )
    for jobs in (1, 2):
        seconds, s = dlpscan(str(large), "--no-store", "-j", str(jobs))
        rows.append(
            (
                f"{s['bytes'] / 1e9:.2f} GB mixed corpus ({s['files']} files), -j{jobs}",
                f"{s['bytes'] / MB / seconds:,.1f} MB/s",
                f"{seconds:.0f} s, {s['flagged']} flagged",
            )
        )
    db = work / "rescan.sqlite"
    db.unlink(missing_ok=True)
    first, s = dlpscan(str(many), "--db", str(db), "-j", "2")
    again, _ = dlpscan(str(many), "--db", str(db), "-j", "2")
    rows.append(
        (
            f"first scan of {s['files']:,} tiny files, -j2",
            f"{s['files'] / first:,.0f} files/s",
            f"{first:.1f} s",
        )
    )
    rows.append(
        (f"no-change rescan of {s['files']:,} files", f"{s['files'] / again:,.0f} files/s", f"{again:.1f} s")
    )
    rows.append(("peak RSS, largest process", f"{peak_rss_mb():,.0f} MB", "CLI or one worker"))

    rate, size, model = stock_presidio_rate(small, args.stock_files)
    if rate:
        ours = next(r for r in rows if r[0].endswith("-j1") and "small" in r[0])
        rows.append(
            (
                f"stock Presidio ({model}) on extracted text of small files",
                f"{rate:.3f} MB/s",
                f"{size:.2f} MB analysed, one core, no file reading",
            )
        )
        small_mb = sum(p.stat().st_size for p in small.rglob("*") if p.is_file()) / MB
        j1_seconds = float(ours[2].split(" s")[0])
        rows.append(
            (
                "dlpscan -j1 vs stock Presidio (MB/s ratio, same kind of files)",
                f"{(small_mb / j1_seconds) / rate:,.0f}x",
                "dlpscan includes reading and extracting files",
            )
        )

    print_rows(rows, args.markdown)


def print_rows(
    rows: Sequence[Sequence[str]],
    markdown: bool,
    header: Sequence[str] = ("measurement", "result", "detail"),
) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        for r in rows:
            print(f"{r[0]:60} {r[1]:>16}  " + "  ".join(r[2:]))
    print(
        f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; load {os.getloadavg()}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
