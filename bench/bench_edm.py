"""Exact data match: index build time and memory, lookup cost per finding, scan slowdown.

Measures, in one run on the same machine:
  * `dlpscan edm build` of generated master tables (4 columns: ID and mobile primary, name and
    e-mail corroborating) of --rows sizes: wall time, rows/s and the peak memory of the process tree
    (sampled), against the baseline of reading the same CSV with `csv.reader` alone;
  * the cost per finding of collecting evidence and matching it against the largest index, against
    the cost per finding of detection itself (the engine on the same text);
  * `dlpscan scan` of a dense export (-j 1, --full, fresh store) with and without --edm: the ratio.

    python bench/bench_edm.py [--rows 1000000 3000000] [--jobs 1 2] [--corpus dense_4MB.txt] [--markdown]

The master tables are synthetic (valid check digits, no real person), written under --workdir. The
index also holds the ID/mobile pairs of the corpus's lines, so the scan finds customers in it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
REGIONS = ("110105", "310104", "440305", "330106", "510107", "420106")
SEGMENTS = ("135", "138", "139", "186", "187", "150", "177")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
KEY = "bench-edm-key-0123456789abcdef0123"
SCHEMA = """\
name: customers
columns:
  - {header: 身份证号, type: CN_RESIDENT_ID, primary: true}
  - {header: 手机号, type: CN_MOBILE, primary: true}
  - {header: 姓名, type: CN_NAME}
  - {header: 邮箱, type: EMAIL_ADDRESS}
