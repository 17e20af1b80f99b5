"""WAL checkpoints run on their own thread, never inside a commit on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from huarong_core.storage import Connection, open_database, sqlite_checkpoints
from huarong_core.storage.sqlite import SqliteDatabase
from huarong_core.storage.sqlite_checkpoints import EVERY_COMMITS, FALLBACK_PAGES, Checkpointer


def _insert(n: int) -> Callable[[Connection], Awaitable[None]]:
    async def unit(conn: Connection) -> None:
        await conn.execute(
            "INSERT INTO id_counters (community_id, name, value) VALUES (0, $1, $2)",
            f"n{n}",
            n,
        )

    return unit


async def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return bool(condition())


@pytest.fixture
async def opened(sqlite_url: str) -> AsyncIterator[tuple[SqliteDatabase, Checkpointer]]:
    db = await open_database(sqlite_url)
    assert isinstance(db, SqliteDatabase)
    checkpoints = db._checkpoints
    assert checkpoints is not None
    try:
        yield db, checkpoints
    finally:
        await db.stop()
    assert not checkpoints._thread.is_alive()


async def test_the_log_is_copied_back_by_the_checkpoint_thread_every_so_many_commits(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setattr(sqlite_checkpoints, "IDLE_SECONDS", 60.0)  # only the nudges count
    db = await open_database(sqlite_url)
    assert isinstance(db, SqliteDatabase)
    checkpoints = db._checkpoints
    assert checkpoints is not None
    try:
        await asyncio.sleep(0.2)  # the migrations' commits may have asked for one
        before = checkpoints.runs
        assert db._writer is not None
        short_of_next = EVERY_COMMITS - db._writer.commits % EVERY_COMMITS - 1
        for n in range(short_of_next):
            await db.run(_insert(n), quick=True)
        await asyncio.sleep(0.2)
        assert checkpoints.runs == before
        await db.run(_insert(EVERY_COMMITS), quick=True)
        # Far below the writer's own threshold: the thread did it.
        assert await _wait_for(lambda: checkpoints.runs == before + 1)
    finally:
        await db.stop()


async def test_the_writer_checkpoints_by_itself_only_as_a_fallback(
    opened: tuple[SqliteDatabase, Checkpointer],
) -> None:
    db, _ = opened

    async def threshold(conn: Connection) -> int:
        return int(await conn.fetchval("PRAGMA wal_autocheckpoint"))

    assert await db.run(threshold) == FALLBACK_PAGES
    assert await db.run(threshold, quick=True) == FALLBACK_PAGES


async def test_a_quiet_database_is_checkpointed_within_a_second(
    opened: tuple[SqliteDatabase, Checkpointer],
) -> None:
    db, checkpoints = opened
    before = checkpoints.runs
    await db.run(_insert(1), quick=True)
    assert await _wait_for(lambda: checkpoints.runs > before, seconds=3.0)
    settled = checkpoints.runs
    await asyncio.sleep(1.2)
    assert checkpoints.runs == settled  # nothing new committed: nothing to do


async def test_in_memory_databases_have_no_checkpoint_thread() -> None:
    db = await open_database("sqlite:///:memory:")
    assert isinstance(db, SqliteDatabase)
    try:
        assert db._checkpoints is None
    finally:
        await db.stop()
