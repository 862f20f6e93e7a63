"""Shared fixtures: PostgreSQL test schemas."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_HOST = "127.0.0.1:5432"


@functools.cache
def pg_user() -> str | None:
    import psycopg

    for user in ("postgres", "root"):
        try:
            with psycopg.connect(f"postgresql://{user}@{PG_HOST}/test", connect_timeout=3):
                return user
        except psycopg.OperationalError:
            continue
    return None


@contextlib.contextmanager
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema of their own, dropped afterwards."""
    import psycopg

    user = pg_user()
    if user is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST} (database 'test', user postgres or root)")
    schema = f"dlpscan_test_{uuid.uuid4().hex[:12]}"
    admin = f"postgresql://{user}@{PG_HOST}/test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}/test?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on an embedded SQLite file and on a real PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.sqlite")
    else:
        with pg_schema_url() as url:
            yield url
