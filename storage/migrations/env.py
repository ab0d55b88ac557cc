"""Alembic environment: runs migrations on the connection the bot hands over.

`storage.db.Database.upgrade` passes a live (sync-wrapped async) connection in
`config.attributes["connection"]`; the Alembic CLI is not needed to migrate.
"""

from alembic import context

from storage.models import SQLModel

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `diarybot db upgrade`")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
