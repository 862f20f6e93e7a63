"""Scanning with an EDM index, end to end through the real `dlpscan` command: exact customer counts
per file and confidence, policies on them, cumulative counts per folder, refused indexes and keys,
a rebuilt index applied without reading unchanged files again, and no value in any output."""

from __future__ import annotations

import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from edm_people import KEY, Customer, build, customers, mobile, resident_id

ROOT = Path(__file__).resolve().parents[1]
FILLER = "本段为说明文字，与上文记录无关。" * 25  # 400 characters: beyond the 300-character window
POLICY = """\
name: edm-test
rules:
  - name: our-customers
    severity: high
    min_edm_rows: 10
  - name: our-customers-cumulative
    severity: critical
    scope: [folder]
    min_edm_rows: 35
"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlpscan.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=240,
    )


def lines(report: Path) -> dict[str, dict]:
    rows = [json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()]
    return {Path(r["path"]).name: r for r in rows}


def _distinct_names(people: list[Customer]) -> list[Customer]:
    seen: dict[str, Customer] = {}
    for c in people:
        seen.setdefault(c.name, c)
    return list(seen.values())


def _changed_digit(value: str) -> str:
    return value[:5] + str((int(value[5]) + 1) % 10) + value[6:]


class Setup:
    """A master list, its index and key, a share with customers, strangers and altered customers."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.people = _distinct_names(customers(400, seed=21))
        self.master = tmp / "master"
        self.master.mkdir()
        build(self.master, self.people[:300])
        self.index = self.master / "customers.edm"
        self.key_file = tmp / "edm.key"
        self.key_file.write_text(KEY + "\n", encoding="utf-8")
        self.policy = tmp / "edm-test.yaml"
        self.policy.write_text(POLICY, encoding="utf-8")
        self.share = tmp / "share"
        self.share.mkdir()
        rng = random.Random(22)
        self.strangers = [(resident_id(rng), mobile(rng)) for _ in range(12)]
        p = self.people
        rows = [(c.name, c.id, c.mobile) for c in p[0:20]]  # high: 20
        rows += [("", c.id, "") for c in p[20:26]]  # medium: ID alone, 6
        rows += [(c.name, _changed_digit(c.id), c.mobile) for c in p[26:29]]  # high: mobile + name, 3
        rows += [(o.name, c.id, "") for c, o in zip(p[29:33], p[100:104], strict=True)]  # medium: 4
        rows += [("张伟", i, m) for i, m in self.strangers[:8]]  # strangers: nothing
        _write_csv(self.share / "customers.csv", rows)
        text = "".join(f"姓名：{c.name}，身份证号：{c.id}\n" for c in p[40:42])  # high: 2
        text += f"{FILLER}\n身份证号：{p[42].id}\n{FILLER}\n姓名：{p[42].name}\n"  # medium: 1
        (self.share / "letter.txt").write_text(text, encoding="utf-8")
        # strangers now, customers (by ID alone) once the index is rebuilt with them
        self.newcomers = p[300:305]
        rows = [("", c.id, "") for c in self.newcomers] + [("李强", i, m) for i, m in self.strangers[8:]]
        _write_csv(self.share / "strangers.csv", rows)
        self.db = tmp / "s.sqlite"

    def scan(self, *extra: str, index: Path | None = None, report: str = "r.jsonl", db: Path | None = None):
        out = self.tmp / report
        proc = run(
            "scan",
            str(self.share),
            "--edm",
            str(index or self.index),
            "--edm-key-file",
            str(self.key_file),
            "--db",
            str(db or self.db),
            "--format",
            "jsonl",
            "-o",
            str(out),
            "--log-level",
            "debug",
            "-j",
            "1",
            *extra,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return lines(out), proc


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    body = "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    path.write_text("姓名,身份证号,手机号\n" + body, encoding="utf-8")


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Setup:
    return Setup(tmp_path_factory.mktemp("edm-scan"))


def _edm(line: dict) -> tuple[int, int, int]:
    e = line["edm"]
    return e["rows"], e["high"], e["medium"]


def test_customers_counted_per_file_and_confidence_and_the_policy_flags(setup: Setup) -> None:
    got, _ = setup.scan("--policy", str(setup.policy))
    assert {name: _edm(line) for name, line in got.items()} == {
        "customers.csv": (33, 23, 10),
        "letter.txt": (3, 2, 1),
        "strangers.csv": (0, 0, 0),
    }
    version = got["customers.csv"]["edm"]["version"]
    assert got["customers.csv"]["edm"]["index"] == "customers" and len(version) == 16
    assert {n: (r["flagged"], r["severity"]) for n, r in got.items()} == {
        "customers.csv": (True, "high"),
        "letter.txt": (False, "none"),
        "strangers.csv": (False, "none"),
    }
    assert [r["rule"] for r in got["customers.csv"]["rules"]] == ["our-customers"]
    exposure = run(
        "db",
        "exposure",
        "--by",
        "folder",
        "--db",
        str(setup.db),
        "--json",
        env={"DLPSCAN_POLICY": str(setup.policy)},
    )
    groups = json.loads(exposure.stdout)
    assert [(g["files"], g["edm_rows"], g["edm_high"], g["rules"]) for g in groups] == [
        (3, 36, 25, ["our-customers-cumulative"])
    ]
    table = setup.tmp / "files.csv"
    assert run("report", "--db", str(setup.db), "--format", "csv", "-o", str(table)).returncode == 0
    with table.open(encoding="utf-8-sig", newline="") as f:
        exported = {
            Path(r["path"]).name: (r["edm_customers"], r["edm_customers_high"]) for r in csv.DictReader(f)
        }
    assert exported == {"customers.csv": ("33", "23"), "letter.txt": ("3", "2"), "strangers.csv": ("0", "0")}


def test_no_value_reaches_the_report_the_log_or_the_store(setup: Setup) -> None:
    _, proc = setup.scan(report="leak.jsonl")
    with sqlite3.connect(setup.db) as db:
        dump = "\n".join(str(row) for row in db.iterdump()).encode()
    html = setup.tmp / "r.html"
    assert run("report", "--db", str(setup.db), "--format", "html", "-o", str(html)).returncode == 0
    outputs = [(setup.tmp / "leak.jsonl").read_bytes(), proc.stderr.encode(), dump, html.read_bytes()]
    assert b"edm_evidence" in dump and b"customers" in html.read_bytes()
    values = [v for c in setup.people[:45] for v in (c.id, c.mobile, c.email)]
    values += [v for pair in setup.strangers for v in pair]
    for blob in outputs:
        for value in values:
            for enc in ("utf-8", "utf-16-le"):
                assert value.encode(enc) not in blob, "a value leaked"


def test_a_foreign_key_a_missing_or_damaged_index_is_refused(setup: Setup, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_text("another-edm-key-0123456789abcdef\n", encoding="utf-8")
    args = ("scan", str(setup.share), "--no-store", "--format", "jsonl", "-o", str(tmp_path / "r.jsonl"))
    wrong = run(*args, "--edm", str(setup.index), "--edm-key-file", str(other))
    assert wrong.returncode == 2
    assert wrong.stderr.count("\n") == 1 and "built with another EDM key" in wrong.stderr
    assert not (tmp_path / "r.jsonl").exists()
    no_key = run(*args, "--edm", str(setup.index))
    assert no_key.returncode == 2 and "needs its key" in no_key.stderr
    missing = run(*args, "--edm", str(tmp_path / "none.edm"), "--edm-key-file", str(setup.key_file))
    assert missing.returncode == 2 and "no such EDM index" in missing.stderr
    damaged = tmp_path / "damaged.edm"
    damaged.write_bytes(setup.index.read_bytes()[: 64 * 1024 + 100])
    cut = run(*args, "--edm", str(damaged), "--edm-key-file", str(setup.key_file))
    assert cut.returncode == 2 and "damaged EDM index" in cut.stderr
    config = tmp_path / "dlpscan.toml"
    config.write_text(f'edm = "{setup.index}"\n', encoding="utf-8")
    by_config = run("--config", str(config), *args, env={"DLPSCAN_EDM_KEY_FILE": str(other)})
    assert by_config.returncode == 2 and "built with another EDM key" in by_config.stderr
    watch = run("watch", str(setup.share), "--edm", str(setup.index), "--edm-key-file", str(other))
    assert watch.returncode == 2 and "built with another EDM key" in watch.stderr


def test_a_rebuilt_index_refreshes_unchanged_files_without_reading_them(setup: Setup, tmp_path: Path) -> None:
    """With a policy on EDM counts, unchanged files are matched again from their stored evidence.
    strangers.csv is overwritten with bytes of the same size and its mtime put back: a scan that
    read it again would find nothing in it; the refresh finds the five newcomers."""
    other_db = tmp_path / "default-policy.sqlite"
    kept_before, _ = setup.scan(report="kept-before.jsonl", db=other_db)  # default policy: no EDM rule
    first, _ = setup.scan("--policy", str(setup.policy), report="before.jsonl")
    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    build(rebuilt, setup.people[5:305])  # five customers gone, five newcomers
    new_index = rebuilt / "customers.edm"
    target = setup.share / "strangers.csv"
    stat = target.stat()
    target.write_bytes(b"x" * stat.st_size)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    kept, _ = setup.scan(index=new_index, report="kept.jsonl", db=other_db)
    old = first["customers.csv"]["edm"]["version"]
    assert {n: (r["edm"]["version"], _edm(r)) for n, r in kept.items()} == {
        n: (old, _edm(r)) for n, r in kept_before.items()
    }
    again, _ = setup.scan("--policy", str(setup.policy), index=new_index, report="again.jsonl")
    new = again["customers.csv"]["edm"]["version"]
    assert new != old
    assert {n: (r["edm"]["version"], _edm(r)) for n, r in again.items()} == {
        "customers.csv": (new, (28, 18, 10)),
        "letter.txt": (new, (3, 2, 1)),
        "strangers.csv": (new, (5, 0, 5)),
    }
    assert again["strangers.csv"]["entities"]["CN_RESIDENT_ID"]["distinct"] == 9  # as first read
    assert {n: r["flagged"] for n, r in again.items()} == {
        "customers.csv": True,
        "letter.txt": False,
        "strangers.csv": False,
    }
    with sqlite3.connect(setup.db) as db:
        stats = json.loads(db.execute("SELECT stats FROM scans ORDER BY id DESC LIMIT 1").fetchone()[0])
    assert (stats["unchanged"], stats["edm_refreshed"]) == (3, 3)
    full, _ = setup.scan("--policy", str(setup.policy), "--full", index=new_index, report="full.jsonl")
    assert "CN_RESIDENT_ID" not in full["strangers.csv"]["entities"]  # read now: only x's


def test_a_scan_without_an_index_never_loads_numpy(tmp_path: Path) -> None:
    """numpy and the EDM matching code cost start-up time: only scans with an index load them."""
    sample = tmp_path / "客户.csv"
    sample.write_text("姓名,手机\n张伟,13812345678\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import dlpscan.cli, dlpscan.workers\n"
        "from dlpscan.pipeline import FileScanner, ScanSettings\n"
        f"[r] = FileScanner(ScanSettings(key=b'k')).scan_path(Path({str(sample)!r}), 'x')\n"
        "assert r.entities['CN_MOBILE'].distinct == 1, r\n"
        "print(sorted(m for m in sys.modules if m == 'numpy' or m.startswith('dlpscan.edm.')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "numpy" not in run.stdout
    assert "dlpscan.edm.match" not in run.stdout and "dlpscan.edm.evidence" not in run.stdout
