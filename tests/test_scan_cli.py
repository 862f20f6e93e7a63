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

import pytest

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
    first = lines(report)
    assert 20 <= len(first) < 400
    rest = tmp_path / "rest.jsonl"
    run("scan", str(share), "--db", db, "-o", str(rest), "--resume")
    second = lines(rest)  # a resumed scan is one scan: its report covers every file
    assert len(second) == 400 and all(second[p] == line for p, line in first.items())
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM files").fetchone() == (400,)
        [(status, stats)] = conn.execute("SELECT status, stats FROM scans").fetchall()
    assert status == "completed"
    assert (json.loads(stats)["files"], json.loads(stats)["statuses"]) == (400, {"scanned": 400})


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


def store_paths(db: str) -> list[tuple[str, bool]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT path, flagged FROM files ORDER BY path").fetchall()


def test_the_store_keys_files_by_resolved_path_not_as_typed(tmp_path: Path) -> None:
    """`cd A && dlpscan scan data`, then `cd B && dlpscan scan data`: two files, not one overwritten."""
    db = str(tmp_path / "s.sqlite")
    for site, people in (("A", make_people(60, seed=5)), ("B", [])):
        (tmp_path / site / "data").mkdir(parents=True)
        write_csv(tmp_path / site / "data" / "list.csv", people)
    a_report, b_report = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run("scan", "data", "--db", db, "-o", str(a_report), cwd=tmp_path / "A")
    run("scan", "data", "--db", db, "-o", str(b_report), cwd=tmp_path / "B")
    # reports keep the path as reached from the root typed (the report contract)
    assert list(lines(a_report)) == list(lines(b_report)) == ["data/list.csv"]
    a_file, b_file = str(tmp_path / "A" / "data" / "list.csv"), str(tmp_path / "B" / "data" / "list.csv")
    assert store_paths(db) == [(a_file, True), (b_file, False)]
    latest = json.loads(run("db", "exposure", "--by", "folder", "--db", db, "--json").stdout)
    assert [(r["key"], r["people"]) for r in latest] == [(str(tmp_path / "B" / "data"), 0)]
    with sqlite3.connect(db) as conn:  # A's scan still counts its 60 people
        assert conn.execute("SELECT people FROM scans ORDER BY id").fetchall() == [(60,), (0,)]


def test_one_root_typed_relative_and_absolute_is_one_file_set(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    write_csv(share / "bulk.csv", make_people(60, seed=6))
    (share / "note.txt").write_text("会议纪要\n", encoding="utf-8")
    db = str(tmp_path / "s.sqlite")
    run("scan", "share", "--db", db, "--format", "table", cwd=tmp_path)
    again = run("scan", str(share) + "/", "--db", db, "--format", "table")
    via_link = tmp_path / "link"
    via_link.symlink_to(share)
    linked = run("scan", "link", "--db", db, "--format", "table", cwd=tmp_path)
    assert "2 (2 unchanged" in again.stdout and "2 (2 unchanged" in linked.stdout
    assert [p for p, _ in store_paths(db)] == [str(share / "bulk.csv"), str(share / "note.txt")]


def test_files_stored_under_typed_paths_are_adopted(tmp_path: Path) -> None:
    """A store written before paths were resolved: its rows are re-keyed when the same file is met,
    with their triage decisions, and the file is not read again."""
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "list.csv"
    write_csv(target, make_people(60, seed=7))
    db = str(tmp_path / "s.sqlite")
    run("scan", "data", "--db", db, "--format", "table", cwd=tmp_path)
    run("triage", str(target), "--status", "resolved", "--note", "SEC-1", "--db", db)
    with sqlite3.connect(db) as conn:  # as the store of an older dlpscan held it
        conn.execute("UPDATE files SET path = 'data/list.csv', folder = 'data', device = NULL")
        conn.execute("UPDATE triage SET path = 'data/list.csv'")
        (file_id,) = conn.execute("SELECT id FROM files").fetchone()
    again = run("scan", "data", "--db", db, "--format", "table", cwd=tmp_path)
    assert "1 (1 unchanged" in again.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, path, folder FROM files").fetchall() == [
            (file_id, str(target), str(target.parent))
        ]
        assert conn.execute("SELECT path, status FROM triage").fetchall() == [(str(target), "resolved")]
    elsewhere = tmp_path / "other"
    (elsewhere / "data").mkdir(parents=True)
    write_csv(elsewhere / "data" / "list.csv", make_people(3, seed=8))
    with sqlite3.connect(db) as conn:  # a different file under the same typed path is never adopted
        conn.execute("UPDATE files SET path = 'data/list.csv', device = NULL")
    run("scan", "data", "--db", db, "--format", "table", cwd=elsewhere)
    assert [p for p, _ in store_paths(db)] == [str(elsewhere / "data" / "list.csv"), "data/list.csv"]


def test_unchanged_archives_are_carried_forward_with_their_members(tmp_path: Path) -> None:
    import io
    import zipfile

    share = tmp_path / "share"
    share.mkdir()
    people = make_people(90, seed=9)
    for i in range(3):
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as z:
            z.writestr(
                "deep.csv", "姓名,身份证号,手机\n" + "\n".join(",".join(p) for p in people[i * 30 :][:5])
            )
        with zipfile.ZipFile(share / f"batch{i}.zip", "w") as z:
            z.writestr(
                "list.csv", "姓名,身份证号,手机\n" + "\n".join(",".join(p) for p in people[i * 30 :][:30])
            )
            z.writestr("readme.txt", "导出说明\n")
            z.writestr("inner.zip", inner.getvalue())
    db, first, second = str(tmp_path / "s.sqlite"), tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    run("scan", str(share), "--db", db, "-o", str(first), "--fingerprint-key", KEY)
    proc = run(
        "scan", str(share), "--db", db, "-o", str(second), "--fingerprint-key", KEY, "--format", "jsonl"
    )
    assert len(lines(first)) == 3 * 5 and lines(second) == lines(first)  # 3 zips with 4 members each
    with sqlite3.connect(db) as conn:
        [(stats,)] = conn.execute("SELECT stats FROM scans WHERE id = 2").fetchall()
        carried = conn.execute("SELECT count(*) FROM scan_files WHERE scan_id = 2 AND carried").fetchone()
    assert json.loads(stats)["unchanged"] == 3 and carried == (15,)
    assert proc.returncode == 0
    with zipfile.ZipFile(share / "batch1.zip", "a") as z:
        z.writestr("new.txt", "新增\n")
    third = tmp_path / "3.jsonl"
    run("scan", str(share), "--db", db, "-o", str(third), "--fingerprint-key", KEY)
    assert len(lines(third)) == 16 and "batch1.zip!new.txt" in {Path(p).name for p in lines(third)}
    with sqlite3.connect(db) as conn:
        [(stats,)] = conn.execute("SELECT stats FROM scans WHERE id = 3").fetchall()
    assert json.loads(stats)["unchanged"] == 2


def one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The command failed with `code` and said why in exactly one line, without a traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    lines_ = [line for line in proc.stderr.splitlines() if line.strip() and "magic file" not in line]
    assert len(lines_) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines_[0]


def test_a_broken_recognizer_folder_is_refused_by_scan_and_watch(tmp_path: Path) -> None:
    folder = tmp_path / "recognizers"
    folder.mkdir()
    (folder / "employee.yaml").write_text("entity: [EMPLOYEE_NO\npatterns: []\n", encoding="utf-8")
    conf = tmp_path / "dlpscan.toml"
    conf.write_text(f'recognizer_dirs = ["{folder}"]\n', encoding="utf-8")
    (tmp_path / "share").mkdir()
    scan = run("--config", str(conf), "scan", str(tmp_path / "share"), "--no-store", check=False)
    message = one_line_error(scan, 2)
    assert "employee.yaml: invalid YAML: line 2, column" in message
    watch = run(
        "--config",
        str(conf),
        "watch",
        str(tmp_path / "share"),
        "--db",
        str(tmp_path / "w.sqlite"),
        check=False,
    )
    assert "employee.yaml" in one_line_error(watch, 2)
    (folder / "employee.yaml").write_text("entity: EMPLOYEE_NO\nscore: 2\n", encoding="utf-8")
    field = run("--config", str(conf), "scan", str(tmp_path / "share"), "--no-store", check=False)
    assert "employee.yaml: " in one_line_error(field, 2)


REFUSE = """
from dlpscan.store import codec
rows = codec.entity_rows
def refuse(file_id, result):  # as the codec refuses an unmasked sample
    if result.path.endswith("refused.csv") and result.entities:
        raise ValueError("CN_MOBILE: a sample is not masked; not stored")
    return rows(file_id, result)
codec.entity_rows = refuse
from dlpscan.cli import main
main()
"""


def test_a_result_the_store_refuses_is_named_and_the_scan_exits_3(tmp_path: Path) -> None:
    rng = random.Random(3)
    share = tmp_path / "share"
    share.mkdir()
    for name in ("refused.csv", "kept.csv"):
        rows = "".join(f"客户{i},{make_id(rng)}\n" for i in range(60))
        (share / name).write_text("姓名,身份证号\n" + rows, encoding="utf-8")
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key")}
    report, db = tmp_path / "r.jsonl", tmp_path / "s.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", REFUSE, "scan", str(share), "--db", str(db), "-o", str(report)],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert (
        f"dlpscan: error: the results store refused 1 result(s): {share / 'refused.csv'}: "
        "ValueError: CN_MOBILE: a sample is not masked; not stored"
    ) in proc.stderr.splitlines()
    assert sorted(lines(report)) == sorted([str(share / "kept.csv"), str(share / "refused.csv")])
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT path, status FROM files"))
    assert stored == {str(share / "kept.csv"): "scanned", str(share / "refused.csv"): "error"}


