"""Bring a database to the schema this code expects, or refuse it.

Each upgrade runs in its own transaction together with its version row, so
a failure leaves the database at the last good version. A database whose
version is newer than any upgrade we know was written by a newer Huarong;
we refuse it rather than guess.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import structlog

from huarong_core.errors import SchemaOutdated, SchemaTooNew
from huarong_core.storage.base import Connection, Database
from huarong_core.storage.migrations import LATEST_VERSION, MIGRATIONS, Migration, types_for

log = structlog.get_logger(__name__)


@attrs.frozen
class SchemaStatus:
    current: int
    latest: int
    pending: tuple[Migration, ...]


async def _ensure_version_table(conn: Connection) -> None:
    t = types_for(conn.dialect)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS huarong_schema ("
        " version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        f" applied_at {t.timestamp} NOT NULL)"
    )


async def _version(conn: Connection) -> int:
    value = await conn.fetchval("SELECT MAX(version) AS v FROM huarong_schema")
    return int(value or 0)


async def _table_exists(conn: Connection) -> bool:
    if conn.dialect == "sqlite":
        sql = "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'huarong_schema'"
    else:
        sql = (
            "SELECT 1 AS x FROM pg_tables"
            " WHERE tablename = 'huarong_schema' AND schemaname = current_schema()"
        )
    return await conn.fetchval(sql) is not None


async def schema_status(db: Database) -> SchemaStatus:
    async with db.read() as conn:
        current = await _version(conn) if await _table_exists(conn) else 0
    pending = tuple(m for m in MIGRATIONS if m.version > current)
    return SchemaStatus(current=current, latest=LATEST_VERSION, pending=pending)


async def migrate(db: Database) -> list[Migration]:
    """Apply every pending upgrade; return those applied (empty when up to date)."""
    applied: list[Migration] = []
    for migration in MIGRATIONS:
        async with db.transaction() as conn:
            await db.lock_for_migration(conn)
            await _ensure_version_table(conn)
            current = await _version(conn)
            if current > LATEST_VERSION:
                raise SchemaTooNew(found=current, supported=LATEST_VERSION)
            if current >= migration.version:
                continue
            log.info("storage.migrate", version=migration.version, name=migration.name)
            await migration.upgrade(conn)
            await conn.execute(
                "INSERT INTO huarong_schema (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                datetime.now(UTC),
            )
            applied.append(migration)
    return applied


async def check_schema(db: Database) -> None:
    """Raise unless the database is exactly at the version this code expects."""
    status = await schema_status(db)
    if status.current > LATEST_VERSION:
        raise SchemaTooNew(found=status.current, supported=LATEST_VERSION)
    if status.current < LATEST_VERSION:
        raise SchemaOutdated(found=status.current, required=LATEST_VERSION)
