"""The results store: one object, SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from typing import Self

from sqlalchemy.engine import Engine

from dlpscan.entities import EntityTypes

from .db import create_engine, display_url, migrate, resolve_url
from .exposure import ExposureMixin
from .listing import ListingMixin
from .results import ResultsMixin
from .triage import TriageMixin
from .work import WorkMixin


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
    def open(cls, url: str | None = None, types: EntityTypes | None = None) -> Self:
        """Connect and migrate the schema to the newest version.

        `url`: None -> `dlpscan.sqlite` in the user data folder; a path -> that SQLite file;
        `sqlite:///…` as given; `postgresql://…` -> PostgreSQL through psycopg 3.
        `types`: the entity-type registry (default: the shipped recognizers).
        """
        resolved = resolve_url(url)
        engine = create_engine(resolved)
        try:
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
