"""The results store: one object, SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from typing import Self

from sqlalchemy.engine import Engine

from dlpscan.entities import EntityTypes

from .db import create_engine, display_url, is_store, migrate, resolve_url, sqlite_file_exists
from .exposure import ExposureMixin
from .listing import ListingMixin
from .results import ResultsMixin
from .triage import TriageMixin
from .work import WorkMixin


class StoreMissing(Exception):
    """A reader was pointed at a store that does not exist (a mistyped --db): nothing was created."""


class Store(ResultsMixin, ExposureMixin, ListingMixin, TriageMixin, WorkMixin):
    """Scan results (counts, fingerprints, masked samples; never raw values), triage, and the
    daemon's queue, alert outbox and event log. Safe to share between threads (one pool)."""

    def __init__(self, engine: Engine, url_display: str, types: EntityTypes | None = None) -> None:
        self._engine = engine
        self.url_display = url_display
        if types is None:
            from dlpscan.detect.registry import entity_types

            types = entity_types()
        self.types = types  # what each entity type is: people counts use the person-key types

    @classmethod
    def open(cls, url: str | None = None, types: EntityTypes | None = None, create: bool = True) -> Self:
        """Connect and migrate the schema to the newest version.

        `url`: None -> `dlpscan.sqlite` in the user data folder; a path -> that SQLite file;
        `sqlite:///…` as given; `postgresql://…` -> PostgreSQL through psycopg 3.
        `types`: the entity-type registry (default: the shipped recognizers).
        `create`: False for readers: a store that does not exist raises StoreMissing, untouched.
        """
        resolved = resolve_url(url)
        if not create and resolved.get_backend_name() == "sqlite" and not sqlite_file_exists(resolved):
            raise StoreMissing(f"no results store at {resolved.database}")
        engine = create_engine(resolved)
        try:
            if not create and not is_store(engine):
                raise StoreMissing(f"no results store at {display_url(resolved)} (no dlpscan tables)")
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, display_url(resolved), types)

    def close(self) -> None:
        """Release all connections."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
