"""Per-byte cost of a hostile input against an ordinary file of the same size, in the same run.

Regression tests never assert wall-clock times: they compare CPU seconds per byte of the hostile
input with those of a normal file of the same format and size, measured a moment earlier on the
same machine. A super-linear path shows as a ratio in the hundreds; noise stays within a few.
"""

from __future__ import annotations

import gc
import time

from fuzz import targets

MAX_RATIO = 10.0  # hostile input may cost at most this many times a normal file, per byte


def cpu_seconds(kind: str, data: bytes, repeat: int = 1) -> float:
    """Least CPU time of `repeat` full pipeline runs over `data` (read, detect, aggregate, policy)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()  # each run starts without the last one's garbage to collect
        t0 = time.process_time()
        targets.run(kind, data)
        best = min(best, time.process_time() - t0)
    return best


def per_byte_ratio(kind: str, hostile: bytes, normal: bytes, rounds: int = 3) -> float:
    """(CPU per byte of `hostile`) / (CPU per byte of `normal`), both through reader `kind`, the least
    of `rounds` runs each, taken alternately: a machine that slows down for a while then slows both
    sides, not one."""
    targets.scanner()  # build the engine before timing anything
    baseline = cost = float("inf")
    for _ in range(rounds):
        baseline = min(baseline, cpu_seconds(kind, normal))
        cost = min(cost, cpu_seconds(kind, hostile))
    return (cost / len(hostile)) / max(baseline / len(normal), 1e-9)
