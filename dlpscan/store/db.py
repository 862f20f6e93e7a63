"""Connecting: URL resolution, engine set-up (SQLite pragmas), migrations, transactions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine

from dlpscan.model import DIGEST_BYTES

# Errors that say "not now" rather than "never": lost connections, locked or full databases, I/O errors.
TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, OSError)
BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024
# A store's pages: fingerprints go in by the hundred thousand per export, and 16 KB pages write them
# with a fifth less CPU than SQLite's 4 KB default (a quarter fewer pages to log and check).
PAGE_BYTES = 16384
MIGRATION_LOCK = 0x646C7073  # PostgreSQL advisory lock key ("dlps"): one migrator at a time
HEAD_REVISION = "0008"  # the newest migration in store/migrations (a test holds it to alembic's head)


def resolve_url(url: str | None) -> URL:
    """None -> the per-user default SQLite file; a plain path -> SQLite file; else a SQLAlchemy URL.

    `postgresql://` (and `postgres://`) select the psycopg 3 driver.
    """
    if url is None:
        return URL.create(
            "sqlite", database=str(Path(platformdirs.user_data_dir("dlpscan")) / "dlpscan.sqlite")
        )
    if "://" not in url:
        return URL.create("sqlite", database=str(Path(url).expanduser().absolute()))
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe(exc: BaseException) -> str:
    """The driver's message without SQL text or parameters (e.g. 'database or disk is full')."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).splitlines()[0] if str(orig) else ""
    return f"{type(orig).__name__}: {text[:200]}" if text else type(orig).__name__


def sqlite_file_exists(url: URL) -> bool:
    """Whether a SQLite URL names an existing file (in-memory and `file:` URIs count as existing)."""
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file:") or Path(database).is_file()


def is_store(engine: Engine) -> bool:
    """Whether the database holds dlpscan's tables (at any schema version)."""
    with engine.connect() as conn:
        return sa.inspect(conn).has_table("alembic_version")


def display_url(url: URL) -> str:
    """The URL for logs: password (also a `password=` query parameter) removed."""
    return url.difference_update_query(["password"]).render_as_string(hide_password=True)


def create_engine(url: URL) -> Engine:
    """An engine; for SQLite: parent folder created, WAL, foreign keys, busy timeout, explicit BEGIN."""
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy (not the sqlite3 module) decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA page_size = {PAGE_BYTES}")  # a new store's (before WAL); others keep theirs
        cur.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL never corrupts the store; a power cut may undo the last commits, which
        # the next scan writes again. FULL syncs the log at every commit (a few ms each).
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # fingerprint index inserts are random
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, so they wait on busy_timeout instead of failing
        # when a read snapshot cannot be upgraded.
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration shipped in this package (idempotent). A store
    already there is left alone without loading alembic (a tenth of a second of every command)."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "dlpscan.store:migrations")
    with write(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def at_head(engine: Engine) -> bool:
    """Is the store's schema at HEAD_REVISION?"""
    with read(engine) as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [
            HEAD_REVISION
        ]


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection inside one (read) transaction."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction (SQLite: BEGIN IMMEDIATE); committed on exit."""
    with engine.connect() as conn:
        conn.execution_options(immediate=True)
        with conn.begin():
            yield conn


def upsert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has `on_conflict_do_*` (SQLite and PostgreSQL both)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def refresh_statistics(conn: Connection) -> None:
    """Update planner statistics after a scan's bulk writes, so lookups by path and file id use the
    indexes even where autovacuum is off (PostgreSQL) or has not caught up; SQLite: PRAGMA optimize."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE files, scan_files, entity_counts, fingerprints")
    else:
        conn.exec_driver_sql("PRAGMA optimize")


def one_of(conn: Connection, column: sa.ColumnElement, values: list) -> sa.ColumnElement[bool]:
    """`column IN (values)`. On PostgreSQL `column IN (SELECT unnest(:array))`: one parameter (compiles
    once), and planned as a join, never as a scan comparing every row with every value."""
    if conn.dialect.name == "postgresql":
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column.in_(sa.select(sa.func.unnest(array)))
    return column.in_(values)


def bulk_insert(conn: Connection, table: sa.Table, rows: list[tuple]) -> None:
    """Insert tuples (in the table's column order) straight through the driver, in the open transaction:
    COPY on PostgreSQL, executemany on SQLite. For the millions of fingerprint rows."""
    if not rows:
        return
    cols = ", ".join(c.name for c in table.columns)
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with driver.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(table.columns))
        driver.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", rows)


_BLOCK_ROWS = 256


def type_numbers(conn: Connection, table: sa.Table, names: Iterable[str]) -> dict[str, int]:
    """The numbers of entity types in a (id, entity_type) table, numbering the new ones, in the open
    transaction. A name another writer numbers at the same time is taken as it numbered it."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    number = sa.select(table.c.entity_type, table.c.id).where(one_of(conn, table.c.entity_type, wanted))
    known: dict[str, int] = dict(conn.execute(number).all())  # type: ignore[arg-type]
    missing = [{"entity_type": n} for n in wanted if n not in known]
    if missing:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=["entity_type"]), missing)
        known = dict(conn.execute(number).all())  # type: ignore[arg-type]
    return known


def insert_fingerprints(conn: Connection, table: sa.Table, groups: list[tuple[int, int, bytes]]) -> None:
    """Insert (file_id, type number, concatenated 32-byte fingerprints) groups of a (file_id,
    type_id, fp) table. SQLite: one statement per group that cuts the digests into rows inside
    SQLite (half the cost of executemany: no Python row per fingerprint); PostgreSQL: COPY."""
    width = DIGEST_BYTES
    if conn.dialect.name == "postgresql":
        rows = [(f, e, fps[i : i + width]) for f, e, fps in groups for i in range(0, len(fps), width)]
        bulk_insert(conn, table, rows)
        return
    driver = conn.connection.driver_connection
    file_id, type_id, fp = (c.name for c in table.columns)
    insert = f"INSERT INTO {table.name} ({file_id}, {type_id}, {fp}) "
    for fid, number, fps in groups:
        count = len(fps) // width
        if count == 0:
            continue
        if count < _BLOCK_ROWS:  # one recursive step per row
            driver.execute(
                "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?) "
                f"{insert} SELECT ?, ?, substr(?, n * ? + 1, ?) FROM i",
                (count, fid, number, fps, width, width),
            )
            continue
        # Many rows: blocks of _BLOCK_ROWS numbers (made once) times a recursive block counter,
        # the counter outside (CROSS JOIN keeps that order): the rows go in sorted, 30% faster.
        driver.execute(
            f"WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < {_BLOCK_ROWS}), "
            "b(h) AS (SELECT 0 UNION ALL SELECT h + 1 FROM b WHERE h + 1 < ?) "
            f"{insert} SELECT ?, ?, substr(?, (h * {_BLOCK_ROWS} + n) * ? + 1, ?) FROM b CROSS JOIN k "
            f"WHERE h * {_BLOCK_ROWS} + n < ?",
            (-(-count // _BLOCK_ROWS), fid, number, fps, width, width, count),
        )


def chunks(items: list, size: int = 500) -> Iterator[list]:
    """Slices of at most `size`, to keep IN lists below parameter limits."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
