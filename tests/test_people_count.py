"""The people count a scan takes from the fingerprints it read, against the store's own count."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from test_runner import job

from dlpscan.detect.registry import entity_types
from dlpscan.entities import EntityTypes
from dlpscan.model import EntityStats, FileResult, Fingerprints, Status
from dlpscan.runner import people, run_scan
from dlpscan.runner.people import PeopleCount
from dlpscan.store import Store

TYPES = entity_types()


def digests(*values: str) -> Fingerprints:
    return Fingerprints(b"".join(sorted({hashlib.sha256(v.encode()).digest() for v in values})))


def result(path: str, **per_type: Fingerprints) -> FileResult:
    entities = {t: EntityStats(len(f), len(f), fingerprints=f) for t, f in per_type.items()}
    return FileResult(path, Status.SCANNED, entities=entities)


@pytest.mark.parametrize("native_from", [0, 10**9])
def test_the_largest_distinct_count_of_a_person_key_type_across_files(monkeypatch, native_from):
    monkeypatch.setattr(people, "_NATIVE_FROM", native_from)  # the C count and the Python set alike
    count = PeopleCount(TYPES)
    mobiles = [f"m{i}" for i in range(300)]
    count.add([result("a", CN_MOBILE=digests(*mobiles[:200]), CN_NAME=digests(*mobiles))])
    count.add([result("b", CN_MOBILE=digests(*mobiles[150:]), CN_RESIDENT_ID=digests("i1", "i2"))])
    count.add([FileResult("c", Status.ERROR, error="unreadable")])
    assert count.total() == 300  # names are no person key


def test_a_file_it_did_not_read_or_too_many_fingerprints_leave_the_count_to_the_store(monkeypatch):
    count = PeopleCount(TYPES)
    count.add([result("a", CN_MOBILE=digests("m1"))])
    count.give_up()
    count.add([result("b", CN_MOBILE=digests("m2"))])
    assert count.total() is None
    monkeypatch.setattr(people, "MAX_DIGESTS", 3)
    small = PeopleCount(TYPES)
    small.add([result("a", CN_MOBILE=digests("m1", "m2"))])
    assert small.total() == 2
    small.add([result("b", CN_MOBILE=digests("m3", "m4"))])
    assert small.total() is None
    assert PeopleCount(EntityTypes(())).total() == 0


def scan(root: Path, store: Store, full: bool) -> int:
    return run_scan(dataclasses.replace(job(root), full=full), store, []).scan_id


def test_a_scan_snapshots_the_people_the_store_counts(tmp_path: Path, monkeypatch):
    """A scan that read every file counts its people itself; one that carried files forward asks
    the store. Both snapshots equal the store's count of the scan."""
    share = tmp_path / "share"
    share.mkdir()
    mobiles = [f"1380013{i:04d}" for i in range(90)]
    (share / "a.txt").write_text("\n".join(f"手机 {m}" for m in mobiles[:60]) + "\n", encoding="utf-8")
    (share / "b.txt").write_text("\n".join(f"手机 {m}" for m in mobiles[30:]) + "\n", encoding="utf-8")
    (share / "empty.txt").write_text("", encoding="utf-8")
    counted: list[int] = []
    from dlpscan.store import results

    real_count = results.count_people

    def spy(conn, scan_id, types):
        counted.append(scan_id)
        return real_count(conn, scan_id, types)

    monkeypatch.setattr(results, "count_people", spy)
    with Store.open(str(tmp_path / "s.sqlite")) as store:
        first = scan(share, store, full=True)
        assert counted == []  # counted by the scan
        (share / "c.txt").write_text(f"手机 {mobiles[0]}\n手机 13900139000\n", encoding="utf-8")
        second = scan(share, store, full=False)  # a.txt and b.txt carried forward
        assert counted == [second]
        snapshots = {h["scan_id"]: h["people"] for h in store.entity_history()}
        assert snapshots[first] == store.distinct_people(first) == 90
        assert snapshots[second] == store.distinct_people(second) == 91