def test_environment_problems_exit_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "a.txt").write_text("会议纪要\n", encoding="utf-8")
    missing = run(
        "scan", str(tmp_path / "share"), "-o", str(tmp_path / "no" / "x.jsonl"), "--no-store", check=False
    )
    assert "cannot write --output" in one_line_error(missing, 2)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    homeless = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DLPSCAN_"))}
    homeless["HOME"] = str(blocker / "home")  # no home folder can be created there
    db = str(tmp_path / "s.sqlite")
    proc = subprocess.run(
        [*DLPSCAN, "scan", str(tmp_path / "share"), "--db", db], capture_output=True, text=True, env=homeless
    )
    assert "cannot create the fingerprint key file" in one_line_error(proc, 2)
    no_store = subprocess.run(
        [*DLPSCAN, "scan", str(tmp_path / "share"), "--no-store"],
        capture_output=True,
        text=True,
        env=homeless,
    )
    assert no_store.returncode == 0 and json.loads(no_store.stdout)["status"] == "scanned"


def test_unhandled_errors_have_their_own_exit_code(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    import dlpscan.runner
    from dlpscan.cli import main

    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    args = ["scan", str(tmp_path / "a.txt"), "--no-store", "--fingerprint-key", KEY]

    def bug(*args, **kwargs):
        raise RuntimeError("something the code did not expect")

    monkeypatch.setattr(dlpscan.runner, "run_scan", bug)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4 and "internal error (RuntimeError)" in result.output
    assert "Traceback" not in result.output

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dlpscan.runner, "run_scan", interrupted)
    assert CliRunner().invoke(main, args).exit_code == 130  # not 1, which means "flagged"
    help_text = CliRunner().invoke(main, ["--help"]).output
    assert "Exit codes:" in help_text and "4    internal error" in help_text


