"""Results store on SQLite and PostgreSQL: migrations, round trips, exposure, triage, queue, alerts, leaks."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import pg_schema_url

import dlpscan
from dlpscan.model import EntityStats, FileResult, MaskedStats, RuleHit, Status
from dlpscan.store import Store, db, schema, work
from dlpscan.store.schema import metadata

KEY = b"test-fingerprint-key"


def fp(value: str) -> str:
    return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()


def fps(values) -> list[str]:
    return sorted(fp(v) for v in values)


def ids_of(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:05d}" for i in range(n)]


def result(path: str, people: dict[str, list[str]] | None = None, **kw) -> FileResult:
    """A scanned FileResult whose entities have the given (synthetic) values as fingerprints."""
    entities = {
        etype: EntityStats(distinct=len(vals), total=len(vals), fingerprints=fps(vals), samples=["***"])
        for etype, vals in (people or {}).items()
    }
    return FileResult(path=path, status=Status.SCANNED, entities=entities, **kw)


@pytest.fixture
def url(store_url):
    return store_url


@pytest.fixture
def store(url):
    with Store.open(url) as s:
        yield s


def begin(store: Store, roots=("/data",), kind: str = "scan") -> int:
    return store.begin_scan(
        list(roots), policy="default", policy_version="p1", detector_version="d1", options={"x": 1}, kind=kind
    )


def migration_head() -> str:
    """The newest revision shipped (exactly one head: migrations form a single line)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "dlpscan.store:migrations")
    (head,) = ScriptDirectory.from_config(config).get_heads()
    return head


def dump(store: Store) -> list[tuple]:
    """Every row of every table (alembic's included)."""
    reflected = sa.MetaData()
    with store._engine.connect() as conn:
        reflected.reflect(conn)
        return [tuple(row) for table in reflected.sorted_tables for row in conn.execute(sa.select(table))]


# ---- opening and migrations ------------------------------------------------------------------


def test_open_twice_migrates_once_and_schema_matches_models(url):
    with Store.open(url) as first:
        sid = begin(first)
    with Store.open(url) as second:
        assert [s["id"] for s in second.scans()] == [sid]
        with second._engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [
                migration_head()
            ]
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_head_revision_is_the_newest_migration():
    """`migrate` skips alembic for a store at HEAD_REVISION: a new migration must move it."""
    assert migration_head() == db.HEAD_REVISION