"""
DEFAULT_CORPUS = Path("/work/shared/bench/dense_4MB.txt")
ID_RE = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
MOBILE_RE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
DAY0 = dt.date(1950, 1, 1)


def _check(body: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def write_master(path: Path, rows: int, corpus: Path | None, seed: int = 7) -> None:
    """`rows` distinct customers (IDs and mobiles derived from the row number, so distinct), then
    one row per line of the corpus that holds an ID (with the line's mobile, if any)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(("客户号", "姓名", "身份证号", "手机号", "邮箱"))
        for i in range(rows):
            k, region = divmod(i, len(REGIONS))
            day, seq = divmod(k, 1000)
            born = (DAY0 + dt.timedelta(days=day % 20000)).strftime("%Y%m%d")
            body = f"{REGIONS[region]}{born}{seq:03d}"
            mobile = f"{SEGMENTS[i % len(SEGMENTS)]}{i // len(SEGMENTS):08d}"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            out.writerow((f"C{i:09d}", name, body + _check(body), mobile, f"u{i}@example.com"))
        if corpus is not None:
            for n, line in enumerate(corpus.read_text(encoding="utf-8", errors="replace").splitlines()):
                ids, mobiles = ID_RE.findall(line), MOBILE_RE.findall(line)
                if ids:
                    out.writerow((f"D{n:09d}", "", ids[0], mobiles[0] if mobiles else "", ""))


class TreeMonitor:
    """A process and its descendants, sampled every 0.1 s: the largest summed RSS, and the CPU
    seconds (user + system) of each process as last seen, summed."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self.cpu: dict[int, float] = {}
        self._proc = psutil.Process(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                procs = [self._proc, *self._proc.children(recursive=True)]
                rss = 0
                for p in procs:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        t = p.cpu_times()
                        self.cpu[p.pid] = t.user + t.system
                self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            self._done.wait(0.1)

    def stop(self) -> tuple[int, float]:
        self._done.set()
        self._thread.join()
        return self.peak, sum(self.cpu.values())


def dlpscan(*args: str, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run the CLI; (wall seconds, CPU seconds of the process tree, peak tree RSS in bytes)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlpscan.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    monitor = TreeMonitor(proc.pid)
    _, err = proc.communicate()
    peak, cpu = monitor.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dlpscan {' '.join(args[:2])} failed: {err.decode(errors='replace')[-500:]}")
    return time.perf_counter() - started, cpu, peak


def csv_read_seconds(path: Path) -> float:
    """CPU seconds of reading the file with csv.reader alone: the floor of any build."""
    started = time.process_time()
    with path.open(encoding="utf-8", newline="") as f:
        for _ in csv.reader(f):
            pass
    return time.process_time() - started


def bench_build(work: Path, rows: int, jobs: list[int], corpus: Path | None) -> list[dict]:
    master = work / f"master-{rows}.csv"
    if not master.exists():
        write_master(master, rows, corpus)
    schema = work / "edm.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    key = work / "edm.key"
    key.write_text(KEY, encoding="utf-8")
    read = csv_read_seconds(master)
    out = []
    for j in jobs:
        index = work / f"customers-{rows}.edm"
        seconds, cpu, peak = dlpscan(
            "edm", "build", "--schema", str(schema), "--input", str(master), "--out", str(index),
            "--edm-key-file", str(key), "-j", str(j),
        )  # fmt: skip
        out.append(
            {
                "rows": rows,
                "jobs": j,
                "seconds": seconds,
                "cpu": cpu,
                "rows_per_s": rows / seconds,
                "cpu_us_per_row": cpu / rows * 1e6,
                "peak_mb": peak / 1e6,
                "csv_read_s": read,
                "index_mb": index.stat().st_size / 1e6,
            }
        )
    return out


def bench_lookup(index: Path, corpus: Path) -> dict:
    """Per finding: detection vs. evidence + match, on the corpus's text in 64 KB blocks."""
    from dlpscan.detect.engine import Engine
    from dlpscan.edm.evidence import EvidenceCollector
    from dlpscan.edm.index import EdmIndex
    from dlpscan.edm.keys import Digester
    from dlpscan.edm.match import match
    from dlpscan.model import TextBlock

    text = corpus.read_text(encoding="utf-8", errors="replace")
    blocks = [TextBlock(text[i : i + 65536]) for i in range(0, len(text), 65536)]
    engine, edm, digester = Engine(), EdmIndex(index), Digester(KEY.encode())
    engine.scan(blocks[0])
    detect = lookup = float("inf")
    for _ in range(5):  # interleaved, the fastest of each: the machine may be busy
        started = time.process_time()
        found = [engine.scan(b) for b in blocks]
        detect = min(detect, time.process_time() - started)
        started = time.process_time()
        collector = EvidenceCollector(digester, edm.header.types)
        for findings, block in zip(found, blocks, strict=True):
            collector.add_block(findings, block)
        evidence = collector.evidence()
        result = match(evidence, edm, digester)
        lookup = min(lookup, time.process_time() - started)
    n = sum(len(f) for f in found)
    return {
        "findings": n,
        "evidence": len(evidence),
        "detect_us": detect / n * 1e6,
        "edm_us": lookup / n * 1e6,
        "ratio": lookup / detect,
        "high": result.high,
        "medium": result.medium,
    }


def bench_scan(work: Path, index: Path, corpus: Path, repeat: int) -> dict:
    key = work / "edm.key"
    times: dict[str, list[float]] = {"plain": [], "edm": []}
    cpus: dict[str, list[float]] = {"plain": [], "edm": []}
    for _ in range(repeat):
        for mode in ("plain", "edm"):
            store = work / f"scan-{mode}"
            shutil.rmtree(store, ignore_errors=True)
            store.mkdir()
            extra = ["--edm", str(index), "--edm-key-file", str(key)] if mode == "edm" else []
            seconds, cpu, _ = dlpscan(
                "scan", str(corpus), "-j", "1", "--full", "--db", str(store / "s.sqlite"),
                "--format", "jsonl", "--output", str(store / "r.jsonl"), "--fingerprint-key", "k", *extra,
            )  # fmt: skip
            times[mode].append(seconds)
            cpus[mode].append(cpu)
    plain, edm = min(times["plain"]), min(times["edm"])
    plain_cpu, edm_cpu = min(cpus["plain"]), min(cpus["edm"])
    return {
        "plain_s": plain,
        "edm_s": edm,
        "ratio": edm / plain,
        "plain_cpu": plain_cpu,
        "edm_cpu": edm_cpu,
        "cpu_ratio": edm_cpu / plain_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dlpscan-bench-edm"))
    parser.add_argument("--repeat", type=int, default=3, help="scans per mode (the fastest counts)")
    parser.add_argument("--no-build", action="store_true", help="reuse the indexes of an earlier run")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus if args.corpus.is_file() else None
    builds = []
    for rows in [] if args.no_build else args.rows:
        builds += bench_build(args.workdir, rows, args.jobs, corpus)
        for b in builds[-len(args.jobs) :]:
            print(
                f"build {b['rows']:>11,} rows -j{b['jobs']}: {b['seconds']:6.1f} s wall, "
                f"{b['cpu']:6.1f} CPU s ({b['cpu_us_per_row']:.1f} CPU µs/row, "
                f"{b['cpu'] / b['csv_read_s']:.1f}x a csv.reader pass), "
                f"peak RSS {b['peak_mb']:,.0f} MB, index {b['index_mb']:,.0f} MB",
                flush=True,
            )
    if corpus is None:
        print(f"no corpus at {args.corpus}: lookup and scan not measured")
        return
    index = args.workdir / f"customers-{max(args.rows)}.edm"
    look = bench_lookup(index, corpus)
    print(
        f"lookup: {look['findings']:,} findings ({look['evidence']:,} of indexed types): detection "
        f"{look['detect_us']:.2f} µs/finding, EDM evidence + match {look['edm_us']:.2f} µs/finding "
        f"= {look['ratio']:.1%} of detection; {look['high']:,} high, {look['medium']:,} medium",
        flush=True,
    )
    scan = bench_scan(args.workdir, index, corpus, args.repeat)
    print(
        f"scan of {corpus.name} -j1 (fastest of {args.repeat}): {scan['plain_s']:.2f} s wall / "
        f"{scan['plain_cpu']:.2f} CPU s without --edm, {scan['edm_s']:.2f} s / "
        f"{scan['edm_cpu']:.2f} CPU s with (index of {max(args.rows):,} rows): "
        f"ratio {scan['ratio']:.3f} wall, {scan['cpu_ratio']:.3f} CPU",
        flush=True,
    )


if __name__ == "__main__":
    main()