def test_readers_refuse_a_store_that_does_not_exist(tmp_path: Path) -> None:
    absent = tmp_path / "typo.sqlite"
    for args in (
        ["status", "--db", str(absent)],
        ["db", "exposure", "--by", "owner", "--db", str(absent)],
        ["db", "scans", "--db", str(absent)],
        ["report", "--format", "csv", "-o", str(tmp_path / "r.csv"), "--db", str(absent)],
        ["triage", "x.csv", "--status", "resolved", "--db", str(absent)],
    ):
        assert "no results store at" in one_line_error(run(*args, check=False), 2), args
    assert not absent.exists()


def test_readers_refuse_an_empty_postgresql_schema() -> None:
    from conftest import pg_schema_url

    with pg_schema_url() as url:
        proc = run("db", "scans", "--db", url, check=False)
        assert "no dlpscan tables" in one_line_error(proc, 2)


def test_triage_resolves_the_paths_reports_show_and_refuses_unknown_ones(tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "ops").mkdir(parents=True)
    write_csv(share / "ops" / "list.csv", make_people(60, seed=10))
    db = str(tmp_path / "s.sqlite")
    run("scan", "share", "--db", db, "--format", "table", cwd=tmp_path)
    stored = str(share / "ops" / "list.csv")
    for typed, cwd in (("ops/list.csv", ROOT), ("share/ops/list.csv", tmp_path), (stored, ROOT)):
        proc = run("triage", typed, "--status", "resolved", "--db", db, cwd=cwd)
        assert proc.stdout.strip() == f"{stored}: resolved", typed
    unknown = run("triage", "ops/other.csv", "--status", "resolved", "--db", db, check=False)
    assert "not in the results store: ops/other.csv" in one_line_error(unknown, 2)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT DISTINCT path FROM triage").fetchall() == [(stored,)]


