"""Fuzz every reader and the detection engine through the real pipeline.

    .venv/bin/python tests/fuzz/run.py --engine mutate --runs 6400      # the suite's short run
    nice -n 19 .venv/bin/python tests/fuzz/run.py --engine mutate --seconds 3600 --keep-going \\
        --artifacts fuzz-artifacts                                    # a long plain-mutation run
    nice -n 19 .venv/bin/python tests/fuzz/run.py --restart --corpus fuzz-corpus \\
        --artifacts fuzz-artifacts                                    # a long coverage-guided run

With atheris installed the run is coverage-guided (libFuzzer, in process): one corpus for all
targets, the first byte of an input chooses the target; libFuzzer's -rss_limit_mb and -timeout
stop it on an input that takes too much memory, hangs or aborts (artifacts oom-*, timeout-*,
crash-*), and `--restart` starts it again. Without atheris (or with --engine mutate) a plain
mutation loop runs over the same seeds, each input in a child process that may die (fuzz.child):
a native abort is recorded like any other failure. A failure (see targets.Failure) stops the run
with exit code 1 and leaves the input in --artifacts; with --keep-going it is saved and the run
goes on. Execution counts per target accumulate in <artifacts>/stats.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # `fuzz` as a package, also when run as a script

STATS_EVERY = 200


class Recorder:
    """Counts executions per target and keeps failing inputs as files."""

    def __init__(self, kinds: tuple[str, ...], artifacts: Path, keep_going: bool) -> None:
        self.kinds, self.artifacts, self.keep_going = kinds, artifacts, keep_going
        artifacts.mkdir(parents=True, exist_ok=True)
        self.stats_path = artifacts / "stats.json"
        self.stats = json.loads(self.stats_path.read_text()) if self.stats_path.exists() else {}
        self.stats.setdefault("execs", {})
        self.stats.setdefault("failures", {})
        self.pending = 0

    def executed(self, kind: str) -> None:
        self.stats["execs"][kind] = self.stats["execs"].get(kind, 0) + 1
        self.pending += 1
        if self.pending >= STATS_EVERY:
            self.save()

    def failed(self, kind: str, failure, data: bytes) -> Path:
        digest = hashlib.sha1(data).hexdigest()[:12]
        path = self.artifacts / f"{kind}-{failure.kind}-{digest}"
        path.write_bytes(data)
        key = f"{kind}:{failure.kind}"
        self.stats["failures"][key] = self.stats["failures"].get(key, 0) + 1
        self.save()
        print(f"FAILURE {kind} {failure} -> {path}", file=sys.stderr, flush=True)
        return path

    def save(self) -> None:
        self.pending = 0
        tmp = self.stats_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.stats, indent=1, sort_keys=True))
        tmp.replace(self.stats_path)


def write_seed_corpus(corpus: Path, kinds: tuple[str, ...], all_kinds: tuple[str, ...]) -> None:
    from fuzz import seeds

    corpus.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        prefix = bytes([all_kinds.index(kind)])
        for data in seeds.seeds(kind):
            (corpus / f"seed-{kind}-{hashlib.sha1(data).hexdigest()[:10]}").write_bytes(prefix + data)


def one_input(recorder: Recorder, kinds: tuple[str, ...], all_kinds: tuple[str, ...], budget):
    from fuzz import targets

    def test_one_input(data: bytes) -> None:
        if not data:
            return
        kind = all_kinds[data[0] % len(all_kinds)]
        if kind not in kinds:
            return
        payload = data[1:]
        try:
            targets.timed_run(kind, payload, budget)
        except targets.Failure as failure:
            recorder.failed(kind, failure, payload)
            if not recorder.keep_going:
                raise
        finally:
            recorder.executed(kind)

    return test_one_input


def run_atheris(args, kinds, all_kinds, recorder, budget) -> int:
    import atheris

    from fuzz import seeds

    for kind in kinds:  # load every reader library once, so instrument_all() sees its code
        for data in seeds.seeds(kind)[:1]:
            one_input(Recorder(kinds, args.artifacts / "warmup", True), kinds, all_kinds, budget)(
                bytes([all_kinds.index(kind)]) + data
            )
    atheris.instrument_all()
    target = one_input(recorder, kinds, all_kinds, budget)
    argv = [
        sys.argv[0],
        str(args.corpus),
        f"-max_total_time={int(args.seconds)}",
        f"-rss_limit_mb={args.rss_mb}",
        f"-timeout={int(args.timeout)}",
        f"-artifact_prefix={args.artifacts}/",
        f"-seed={args.seed}",
        "-max_len=262144",
        "-len_control=200",
        "-print_final_stats=1",
    ]
    if args.runs:
        argv.append(f"-runs={args.runs}")
    atheris.Setup(argv, target)
    try:
        atheris.Fuzz()
    finally:
        recorder.save()
    return 0


MUTATIONS = ("flip", "byte", "insert", "delete", "repeat", "splice", "interesting")
INTERESTING = (
    b"\x00",
    b"\xff",
    b"'",
    b'"',
    b"(",
    b")",
    b"<",
    b">",
    b"\n",
    b",",
    b"\\",
    b"\xff\xfe",
    b"9" * 40,
    b"(" * 64,
    b"<a>" * 16,
    b"=?utf-8?q?",
    b"\r\n\t",
    b"\x7f\xff\xff\xff",
)


def mutate(rnd: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buf = bytearray(data or b"\x00")
    for _ in range(rnd.randint(1, 4)):
        op = rnd.choice(MUTATIONS)
        i = rnd.randrange(len(buf) or 1)
        if op == "flip" and buf:
            buf[i % len(buf)] ^= 1 << rnd.randrange(8)
        elif op == "byte" and buf:
            buf[i % len(buf)] = rnd.randrange(256)
        elif op == "insert":
            buf[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        elif op == "delete" and len(buf) > 1:
            del buf[i : i + rnd.randint(1, min(64, len(buf) - 1))]
        elif op == "repeat" and buf:
            j = min(len(buf), i + rnd.randint(1, 32))
            buf[i:i] = buf[i:j] * rnd.randint(2, 200)
        elif op == "splice" and corpus:
            other = rnd.choice(corpus)
            k = rnd.randrange(len(other) or 1)
            buf[i:] = other[k : k + rnd.randint(1, 512)]
        elif op == "interesting":
            buf[i:i] = rnd.choice(INTERESTING)
    return bytes(buf[:262144])


def run_mutation(args, kinds, all_kinds, recorder, budget) -> int:
    """Plain mutation (no coverage feedback) over the seeds, round robin over the targets, each
    input run in a child process. The inputs depend only on --seed, never on the outcomes."""
    from fuzz import seeds, targets
    from fuzz.child import Child

    rnd = random.Random(args.seed)
    corpora = {k: seeds.seeds(k) for k in kinds}
    for kind in kinds:  # every reader library imported here, once, not in each child's first input
        targets.run(kind, corpora[kind][0])
    child = Child(budget, args.rss_mb, args.as_mb, args.timeout)
    deadline = time.monotonic() + args.seconds
    n, code = 0, 0
    try:
        while time.monotonic() < deadline and (not args.runs or n < args.runs):
            kind = kinds[n % len(kinds)]
            data = mutate(rnd, rnd.choice(corpora[kind]), corpora[kind])
            failure = child.run(kind, data)
            if failure is not None and failure.kind == "slow":
                failure = child.run(kind, data)  # CPU time is noisy on a loaded machine: slow twice
            recorder.executed(kind)
            n += 1
            if failure is not None:
                recorder.failed(kind, failure, data)
                code = 1
                if not args.keep_going:
                    break
    finally:
        child.stop()
        recorder.save()
    print(f"Done {n} runs (plain mutation)", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    from fuzz import targets

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default=",".join(targets.KINDS), help="comma-separated target names")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--runs", type=int, default=0, help="stop after this many inputs (0: no limit)")
    p.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    p.add_argument("--corpus", type=Path, default=None, help="corpus folder (kept between runs)")
    p.add_argument("--artifacts", type=Path, default=None, help="failing inputs and stats.json")
    p.add_argument("--keep-going", action="store_true", help="save failing inputs and go on")
    p.add_argument("--rss-mb", type=int, default=2048, help="peak RSS bound for the fuzz process")
    p.add_argument(
        "--as-mb",
        type=int,
        default=4096,
        help="address-space cap of the mutation child (the worker's default)",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before an input counts as a hang")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--budget-per-byte", type=float, default=targets.Budget().seconds_per_byte)
    args = p.parse_args(argv)
    all_kinds = targets.KINDS
    kinds = tuple(k for k in args.targets.split(",") if k)
    unknown = set(kinds) - set(all_kinds)
    if unknown:
        p.error(f"unknown targets: {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="dlpscan-fuzz-"))
    args.corpus = args.corpus or work / "corpus"
    args.artifacts = (args.artifacts or work / "artifacts").resolve()
    recorder = Recorder(kinds, args.artifacts, args.keep_going)
    budget = targets.Budget(seconds_per_byte=args.budget_per_byte)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    print(f"fuzz: engine={engine} targets={len(kinds)} artifacts={args.artifacts}", file=sys.stderr)
    if engine == "atheris":
        write_seed_corpus(args.corpus, kinds, all_kinds)
        return run_atheris(args, kinds, all_kinds, recorder, budget)
    return run_mutation(args, kinds, all_kinds, recorder, budget)


def long_run(argv: list[str]) -> int:
    """Restart the fuzzer after a libFuzzer stop (crash, oom, timeout) until the time is up."""
    deadline = time.monotonic() + float(os.environ.get("DLPSCAN_FUZZ_SECONDS", "3600"))
    code, restart = 0, 0
    while time.monotonic() < deadline:
        left = max(10, int(deadline - time.monotonic()))
        restart += 1
        command = [
            sys.executable,
            __file__,
            *argv,
            "--seconds",
            str(left),
            "--keep-going",
            "--seed",
            str(restart),
        ]
        code = subprocess.call(command)
    return code


if __name__ == "__main__":
    if "--restart" in sys.argv:
        sys.exit(long_run([a for a in sys.argv[1:] if a != "--restart"]))
    sys.exit(main())
