"""Reports on what the watch daemon recorded: alone (per period, its sessions as the scope) or together
with the latest completed scan; and where each finding is (locations, confidence) on the report page."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from test_listing import flagged_result
from test_report import DEFAULT, Planted, leaks, result
from test_watch import DLPSCAN, People, wait_for, watch_factory  # noqa: F401 (a fixture)

from dlpscan.report import Options, ReportError, collect
from dlpscan.report.render import render_html
from dlpscan.store import Store

ROOT = "/srv/share"


def begin(store: Store, kind: str, roots=(ROOT,)) -> int:
    return store.begin_scan(list(roots), policy="default", policy_version=DEFAULT.version,
                            detector_version="0.1.0+defs0001+key1", options={}, kind=kind)  # fmt: skip


def session(store: Store, results: list, kind: str = "watch", status: str = "interrupted") -> dict:
    sid = begin(store, kind)
    if results:
        store.record_results(sid, results)
    store.finish_scan(sid, status=status, stats={"files": len(results)})
    return next(s for s in store.scans() if s["id"] == sid)


def paths(rows) -> list[str]:
    return sorted(r.path.removeprefix(ROOT + "/") for r in rows)


def test_watch_sessions_alone_per_period(tmp_path: Path) -> None:
    p = Planted()
    with Store.open(str(tmp_path / "s.sqlite")) as store:
        first = session(store, [result("hr/a.csv", {"CN_RESIDENT_ID": p.take("CN_RESIDENT_ID", 80)}, 80),
                                result("note.txt", {})])  # fmt: skip
        time.sleep(0.01)
        second = session(store, [result("hr/b.csv", {"CN_BANK_CARD": p.take("CN_BANK_CARD", 60)}, 60)])
        session(store, [])  # a restart that saw no change: not part of any report
        everything = collect(store, Options())
        assert everything.watch_only and [s["id"] for s in everything.sessions] == [first["id"], second["id"]]
        assert everything.scan["id"] == second["id"]
        assert paths(everything.findings) == ["hr/a.csv", "hr/b.csv"]
        assert (everything.items, everything.files_scanned, everything.people) == (3, 3, 80)
        assert [g.people for g in everything.folders if g.key == f"{ROOT}/hr"] == [80]
        assert [s["items"] for s in everything.sessions] == [2, 1]

        march = collect(store, Options(since=second["started"]))
        assert [s["id"] for s in march.sessions] == [second["id"]] and paths(march.findings) == ["hr/b.csv"]
        before = collect(store, Options(until=second["started"]))
        assert [s["id"] for s in before.sessions] == [first["id"]] and paths(before.findings) == ["hr/a.csv"]
        one = collect(store, Options(scan_id=first["id"]))
        assert one.watch_only and [s["id"] for s in one.sessions] == [first["id"]]
        with pytest.raises(ReportError, match="no completed scan and no watch session"):
            collect(store, Options(since=time.time() + 3600))

        page = render_html(everything, "en")
        assert 'id="watch-only"' in page and "not a complete inventory of the roots" in page
        sessions_cell = re.search(r'id="scope-sessions">(.*?)</td>', page, re.S).group(1)
        assert sessions_cell.count("items recorded") == 2
        assert "实时监控会话" in render_html(everything, "zh")
        assert not leaks(page.encode(), set().union(*p.values.values()))


def test_a_scan_together_with_the_sessions_since_it(tmp_path: Path) -> None:
    p = Planted()
    with Store.open(str(tmp_path / "s.sqlite")) as store:
        session(
            store, [result("old/gone.csv", {"CN_MOBILE": p.take("CN_MOBILE", 600)}, 600)]
        )  # before the scan
        scan = session(store, [result("hr/a.csv", {"CN_RESIDENT_ID": p.take("CN_RESIDENT_ID", 80)}, 80)],
                       kind="scan", status="completed")  # fmt: skip
        after = session(store, [result("hr/new.csv", {"CN_BANK_CARD": p.take("CN_BANK_CARD", 60)}, 60)])
        data = collect(store, Options())
        assert data.scan["id"] == scan["id"] and not data.watch_only
        assert [s["id"] for s in data.sessions] == [after["id"]]
        assert paths(data.findings) == ["hr/a.csv", "hr/new.csv"]
        assert (data.items, data.files_scanned, data.people) == (2, 2, 80)
        page = render_html(data, "en")
        assert "reported with the scan" in page and 'id="watch-only"' not in page
        alone = collect(store, Options(scan_id=scan["id"]))
        assert paths(alone.findings) == ["hr/a.csv"] and alone.sessions == []


def test_findings_say_where_and_how_sure(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "s.sqlite")) as store:
        sid = begin(store, "scan")
        store.record_results(sid, [flagged_result(f"{ROOT}/hr/客户.xlsx")])
        store.finish_scan(sid, status="completed", stats={})
        data = collect(store, Options())
    assert data.findings[0].where == [
        ("CN_RESIDENT_ID", "high", ["Sheet1 row 2", "Sheet1 row 3", "Sheet1 row 4"]),
        ("CN_MOBILE", "low", []),
    ]
    page = render_html(data, "en")
    findings = re.search(r'id="findings-table".*?</table>', page, re.S).group(0)
    assert "Resident ID" in findings and "· high: Sheet1 row 2, Sheet1 row 3, Sheet1 row 4" in findings
    assert "110101199003074514" not in page
    assert "· 高: Sheet1 row 2" in render_html(data, "zh")


# ---- end to end: a store filled by the real daemon ---------------------------------------------------


def report(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DLPSCAN, "--config", str(config), "report", "--format", "html", "-o", str(out)],
                          capture_output=True, text=True, timeout=240)  # fmt: skip


def test_report_on_a_store_only_the_daemon_filled(watch_factory, tmp_path: Path) -> None:  # noqa: F811
    w = watch_factory()
    people = People(seed=8)
    w.start()
    (w.root / "a.csv").write_text(people.bulk(60), encoding="utf-8")
    wait_for("a.csv recorded", lambda: w.stored([w.root / "a.csv"]))
    assert w.stop() == 0
    w.start()
    (w.root / "b.csv").write_text(people.bulk(70), encoding="utf-8")
    wait_for("b.csv recorded", lambda: w.stored([w.root / "b.csv"]))
    assert w.stop() == 0

    out = tmp_path / "watch.html"
    done = report(w.config, out)
    assert done.returncode == 0, done.stderr
    assert "2 watch session(s), 2 flagged files, 130 distinct people" in done.stderr
    page = out.read_text(encoding="utf-8")
    assert 'id="watch-only"' in page and "a.csv" in page and "b.csv" in page
    assert not leaks(page.encode(), people.raw)
    listed = subprocess.run([DLPSCAN, "--config", str(w.config), "db", "files", "--json"],
                            capture_output=True, text=True, timeout=240)  # fmt: skip
    assert sorted(Path(json.loads(x)["path"]).name for x in listed.stdout.splitlines()) == ["a.csv", "b.csv"]

    scanned = subprocess.run([DLPSCAN, "--config", str(w.config), "scan", str(w.root), "-q"], timeout=240)
    assert scanned.returncode == 0
    w.start()
    (w.root / "c.csv").write_text(people.bulk(50), encoding="utf-8")
    wait_for("c.csv recorded", lambda: w.stored([w.root / "c.csv"]))
    assert w.stop() == 0
    together = report(w.config, out)
    assert re.search(
        r"scan \d+ \+ 1 watch session\(s\), 3 flagged files, 180 distinct people", together.stderr
    )
