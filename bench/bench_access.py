"""Cost of reading access exposure while walking: a walk of 10,000 files with and without it.

Generates a tree of 100 folders x 100 files (every 10th file with a POSIX ACL, every 5th folder
with a default ACL, set by setfacl), then walks it with `WalkOptions()` (stat only, the baseline)
and `WalkOptions(access=AccessOptions())` (one acl_get_file per file and folder, parent folders,
group sizes), alternating, best of several rounds of each. Times are CPU seconds of this process
(the machine is shared); the ratio is what matters.

    python bench/bench_access.py [--files 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from dlpscan.access import AccessOptions
from dlpscan.walk import WalkOptions, walk


def make_tree(root: Path, files: int) -> None:
    per_folder = 100
    acl_files, acl_folders = [], []
    for i in range(files):
        folder = root / f"d{i // per_folder:03d}"
        if i % per_folder == 0:
            folder.mkdir()
            folder.chmod(0o750 if (i // per_folder) % 2 else 0o755)
            if (i // per_folder) % 5 == 0:
                acl_folders.append(str(folder))
        path = folder / f"f{i:05d}.csv"
        path.write_text("id,name\n", encoding="utf-8")
        path.chmod(0o640 if i % 3 else 0o644)
        if i % 10 == 0:
            acl_files.append(str(path))
    if shutil.which("setfacl"):
        subprocess.run(["setfacl", "-m", "u:daemon:r", *acl_files], check=True)
        subprocess.run(["setfacl", "-d", "-m", "g:nogroup:rx", *acl_folders], check=True)


def timed(root: Path, options: WalkOptions) -> tuple[float, int]:
    start = time.process_time()
    n = sum(1 for _ in walk([str(root)], options))
    return time.process_time() - start, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlpscan-bench-access-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        make_tree(root, args.files)
        plain, access = WalkOptions(), WalkOptions(access=AccessOptions())
        timed(root, plain)  # warm the dentry and inode caches
        base, with_access = [], []
        for _ in range(args.rounds):
            seconds, n = timed(root, plain)
            base.append(seconds)
            seconds, m = timed(root, access)
            with_access.append(seconds)
            assert n == m == args.files
        b, a = min(base), min(with_access)
        print("| walk of | stat only (s) | with access (s) | ratio | per file (µs) |")
        print("|---|---|---|---|---|")
        print(
            f"| {args.files:,} files | {b:.3f} | {a:.3f} | {a / b:.2f} | {(a - b) / args.files * 1e6:.1f} |"
        )


if __name__ == "__main__":
    main()
