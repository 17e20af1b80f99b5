"""The storage port on every backend: migrations, transactions, SQL values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from huarong_core.errors import ConstraintViolation, SchemaOutdated, SchemaTooNew
from huarong_core.storage import create_database, migrate, open_database, schema_status
from huarong_core.storage.codec import as_datetime
from huarong_core.storage.migrations import LATEST_VERSION


async def test_open_applies_every_migration_once(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        status = await schema_status(db)
        assert status.current == LATEST_VERSION
        assert status.pending == ()
        assert await migrate(db) == []
    finally:
        await db.stop()


async def test_newer_schema_is_refused(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO huarong_schema (version, name, applied_at) VALUES ($1, $2, $3)",
                LATEST_VERSION + 1,
                "from the future",
                datetime.now(UTC),
            )
    finally:
        await db.stop()
    with pytest.raises(SchemaTooNew) as caught:
        await open_database(database_url)
    assert caught.value.found == LATEST_VERSION + 1
    assert caught.value.supported == LATEST_VERSION


async def test_outdated_schema_is_an_error_without_upgrade(database_url: str) -> None:
    with pytest.raises(SchemaOutdated):
        await open_database(database_url, upgrade=False)
    db = create_database(database_url)
    async with db:
        assert (await schema_status(db)).current == 0


async def test_error_inside_transaction_rolls_back(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO id_counters (community_id, name, value) VALUES ($1, $2, $3)",
                    0,
                    "probe",
                    1,
                )
                raise RuntimeError("boom")
        async with db.read() as conn:
            assert await conn.fetchval("SELECT COUNT(*) FROM id_counters") == 0
    finally:
        await db.stop()


async def test_savepoint_undoes_only_its_part(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'kept', 1)"
            )
            with pytest.raises(ConstraintViolation):
                async with conn.savepoint("sp"):
                    await conn.execute(
                        "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'gone', 1)"
                    )
                    await conn.execute(
                        "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'kept', 2)"
                    )
        async with db.read() as conn:
            rows = await conn.fetch("SELECT name, value FROM id_counters ORDER BY name")
        assert [(r["name"], r["value"]) for r in rows] == [("kept", 1)]
    finally:
        await db.stop()


async def test_timestamps_round_trip_and_compare_in_sql(database_url: str) -> None:
    db = await open_database(database_url)
    early = datetime(2026, 1, 1, 8, 0, 0, 123456, tzinfo=UTC)
    late = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO communities (id, key, name, timezone, locale, created_at,"
                " updated_at) VALUES (1, 'c', '{}', 'UTC', 'en', $1, $2)",
                early,
                late,
            )
        async with db.read() as conn:
            row = await conn.fetchrow(
                "SELECT created_at, updated_at FROM communities WHERE created_at < $1", late
            )
        assert row is not None
        assert as_datetime(row["created_at"]) == early
        assert as_datetime(row["updated_at"]) == late
    finally:
        await db.stop()


async def test_read_snapshot_refuses_writes_on_sqlite(sqlite_url: str) -> None:
    db = await open_database(sqlite_url)
    try:
        async with db.read() as conn:
            with pytest.raises(Exception, match=r"readonly|read-only|query_only"):
                await conn.execute(
                    "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'x', 1)"
                )
    finally:
        await db.stop()
