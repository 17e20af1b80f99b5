"""PostgreSQL through an asyncpg pool: how a deployment outgrows one process.

asyncpg is an optional extra and is imported only when a `postgresql://`
URL is opened. Many processes may share the database; transactions run at
READ COMMITTED and take row locks or `ON CONFLICT` paths where invariants
are at stake, and migrations serialize on an advisory lock.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Hashable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import structlog

from huarong_core.errors import (
    ConstraintViolation,
    DatabaseUnreachable,
    StorageError,
    TransientConflict,
)
from huarong_core.storage.base import Connection, Database, Dialect, Row
from huarong_core.storage.url import PostgresURL

log = structlog.get_logger(__name__)

CONNECT_TIMEOUT_S = 10.0
MIGRATION_LOCK_ID = zlib.crc32(b"huarong.migrations")
SNAPSHOT_SINCE = 13
"""`pg_current_snapshot()` came with PostgreSQL 13; older servers cache nothing."""


class MissingDriver(StorageError):
    key = "error.postgres_driver_missing"


def _asyncpg() -> Any:
    try:
        import asyncpg
    except ImportError as exc:  # the `postgres` extra is not installed
        raise MissingDriver() from exc
    return asyncpg


@contextmanager
def _translated() -> Iterator[None]:
    """asyncpg's errors as ours: a broken constraint, or a race worth retrying."""
    asyncpg = _asyncpg()
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise ConstraintViolation(detail=str(exc)) from exc
    except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError) as exc:
        raise TransientConflict(detail=str(exc)) from exc


class PostgresConnection(Connection):
    dialect: Dialect = "postgres"

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    async def execute(self, sql: str, *args: Any) -> None:
        with _translated():
            await self._raw.execute(sql, *args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        with _translated():
            await self._raw.executemany(sql, list(args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        with _translated():
            records = await self._raw.fetch(sql, *args)
        return [dict(record) for record in records]

    async def execute_script(self, script: str) -> None:
        await self._raw.execute(script)


class PostgresDatabase(Database):
    dialect: Dialect = "postgres"

    def __init__(self, url: PostgresURL, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = self._pg_url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None
        self._snapshots = False
        """Whether the server has `pg_current_snapshot()` (PostgreSQL 13 and later)."""

    async def start(self) -> None:
        if self._pool is not None:
            return
        asyncpg = _asyncpg()
        settings = {"application_name": "huarong"}
        if self._pg_url.schema:
            settings["search_path"] = self._pg_url.schema
        try:
            self._pool = await asyncpg.create_pool(
                self._pg_url.dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=60,
                server_settings=settings,
                reset=_keep_session,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            detail = str(exc) or type(exc).__name__
            raise DatabaseUnreachable(url=self.url.redacted(), detail=detail) from exc
        try:
            async with self._pool.acquire() as raw:
                self._snapshots = raw.get_server_version().major >= SNAPSHOT_SINCE
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self.stop()
            raise DatabaseUnreachable(url=self.url.redacted(), detail=str(exc)) from exc
        log.debug("storage.postgres.started", url=self.url.redacted())

    async def stop(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _require_pool(self) -> Any:
        if self._pool is None:
            raise RuntimeError("database is not started; use `async with` or call start()")
        return self._pool

    async def commit_generation(self) -> Hashable | None:
        """The server's current snapshot (`xmin:xmax:in-progress ids`), one round trip.

        It is the set of transactions whose effects a new read would see: any commit,
        by any session, changes it (the committed id leaves the in-progress list, or
        `xmax` moves past it), so two equal snapshots saw the same data. Writes that
        start, and writes to other databases of the server, change it too: answers
        are then computed again, never wrong."""
        pool = self._pool
        if pool is None or not self._snapshots:
            return None
        asyncpg = _asyncpg()
        try:
            found: str | None = await pool.fetchval("SELECT pg_current_snapshot()::text")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("storage.postgres.snapshot_failed", error=type(exc).__name__)
            return None
        return found

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._require_pool().acquire() as raw, raw.transaction():
            yield PostgresConnection(raw)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        async with (
            self._require_pool().acquire() as raw,
            raw.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield PostgresConnection(raw)

    async def lock_for_migration(self, conn: Connection) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_ID)


async def _keep_session(raw: Any) -> None:
    """Release a connection to the pool without a round trip.

    asyncpg's default reset sends `RESET ALL`, `UNLISTEN *`, `CLOSE ALL` and
    unlocks session advisory locks on every release: one more round trip per
    unit of work. The library leaves nothing in a session (its advisory locks
    are transaction-scoped, it never LISTENs, SETs or declares cursors), and
    asyncpg still rolls back a transaction left open before calling this.
    """
    del raw
