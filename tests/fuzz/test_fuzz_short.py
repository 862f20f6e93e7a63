"""The short fuzz run of the test suite: every reader and the engine, about a minute in total.

It runs tests/fuzz/run.py in a child process (plain mutation, a fixed seed: the same inputs
on every run) and fails on any exception escaping the pipeline, any input slower than the
per-byte budget, anything printed to stdout, or a peak RSS above the bound. Failing inputs
are kept in the artifacts folder named in the failure message. The coverage-guided long run
(atheris) is described in docs/hostile-input.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fuzz.targets import KINDS

RUN = Path(__file__).with_name("run.py")
SECONDS = 60
RSS_MB = 2048


def test_short_fuzz_run_over_every_reader(tmp_path):
    artifacts = tmp_path / "artifacts"
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--engine",
            "mutate",
            "--seconds",
            str(SECONDS),
            "--seed",
            "1",
            "--rss-mb",
            str(RSS_MB),
            "--artifacts",
            str(artifacts),
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS * 5,
    )
    stats = json.loads((artifacts / "stats.json").read_text())
    kept = sorted(p.name for p in artifacts.iterdir() if p.name not in ("stats.json", "current"))
    assert proc.returncode == 0, f"fuzz failures {stats['failures']}, inputs {kept}:\n{proc.stderr[-2000:]}"
    assert stats["failures"] == {}
    assert set(stats["execs"]) == set(KINDS)
    assert min(stats["execs"].values()) >= 3