def test_scan_and_watch_share_options_by_name_and_meaning() -> None:
    import click

    from dlpscan.cli.scan import scan
    from dlpscan.cli.watch import watch
    from dlpscan.config import Config

    def options(command: click.Command) -> dict[str, tuple]:
        return {
            p.name: (p.opts, p.secondary_opts, p.help, repr(p.type), p.multiple, p.is_flag, p.default)
            for p in command.params
            if isinstance(p, click.Option)
        }

    in_scan, in_watch = options(scan), options(watch)
    configuring = {name for name in in_scan if name in Config.model_fields or name == "max_file_mb"}
    assert "fingerprint_key" in in_watch and configuring <= set(in_watch)
    assert {n: in_scan[n] for n in in_scan.keys() & in_watch.keys()} == {
        n: in_watch[n] for n in in_scan.keys() & in_watch.keys()
    }


def test_new_only_compares_by_store_key_when_the_root_is_typed_relative(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    write_csv(share / "old.csv", make_people(60, seed=12))
    db = str(tmp_path / "s.sqlite")
    run("scan", "share", "--db", db, "-o", str(tmp_path / "1.jsonl"), cwd=tmp_path)
    write_csv(share / "new.csv", make_people(60, seed=13))
    report = tmp_path / "2.jsonl"
    run("scan", "share", "--db", db, "-o", str(report), "--new-only", "--format", "jsonl", cwd=tmp_path)
    assert list(lines(report)) == ["share/new.csv"]


@pytest.mark.parametrize("part", ["employee.yaml", "categories/staff.yaml"])
def test_a_recognizer_file_saved_in_gbk_is_a_configuration_error(tmp_path: Path, part: str) -> None:
    """Windows editors save Chinese YAML as GBK: one line naming the file, exit 2 (was an internal
    error, exit 4, for recognizer files)."""
    folder = tmp_path / "recognizers"
    (folder / part).parent.mkdir(parents=True)
    (folder / part).write_bytes("entity: EMPLOYEE_NO\nname: 工号\n".encode("gbk"))
    conf = tmp_path / "dlpscan.toml"
    conf.write_text(f'recognizer_dirs = ["{folder}"]\n', encoding="utf-8")
    (tmp_path / "share").mkdir()
    scan = run("--config", str(conf), "scan", str(tmp_path / "share"), "--no-store", check=False)
    assert f"{Path(part).name}: not UTF-8 text (byte " in one_line_error(scan, 2)


EMPLOYEE_TYPE = """\
entity: ACME_EMPLOYEE_NO
description: ACME's employee number, GH- and six digits.
normaliser: upper_alnum
patterns:
  - name: employee_no
    regex: '(?<![0-9A-Za-z])GH-\\\\d{6}(?![0-9A-Za-z])'
    score: 0.9
"""


def test_recognizer_folders_are_listed_and_a_missing_one_is_refused(tmp_path: Path) -> None:
    """`recognizers list` shows the configured folders' types; a folder that is not there is one
    line and exit 2 for every command that reads them (it was silently skipped: its types were
    missing from every scan)."""
    folder = tmp_path / "recognizers"
    folder.mkdir()
    (folder / "employee.yaml").write_text(EMPLOYEE_TYPE, encoding="utf-8")
    conf = tmp_path / "dlpscan.toml"
    conf.write_text(f'recognizer_dirs = ["{folder}"]\n', encoding="utf-8")
    listed = run("--config", str(conf), "recognizers", "list")
    assert "ACME_EMPLOYEE_NO" in listed.stdout and "CN_RESIDENT_ID" in listed.stdout
    (tmp_path / "share").mkdir()
    db = tmp_path / "s.sqlite"
    run("--config", str(conf), "scan", str(tmp_path / "share"), "--db", str(db))
    conf.write_text(f'recognizer_dirs = ["{tmp_path / "gone"}"]\n', encoding="utf-8")
    for command in (
        ["scan", str(tmp_path / "share"), "--no-store"],
        ["recognizers", "list"],
        ["report", "--db", str(db), "--format", "csv", "-o", str(tmp_path / "r.csv")],
    ):
        proc = run("--config", str(conf), *command, check=False)
        assert "recognizer folder not found: " in one_line_error(proc, 2), command


@pytest.mark.parametrize("where", ["a folder", "postgresql://dlpscan@127.0.0.1:9/none"])
def test_a_store_that_cannot_be_opened_is_one_line(tmp_path: Path, where: str) -> None:
    """The driver's first line, without SQLAlchemy's background link on a second one."""
    db = str(tmp_path) if where == "a folder" else where
    (tmp_path / "share").mkdir(exist_ok=True)
    proc = run("scan", str(tmp_path / "share"), "--db", db, check=False)
    assert one_line_error(proc, 2).startswith("Error: cannot open the results store: OperationalError: ")
