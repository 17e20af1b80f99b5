"""Quick units and reads (`run(..., quick=True)`): the same transactions, run on the
caller's thread when SQLite's connection is free (the units asked for in one turn
of the loop committed together), handed to its threads when not."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from huarong_core.errors import ConstraintViolation
from huarong_core.storage import Connection, Database, open_database

MEMORY = "sqlite:///:memory:"


@contextlib.asynccontextmanager
async def _opened(url: str) -> AsyncIterator[Database]:
    db = await open_database(url)
    try:
        yield db
    finally:
        await db.stop()


async def _count(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT COUNT(*) FROM id_counters WHERE community_id = 0"))


def _insert(name: str, value: int = 1) -> Callable[[Connection], Awaitable[str]]:
    async def unit(conn: Connection) -> str:
        await conn.execute(
            "INSERT INTO id_counters (community_id, name, value) VALUES (0, $1, $2)", name, value
        )
        return threading.current_thread().name

    return unit


@pytest.fixture(params=["file", "memory", "postgresql"])
def quick_url(request: pytest.FixtureRequest) -> str:
    if request.param == "file":
        return str(request.getfixturevalue("sqlite_url"))
    if request.param == "memory":
        return MEMORY
    return str(request.getfixturevalue("pg_schema_url"))


async def test_a_quick_unit_commits_and_a_failing_one_changes_nothing(quick_url: str) -> None:
    async with _opened(quick_url) as db:
        await db.run(_insert("a"), quick=True)

        async def twice(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'b', 1)"
            )
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'a', 2)"
            )

        with pytest.raises(ConstraintViolation):
            await db.run(twice, quick=True)
        # Seen by a quick read, a read on a reader thread, and the writer alike.
        assert await db.run_read(_count, quick=True) == 1
        assert await db.run_read(_count) == 1
        assert await db.run(_count) == 1
        outcomes = await asyncio.gather(
            *(db.run(_insert(f"c{n}"), quick=True) for n in range(20)),
            *(db.run(_insert(f"d{n}")) for n in range(20)),
        )
        assert len(outcomes) == 40
        assert await db.run_read(_count, quick=True) == 41


@pytest.mark.parametrize("url", ["file", "memory"])
async def test_quick_work_runs_on_the_callers_thread_when_the_connection_is_free(
    url: str, sqlite_url: str
) -> None:
    async with _opened(sqlite_url if url == "file" else MEMORY) as db:
        here = threading.current_thread().name
        assert await db.run(_insert("a"), quick=True) == here
        assert await db.run(_insert("b")) == "huarong-sqlite-writer"

        async def where(conn: Connection) -> str:
            await _count(conn)
            return threading.current_thread().name

        assert await db.run_read(where, quick=True) == here
        assert await db.run_read(where) != here
        before = await db.commit_generation()
        await db.run(_insert("c"), quick=True)
        assert await db.commit_generation() != before  # cached reads see quick commits


async def test_a_quick_unit_waits_for_a_transaction_that_holds_the_writer(
    sqlite_url: str,
) -> None:
    async with _opened(sqlite_url) as db:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'first', 1)"
            )
            queued = asyncio.ensure_future(db.run(_insert("second"), quick=True))
            await asyncio.sleep(0.05)
            assert not queued.done()  # not run inline beside the open transaction
        assert await queued == "huarong-sqlite-writer"
        assert await db.run_read(_count) == 2


async def test_another_process_holding_the_write_lock_never_blocks_the_loop(
    sqlite_url: str, tmp_path: Path
) -> None:
    db = await open_database(sqlite_url)
    other = sqlite3.connect(str(tmp_path / "huarong.db"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.ensure_future(tick())
        unit = asyncio.ensure_future(db.run(_insert("waited"), quick=True))
        await asyncio.sleep(0.2)
        assert not unit.done()
        assert ticks >= 10  # the loop kept running while the unit waited on a thread
        other.execute("ROLLBACK")
        assert await asyncio.wait_for(unit, 5) == "huarong-sqlite-writer"
        ticker.cancel()
        assert await db.run_read(_count, quick=True) == 1
    finally:
        other.close()
        await db.stop()


@pytest.mark.parametrize("write", [True, False])
async def test_quick_work_that_meets_a_busy_lock_midway_is_undone_and_retried_on_a_thread(
    sqlite_url: str, write: bool
) -> None:
    from huarong_core.errors import DatabaseBusy

    async with _opened(sqlite_url) as db:
        attempts: list[str] = []

        async def unit(conn: Connection) -> str:
            attempts.append(threading.current_thread().name)
            if write:
                await conn.execute(
                    "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'once', 1)"
                )
            if len(attempts) == 1:
                raise DatabaseBusy(detail="database is locked")  # as SQLite would say
            return threading.current_thread().name

        run = db.run if write else db.run_read
        assert await run(unit, quick=True) != threading.current_thread().name
        assert len(attempts) == 2
        assert await db.run_read(_count) == (1 if write else 0)  # the first try left nothing


@pytest.mark.parametrize("url", ["file", "memory"])
async def test_quick_units_asked_for_in_one_turn_share_one_commit(
    url: str, sqlite_url: str
) -> None:
    from huarong_core.storage.sqlite import PROCESS_COMMITS

    async with _opened(sqlite_url if url == "file" else MEMORY) as db:
        before = PROCESS_COMMITS.value
        here = threading.current_thread().name
        threads = await asyncio.gather(*(db.run(_insert(f"t{n}"), quick=True) for n in range(10)))
        assert threads == [here] * 10
        assert PROCESS_COMMITS.value == before + 1  # one COMMIT (one WAL write) for all ten
        assert await db.run_read(_count, quick=True) == 10


async def test_a_failing_unit_in_a_shared_commit_undoes_only_itself(sqlite_url: str) -> None:
    async with _opened(sqlite_url) as db:
        await db.run(_insert("taken"), quick=True)

        async def half_done(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'half', 1)"
            )
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'taken', 2)"
            )

        outcomes = await asyncio.gather(
            db.run(_insert("before"), quick=True),
            db.run(half_done, quick=True),
            db.run(_insert("after"), quick=True),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], ConstraintViolation)
        assert not isinstance(outcomes[0], BaseException)
        assert not isinstance(outcomes[2], BaseException)

        async def names(conn: Connection) -> list[str]:
            rows = await conn.fetch(
                "SELECT name FROM id_counters WHERE community_id = 0 ORDER BY name"
            )
            return [r["name"] for r in rows]

        assert await db.run_read(names) == ["after", "before", "taken"]


async def test_a_shared_commit_that_meets_a_busy_lock_is_undone_and_run_on_a_thread(
    sqlite_url: str,
) -> None:
    from huarong_core.errors import DatabaseBusy

    async with _opened(sqlite_url) as db:
        tries = 0

        async def busy_once(conn: Connection) -> str:
            nonlocal tries
            tries += 1
            await conn.execute(
                "INSERT INTO id_counters (community_id, name, value) VALUES (0, 'busy', 1)"
            )
            if tries == 1:
                raise DatabaseBusy(detail="database is locked")  # as SQLite would say
            return threading.current_thread().name

        first, second = await asyncio.gather(
            db.run(_insert("calm"), quick=True), db.run(busy_once, quick=True)
        )
        assert first == second == "huarong-sqlite-writer"  # both again, where waiting is allowed
        assert tries == 2
        assert await db.run_read(_count) == 2  # each once: the first try left nothing


async def test_a_unit_that_breaks_the_shared_transaction_fails_its_group_and_nobody_waits(
    sqlite_url: str,
) -> None:
    async with _opened(sqlite_url) as db:

        async def rude(conn: Connection) -> None:
            await conn.execute("ROLLBACK")  # ends the group's transaction under the others

        outcomes = await asyncio.wait_for(
            asyncio.gather(
                db.run(_insert("first"), quick=True),
                db.run(rude, quick=True),
                db.run(_insert("never"), quick=True),
                return_exceptions=True,
            ),
            timeout=5,
        )
        assert all(isinstance(outcome, Exception) for outcome in outcomes)
        assert await db.run_read(_count) == 0  # nothing of the group stands
        await db.run(_insert("after"), quick=True)  # and the connection is usable again
        assert await db.run_read(_count) == 1
