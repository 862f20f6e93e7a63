"""Alembic environment: runs on the connection that `dlpscan.store.db.migrate` passes in."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("dlpscan migrations run through Store.open(), which passes a connection")

context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
