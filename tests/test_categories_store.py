"""Legal data categories across files: stored per file (counts, basis, keyed digests), counted
cumulatively per folder and owner, graded by judicial-2017 at those scopes, shown by
`dlpscan db exposure` and in the report's legal mapping."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from edm_people import customers

from dlpscan.detect.registry import entity_types
from dlpscan.model import CategoryStats, FileResult, Status
from dlpscan.store import Store

DLPSCAN = [sys.executable, "-m", "dlpscan.cli"]


def run(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(env_dir / "fingerprint.key")}
    proc = subprocess.run([*DLPSCAN, *args], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return proc


def register(path: Path, guests: range) -> None:
    """Hotel guests (the same guest, room and night in two registers is the same record)."""
    people = customers(600, 21)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["xm", "sfzmhm", "fjbh", "rzsj", "tfsj"])
        for i in guests:
            w.writerow(
                [people[i].name, people[i].id, f"{100 + i % 50}", "2024-03-01 14:00", "2024-03-02 12:00"]
            )


def test_store_round_trip_keeps_counts_basis_and_digests(tmp_path: Path) -> None:
    keys = b"".join(bytes([i]) * 16 for i in range(3))
    stats = CategoryStats(
        people=3, records=2, rows=4, basis=["header:rzsj"], people_keys=keys, record_keys=keys[:32]
    )
    result = FileResult("a/register.csv", Status.SCANNED, records=4, categories={"lodging": stats})
    with Store.open(f"sqlite:///{tmp_path / 's.sqlite'}", entity_types(), create=True) as store:
        sid = store.begin_scan(["a"], policy="default", policy_version="x", detector_version="y", options={})
        store.record_results(sid, [result])
        store.finish_scan(sid, status="completed", stats={})
        (back,) = list(store.file_results(sid))
    assert back.categories == {"lodging": stats}


def test_a_raw_value_as_basis_is_refused(tmp_path: Path) -> None:
    stats = CategoryStats(people=1, records=1, rows=1, basis=["header:13812345678"])
    result = FileResult("a/x.csv", Status.SCANNED, categories={"lodging": stats})
    with Store.open(f"sqlite:///{tmp_path / 's.sqlite'}", entity_types(), create=True) as store:
        sid = store.begin_scan(["a"], policy="default", policy_version="x", detector_version="y", options={})
        with pytest.raises(ValueError) as exc:
            store.record_results(sid, [result])
    assert (
        str(exc.value) == "category lodging: a basis entry is not a header word or a pattern name; not stored"
    )


def test_registers_split_across_files_are_serious_for_the_folder(tmp_path: Path) -> None:
    share = tmp_path / "share" / "hotel"
    share.mkdir(parents=True)
    register(share / "register_a.csv", range(0, 300))
    register(share / "register_b.csv", range(250, 550))  # 50 guests (same records) in both
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    report = tmp_path / "r.jsonl"
    run(
        "scan",
        str(tmp_path / "share"),
        "--db",
        db,
        "--policy",
        "judicial-2017",
        "-o",
        str(report),
        env_dir=tmp_path,
    )
    lines = {Path(x["path"]).name: x for x in map(json.loads, report.read_text("utf-8").splitlines())}
    for name in ("register_a.csv", "register_b.csv"):
        assert lines[name]["categories"]["lodging"] == {
            "people": 300,
            "records": 300,
            "rows": 300,
            "basis": ["header:rzsj", "header:fjbh", "header:tfsj"],
        }
        assert lines[name]["severity"] == "medium"  # 300/500: a file alone is not serious

    config = tmp_path / "dlpscan.toml"
    config.write_text('policy = "judicial-2017"\n', "utf-8")
    folders = json.loads(
        run(
            "--config",
            str(config),
            "db",
            "exposure",
            "--by",
            "folder",
            "--db",
            db,
            "--json",
            env_dir=tmp_path,
        ).stdout
    )
    (hotel,) = [f for f in folders if f["key"].endswith("hotel")]
    assert hotel["categories"] == {
        "lodging": {"people": 550, "records": 550, "basis": ["header:rzsj", "header:fjbh", "header:tfsj"]}
    }
    assert hotel["rules"][:2] == ["serious-lodging-500", "serious-mixed"]
    assert "serious-other-5000" not in hotel["rules"]

    listed = run("db", "files", "--db", db, "--all", "--json", env_dir=tmp_path).stdout.splitlines()
    stored = {Path(x["path"]).name: x for x in map(json.loads, listed)}
    assert stored["register_b.csv"]["categories"] == lines["register_b.csv"]["categories"]

    by_category = json.loads(
        run("db", "exposure", "--by", "category", "--db", db, "--json", env_dir=tmp_path).stdout
    )
    assert by_category == [{"category": "lodging", "files": 2, "people": 550, "records": 550}]

    html = tmp_path / "audit.html"
    run("--config", str(config), "report", "--db", db, "--format", "html", "-o", str(html), env_dir=tmp_path)
    page = html.read_text("utf-8")
    assert (
        'Lodging records <b>550</b> / 500 <span class="basis">(header:rzsj, header:fjbh, header:tfsj)</span>'
        in page
    )
    assert "Lodging records <b>300</b> / 500" in page
    assert "whereabouts (Art. 28)" in page
    table = tmp_path / "audit.csv"
    run("--config", str(config), "report", "--db", db, "--format", "csv", "-o", str(table), env_dir=tmp_path)
    rows = {Path(r["path"]).name: r for r in csv.DictReader(table.open(encoding="utf-8-sig"))}
    assert rows["register_a.csv"]["judicial_2017_categories"] == (
        "lodging 300/500 (header:rzsj, header:fjbh, header:tfsj)"
    )
