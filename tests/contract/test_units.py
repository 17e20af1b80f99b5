"""Units of work (`Database.run`): one transaction each, whatever the backend groups."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable

import pytest

from huarong_core.errors import ConstraintViolation
from huarong_core.storage import Connection, open_database

probe: contextvars.ContextVar[str] = contextvars.ContextVar("probe", default="unset")


async def _count(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT COUNT(*) FROM id_counters WHERE community_id = 0"))


async def test_concurrent_units_commit_independently(database_url: str) -> None:
    db = await open_database(database_url)
    try:

        def unit_for(n: int) -> Callable[[Connection], Awaitable[int]]:
            async def unit(conn: Connection) -> int:
                await conn.execute(
                    "INSERT INTO id_counters (community_id, name, value) VALUES (0, $1, $2)",
                    f"u{n}",
                    n,
                )
                if n % 5 == 0:
                    # A duplicate key: this unit alone must roll back.
                    await conn.execute(
                        "INSERT INTO id_counters (community_id, name, value) VALUES (0, $1, 0)",
                        f"u{n}",
                    )
                return n

            return unit

        outcomes = await asyncio.gather(
            *(db.run(unit_for(n)) for n in range(1, 41)), return_exceptions=True
        )
        failed = [
            n for n, o in zip(range(1, 41), outcomes, strict=True) if isinstance(o, Exception)
        ]
        assert failed == [5, 10, 15, 20, 25, 30, 35, 40]
        assert all(isinstance(outcomes[n - 1], ConstraintViolation) for n in failed)
        assert await db.run_read(_count) == 32
    finally:
        await db.stop()


async def test_a_unit_sees_its_own_writes_and_context(database_url: str) -> None:
    db = await open_database(database_url)
    try:

        async def unit(conn: Connection) -> tuple[int, str]:
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'seen', 1)"
            )
            return await _count(conn), probe.get()

        probe.set("from the caller")
        assert await db.run(unit) == (1, "from the caller")
    finally:
        await db.stop()


@pytest.mark.parametrize("quick", [False, True])
async def test_a_unit_that_awaits_something_else_is_refused(sqlite_url: str, quick: bool) -> None:
    """On SQLite a unit runs on the database's thread (or, quick, on the caller's, at
    one go); it may only await the database."""
    db = await open_database(sqlite_url)
    try:

        async def unit(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'x', 1)"
            )
            await asyncio.sleep(0)

        with pytest.raises(RuntimeError, match="only database calls"):
            await db.run(unit, quick=quick)
        assert await db.run_read(_count, quick=quick) == 0
    finally:
        await db.stop()


@pytest.mark.parametrize("quick", [False, True])
async def test_reads_do_not_write(database_url: str, quick: bool) -> None:
    db = await open_database(database_url)
    try:

        async def sneaky(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'x', 1)"
            )

        with pytest.raises(Exception, match=r"(?i)read-only|readonly|query_only"):
            await db.run_read(sneaky, quick=quick)
        assert await db.run_read(_count, quick=quick) == 0
    finally:
        await db.stop()
