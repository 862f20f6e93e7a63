"""End-to-end: the real `dlpscan` command on files the tests create, with exact expected report lines."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DLPSCAN = [sys.executable, "-m", "dlpscan.cli"]
KEY = "test-key"
KEY_DIR = Path(tempfile.mkdtemp(prefix="dlpscan-test-key-"))
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(rng: random.Random) -> str:
    body = f"{rng.choice(['110101', '310104', '440305'])}{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def make_people(n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    names = [
        a + b
        for a in "王李张刘陈杨黄赵吴周"
        for b in ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇")
    ]
    people = {}
    while len(people) < n:
        pid = make_id(rng)
        people[pid] = (rng.choice(names) + rng.choice("明华红"), pid, f"139{rng.randint(0, 99999999):08d}")
    return list(people.values())


def write_csv(path: Path, people: list[tuple[str, str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["姓名", "身份证号", "手机"])
        w.writerows(people)


def run(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key")}
    proc = subprocess.run(
        [*DLPSCAN, *args], capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=240
    )
    if check and proc.returncode not in (0, 1):
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def lines(report: Path) -> dict[str, dict]:
    return {json.loads(x)["path"]: json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()}


def fp(value: str) -> str:
    return hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_examples_exact_report_lines(tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    run(
        "scan",
        "examples",
        "--format",
        "jsonl",
        "-o",
        str(report),
        "--fingerprint-key",
        KEY,
        "--db",
        str(tmp_path / "s.sqlite"),
        "-j",
        "2",
    )
    got = {
        path: (
            r["status"],
            r["media_type"],
            r["records"],
            r["flagged"],
            r["severity"],
            {t: (e["distinct"], e["total"]) for t, e in r["entities"].items()},
        )
        for path, r in lines(report).items()
    }
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert got == {
        "examples/客户名单_导出.csv": (
            "scanned",
            "text/csv",
            60,
            True,
            "critical",
            {
                "CN_ADDRESS": (60, 60),
                "CN_BANK_CARD": (60, 60),
                "CN_MOBILE": (60, 60),
                "CN_NAME": (59, 60),
                "CN_RESIDENT_ID": (60, 60),
            },
        ),
        "examples/客户信息_脱敏.csv": ("scanned", "text/csv", 0, False, "none", {}),
        "examples/录用通知.txt": ("scanned", "text/plain", 0, False, "low", {"CN_MOBILE": (1, 1)}),
        "examples/waybills.zip": ("scanned", "application/zip", 0, False, "none", {}),
        "examples/waybills.zip!waybills/export_0301.xlsx": (
            "scanned",
            xlsx,
            55,
            True,
            "medium",
            {"CN_ADDRESS": (55, 55), "CN_MOBILE": (55, 55), "CN_NAME": (54, 55)},
        ),
        "examples/waybills.zip!readme.txt": ("scanned", "text/plain", 0, False, "none", {}),
    }
    masked = lines(report)["examples/客户信息_脱敏.csv"]["masked"]
    assert masked == {
        "CN_MOBILE": {"total": 40, "noncompliant": 40},
        "CN_NAME": {"total": 40, "noncompliant": 0},
        "CN_RESIDENT_ID": {"total": 40, "noncompliant": 0},
    }


def test_fingerprints_samples_and_no_raw_values_anywhere(tmp_path: Path, store_url: str) -> None:
    people = make_people(80, seed=1)
    share = tmp_path / "share"
    share.mkdir()
    write_csv(share / "export.csv", people)
    report, log = tmp_path / "r.jsonl", tmp_path / "stderr.log"
    proc = run(
        "scan",
        str(share),
        "-o",
        str(report),
        "--fingerprint-key",
        KEY,
        "--db",
        store_url,
        "--log-level",
        "debug",
    )
    log.write_text(proc.stderr, encoding="utf-8")
    line = lines(report)[str(share / "export.csv")]
    assert line["flagged"] is True and line["records"] == 80
    assert line["entities"]["CN_RESIDENT_ID"]["fingerprints"] == sorted(fp(p[1]) for p in people)
    assert line["entities"]["CN_MOBILE"]["fingerprints"] == sorted(fp(p[2]) for p in people)
    assert all("*" in s for e in line["entities"].values() for s in e["samples"])
    outputs = [report.read_bytes(), log.read_bytes()]
    if not store_url.startswith("postgresql"):
        with sqlite3.connect(store_url) as db:
            outputs.append("\n".join(str(row) for row in db.iterdump()).encode())
    else:
        outputs.append(_pg_dump(store_url))
    for _, pid, mobile in people:
        for blob in outputs:
            for enc in ("utf-8", "gbk", "utf-16-le"):
                assert pid.encode(enc) not in blob and mobile.encode(enc) not in blob, "raw value leaked"


def _pg_dump(url: str) -> bytes:
    import psycopg

    base, _, options = url.partition("?options=-csearch_path%3D")
    out = []
    with psycopg.connect(base) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema=%s", (options,)
        ).fetchall()
        for (table,) in tables:
            out += [str(r) for r in conn.execute(f'SELECT * FROM "{options}"."{table}"').fetchall()]
    return "\n".join(out).encode()


def test_incremental_rescan_full_and_exit_codes(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    write_csv(share / "bulk.csv", make_people(60, seed=2))
    (share / "note.txt").write_text("会议纪要：下周一开会。\n", encoding="utf-8")
    db = str(tmp_path / "s.sqlite")
    first = run("scan", str(share), "--db", db, "--format", "table", "--fail-on-flag")
    assert first.returncode == 1 and "2 (0 unchanged" in first.stdout
    second = run("scan", str(share), "--db", db, "--format", "table")
    assert second.returncode == 0 and "2 (2 unchanged" in second.stdout
    third = run("scan", str(share), "--db", db, "--format", "table", "--full")
    assert "2 (0 unchanged" in third.stdout
    bad = run("scan", str(share), "--policy", "no-such-policy", check=False)
    assert bad.returncode == 2 and "no-such-policy" in bad.stderr
    missing = run("scan", str(tmp_path / "absent"), check=False)
    assert missing.returncode == 2


def test_bad_inputs_each_get_a_line(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "empty.txt").write_bytes(b"")
    (share / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + os.urandom(200))
    (share / "renamed.jpg").write_text("姓名：张伟 手机：13912345678\n", encoding="utf-8")
    os.symlink(share / "gone", share / "broken-link")
    os.mkfifo(share / "pipe")
    (share / os.fsdecode(b"bad-\xff-name.txt")).write_text("nothing here\n")
    report = tmp_path / "r.jsonl"
    run("scan", str(share), "-o", str(report), "--no-store", "--follow-symlinks")
    got = {Path(p).name: (r["status"], r.get("reason") or r.get("error")) for p, r in lines(report).items()}
    assert got["empty.txt"] == ("scanned", None)
    assert got["corrupt.xlsx"][0] == "error"
    assert got["renamed.jpg"] == ("scanned", None)
    assert got["broken-link"] == ("error", "broken symbolic link")
    assert got["pipe"] == ("skipped", "not a regular file (FIFO)")
    assert got["bad-\\xff-name.txt"] == ("scanned", None)
    renamed = lines(report)[str(share / "renamed.jpg")]
    assert renamed["media_type"] == "text/plain" and renamed["entities"]["CN_MOBILE"]["distinct"] == 1


def test_cumulative_exposure_by_folder(tmp_path: Path, store_url: str) -> None:
    """40 files of 30 people each: no file is bulk, the folder is (1,200 people)."""
    share = tmp_path / "share" / "exports"
    share.mkdir(parents=True)
    people = make_people(1200, seed=3)
    for i in range(40):
        write_csv(share / f"part{i:02d}.csv", people[i * 30 : (i + 1) * 30])
    report = tmp_path / "r.jsonl"
    run("scan", str(tmp_path / "share"), "-o", str(report), "--db", store_url)
    assert not any(r["flagged"] for r in lines(report).values())
    proc = run("db", "exposure", "--by", "folder", "--db", store_url, "--json")
    rows = json.loads(proc.stdout)
    assert rows[0]["key"] == str(share) and rows[0]["people"] == 1200 and rows[0]["files"] == 40
    assert "cumulative-bulk" in rows[0]["rules"]


def test_policy_check_and_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\nrules:\n  - name: r\n    severity: huge\n", encoding="utf-8")
    proc = run("policy", "check", str(bad), check=False)
    assert proc.returncode == 2 and "severity" in proc.stderr and "Traceback" not in proc.stderr
    ok = run("policy", "check", str(ROOT / "policies" / "default.yaml"))
    assert ok.returncode == 0 and "ok" in ok.stdout
    conf = tmp_path / "dlpscan.toml"
    conf.write_text("jobs = 0\n", encoding="utf-8")
    proc = run("--config", str(conf), "config", "show", check=False)
    assert proc.returncode == 2 and "jobs" in proc.stderr and "Traceback" not in proc.stderr


def test_help_explains_every_command() -> None:
    for cmd in ("scan", "policy", "db", "config", "triage", "recognizers"):
        proc = run(cmd, "--help")
        assert proc.returncode == 0 and "Usage:" in proc.stdout


def test_interrupted_scan_leaves_store_consistent_and_resumes(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    for i in range(400):
        (share / f"note{i:03d}.txt").write_text(f"会议纪要 {i}\n" * 50, encoding="utf-8")
    db, report = str(tmp_path / "s.sqlite"), tmp_path / "first.jsonl"
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key")}
    proc = subprocess.Popen(
        [*DLPSCAN, "scan", str(share), "--db", db, "-o", str(report), "-j", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not report.exists() or report.read_text().count("\n") < 20):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "--resume" in err
    first = set(lines(report))
    assert 20 <= len(first) < 400
    rest = tmp_path / "rest.jsonl"
    run("scan", str(share), "--db", db, "-o", str(rest), "--resume")
    second = set(lines(rest))
    assert first.isdisjoint(second) and len(first | second) == 400
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM files").fetchone() == (400,)
        assert conn.execute("SELECT status FROM scans ORDER BY id").fetchall() == [("completed",)]


def test_content_hash_catches_edits_that_keep_size_and_mtime(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    target = share / "list.csv"
    write_csv(target, make_people(60, seed=4))
    db = str(tmp_path / "s.sqlite")
    run("scan", str(share), "--db", db, "--format", "table", "--content-hash")
    stat_before = target.stat()
    data = target.read_bytes()
    target.write_bytes(data.replace(b"139", b"138", 1))  # same size
    os.utime(target, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    plain = run("scan", str(share), "--db", db, "--format", "table")
    hashed = run("scan", str(share), "--db", db, "--format", "table", "--content-hash")
    assert "1 (1 unchanged" in plain.stdout  # size, mtime and inode alone cannot see the edit
    assert "1 (0 unchanged" in hashed.stdout


def test_report_from_a_real_scan(tmp_path: Path) -> None:
    """The whole chain as a user runs it: scan into a store, then every report format from it."""
    db = str(tmp_path / "s.sqlite")
    run("scan", "examples", "--db", db, "-q", "-o", str(tmp_path / "r.jsonl"))
    for fmt in ("html", "csv", "xlsx"):
        out = tmp_path / f"audit.{fmt}"
        proc = run("report", "--db", db, "--format", fmt, "--output", str(out), check=False)
        assert proc.returncode == 0, proc.stderr[-1500:]
        assert out.stat().st_size > 0
    html = (tmp_path / "audit.html").read_text(encoding="utf-8")
    assert "客户名单_导出.csv" in html and "<svg" in html
