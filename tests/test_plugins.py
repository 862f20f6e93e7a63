"""Extension points: a tiny package, installed for the test (its dist-info with entry points on the
path, as pip leaves it), adds a validator, a normaliser, a reader and an output format."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''\
"""ACME's dlpscan extensions."""
import json
import sqlite3
import tempfile

from dlpscan.model import TableBlock


def employee_no(value):
    """ACME numbers end in a check digit: the sum of the other digits mod 10."""
    digits = value[2:]
    return 1.0 if int(digits[-1]) == sum(map(int, digits[:-1])) % 10 else 0.0


def compact(value):
    return value.replace("-", "").upper()


def read_sqlite(stream, media_type):
    with tempfile.NamedTemporaryFile(suffix=".db") as copy:
        copy.write(stream.read())
        copy.flush()
        db = sqlite3.connect(copy.name)
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cursor = db.execute(f'SELECT * FROM "{table}"')
            header = tuple(c[0] for c in cursor.description)
            yield TableBlock(header, [tuple(map(str, row)) for row in cursor], location=table)
        db.close()


class SiemWriter:
    def __init__(self, stream, options):
        self.stream = stream

    def write(self, result):
        counts = {t: s.distinct for t, s in result.entities.items()}
        self.stream.write(f"CEF:0|ACME|dlpscan|1|{result.severity}|{result.path}|{json.dumps(counts)}\\n")
'''

ENTRY_POINTS = """\
[dlpscan.validators]
acme_employee_no = acme_dlp:employee_no

[dlpscan.normalisers]
acme_compact = acme_dlp:compact

[dlpscan.extractors]
application/vnd.sqlite3 = acme_dlp:read_sqlite

[dlpscan.formats]
siem = acme_dlp:SiemWriter
broken = acme_dlp:DoesNotExist
"""

EMPLOYEE_TYPE = """\
entity: ACME_EMPLOYEE_NO
description: ACME employee number with its check digit.
label: {en: Employee no.}
person_key: true
normaliser: acme_compact
validator: acme_employee_no
patterns:
  - name: employee_no
    regex: '(?<![0-9A-Za-z])GH-\\d{6}(?![0-9A-Za-z])'
    score: 0.9
headers: [工号]
"""


def install_plugin(site: Path) -> None:
    (site / "acme_dlp").mkdir(parents=True)
    (site / "acme_dlp" / "__init__.py").write_text(PLUGIN, "utf-8")
    info = site / "acme_dlp-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-dlp\nVersion: 1.0\n", "utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, "utf-8")


def employee(i: int) -> str:
    digits = f"{i:05d}"
    return f"GH-{digits}{sum(map(int, digits)) % 10}"


def test_an_installed_package_extends_validators_readers_and_outputs(tmp_path: Path) -> None:
    install_plugin(tmp_path / "site")
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "employee.yaml").write_text(EMPLOYEE_TYPE, "utf-8")
    share = tmp_path / "share"
    share.mkdir()
    db = sqlite3.connect(share / "hr.db")
    db.execute("CREATE TABLE staff (工号 TEXT, 部门 TEXT)")
    valid = [employee(i) for i in range(1, 41)]
    wrong_check = [v[:-1] + str((int(v[-1]) + 1) % 10) for v in valid[:5]]
    db.executemany("INSERT INTO staff VALUES (?, '仓储部')", [(v,) for v in valid + wrong_check])
    db.commit()
    db.close()
    config = tmp_path / "dlpscan.toml"
    config.write_text(f'recognizer_dirs = ["{tmp_path / "types"}"]\n', "utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "DLPSCAN_KEY_FILE": str(tmp_path / "key")}

    def scan(fmt: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dlpscan.cli", "--config", str(config), "scan", str(share),
             "--format", fmt, "--no-store", "-q", "-o", "-", "-j", "1"],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=240,
        )  # fmt: skip

    line = json.loads(scan("jsonl").stdout)
    assert line["status"] == "scanned" and line["media_type"] == "application/vnd.sqlite3"
    assert line["entities"]["ACME_EMPLOYEE_NO"]["distinct"] == 40  # the plugin validator rejects 5

    siem = scan("siem")
    assert siem.returncode == 0, siem.stderr
    assert siem.stdout.startswith("CEF:0|ACME|dlpscan|1|") and '"ACME_EMPLOYEE_NO": 40' in siem.stdout
    assert "plugin broken = acme_dlp:DoesNotExist (dlpscan.formats) not loaded" in siem.stderr

    unknown = scan("xml")
    assert unknown.returncode == 2 and "known: jsonl, csv, siem, sarif, listing, table" in unknown.stderr


def test_without_the_package_the_type_is_not_read(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    sqlite3.connect(share / "hr.db").execute("CREATE TABLE t (x)").connection.commit()
    proc = subprocess.run(
        [sys.executable, "-m", "dlpscan.cli", "scan", str(share), "--no-store", "-q", "-o", "-", "--format", "jsonl"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "DLPSCAN_KEY_FILE": str(tmp_path / "k")},
        timeout=240,
    )  # fmt: skip
    line = json.loads(proc.stdout)
    assert (line["status"], line["reason"]) == ("skipped", "no extractor for application/vnd.sqlite3")
