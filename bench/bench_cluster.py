"""`dlpscan scan --cluster` against the local pool, in the same run, on the same corpora.

Measures, each as a real `dlpscan scan --full` process writing to one PostgreSQL store:
  * files/s on small mixed files and MB/s on a large mixed corpus (generators of bench_scan.py),
    with the local pool (-j1, -j2) and on a Dask cluster of 1 and 2 worker processes (one thread
    each; `dlpscan cluster up` on 127.0.0.1);
  * the scheduler's cost per task: no-op tasks through `Client.map` + `as_completed`, and the round
    trip of one task at a time;
  * the PostgreSQL store's insert rate: `Store.record_results` in batches of 200 (the scan's batch)
    of realistic results (a dense customer list: fingerprints, samples, locations).

    python bench/bench_cluster.py [--small 2000] [--mb 100] [--pg URL] [--markdown]

Values are synthetic. Corpora are written under --workdir; the store is a schema of its own,
dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import MB, _csv_bytes, make_large, make_small

KEY = "bench-key"


@contextlib.contextmanager
def pg_schema(admin: str) -> Iterator[str]:
    import psycopg

    schema = f"dlpscan_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{admin}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def cluster(workers: int, work: Path) -> Iterator[str]:
    """`dlpscan cluster up` with `workers` processes of one thread; its scheduler's address."""
    port = free_port()
    log = work / f"cluster-{workers}.log"
    cmd = [sys.executable, "-m", "dlpscan.cli", "cluster", "up", "--workers", str(workers)]
    cmd += ["--port", str(port), "--dashboard-port", str(free_port())]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "workers" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"cluster up failed: {log.read_text()[-500:]}")
            time.sleep(0.2)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)


def scan(root: Path, db: str, *extra: str) -> tuple[float, int, int]:
    """(seconds, files, bytes) of one `dlpscan scan --full` into the store."""
    args = [sys.executable, "-m", "dlpscan.cli", "scan", str(root), "--db", db, "--full", "--quiet"]
    args += ["--format", "jsonl", "-o", "-", "--fingerprint-key", KEY, *extra]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dlpscan failed ({proc.returncode}): {proc.stderr[-500:]}")
    import json

    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    top = [x for x in lines if "!" not in x["path"]]
    return seconds, len(top), sum(x.get("size") or 0 for x in top)


def scheduler_overhead(address: str, tasks: int) -> tuple[float, float, float]:
    """(no-op tasks/s through map + as_completed, the scheduler's CPU ms per task, ms per task
    submitted and awaited one at a time). The CPU time does not depend on what else the host runs."""
    from distributed import Client, as_completed

    client = Client(address, set_as_default=False)
    try:
        client.gather(client.map(noop, range(20), pure=False))  # warm up
        cpu = client.run_on_scheduler(scheduler_cpu)
        start = time.perf_counter()
        futures = client.map(noop, range(tasks), pure=False, retries=2)
        for _ in as_completed(futures, loop=client.loop, with_results=True):
            pass
        rate = tasks / (time.perf_counter() - start)
        cpu_ms = (client.run_on_scheduler(scheduler_cpu) - cpu) / tasks * 1000
        del futures
        start = time.perf_counter()
        for i in range(50):
            client.submit(noop, i, pure=False).result()
        return rate, cpu_ms, (time.perf_counter() - start) / 50 * 1000
    finally:
        client.close()


def scheduler_cpu(dask_scheduler: object = None) -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system


def noop(x: int) -> int:
    return x


def store_insert_rate(db: str, work: Path, files: int) -> list[tuple[str, float, float]]:
    """(what, results/s, fingerprint rows/s) of record_results in batches of 200, for a file without
    personal data and for a customer list of 100 rows (ID, mobile, card, name: ~300 fingerprints)."""
    import random

    from dlpscan.pipeline import FileScanner, ScanSettings
    from dlpscan.store import Store

    rng = random.Random(7)
    (work / "insert-list.csv").write_bytes(_csv_bytes(rng, 100))
    (work / "insert-note.txt").write_text("会议纪要：无个人信息。\n" * 20, encoding="utf-8")
    scanner = FileScanner(ScanSettings(key=KEY.encode(), include_fingerprints=True))
    out = []
    with Store.open(db) as store:
        for name in ("insert-note.txt", "insert-list.csv"):
            result = scanner.scan_path(work / name, name)[0]
            per_file = sum(len(e.fingerprints or []) for e in result.entities.values())
            scan_id = store.begin_scan(
                [f"/bench/{name}"], policy="default", policy_version="1", detector_version="1", options={}
            )
            start = time.perf_counter()
            for first in range(0, files, 200):
                paths = (f"/bench/{name}/d{i // 1000}/f{i}" for i in range(first, first + 200))
                store.record_results(scan_id, [replace(result, path=p) for p in paths])
            seconds = time.perf_counter() - start
            out.append((f"{name} ({per_file} fingerprints)", files / seconds, files * per_file / seconds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dlpscan-bench"))
    parser.add_argument("--small", type=int, default=2_000, help="number of small mixed files")
    parser.add_argument("--mb", type=int, default=100, help="size of the large mixed corpus, MB")
    parser.add_argument("--tasks", type=int, default=2_000, help="no-op tasks for the scheduler overhead")
    parser.add_argument("--inserts", type=int, default=4_000, help="results for the store insert rate")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    small, large = work / f"small-{args.small}", work / f"large-{args.mb}mb"
    make_small(small, args.small)
    make_large(large, args.mb * MB)
    rows = []
    with pg_schema(args.pg) as db:
        runs: dict[str, list[str]] = {"local pool, -j1": ["-j", "1"], "local pool, -j2": ["-j", "2"]}
        results = {}
        for label, extra in runs.items():
            results[label] = [scan(small, db, *extra), scan(large, db, *extra)]
        for workers in (1, 2):
            with cluster(workers, work) as address:
                label = f"cluster, {workers} worker{'s' if workers > 1 else ''} × 1 thread"
                results[label] = [
                    scan(small, db, "--cluster", address),
                    scan(large, db, "--cluster", address),
                ]
                if workers == 2:
                    rate, cpu_ms, latency = scheduler_overhead(address, args.tasks)
        for label, ((s_sec, s_files, _s), (l_sec, _l, l_bytes)) in results.items():
            rows.append(
                (
                    label,
                    f"{s_files / s_sec:,.0f} files/s ({s_sec:.0f} s)",
                    f"{l_bytes / MB / l_sec:.1f} MB/s ({l_sec:.0f} s)",
                )
            )
        inserts = store_insert_rate(db, work, args.inserts)
    print(f"small: {args.small} files; large: {args.mb} MB in {results['local pool, -j1'][1][1]} files")
    print_rows(["configuration", f"{args.small:,} small files", f"{args.mb} MB corpus"], rows, args.markdown)
    print()
    print(
        f"scheduler: {cpu_ms:.2f} ms CPU per task; {rate:,.0f} no-op tasks/s (map + as_completed, "
        f"2 workers); {latency:.1f} ms per task one at a time"
    )
    for what, files_s, fps_s in inserts:
        print(
            f"PostgreSQL store, {what}: {files_s:,.0f} results/s in batches of 200, {fps_s:,.0f} fingerprint rows/s"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def print_rows(header: list[str], rows: list[tuple[str, ...]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|" + "---:|" * (len(header) - 1))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        for r in [tuple(header), *rows]:
            print("  ".join(f"{c:<34}" for c in r))


if __name__ == "__main__":
    main()
