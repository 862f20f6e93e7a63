"""The short fuzz run of the test suite: every reader and the engine, about a minute in total.

It runs tests/fuzz/run.py (plain mutation, a fixed seed and a fixed number of inputs: the same
inputs on every run, each in a child process that may die) and fails on any exception escaping
the pipeline, any input slower than the per-byte budget, anything printed to stdout, a peak RSS
above the bound, or a native abort. Failing inputs are kept in the artifacts folder named in the
failure message. The long runs are described in docs/hostile-input.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fuzz.targets import KINDS

RUN = Path(__file__).with_name("run.py")
RUNS_PER_TARGET = 200  # about a minute on the 2-core CI machine under load
SECONDS = 900  # a safety stop only: the run ends after its inputs long before
RSS_MB = 2048


def test_short_fuzz_run_over_every_reader(tmp_path):
    artifacts = tmp_path / "artifacts"
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--engine",
            "mutate",
            "--runs",
            str(RUNS_PER_TARGET * len(KINDS)),
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
        timeout=SECONDS + 120,
    )
    stats = json.loads((artifacts / "stats.json").read_text())
    kept = sorted(p.name for p in artifacts.iterdir() if p.name != "stats.json")
    assert proc.returncode == 0, f"fuzz failures {stats['failures']}, inputs {kept}:\n{proc.stderr[-2000:]}"
    assert stats["failures"] == {}
    assert stats["execs"] == dict.fromkeys(KINDS, RUNS_PER_TARGET)