def test_a_store_at_head_opens_without_alembic(tmp_path):
    path = str(tmp_path / "s.sqlite")
    Store.open(path).close()
    code = (
        "import sys\nfrom dlpscan.store import Store\n"
        f"Store.open({path!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_store_of_the_first_schema_is_migrated(tmp_path):
    """0002 drops person_fingerprints, which 0001 created and nothing ever filled."""
    from alembic import command
    from alembic.config import Config

    engine = db.create_engine(db.resolve_url(str(tmp_path / "old.sqlite")))
    config = Config()
    config.set_main_option("script_location", "dlpscan.store:migrations")
    with db.write(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    assert "person_fingerprints" in sa.inspect(engine).get_table_names()
    engine.dispose()
    with Store.open(str(tmp_path / "old.sqlite")) as store, store._engine.connect() as conn:
        assert "person_fingerprints" not in sa.inspect(conn).get_table_names()
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_files_of_a_0003_store_keep_their_rows_and_gain_a_device(tmp_path):
    """0004 adds files.device (NULL on old rows: `unchanged` then compares the inode alone) and the
    parent index that finds archive members."""
    from alembic import command
    from alembic.config import Config

    engine = db.create_engine(db.resolve_url(str(tmp_path / "old.sqlite")))
    config = Config()
    config.set_main_option("script_location", "dlpscan.store:migrations")
    with db.write(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        conn.exec_driver_sql(
            "INSERT INTO scans (kind, roots, roots_key, started, status, policy, policy_version, "
            "detector_version, options) VALUES ('scan', '[\"data\"]', '[\"data\"]', 1, 'completed', "
            "'default', 'p', 'd', '{}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO files (path, folder, inode, size, mtime, status, media_type, records, flagged, "
            "severity, is_container, last_scan_id, last_seen, deleted) VALUES ('data/a.csv', 'data', 7, "
            "10, 1.5, 'scanned', 'text/csv', 0, 0, 'none', 0, 1, 1, 0)"
        )
    engine.dispose()
    with Store.open(str(tmp_path / "old.sqlite")) as store:
        old = store.previous("data/a.csv")
        assert (old.inode, old.device, old.size) == (7, None, 10)
        assert store.has_unadopted()
        with store._engine.connect() as conn:
            assert "ix_files_parent" in {i["name"] for i in sa.inspect(conn).get_indexes("files")}


def test_fingerprints_of_a_0007_store_keep_their_rows_under_type_numbers(url):
    """0008 numbers the entity types (fingerprint_types) and rebuilds the fingerprint table with the
    numbers; every row is kept, a later scan's new type gets the next number, and the downgrade
    gives the rows back under their names."""
    from alembic import command
    from alembic.config import Config

    engine = db.create_engine(db.resolve_url(url))
    config = Config()
    config.set_main_option("script_location", "dlpscan.store:migrations")
    rows = [(1, "CN_RESIDENT_ID", bytes([i]) * 32) for i in range(3)] + [(2, "CN_MOBILE", b"\x09" * 32)]
    with db.write(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
        conn.execute(
            sa.text("INSERT INTO fingerprints (file_id, entity_type, fp) VALUES (:f, :e, :fp)"),
            [{"f": f, "e": e, "fp": fp} for f, e, fp in rows],
        )
    with Store.open(url) as store, store._engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        numbered = sa.text(
            "SELECT f.file_id, t.entity_type, f.fp FROM fingerprints f "
            "JOIN fingerprint_types t ON t.id = f.type_id ORDER BY f.file_id, f.fp"
        )
        assert [tuple(r) for r in conn.execute(numbered)] == rows
        numbers = dict(conn.execute(sa.text("SELECT entity_type, id FROM fingerprint_types")).all())
        assert sorted(numbers) == ["CN_MOBILE", "CN_RESIDENT_ID"]
        conn.rollback()
        with db.write(store._engine) as writer:
            more = db.type_numbers(writer, schema.fingerprint_types, ["CN_NAME", "CN_MOBILE"])
        assert more["CN_MOBILE"] == numbers["CN_MOBILE"] and more["CN_NAME"] not in numbers.values()
    with db.write(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
        named = sa.text("SELECT file_id, entity_type, fp FROM fingerprints ORDER BY file_id, fp")
        assert [tuple(r) for r in conn.execute(named)] == rows
    engine.dispose()


def test_url_resolution(tmp_path, monkeypatch):
    monkeypatch.setattr(db.platformdirs, "user_data_dir", lambda app: str(tmp_path / "data" / app))
    assert db.resolve_url(None).database == str(tmp_path / "data" / "dlpscan" / "dlpscan.sqlite")
    assert db.resolve_url("rel/x.sqlite").database == str(Path("rel/x.sqlite").absolute())
    assert db.resolve_url("sqlite:////tmp/a.db").database == "/tmp/a.db"
    pg = db.resolve_url("postgresql://u:s3cret@h:5432/d?password=s3cret")
    assert pg.drivername == "postgresql+psycopg"
    assert db.display_url(pg) == "postgresql+psycopg://u:***@h:5432/d"
    with Store.open() as default:
        assert default.url_display == f"sqlite:///{tmp_path}/data/dlpscan/dlpscan.sqlite"
    assert (tmp_path / "data" / "dlpscan" / "dlpscan.sqlite").is_file()


@pytest.mark.postgres
def test_postgresql_url_uses_psycopg3():
    with pg_schema_url() as url, Store.open(url) as s:
        assert s._engine.dialect.driver == "psycopg"
        assert s.url_display.startswith("postgresql+psycopg://")


def test_sqlite_pragmas(tmp_path):
    with Store.open(str(tmp_path / "s.sqlite")) as s, s._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: WAL synced at checkpoints


# ---- results ---------------------------------------------------------------------------------


def full_result(path: str) -> FileResult:
    return FileResult(
        path=path,
        status=Status.SCANNED,
        media_type="text/csv",
        entities={
            "CN_RESIDENT_ID": EntityStats(
                distinct=3, total=4, fingerprints=fps(["a", "b", "c"]), samples=["110101********123X"]
            ),
            "CN_MOBILE": EntityStats(
                distinct=2, total=2, fingerprints=fps(["m1", "m2"]), samples=["138****0000"]
            ),
            "CN_ADDRESS": EntityStats(distinct=5, total=6, fingerprints=None, samples=[]),
        },
        masked={"CN_MOBILE": MaskedStats(total=7, noncompliant=2)},
        records=3,
        flagged=True,
        severity="high",
        rules=[
            RuleHit("default", "bulk-direct-identifiers", "high"),
            RuleHit("bank", "cards", "medium", "folder"),
        ],
        error=None,
        reason=None,
        size=12345,
        mtime=1700000000.123456,
        owner="alice",
        inode=2**63 + 5,
        is_container=False,
        notes={"excel_float_ids": 2},
    )


def test_round_trip_of_a_file_result(store):
    sid = begin(store)
    original = full_result("hr/a.zip!staff/list.csv")
    original.content_hash = "h1"
    store.record_results(sid, [original])
    stored = store.previous(original.path)
    assert stored.result == original
    assert (stored.size, stored.mtime, stored.inode, stored.content_hash) == (
        12345,
        1700000000.123456,
        2**63 + 5,
        "h1",
    )
    assert (stored.detector_version, stored.policy_version, stored.last_scan_id, stored.deleted) == (
        "d1",
        "p1",
        sid,
        False,
    )
    with store._engine.connect() as conn:
        row = conn.execute(sa.text("SELECT parent, folder FROM files")).one()
    assert tuple(row) == ("hr/a.zip", "hr")
    assert store.previous("nope") is None


def test_rerecording_replaces_entities_and_fingerprints(store):
    sid = begin(store)
    store.record_results(sid, [result("f.csv", {"CN_MOBILE": ["m1", "m2"], "EMAIL_ADDRESS": ["e"]})])
    store.record_results(sid, [result("f.csv", {"CN_MOBILE": ["m3"]})])
    assert store.previous("f.csv").result.entities == {
        "CN_MOBILE": EntityStats(distinct=1, total=1, fingerprints=fps(["m3"]), samples=["***"])
    }
    assert store.paths_done(sid) == {"f.csv": False}
    assert store.distinct_people(sid) == 1


@pytest.mark.parametrize("count", [1, 255, 256, 257, 1000])
def test_fingerprints_round_trip_in_blocks_and_single_rows(store, count):
    """SQLite writes a group of fingerprints as one statement, row by row below 256 and in blocks of
    256 above: every fingerprint is stored once, whatever the size."""
    sid = begin(store)
    values = ids_of("m", count)
    store.record_results(sid, [result("f.csv", {"CN_MOBILE": values, "CN_NAME": values[:1]})])
    stats = store.previous("f.csv").result.entities
    assert stats["CN_MOBILE"].fingerprints == fps(values) and stats["CN_NAME"].fingerprints == fps(values[:1])
    assert store.distinct_people(sid) == count


def test_previous_many_across_batches(store):
    sid = begin(store)
    paths = [f"d{i % 7}/f{i}.txt" for i in range(1203)]
    store.record_results(
        sid, [result(p, {"CN_MOBILE": [p]}, size=i, mtime=float(i), inode=i) for i, p in enumerate(paths)]
    )
    found = store.previous_many([*paths, "unknown.txt", paths[0]])
    assert set(found) == set(paths)
    assert [(found[p].size, found[p].inode) for p in paths] == [(i, i) for i in range(1203)]
    assert found[paths[1202]].result.entities["CN_MOBILE"].fingerprints == [fp(paths[1202])]


def test_carry_forward_and_file_results_of_a_later_scan(store):
    s1 = begin(store)
    store.record_results(
        s1,
        [
            result("a.csv", {"CN_MOBILE": ["m1"]}, flagged=True, severity="low", size=10),
            result("b.csv", {"CN_MOBILE": ["m2"]}, size=20),
            result("c.csv", size=30),
        ],
    )
    store.finish_scan(s1, status="completed", stats={"files": 3})
    s2 = begin(store)
    changed = result("b.csv", {"CN_MOBILE": ["m2", "m3"]}, flagged=True, severity="high", size=21)
    store.record_results(s2, [changed])
    store.carry_forward(s2, ["a.csv", "missing.csv"])
    store.carry_forward(s2, ["a.csv"])  # idempotent
    assert store.paths_done(s2) == {"a.csv": True, "b.csv": False}
    assert [r.path for r in store.file_results()] == ["a.csv", "b.csv", "c.csv"]  # s2 not finished yet
    store.finish_scan(s2, status="completed", stats={"files": 2})
    latest = list(store.file_results())
    assert [r.path for r in latest] == ["a.csv", "b.csv"]
    assert latest[0].entities["CN_MOBILE"].fingerprints == [fp("m1")]
    assert latest[1] == changed
    assert [r.path for r in store.file_results(s1, flagged_only=True)] == ["a.csv", "b.csv"]
    assert store.previous("a.csv").last_scan_id == s2
    history = store.entity_history()
    assert [(h["scan_id"], h["files"], h["flagged"], h["bytes"], h["people"]) for h in history] == [
        (s1, 3, 1, 60, 2),
        (s2, 2, 2, 31, 3),
    ]
    assert history[1]["flagged_by_severity"] == {"low": 1, "high": 1}


def test_file_results_pages_through_many_files(store):
    sid = begin(store)
    store.record_results(sid, [result(f"f{i:04d}", flagged=i % 3 == 0) for i in range(1100)])
    store.finish_scan(sid, status="completed", stats={})
    assert [r.path for r in store.file_results()] == [f"f{i:04d}" for i in range(1100)]
    assert len(list(store.file_results(flagged_only=True))) == 367


def test_deleted_files_leave_results_and_exposure(store):
    sid = begin(store)
    store.record_results(
        sid,
        [
            result("x/a.zip", is_container=True),
            result("x/a.zip!in/m.csv", {"CN_MOBILE": ["m1"]}),
            result("x/b.csv", {"CN_MOBILE": ["m2"]}),
            result("x/a.zip.bak", {"CN_MOBILE": ["m3"]}),
        ],
    )
    store.finish_scan(sid, status="completed", stats={})
    store.mark_deleted("x/a.zip", 1234.5)
    assert [r.path for r in store.file_results()] == ["x/a.zip.bak", "x/b.csv"]
    assert store.previous("x/a.zip!in/m.csv").deleted
    assert store.distinct_people() == 2


def test_resume_helpers(store):
    sid = begin(store, roots=["/b", "/a"])
    store.record_results(sid, [result("/a/1"), result("/b/2")])
    assert store.last_incomplete_scan(["/a", "/b"]) == sid
    assert store.last_incomplete_scan(["/a"]) is None
    assert store.paths_done(sid) == {"/a/1": False, "/b/2": False}
    store.finish_scan(sid, status="interrupted", stats={})
    assert store.last_incomplete_scan(["/b", "/a"]) == sid
    begin(store, roots=["/a", "/b"], kind="watch")
    assert store.last_incomplete_scan(["/b", "/a"]) == sid
    newer = begin(store, roots=["/a", "/b"])
    store.finish_scan(newer, status="completed", stats={})
    assert store.last_incomplete_scan(["/a", "/b"]) is None


def test_scans_newest_first(store):
    s1 = begin(store)
    s2 = begin(store, roots=["/w"], kind="watch")
    store.record_results(s1, [result("f", {"CN_RESIDENT_ID": ["i1", "i2"]})])
    store.finish_scan(s1, status="failed", stats={"errors": 1})
    listed = store.scans()
    assert [s["id"] for s in listed] == [s2, s1]
    assert [s["id"] for s in store.scans(limit=1)] == [s2]
    first = listed[1]
    assert (first["kind"], first["roots"], first["status"], first["stats"], first["policy"]) == (
        "scan",
        ["/data"],
        "failed",
        {"errors": 1},
        "default",
    )
    assert first["versions"] == {"policy": "p1", "detector": "d1"}
    assert first["people"] == 2 and first["finished"] >= first["started"]
    assert listed[0]["status"] == "running" and listed[0]["finished"] is None
    with pytest.raises(ValueError):
        begin(store, kind="batch")
    with pytest.raises(ValueError):
        store.finish_scan(s2, status="done", stats={})


KILLED_WRITER = """
import sys
from dlpscan.model import EntityStats, FileResult, Status
from dlpscan.store import Store

store = Store.open(sys.argv[1])
sid = store.begin_scan(["/k"], policy="d", policy_version="1", detector_version="1", options={})
for batch in range(10**6):
    files = []
    for i in range(50):
        n = batch * 50 + i
        fps = {t: [f"{hash((t, n, k)) & (2**256 - 1):064x}" for k in range(20)] for t in ("CN_MOBILE", "CN_NAME")}
        entities = {t: EntityStats(20, 20, v, ["1**"]) for t, v in fps.items()}
        files.append(FileResult(path=f"/k/{n}", status=Status.SCANNED, entities=entities))
    store.record_results(sid, files)
    print(batch, flush=True)
"""


def test_killed_writer_leaves_whole_files_only(url):
    """SIGKILL while batches are being written: every stored file is complete, batches are all-or-nothing."""
    env = {**os.environ, "PYTHONPATH": str(Path(dlpscan.__file__).parent.parent)}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, url], stdout=subprocess.PIPE, text=True, env=env
    )
    for _ in range(3):  # let a few batches commit, then kill during a later one
        assert child.stdout.readline() != ""
    child.send_signal(signal.SIGKILL)
    child.wait()
    with Store.open(url) as store, store._engine.connect() as conn:
        per_file = conn.execute(
            sa.text(
                "SELECT f.id,"
                " (SELECT COUNT(*) FROM scan_files s WHERE s.file_id = f.id),"
                " (SELECT COUNT(*) FROM entity_counts e WHERE e.file_id = f.id),"
                " (SELECT COUNT(*) FROM fingerprints p WHERE p.file_id = f.id)"
                " FROM files f"
            )
        ).all()
        assert len(per_file) >= 150 and len(per_file) % 50 == 0
        assert {tuple(r[1:]) for r in per_file} == {(1, 2, 40)}


# ---- exposure --------------------------------------------------------------------------------


def test_exposure_counts_distinct_people_across_files(store):
    sid = begin(store)
    hr = [
        result(
            f"share/hr/batch{i:02d}.csv",
            {"CN_RESIDENT_ID": ids_of(f"id{i}", 30), "CN_MOBILE": ids_of(f"mob{i}", 30)},
            owner="alice",
            flagged=True,
        )
        for i in range(40)
    ]
    ops = [
        # the same person (id0-00000) in two files counts once; one of them is also in hr
        result(
            "share/ops/x.csv", {"CN_RESIDENT_ID": ["id0-00000", "ops-1"], "CN_MOBILE": ["m"]}, owner="bob"
        ),
        result(
            "share/ops/y.zip!in/y.csv", {"CN_RESIDENT_ID": ["id0-00000"], "CN_MOBILE": ["m"]}, owner="bob"
        ),
        result("share/ops/z.txt", {"EMAIL_ADDRESS": ["e1", "e2", "e3", "e4"], "CN_NAME": ids_of("n", 9)}),
    ]
    store.record_results(sid, hr + ops)
    store.finish_scan(sid, status="completed", stats={})

    by_folder = store.exposure("folder")
    assert [(e.key, e.files, e.flagged_files, e.people, e.per_type) for e in by_folder] == [
        ("share/hr", 40, 40, 1200, {"CN_RESIDENT_ID": 1200, "CN_MOBILE": 1200}),
        ("share/ops", 3, 0, 4, {"CN_RESIDENT_ID": 2, "CN_MOBILE": 1, "EMAIL_ADDRESS": 4, "CN_NAME": 9}),
    ]
    by_owner = store.exposure("owner", sid)
    assert [(e.key, e.files, e.people, e.per_type) for e in by_owner] == [
        ("alice", 40, 1200, {"CN_RESIDENT_ID": 1200, "CN_MOBILE": 1200}),
        ("(unknown)", 1, 4, {"EMAIL_ADDRESS": 4, "CN_NAME": 9}),
        ("bob", 2, 2, {"CN_RESIDENT_ID": 2, "CN_MOBILE": 1}),
    ]
    assert [e.key for e in store.exposure("owner", top=1)] == ["alice"]
    assert store.distinct_people() == 1201  # resident IDs: 1200 in hr + ops-1
    with pytest.raises(ValueError):
        store.exposure("size")


def test_exposure_without_a_completed_scan_is_empty(store):
    sid = begin(store)
    store.record_results(sid, [result("f", {"CN_MOBILE": ["m"]})])
    assert store.exposure("folder") == []
    assert store.distinct_people() == 0
    assert [e.people for e in store.exposure("folder", sid)] == [1]


# ---- triage ----------------------------------------------------------------------------------


def test_triage_false_positive_holds_only_while_unchanged(store):
    sid = begin(store)
    store.record_results(sid, [result("f.csv", size=1, mtime=1.0, content_hash="h1")])
    store.record_results(sid, [result("g.csv", size=5, mtime=5.0)])
    assert store.triage_state("f.csv") is None
    store.triage("f.csv", "false-positive", "test data", "auditor")
    state = store.triage_state("f.csv")
    assert {k: state[k] for k in ("path", "status", "note", "who", "unchanged", "applies")} == {
        "path": "f.csv",
        "status": "false-positive",
        "note": "test data",
        "who": "auditor",
        "unchanged": True,
        "applies": True,
    }
    assert state["version"] == {"size": 1, "mtime": 1.0, "content_hash": "h1"}
    # touched but same content: still applies
    store.record_results(sid, [result("f.csv", size=1, mtime=2.0, content_hash="h1")])
    assert store.triage_state("f.csv")["applies"] is True
    store.record_results(sid, [result("f.csv", size=1, mtime=3.0, content_hash="h2")])
    assert (store.triage_state("f.csv")["unchanged"], store.triage_state("f.csv")["applies"]) == (
        False,
        False,
    )

    # without content hashes: size and mtime decide; other statuses always apply
    store.triage("g.csv", "false-positive", "", "a")
    store.triage("g.csv", "accepted", "business need", "b")
    store.record_results(sid, [result("g.csv", size=6, mtime=5.0)])
    g = store.triage_state("g.csv")
    assert (g["status"], g["who"], g["unchanged"], g["applies"]) == ("accepted", "b", False, True)
    store.triage("gone.csv", "false-positive", "", "c")
    assert [(t["path"], t["status"], t["applies"]) for t in store.triage_all()] == [
        ("f.csv", "false-positive", False),
        ("g.csv", "accepted", True),
        ("gone.csv", "false-positive", False),
    ]
    with pytest.raises(ValueError):
        store.triage("f.csv", "ignored", "", "a")


# ---- queue -----------------------------------------------------------------------------------


def test_queue_coalesces_and_claims(store):
    store.enqueue("a", "modified", 10.0)
    store.enqueue("b", "created", 5.0)
    store.enqueue("a", "deleted", 20.0)
    assert store.queue_depth() == {"pending": 2, "working": 0}
    first = store.due(now=15.0, limit=10)
    assert [{k: q[k] for k in ("path", "event", "not_before", "attempts", "last_error")} for q in first] == [
        {"path": "b", "event": "created", "not_before": 5.0, "attempts": 0, "last_error": None}
    ]
    assert store.due(now=15.0, limit=10) == []  # b is claimed, a not yet due
    claimed = store.due(now=25.0, limit=10)
    assert [(q["path"], q["event"], q["not_before"]) for q in claimed] == [("a", "deleted", 20.0)]
    assert store.queue_depth() == {"pending": 0, "working": 2}
    store.done(first[0]["id"])
    store.retry(claimed[0]["id"], 30.0, "locked by another process")
    assert store.queue_depth() == {"pending": 1, "working": 0}
    again = store.due(now=30.0, limit=1)
    assert [(q["path"], q["attempts"], q["last_error"]) for q in again] == [
        ("a", 1, "locked by another process")
    ]
    with pytest.raises(ValueError):
        store.enqueue("a", "touched", 1.0)


def test_queue_limit_and_order(store):
    for i in range(5):
        store.enqueue(f"p{i}", "modified", 100.0 - i)
    assert [q["path"] for q in store.due(now=100.0, limit=3)] == ["p0", "p1", "p2"]
    assert [q["path"] for q in store.due(now=100.0, limit=3)] == ["p3", "p4"]


def test_queue_crash_recovery(url):
    with Store.open(url) as daemon:
        for p in ("a", "b", "c"):
            daemon.enqueue(p, "modified", 1.0)
        assert len(daemon.due(now=2.0, limit=10)) == 3
        daemon.enqueue("b", "modified", 9.0)  # new event while b is being worked on
    with Store.open(url) as restarted:
        assert restarted.queue_depth() == {"pending": 1, "working": 3}
        assert restarted.requeue_working() == 3
        assert restarted.queue_depth() == {"pending": 3, "working": 0}
        items = {q["path"]: q["not_before"] for q in restarted.due(now=10.0, limit=10)}
        assert items == {"a": 1.0, "b": 9.0, "c": 1.0}
        assert restarted.requeue_working() == 3


# ---- alerts and events -----------------------------------------------------------------------


def test_alerts_unique_and_retried(store):
    payload = {"path": "f.csv", "severity": "high", "counts": {"CN_MOBILE": 900}}
    assert store.add_alert("f.csv", "v1", "webhook", payload) is True
    assert store.add_alert("f.csv", "v1", "webhook", {"other": 1}) is False
    assert store.add_alert("f.csv", "v1", "syslog", payload) is True
    assert store.add_alert("f.csv", "v2", "webhook", payload) is True
    due = store.alerts_due("webhook", now=50.0, limit=10)
    assert [(a["version_key"], a["payload"], a["attempts"]) for a in due] == [
        ("v1", payload, 0),
        ("v2", payload, 0),
    ]
    store.alert_failed(due[0]["id"], next_try=100.0, error="HTTP 503")
    assert [a["version_key"] for a in store.alerts_due("webhook", now=50.0, limit=10)] == ["v2"]
    assert store.alert_backlog() == {"pending": 3, "retrying": 1, "by_sink": {"webhook": 2, "syslog": 1}}
    retried = store.alerts_due("webhook", now=150.0, limit=1)
    assert [(a["id"], a["attempts"], a["last_error"]) for a in retried] == [(due[0]["id"], 1, "HTTP 503")]
    store.alert_sent(due[0]["id"])
    store.alert_sent(due[1]["id"])
    assert store.alerts_due("webhook", now=150.0, limit=10) == []
    assert store.alert_backlog() == {"pending": 1, "retrying": 0, "by_sink": {"syslog": 1}}
    assert store.add_alert("f.csv", "v1", "webhook", payload) is False


def test_event_log_newest_first_and_bounded(store, monkeypatch):
    monkeypatch.setattr(work, "KEEP_EVENTS", 3)
    for i in range(5):
        store.record_event("scan", f"message {i}")
    events = store.recent_events(10)
    assert [(e["kind"], e["message"]) for e in events] == [("scan", f"message {i}") for i in (4, 3, 2)]
    assert [e["message"] for e in store.recent_events(1)] == ["message 4"]


# ---- nothing raw in the database -------------------------------------------------------------

RAW = {
    "CN_RESIDENT_ID": "11010519491231002X",
    "CN_MOBILE": "13812345678",
    "CN_BANK_CARD": "6222020200112233445",
    "EMAIL_ADDRESS": "zhang.sanfeng@example.com",
    "CN_NAME": "张三丰",
}
MASKED = {
    "CN_RESIDENT_ID": "110105********002X",
    "CN_MOBILE": "138****5678",
    "CN_BANK_CARD": "622202*********3445",
    "EMAIL_ADDRESS": "z***@example.com",
    "CN_NAME": "张**",
}


def test_no_raw_value_reaches_the_database(url):
    error = "table truncated after row 17"
    with Store.open(url) as store:
        sid = begin(store)
        leaky = FileResult(
            path="hr/staff.csv",
            status=Status.ERROR,
            error=error,
            entities={
                t: EntityStats(distinct=1, total=2, fingerprints=[fp(v)], samples=[MASKED[t]])
                for t, v in RAW.items()
            },
        )
        store.record_results(sid, [leaky])
        store.finish_scan(sid, status="completed", stats={"files": 1})
        store.triage("hr/staff.csv", "open", "needs review", "auditor")
        store.add_alert("hr/staff.csv", "v1", "webhook", {"counts": {"CN_MOBILE": 1}})
        store.record_event("alert", "hr/staff.csv flagged")

        # refused, naming the entity type only, and nothing of the batch is written
        for bad in (
            EntityStats(distinct=1, total=1, fingerprints=[RAW["CN_MOBILE"]]),
            EntityStats(distinct=1, total=1, fingerprints=[fp("x")], samples=[RAW["CN_MOBILE"]]),
            # 64 characters that hex-decode (fromhex skips spaces between pairs) to fewer than 32 bytes
            EntityStats(distinct=2, total=2, fingerprints=[fp("x"), "13 91 23 45 67 80" + "0" * 47]),
            EntityStats(distinct=1, total=1, fingerprints=["z" * 64]),
        ):
            with pytest.raises(ValueError) as refused:
                store.record_results(
                    sid,
                    [result("ok.csv"), FileResult("bad.csv", Status.SCANNED, entities={"CN_MOBILE": bad})],
                )
            assert RAW["CN_MOBILE"] not in str(refused.value) and "CN_MOBILE" in str(refused.value)
        assert store.previous_many(["ok.csv", "bad.csv"]) == {}

        rows = dump(store)
        cells = [c for row in rows for c in row]
        text = "\n".join(repr(c) for c in cells)
        blobs = b"".join(bytes(c) for c in cells if isinstance(c, bytes | memoryview))
        for raw in RAW.values():
            assert raw not in text, "a raw value is stored in a table"
            assert raw.encode() not in blobs
        assert error in cells  # stored exactly as given
        assert set(MASKED.values()) <= {s for c in cells if isinstance(c, list) for s in c}
        assert store.previous("hr/staff.csv").result == leaky

    if not url.startswith("postgresql"):
        files = [p for p in Path(url).parent.iterdir() if p.name.startswith("store.sqlite")]
        raw_bytes = b"".join(p.read_bytes() for p in files)
        for raw in RAW.values():
            for form in {raw, json.dumps(raw)[1:-1]}:  # as text, and as JSON escapes it
                assert form.encode() not in raw_bytes, "a raw value is in the SQLite files"


@pytest.mark.parametrize(
    "fps",
    [
        ["13800138000"],  # a raw mobile number is all hex digits
        ["a" * 63 + " ", "b" * 64],  # whitespace, which bytes.fromhex would skip
        ["a" * 63, "b" * 65],  # the right total length, cut wrongly
        ["z" * 64],
        [b"a" * 64],
        [64],
    ],
)
def test_anything_but_64_hex_characters_is_refused_as_a_fingerprint(fps):
    from dlpscan.store import codec

    with pytest.raises(ValueError, match="CN_MOBILE: a fingerprint is not 64 hex characters") as caught:
        codec.fps_to_db(fps, "CN_MOBILE")
    assert "13800138000" not in str(caught.value)


def test_hex_fingerprints_become_their_32_bytes():
    from dlpscan.store import codec

    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(3)]
    assert codec.fps_to_db([d.hex() for d in digests], "CN_MOBILE") == digests
    assert codec.fps_to_db([], "CN_MOBILE") == []


def test_a_new_sqlite_store_has_16_kb_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    """Fingerprints are written by the hundred thousand: a new store takes PAGE_BYTES pages (set
    before WAL, when SQLite still can); a store made with SQLite's default keeps 4 KB and works."""
    import sqlite3

    fresh = tmp_path / "new.sqlite"
    Store.open(str(fresh)).close()
    with sqlite3.connect(fresh) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == db.PAGE_BYTES
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE t (x)")  # an existing file: 4096-byte pages, a rollback journal
    Store.open(str(old)).close()
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert (
            conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'fingerprints'").fetchone()[0] == 1
        )
