"""Alembic environment: runs on the connection that `dlpscan.store.db.migrate` passes in.

A new revision: write `versions/NNNN_<what>.py` by hand (template: script.py.mako; down_revision =
the previous one), update `dlpscan/store/schema.py` to match; tests/test_store.py checks they agree.
"""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("dlpscan migrations run through Store.open(), which passes a connection")

context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
