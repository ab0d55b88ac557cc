"""Persistence: SQLModel tables, the async engine and sessions, queries, migrations, media store."""
