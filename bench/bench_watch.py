"""`dlpscan watch`: time from the end of a write to its alert, and a burst of files through the daemon
against `dlpscan scan` on the same files. Prints a Markdown table (bench/README.md, "Watch daemon").

    .venv/bin/python bench/bench_watch.py                  # two 10,000-file bursts, about 3 minutes
    .venv/bin/python bench/bench_watch.py --files 2000     # quicker
    .venv/bin/python bench/bench_watch.py --workdir /dev/shm/w   # the store on tmpfs (no fsync cost)
    .venv/bin/python bench/bench_watch.py --files 50000 --storms 4 --latency-files 5   # memory over storms

Everything runs in real processes: the daemon with a SQLite store and a JSON-lines alert log in
`--workdir`, told apart from the writer only by the filesystem.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

DLPSCAN = str(Path(sys.executable).with_name("dlpscan"))
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random) -> str:
    body = f"110101{rng.randint(1960, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def bulk(rng: random.Random, rows: int = 60) -> str:
    lines = [
        f"客户{i},{resident_id(rng)},1{rng.choice('389')}{rng.randint(0, 999_999_999):09d}"
        for i in range(rows)
    ]
    return "姓名,身份证号,手机\n" + "\n".join(lines) + "\n"


def clean(i: int) -> str:
    return f"weekly report {i}\nshipments on time, no incidents\n" * 3


class Daemon:
    def __init__(self, work: Path, root: Path, settle: float, jobs: int) -> None:
        self.work, self.root, self.settle = work, root, settle
        self.db, self.alerts = work / "watch.sqlite", work / "alerts.jsonl"
        config = work / "watch.toml"
        config.write_text(
            f'db = "{self.db}"\nkey_file = "{work / "key"}"\njobs = {jobs}\n'
            f'[watch]\nroots = ["{root}"]\nsettle_seconds = {settle}\nalert_log = "{self.alerts}"\n',
            encoding="utf-8",
        )
        notify_path = work / "notify.sock"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        notify.settimeout(120)
        env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
        with open(work / "daemon.log", "wb") as log:
            self.proc = subprocess.Popen([DLPSCAN, "--config", str(config), "watch"], stderr=log, env=env)
        while b"READY=1" not in notify.recv(4096):
            pass
        notify.close()
        self._seen = 0
        self.arrived: dict[str, float] = {}

    def poll_alerts(self) -> dict[str, float]:
        """Paths alerted so far, with the time this process first saw their line."""
        if self.alerts.exists():
            with open(self.alerts, "rb") as f:
                f.seek(self._seen)
                data = f.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._seen += len(complete)
            now = time.time()
            for line in complete.splitlines():
                self.arrived.setdefault(json.loads(line)["path"], now)
        return self.arrived

    def recorded(self, prefix: Path) -> int:
        with sqlite3.connect(self.db, timeout=30) as conn:
            return conn.execute("SELECT count(*) FROM files WHERE path LIKE ?", (f"{prefix}/%",)).fetchone()[
                0
            ]

    def rss_mb(self) -> tuple[float, float]:
        """Resident memory of the daemon process, and of it with its worker processes."""
        try:
            main = psutil.Process(self.proc.pid)
            own = main.memory_info().rss
            return own / 2**20, (
                own + sum(p.memory_info().rss for p in main.children(recursive=True))
            ) / 2**20
        except psutil.Error:
            return 0.0, 0.0

    def stop(self) -> float:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(120) == 0
        return time.monotonic() - started


def wait(check, timeout: float, what: str, tick=None, interval: float = 0.005) -> None:
    """Poll `check`; reading the alert log every 5 ms costs nothing, querying the store is slower."""
    deadline = time.monotonic() + timeout
    while not check():
        if tick:
            tick()
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(interval)


def scan_seconds(paths: list[Path], db: Path, jobs: int) -> float:
    started = time.monotonic()
    cmd = [DLPSCAN, "scan", *map(str, paths), "--db", str(db), "-j", str(jobs), "--quiet", "-o", os.devnull]
    subprocess.run(cmd, check=True, env={**os.environ, "HOME": str(db.parent)})
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000, help="files in the burst")
    ap.add_argument("--flagged-every", type=int, default=50, help="one bulk CSV per this many files")
    ap.add_argument("--latency-files", type=int, default=40, help="flagged files written one at a time")
    ap.add_argument("--settle", type=float, default=1.0, help="watch.settle_seconds")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--workdir", help="where the tree, store and logs go (default: a temp folder)")
    ap.add_argument("--storms", type=int, default=0, help="more bursts into new folders: RSS after each")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-watch-"))
    work.mkdir(parents=True, exist_ok=True)
    root = work / "share"
    root.mkdir()
    rng = random.Random(5)
    daemon = Daemon(work, root, args.settle, args.jobs)
    try:
        # warm-up: the workers start with the first file
        (root / "warm-up.csv").write_text(bulk(rng), encoding="utf-8")
        wait(lambda: daemon.poll_alerts(), 120, "the warm-up alert")

        latencies = []
        for i in range(args.latency_files):
            path = root / "latency" / f"export{i:03d}.csv"
            path.parent.mkdir(exist_ok=True)
            content = bulk(rng)
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
            written = time.time()
            wait(lambda p=str(path): p in daemon.poll_alerts(), 60, "a latency alert")
            latencies.append(daemon.arrived[str(path)] - written)
            time.sleep(0.1)

        staging = work / "staging"  # prepared outside the root, then copied in by cp(1): a storm
        for i in range(args.files):
            kind = "bulk" if i % args.flagged_every == 0 else "note"
            path = staging / f"d{i % 20:02d}" / f"{kind}{i:05d}.{'csv' if kind == 'bulk' else 'txt'}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(bulk(rng) if kind == "bulk" else clean(i), encoding="utf-8")
        new_folder = burst(daemon, staging, root / "burst-new", args.files, existing=False)
        existing = burst(daemon, staging, root / "burst-existing", args.files, existing=True)
        storms = []
        for k in range(args.storms):
            storms.append(burst(daemon, staging, root / f"storm{k}", args.files, existing=False))
            time.sleep(5)  # idle again: what the daemon keeps, not what a storm needs while it runs
            storms[-1]["settled"] = daemon.rss_mb()
        stop_seconds = daemon.stop()
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()

    one = work / "one"
    one.mkdir()
    (one / "a.txt").write_text(clean(0), encoding="utf-8")
    startup = scan_seconds([one], work / "scan-startup.sqlite", args.jobs)
    scan = scan_seconds([root / "burst-new"], work / "scan.sqlite", args.jobs)

    n, q = args.files, statistics.quantiles(latencies, n=20)
    print(f"\n{n:,} files in 20 folders, 1 in {args.flagged_every} a 60-row bulk CSV ({n // args.flagged_every} "
          f"flagged); settle {args.settle:g} s, {args.jobs} workers, store in {work}\n")  # fmt: skip
    print("| measure | value |\n|---|---|")
    print(f"| end of write → alert line, idle daemon (p50 / p95 / max of {len(latencies)}) | "
          f"{statistics.median(latencies):.2f} / {q[18]:.2f} / {max(latencies):.2f} s |")  # fmt: skip
    for label, b in (("into a new folder", new_folder), ("into 20 existing folders", existing)):
        print(f"| `cp -r` {label}: copy / first write → all recorded / → all alerted | "
              f"{b['copy']:.1f} / {b['recorded']:.1f} / {b['alerted']:.1f} s: **{n / b['recorded']:,.0f} files/s** |")  # fmt: skip
        print(
            f"| peak RSS during it: daemon process / with its workers | {b['rss'][0]:,.0f} / {b['rss'][1]:,.0f} MB |"
        )
    print(
        f"| `dlpscan scan` of the same files, fresh store: wall clock | {scan:.1f} s ({n / scan:,.0f} files/s) |"
    )
    print(f"| `dlpscan scan` without its start-up ({startup:.1f} s, one file) | "
          f"{scan - startup:.1f} s (**{n / (scan - startup):,.0f} files/s**) |")  # fmt: skip
    print(f"| daemon stop (SIGTERM → exit 0) | {stop_seconds:.1f} s |")
    for k, b in enumerate(storms, 1):
        print(f"| storm {k + 2} ({n:,} more files): peak RSS / settled after it, daemon / with workers | "
              f"{b['rss'][0]:,.0f} / {b['rss'][1]:,.0f} MB; {b['settled'][0]:,.0f} / {b['settled'][1]:,.0f} MB |")  # fmt: skip


def burst(daemon: Daemon, staging: Path, target: Path, files: int, existing: bool) -> dict:
    """Copy the staged tree in with cp(1) and time it until every file is recorded and alerted."""
    if existing:  # the folders exist (and are watched) before the files arrive
        for folder in staging.iterdir():
            (target / folder.name).mkdir(parents=True)
        time.sleep(2 * daemon.settle + 1)
    flagged = {str(target / p.relative_to(staging)) for p in staging.rglob("bulk*.csv")}
    peak = [daemon.rss_mb()]
    started = time.time()
    source = f"{staging}/." if existing else str(staging)
    subprocess.run(["cp", "-r", source, str(target)], check=True)
    copied = time.time()

    def sample() -> None:
        peak.append(daemon.rss_mb())

    wait(lambda: daemon.recorded(target) >= files, 1800, "the burst to be recorded", sample, 0.25)
    recorded = time.time()
    wait(lambda: flagged <= daemon.poll_alerts().keys(), 600, "the burst's alerts", sample, 0.05)
    alerted = max(daemon.arrived[p] for p in flagged)
    return {
        "copy": copied - started,
        "recorded": recorded - started,
        "alerted": alerted - started,
        "rss": (max(p[0] for p in peak), max(p[1] for p in peak)),
    }


if __name__ == "__main__":
    main()
