"""Two builds of dlpscan compared on the same files, scan by scan, on a machine whose speed swings.

Wall-clock runs a minute apart on this kind of shared machine differ by 30-50 %, more than most
changes. Each build runs in its own persistent process (its checkout first on PYTHONPATH, compiled
modules built in place); the two are fed the same file alternately, the order swapped every round,
and what is printed per file is the median of the per-pair CPU-time ratios (new / old) beside each
build's median and best. Both processes see the same minutes of the machine.

    # the build to compare against, in its own worktree, its extensions compiled in place:
    git worktree add /tmp/old <rev>
    .venv/bin/pip install hatchling cython
    .venv/bin/python -c "import sys, pathlib; sys.path.insert(0, '/tmp/old'); import hatch_build; hatch_build.compile_in_place(pathlib.Path('/tmp/old'))"
    .venv/bin/python bench/ab_builds.py --old /tmp/old FILE [FILE ...] [--rounds 16]

`--new` defaults to this checkout. The scan is the worker's (`FileScanner.scan_path`: read, detect,
aggregate, fingerprints, policy), after one warm-up scan per file, in a process set up as the build
sets up its workers (`workers.tune_allocator` where the build has it, `gc.freeze()` once the scanner
is built).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

_WORKER = r"""
import gc, sys, time
from pathlib import Path
from dlpscan import workers
from dlpscan.pipeline import FileScanner
from dlpscan.settings import ScanSettings
getattr(workers, "tune_allocator", lambda: None)()  # set up as the build's worker processes are
scanner = FileScanner(ScanSettings(key=b"k"))
gc.freeze()
paths = [Path(a) for a in sys.argv[1:]]
for path in paths:
    scanner.scan_path(path, path.name)
print("ready", flush=True)
for line in sys.stdin:
    path = paths[int(line)]
    start = time.process_time()
    scanner.scan_path(path, path.name)
    print(time.process_time() - start, flush=True)
"""


def start(checkout: Path, files: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-P", "-c", _WORKER, *files],  # -P: not the current folder's dlpscan first
        env={**os.environ, "PYTHONPATH": str(checkout)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"the build in {checkout} did not start")
    return proc


def loaded_from(checkout: Path) -> Path:
    """Where the build's interpreter finds dlpscan (a check that PYTHONPATH wins)."""
    out = subprocess.run(
        [sys.executable, "-P", "-c", "import dlpscan; print(dlpscan.__file__)"],
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()).parent.parent


def scan(proc: subprocess.Popen[str], index: int) -> float:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{index}\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def builds_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options of a comparison of two builds on files: FILE..., --old CHECKOUT, --new CHECKOUT."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--old", type=Path, required=True, help="checkout of the build to compare against")
    parser.add_argument("--new", type=Path, default=Path(__file__).resolve().parent.parent)
    return parser


def check_builds(*checkouts: Path) -> None:
    """Each checkout's dlpscan is the one its interpreter loads (PYTHONPATH wins), or exit."""
    for checkout in checkouts:
        if loaded_from(checkout).resolve() != checkout.resolve():
            raise SystemExit(f"{checkout}: dlpscan is loaded from {loaded_from(checkout)}")


def main() -> None:
    parser = builds_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    check_builds(args.old, args.new)
    builds = {"old": start(args.old, args.files), "new": start(args.new, args.files)}
    seconds: dict[tuple[str, int], list[float]] = {(b, i): [] for b in builds for i in range(len(args.files))}
    for r in range(args.rounds):
        for i in range(len(args.files)):
            for build in ("old", "new") if r % 2 == 0 else ("new", "old"):
                seconds[(build, i)].append(scan(builds[build], i))
    for proc in builds.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    print("| file | old median (best), ms | new median (best), ms | new / old, median of pairs |")
    print("|---|---:|---:|---:|")
    for i, name in enumerate(args.files):
        old, new = seconds[("old", i)], seconds[("new", i)]
        ratio = statistics.median(n / o for o, n in zip(old, new, strict=True))
        print(
            f"| {Path(name).name} | {statistics.median(old) * 1e3:.1f} ({min(old) * 1e3:.1f}) "
            f"| {statistics.median(new) * 1e3:.1f} ({min(new) * 1e3:.1f}) | {ratio:.3f} |"
        )


if __name__ == "__main__":
    main()
