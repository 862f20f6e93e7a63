"""A baseline and SARIF: `--new-only`/`--since-scan` report only new or grown findings, `--format sarif`
validates against the OASIS SARIF 2.1.0 schema (vendored in tests/data/sarif, no network)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import jsonschema
import pytest
from test_listing import flagged_result, raw_values, run_piped
from test_scan_cli import make_people, write_csv

from dlpscan.detect.registry import entity_types
from dlpscan.model import Access, EntityStats, FileResult, RuleHit, Status
from dlpscan.policy import load_policy
from dlpscan.sinks.sarif import SarifWriter

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text("utf-8"))


def validate(document: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(document)


def test_the_schema_check_itself_can_fail() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({"version": "2.1.0", "runs": [{"results": []}]})  # a run needs its tool


def sarif_of(results: list[FileResult]) -> dict:
    out = io.StringIO()
    writer = SarifWriter(out, entity_types(), load_policy("default"))
    for r in results:
        writer.write(r)
    writer.close(ok=True)
    return json.loads(out.getvalue())


def test_results_rules_locations_and_notifications() -> None:
    log_file = FileResult(
        "logs/app.log",
        Status.SCANNED,
        entities={
            "CN_MOBILE": EntityStats(600, 700, samples=["139****5678"], locations=["line 40", "line 12"])
        },
        flagged=True,
        severity="medium",
        rules=[RuleHit("default", "bulk-direct-identifiers", "medium")],
    )
    member = flagged_result("/srv/share/a.zip!hr/客户.xlsx")
    readable = flagged_result()
    readable.access, readable.risk, readable.risk_score = Access("public", "other"), "critical", 100
    document = sarif_of([
        readable, log_file, member,
        FileResult("/srv/share/a.zip", Status.SCANNED, flagged=True, is_container=True),
        FileResult("/srv/share/readme.txt", Status.SCANNED),
        FileResult("/srv/share/secret.zip", Status.ENCRYPTED, reason="password-protected archive"),
    ])  # fmt: skip
    validate(document)
    run = document["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "default/bulk-direct-identifiers",
    ]
    results = run["results"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] == [
        "file:///srv/share/hr/%E5%AE%A2%E6%88%B7.xlsx",
        "logs/app.log",
        "file:///srv/share/a.zip",
    ]
    assert [r["level"] for r in results] == ["error", "warning", "error"]
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 12}
    assert "region" not in results[0]["locations"][0]["physicalLocation"]  # "Sheet1 row 2" is no line
    assert results[2]["properties"]["member"] == "hr/客户.xlsx"
    assert results[0]["properties"]["exposure"] == {"level": "public", "principal": "other", "via": "mode"}
    assert (results[0]["properties"]["risk"], results[0]["properties"]["riskScore"]) == ("critical", 100)
    assert results[0]["properties"]["stale"] is False
    assert "exposure" not in results[1]["properties"]  # not known: the line has no access either
    assert results[0]["properties"]["entities"]["CN_RESIDENT_ID"] == {
        "distinct": 10, "total": 12, "confidence": "high",
        "locations": ["Sheet1 row 2", "Sheet1 row 3", "Sheet1 row 4", "Sheet1 row 5"],
    }  # fmt: skip
    assert results[0]["message"]["text"].startswith(
        "Bulk personal data: 10 people, 10 records; CN_RESIDENT_ID 10"
    )
    assert "110101********4514" in results[0]["message"]["text"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["encrypted: password-protected archive"]
    text = json.dumps(document, ensure_ascii=False)
    assert "110101199003074514" not in text and "fingerprint" not in text


# ---- end to end: a baseline scan, then only what is new -------------------------------------------


def scan(share: Path, db: Path, *args: str) -> tuple[int, str]:
    proc = run_piped("scan", str(share), "--db", str(db), "--fingerprint-key", "k", "-j", "1", *args)
    assert proc.returncode in (0, 1), proc.stderr.decode()[-2000:]
    return proc.returncode, proc.stdout.decode("utf-8")


def touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 10))


def test_new_only_reports_new_grown_and_replaced_files(tmp_path: Path) -> None:
    share, db = tmp_path / "share", tmp_path / "s.sqlite"
    share.mkdir()
    people = make_people(300, seed=11)
    for name, part in [
        ("same.csv", people[:60]),
        ("grows.csv", people[60:120]),
        ("swaps.csv", people[120:180]),
    ]:
        write_csv(share / name, part)
    (share / "note.txt").write_text("会议纪要：下周一开会。\n", encoding="utf-8")

    code, first = scan(share, db, "--new-only", "--format", "jsonl", "-o", "-", "--fail-on-flag")
    assert code == 1  # no baseline yet: everything found is new
    assert {Path(json.loads(x)["path"]).name for x in first.splitlines()} == {
        "same.csv",
        "grows.csv",
        "swaps.csv",
    }

    code, nothing = scan(share, db, "--new-only", "--format", "jsonl", "-o", "-", "--fail-on-flag")
    assert (code, nothing) == (0, "")  # scan 1 is the baseline now; nothing changed

    write_csv(share / "grows.csv", people[60:130])  # 10 more people
    write_csv(share / "swaps.csv", people[180:240])  # as many people, all of them others
    write_csv(share / "added.csv", people[240:300])
    write_csv(share / "same.csv", people[:60])  # rewritten, same content
    for name in ("grows.csv", "swaps.csv", "same.csv"):
        touch_later(share / name)
    code, sarif = scan(share, db, "--new-only", "--format", "sarif", "--fail-on-flag")
    document = json.loads(sarif)
    validate(document)
    states = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[-1]: r[
            "baselineState"
        ]
        for r in document["runs"][0]["results"]
    }
    assert code == 1 and states == {"grows.csv": "updated", "swaps.csv": "updated", "added.csv": "new"}
    assert not {v for v in raw_values(people) if v in sarif}

    # scan 3 (the one above) completed: it is the baseline now, so nothing is new
    assert scan(share, db, "--new-only", "--format", "jsonl", "-o", "-") == (0, "")
    # against scan 1: swaps.csv was read again since, so only its counts compare (and they are equal)
    _, since_first = scan(share, db, "--since-scan", "1", "--format", "jsonl", "-o", "-")
    assert sorted(Path(json.loads(x)["path"]).name for x in since_first.splitlines()) == [
        "added.csv",
        "grows.csv",
    ]


def test_baseline_needs_the_store_and_an_existing_scan(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "note.txt").write_text("会议纪要\n", encoding="utf-8")
    no_store = run_piped("scan", str(share), "--no-store", "--new-only")
    assert no_store.returncode == 2 and b"drop --no-store" in no_store.stderr
    missing = run_piped("scan", str(share), "--db", str(tmp_path / "s.sqlite"), "--since-scan", "7")
    assert missing.returncode == 2 and b"no scan with id 7" in missing.stderr
