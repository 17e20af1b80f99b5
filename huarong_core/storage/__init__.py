"""Storage: the `Database` port, its SQLite and PostgreSQL backends, migrations."""

from __future__ import annotations

from huarong_core.storage.base import Connection, Database, Dialect, Row
from huarong_core.storage.migrate import SchemaStatus, check_schema, migrate, schema_status
from huarong_core.storage.url import DatabaseURL, PostgresURL, SqliteURL, parse_database_url

__all__ = [
    "Connection",
    "Database",
    "DatabaseURL",
    "Dialect",
    "PostgresURL",
    "Row",
    "SchemaStatus",
    "SqliteURL",
    "check_schema",
    "create_database",
    "migrate",
    "open_database",
    "parse_database_url",
    "schema_status",
]


def create_database(url: str | DatabaseURL) -> Database:
    """A `Database` for the URL, not yet started (nothing connects here)."""
    parsed = parse_database_url(url) if isinstance(url, str) else url
    if isinstance(parsed, SqliteURL):
        from huarong_core.storage.sqlite import SqliteDatabase

        return SqliteDatabase(parsed)
    from huarong_core.storage.postgres import PostgresDatabase

    return PostgresDatabase(parsed)


async def open_database(url: str | DatabaseURL, *, upgrade: bool = True) -> Database:
    """Start a database and make sure its schema fits this code.

    With `upgrade` (the default) pending migrations are applied; without it
    an outdated schema is an error. A newer schema is always refused.
    """
    db = create_database(url)
    await db.start()
    try:
        if upgrade:
            await migrate(db)
        else:
            await check_schema(db)
    except BaseException:
        await db.stop()
        raise
    return db
