"""Two builds compared by the instructions a worker's scan executes (callgrind), not by its time.

On this kind of shared machine a change of a few per cent is lost in the swings of `ab_builds.py`
(pairs of runs a minute apart differ by 5-15 % at some hours); an instruction count is the same at
every hour. Each build's worker (set up as `ab_builds.py` sets it up) scans each file once and three
times under `valgrind --tool=callgrind`; half the difference of the two totals is one scan in steady
state (the first scan also loads reference tables and warms caches). Instructions are not time (cache
misses, branch mispredictions and the allocator's page faults are not in them): read the two together.

Valgrind hides the CPU's SHA extensions, so under it fingerprints take OpenSSL's path and cost several
times their share of the time; `--top` shows them apart (`DistinctValues`).

    .venv/bin/python bench/ab_instructions.py --old /tmp/old FILE [FILE ...] [--top 15]

About 40 s of valgrind per build and file for a 4 MB text. Needs valgrind (Debian's package). Use files
whose scan takes hundreds of millions of instructions: on a one-line file the same build against
itself read 3.2 M against 3.8 M (hash seeds, caches warmed once), which is noise at that size.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ab_builds import builds_parser, check_builds

_WORKER = r"""
import gc, sys
from pathlib import Path
from dlpscan import workers
from dlpscan.pipeline import FileScanner
from dlpscan.settings import ScanSettings
getattr(workers, "tune_allocator", lambda: None)()
scanner = FileScanner(ScanSettings(key=b"k"))
gc.freeze()
path = Path(sys.argv[1])
for _ in range(int(sys.argv[2])):
    scanner.scan_path(path, path.name)
"""
_FUNCTION = re.compile(r"^\s*([\d,]+) \([\s\d.]+%\)\s+\S+?:(\S+)")


def profile(checkout: Path, file: str, scans: int, out: Path) -> int:
    """Instructions of the worker scanning `file` `scans` times (its start-up included)."""
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-P", "-c"]
    subprocess.run(
        [*command, _WORKER, file, str(scans)],
        env={**os.environ, "PYTHONPATH": str(checkout)},
        check=True,
        capture_output=True,
    )
    totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.M)
    if totals is None:
        raise SystemExit(f"{out}: no instruction total")
    return int(totals.group(1))


def functions(out: Path) -> dict[str, int]:
    """Exclusive instructions per function of a callgrind output."""
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(out)], capture_output=True, text=True, check=True
    ).stdout
    counts: dict[str, int] = {}
    for line in text.splitlines():
        m = _FUNCTION.match(line)
        if m and "PROGRAM TOTALS" not in line:
            counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return counts


def steady(checkout: Path, file: str, work: Path, top: int) -> tuple[float, dict[str, float]]:
    """Instructions of one scan in steady state, in all and (with `top`) per function."""
    one, three = work / "one.out", work / "three.out"
    total = (profile(checkout, file, 3, three) - profile(checkout, file, 1, one)) / 2
    if not top:
        return total, {}
    a, b = functions(one), functions(three)
    return total, {name: (b.get(name, 0) - a.get(name, 0)) / 2 for name in set(a) | set(b)}


def main() -> None:
    parser = builds_parser(__doc__)
    parser.add_argument("--top", type=int, default=0, help="also the N functions whose counts changed most")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    check_builds(args.old, args.new)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for file in args.files:
            (Path(tmp) / "old").mkdir(exist_ok=True)
            (Path(tmp) / "new").mkdir(exist_ok=True)
            old, old_fn = steady(args.old, file, Path(tmp) / "old", args.top)
            new, new_fn = steady(args.new, file, Path(tmp) / "new", args.top)
            rows.append((Path(file).name, old, new))
            if args.top:
                changed = sorted(
                    set(old_fn) | set(new_fn), key=lambda f: -abs(new_fn.get(f, 0) - old_fn.get(f, 0))
                )
                print(
                    f"{Path(file).name}: functions whose instructions per scan changed most (M, old -> new)"
                )
                for name in changed[: args.top]:
                    print(
                        f"  {old_fn.get(name, 0) / 1e6:9.2f} -> {new_fn.get(name, 0) / 1e6:9.2f}  {name[:90]}"
                    )
    print("| file | old, M instructions per scan | new | new / old |")
    print("|---|---:|---:|---:|")
    for name, old, new in rows:
        print(f"| {name} | {old / 1e6:,.1f} | {new / 1e6:,.1f} | {new / old:.3f} |")


if __name__ == "__main__":
    main()
