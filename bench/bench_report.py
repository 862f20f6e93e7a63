"""Time to build the compliance reports from a large results store.

Generates a SQLite store (record_results in batches) of N scanned files, M of them flagged with
realistic counts (ID numbers, mobiles, some bank cards, masked samples, fingerprints), spread
over folders and owners, plus unreadable files and triage decisions; then times each format.

    .venv/bin/python bench/bench_report.py                       # 100,000 files, 5,000 flagged
    .venv/bin/python bench/bench_report.py --files 10000 --flagged 500 --formats html,pdf
    .venv/bin/python bench/bench_report.py --db /tmp/bench.sqlite --keep   # reuse the store next time
    .venv/bin/python bench/bench_report.py --db /tmp/bench.sqlite --formats pdf --pdf-rows 0   # every row
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from dlpscan.model import EntityStats, FileResult, Status
from dlpscan.policy import evaluate, load_policy
from dlpscan.report import Options, write_report
from dlpscan.report.render import PDF_ROWS
from dlpscan.store import Store

KEY = b"bench-key"
BATCH = 1000


def fingerprint(value: str) -> str:
    return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()


def entity(values: list[str]) -> EntityStats:
    masked = [v[:3] + "*" * (len(v) - 7) + v[-4:] for v in values[:5]]
    return EntityStats(len(values), len(values) + len(values) // 10, [fingerprint(v) for v in values], masked)


def make_result(i: int, flagged: bool, rng: random.Random, policy) -> FileResult:
    folder = f"/srv/share/dept{i % 40:02d}/team{i % 2000:04d}"
    path = f"{folder}/file_{i:06d}.{('xlsx', 'csv', 'docx', 'pdf', 'txt')[i % 5]}"
    common = {"size": 5_000 + i % 90_000, "mtime": 1_700_000_000.0 + i, "owner": f"user{i % 60:02d}"}
    if i % 200 == 7:
        return FileResult(path, Status.ENCRYPTED, reason="password-protected Office file", **common)
    if i % 500 == 11:
        return FileResult(path, Status.SKIPPED, reason="larger than the size limit", **common)
    entities: dict[str, EntityStats] = {}
    records = 0
    if flagged:
        people = rng.randint(50, 400)
        base = rng.randint(0, 400_000)  # overlapping ranges: the same people in several files
        entities["CN_MOBILE"] = entity([f"139{base + k:08d}" for k in range(people)])
        entities["CN_RESIDENT_ID"] = entity([f"1101011990{base + k:08d}" for k in range(people // 2)])
        entities["CN_NAME"] = EntityStats(people, people, None, ["张**", "李*"])
        if i % 7 == 0:
            entities["CN_BANK_CARD"] = entity([f"62220210{base + k:08d}" for k in range(people // 4)])
        records = people
    elif i % 10 == 3:
        entities["CN_MOBILE"] = entity([f"138{i:08d}"])
        records = 1
    result = FileResult(path, Status.SCANNED, "text/csv", entities, records=records, **common)
    result.flagged, result.severity, result.rules = evaluate(policy, result)
    return result


def build(db: str, files: int, flagged: int) -> float:
    """Two scans of the same root (for the trend), the second one complete; returns seconds."""
    start = time.perf_counter()
    policy = load_policy("default")
    rng = random.Random(1)
    every = max(files // flagged, 1)
    with Store.open(db) as store:
        for scan_no in range(2):
            sid = store.begin_scan(["/srv/share"], policy="default", policy_version=policy.version,
                                   detector_version="0.1.0+bench+key+fp1", options={})  # fmt: skip
            n = files if scan_no else files // 2
            for lo in range(0, n, BATCH):
                batch = [make_result(i, i % every == 0, rng, policy) for i in range(lo, min(lo + BATCH, n))]
                store.record_results(sid, batch)
            store.finish_scan(sid, status="completed", stats={"files": n, "bytes": n * 50_000})
        for k, i in enumerate(range(0, 200 * every, every)):
            store.triage(f"/srv/share/dept{i % 40:02d}/team{i % 2000:04d}/file_{i:06d}.xlsx",
                         ("open", "resolved", "accepted", "false-positive")[k % 4], "ticket SEC-1", "bench")  # fmt: skip
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--flagged", type=int, default=5_000)
    ap.add_argument("--formats", default="html,pdf,csv,xlsx")
    ap.add_argument("--db", help="SQLite store to use; generated when it does not exist")
    ap.add_argument("--keep", action="store_true", help="keep the generated store and reports")
    ap.add_argument("--pdf-rows", type=int, default=PDF_ROWS, help="per-table row cap of the PDF (0: all)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    db = args.db or str(work / "store.sqlite")
    if not os.path.exists(db):
        print(f"building store: {args.files:,} files, {args.flagged:,} flagged ...", file=sys.stderr)
        print(f"store built in {build(db, args.files, args.flagged):.1f} s", file=sys.stderr)
    rows = []
    with Store.open(db) as store:
        for fmt in args.formats.split(","):
            out = work / f"report.{fmt}"
            t, cpu = time.perf_counter(), time.process_time()
            data = write_report(store, fmt, out, Options(), pdf_rows=args.pdf_rows or None)
            wall, cpu = time.perf_counter() - t, time.process_time() - cpu
            rows.append((fmt, wall, cpu, out.stat().st_size, len(data.findings), data.items))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| format | wall s | CPU s | output size | flagged files | files in scope |")
    print("|---|---:|---:|---:|---:|---:|")
    for fmt, wall, cpu, size, findings, items in rows:
        print(f"| {fmt} | {wall:.1f} | {cpu:.1f} | {size / 1e6:.1f} MB | {findings:,} | {items:,} |")
    print(f"\npeak RSS {peak:,.0f} MB; reports in {work}" if args.keep else f"\npeak RSS {peak:,.0f} MB")
    if not args.keep and not args.db:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
