"""Findings a person can read: the terminal listing of `scan`, `db files`, and where each finding is
(locations and confidence in the report line, the CSV, the store and the listing). Never a raw value."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from test_scan_cli import DLPSCAN, KEY_DIR, ROOT, make_people, write_csv

from dlpscan.cli import main
from dlpscan.detect.registry import entity_types
from dlpscan.findings import confidence, safe_location
from dlpscan.listing import ListingWriter, where
from dlpscan.model import EntityStats, FileResult, RuleHit, Status
from dlpscan.sinks.files import CsvWriter
from dlpscan.sinks.report_line import report_line
from dlpscan.store import Store

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ID = "110101199003074514"  # synthetic, valid check digit
MOBILE = "13912345678"


def flagged_result(path: str = "/srv/share/hr/客户.xlsx", **kw) -> FileResult:
    return FileResult(
        path=path,
        status=Status.SCANNED,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        entities={
            "CN_RESIDENT_ID": EntityStats(
                distinct=10,
                total=12,
                samples=["110101********4514"],
                confirmed=10,
                locations=["Sheet1 row 2", "Sheet1 row 3", f"身份证{ID}", "Sheet1 row 4", "Sheet1 row 5"],
            ),
            "CN_MOBILE": EntityStats(distinct=5, total=5, samples=["139****5678"], confirmed=0),
        },
        records=10,
        flagged=True,
        severity="high",
        rules=[
            RuleHit("default", "bulk-direct-identifiers", "high"),
            RuleHit("default", "some-records", "low"),
        ],
        owner=kw.pop("owner", "alice"),
        **kw,
    )


# ---- where and how sure: the report line and the CSV ---------------------------------------------


@pytest.mark.parametrize(
    ("confirmed", "distinct", "level"),
    [(8, 10, "high"), (10, 10, "high"), (7, 10, "medium"), (2, 10, "medium"), (1, 10, "low"), (0, 3, "low")],
)
def test_confidence_is_the_confirmed_share(confirmed: int, distinct: int, level: str) -> None:
    assert confidence(EntityStats(distinct=distinct, total=distinct, confirmed=confirmed)) == level


def test_report_line_has_locations_confirmed_and_confidence_per_type() -> None:
    line = report_line(flagged_result(), include_fingerprints=False)
    ids, mobiles = line["entities"]["CN_RESIDENT_ID"], line["entities"]["CN_MOBILE"]
    assert (ids["confirmed"], ids["confidence"]) == (10, "high")
    assert ids["locations"] == ["Sheet1 row 2", "Sheet1 row 3", "Sheet1 row 4", "Sheet1 row 5"]
    assert (mobiles["confirmed"], mobiles["confidence"]) == (0, "low") and "locations" not in mobiles
    assert list(ids)[:2] == ["distinct", "total"]  # the contract's fields first, unchanged
    assert ID not in json.dumps(line, ensure_ascii=False)


def test_a_location_that_could_hold_a_value_is_never_shown() -> None:
    assert safe_location("Sheet1 row 1048576") and safe_location("page 3 line 40")
    assert safe_location("outer.zip!dir/客户.xlsx Sheet1 row 2")
    assert not safe_location(f"sheet {ID}") and not safe_location("139-1234-5678")
    assert not safe_location("") and not safe_location("x" * 121)


def test_csv_has_confidence_and_locations_columns() -> None:
    out = io.StringIO()
    writer = CsvWriter(out, entity_types())
    writer.write(flagged_result())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["confidence"] == "CN_RESIDENT_ID: high; CN_MOBILE: low"
    assert rows[0]["locations"] == "CN_RESIDENT_ID: Sheet1 row 2, Sheet1 row 3, Sheet1 row 4, Sheet1 row 5"
    assert ID not in out.getvalue()


# ---- the listing ---------------------------------------------------------------------------------


def test_listing_shows_flagged_files_with_types_rule_sample_and_where() -> None:
    out = io.StringIO()
    writer = ListingWriter(Console(file=out, width=160), entity_types())
    writer.write(flagged_result())
    writer.write(FileResult("/srv/share/readme.txt", Status.SCANNED))
    writer.write(FileResult("/srv/share/a.zip", Status.SCANNED, flagged=True, is_container=True))
    text = out.getvalue()
    assert writer.listed == 1 and "readme.txt" not in text and "a.zip" not in text
    assert " HIGH  /srv/share/hr/客户.xlsx" in text
    assert "10 people · 10 records · rule bulk-direct-identifiers (+1 lesser)" in text
    ids = next(line for line in text.splitlines() if "CN_RESIDENT_ID" in line)
    assert re.search(r"CN_RESIDENT_ID\s+10 \(12\)\s+high confidence\s+110101\*+4514\s+Sheet1 row 2, 3, 4 …$",
                     ids), ids  # fmt: skip
    assert re.search(r"CN_MOBILE\s+5\s+low confidence\s+139\*{4}5678", text)
    assert ID not in text and MOBILE not in text


# ---- `dlpscan scan` in a terminal, piped, quiet ----------------------------------------------------


def run_in_terminal(*args: str, columns: int = 200) -> tuple[int, str]:
    """Run dlpscan with stdout and stderr on a pseudo-terminal; return its exit code and screen text."""
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key"), "COLUMNS": str(columns),
           "NO_COLOR": "1", "TERM": "xterm"}  # fmt: skip
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([*DLPSCAN, *args], stdin=subprocess.DEVNULL, stdout=secondary,
                            stderr=secondary, cwd=ROOT, env=env)  # fmt: skip
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    code = proc.wait(timeout=240)
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r", "")


def run_piped(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key")}
    return subprocess.run([*DLPSCAN, *args], capture_output=True, cwd=ROOT, env=env, timeout=240)


@pytest.fixture(scope="module")
def share(tmp_path_factory) -> tuple[Path, list[tuple[str, str, str]]]:
    folder = tmp_path_factory.mktemp("listing") / "share"
    (folder / "hr").mkdir(parents=True)
    people = make_people(60, seed=19)
    write_csv(folder / "hr" / "员工.csv", people)
    (folder / "note.txt").write_text("会议纪要：下周一开会。\n", encoding="utf-8")
    return folder, people


def raw_values(people: list[tuple[str, str, str]]) -> set[str]:
    return {v for person in people for v in person}


def test_terminal_gets_a_listing_then_the_summary(share, tmp_path: Path) -> None:
    folder, people = share
    code, screen = run_in_terminal("scan", str(folder), "--db", str(tmp_path / "s.sqlite"), "-j", "1")
    assert code == 0, screen[-2000:]
    assert not re.search(r'^\{"path"', screen, re.M)  # no JSON lines
    assert f"MEDIUM  {folder}/hr/员工.csv" in screen
    assert "60 people · 60 records" in screen and "note.txt" not in screen
    assert re.search(r"CN_RESIDENT_ID\s+60\s+\w+ confidence\s+\d{6}\*{8}\d{3}[\dX]", screen)
    assert re.search(r"CN_MOBILE\s+60\s+\w+ confidence\s+139\*{4}\d{4}", screen)
    assert (
        screen.index("员工.csv") < screen.index("dlpscan: scan 1") < screen.index("│ flagged │ 1 (medium 1)")
    )
    assert not {v for v in raw_values(people) if v in screen}


def test_piped_output_is_the_jsonl_contract_byte_for_byte(share, tmp_path: Path) -> None:
    folder, _ = share
    report = tmp_path / "r.jsonl"
    common = ["--no-store", "--fingerprint-key", "k", "-j", "1"]
    to_file = run_piped("scan", str(folder), "--format", "jsonl", "-o", str(report), *common)
    default = run_piped("scan", str(folder), *common)
    dash = run_piped("scan", str(folder), "--format", "jsonl", "--output", "-", *common)
    assert to_file.returncode == default.returncode == dash.returncode == 0
    assert to_file.stdout == b""

    def ordered(blob: bytes) -> list[bytes]:  # workers finish in any order; lines are whole
        return sorted(blob.splitlines(keepends=True))

    assert ordered(default.stdout) == ordered(dash.stdout) == ordered(report.read_bytes())
    assert len(ordered(default.stdout)) == 2 and all(json.loads(x)["path"] for x in ordered(dash.stdout))


def test_quiet_prints_no_report_unless_output_dash(share, tmp_path: Path) -> None:
    folder, _ = share
    db = str(tmp_path / "s.sqlite")
    code, screen = run_in_terminal("scan", str(folder), "--db", db, "-q")
    assert code == 0 and screen.strip() == ""
    quiet_flagged = run_piped("scan", str(folder), "--db", db, "-q", "--fail-on-flag", "--full")
    assert quiet_flagged.returncode == 1 and quiet_flagged.stdout == b"" and quiet_flagged.stderr == b""
    asked = run_piped("scan", str(folder), "--db", db, "-q", "--output", "-")
    assert len(asked.stdout.splitlines()) == 2 and asked.stderr == b""
    table = run_piped("scan", str(folder), "--db", db, "-q", "--format", "table")
    assert table.stdout == b""


def test_listing_into_a_file(share, tmp_path: Path) -> None:
    folder, people = share
    out = tmp_path / "listing.txt"
    proc = run_piped("scan", str(folder), "--no-store", "--format", "listing", "-o", str(out), "-q")
    text = out.read_text(encoding="utf-8")
    assert proc.returncode == 0 and proc.stdout == b""
    assert "MEDIUM  " in text and "员工.csv" in text and "dlpscan: scan (not stored)" in text
    assert not {v for v in raw_values(people) if v in text}


# ---- `dlpscan db files` ----------------------------------------------------------------------------


@pytest.fixture
def stored(tmp_path: Path) -> str:
    url = str(tmp_path / "s.sqlite")
    leads = FileResult("/srv/share/sales/leads.csv", Status.SCANNED, owner="carol", flagged=True,
                       severity="critical", rules=[RuleHit("default", "serious-mixed", "critical")],
                       entities={"CN_MOBILE": EntityStats(900, 900, samples=["138****0000"])})  # fmt: skip
    results = [
        flagged_result(),
        flagged_result("/srv/share/hr/old/薪资.csv", owner="bob", mtime=1.0),
        leads,
        FileResult("/srv/share/sales/readme.txt", Status.SCANNED, owner="carol"),
        FileResult("/srv/share/secret.zip", Status.ENCRYPTED, reason="password-protected archive"),
    ]
    with Store.open(url) as store:
        first = store.begin_scan(["/srv/share"], policy="default", policy_version="1", detector_version="d",
                                 options={})  # fmt: skip
        store.record_results(first, results)
        store.finish_scan(first, status="completed", stats={})
        second = store.begin_scan(["/srv/share/sales"], policy="default", policy_version="1",
                                  detector_version="d", options={})  # fmt: skip
        store.record_results(second, [leads])
        store.finish_scan(second, status="completed", stats={})
    return url


def db_files(url: str, *args: str) -> str:
    done = CliRunner().invoke(main, ["db", "files", "--db", url, *args], env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    return done.output


def listed(output: str) -> list[str]:
    return re.findall(r"/srv/share/\S+", output)


def test_db_files_lists_flagged_files_most_severe_first(stored: str) -> None:
    out = db_files(stored)
    assert listed(out) == [
        "/srv/share/sales/leads.csv",
        "/srv/share/hr/old/薪资.csv",
        "/srv/share/hr/客户.xlsx",
    ]
    assert out.startswith("3 flagged files, most severe first")
    assert re.search(
        r"CN_RESIDENT_ID\s+10 \(12\)\s+high confidence\s+110101\*{8}4514\s+Sheet1 row 2, 3, 4 …", out
    )
    assert "bulk-direct-identifiers (+1 lesser)" in out and "serious-mixed" in out
    assert ID not in out


def test_db_files_filters(stored: str) -> None:
    assert listed(db_files(stored, "--severity", "critical")) == ["/srv/share/sales/leads.csv"]
    assert listed(db_files(stored, "--owner", "bob")) == ["/srv/share/hr/old/薪资.csv"]
    assert listed(db_files(stored, "--folder", "/srv/share/hr/")) == [
        "/srv/share/hr/old/薪资.csv",
        "/srv/share/hr/客户.xlsx",
    ]
    assert listed(db_files(stored, "--folder", "/srv/share/h")) == []  # a folder, not a prefix
    assert listed(db_files(stored, "--scan", "2")) == ["/srv/share/sales/leads.csv"]
    everything = db_files(stored, "--all", "--folder", "/srv/share/sales")
    assert listed(everything) == ["/srv/share/sales/leads.csv", "/srv/share/sales/readme.txt"]
    encrypted = db_files(stored, "--all", "--owner", "(unknown)")
    assert listed(encrypted) == ["/srv/share/secret.zip"] and "password-protected archive" in encrypted
    capped = db_files(stored, "--limit", "1")
    assert len(listed(capped)) == 1 and "2 more: --limit 0 lists all" in capped


def test_db_files_json_lines_carry_no_fingerprints(stored: str) -> None:
    lines = [json.loads(x) for x in db_files(stored, "--json").splitlines()]
    assert [x["path"] for x in lines] == listed(db_files(stored))
    ids = lines[2]["entities"]["CN_RESIDENT_ID"]
    assert "fingerprints" not in ids and ids["samples"] == ["110101********4514"]


def test_where_folds_locations_that_differ_in_their_last_number() -> None:
    assert where(["Sheet1 row 2", "Sheet1 row 3", "Sheet1 row 9"]) == "Sheet1 row 2, 3, 9"
    assert (
        where(["page 3 line 4", "page 3 line 9", "page 4 line 1", "page 5"])
        == "page 3 line 4, 9, page 4 line 1 …"
    )
    assert where(["a.zip!x.csv", "line 7", "line 8"]) == "a.zip!x.csv, line 7, 8"
