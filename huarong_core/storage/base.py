"""The storage port: what the core needs from a database, and nothing more.

Two implementations exist (`SqliteDatabase`, `PostgresDatabase`); both take
the same SQL text (see `sql.py`) and hand back rows as plain dicts, so
repositories never learn which backend they run on. Tests subclass
`Database` for fakes rather than mocking it.
"""

from __future__ import annotations

import abc
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from huarong_core.storage.url import DatabaseURL

T = TypeVar("T")
Dialect = Literal["sqlite", "postgres"]
Row = Mapping[str, Any]


class Connection(abc.ABC):
    """A connection inside a transaction (or a read snapshot)."""

    dialect: Dialect

    @abc.abstractmethod
    async def execute(self, sql: str, *args: Any) -> None:
        """Run one statement."""

    @abc.abstractmethod
    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per argument tuple."""

    @abc.abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of a query."""

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        if row is None:
            return None
        return next(iter(row.values()))

    @abc.abstractmethod
    async def execute_script(self, script: str) -> None:
        """Run several `;`-separated statements (migrations only; no parameters)."""

    async def lock(self, key: str) -> None:
        """Serialize, until the transaction ends, with every other holder of `key`.

        SQLite already runs one write transaction at a time, so this is free
        there; PostgreSQL takes a transaction-scoped advisory lock. Used where
        an invariant spans rows that concurrent transactions could each read
        as fine (a member's caps and cooldowns).
        """
        if self.dialect == "postgres":
            await self.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)

    @asynccontextmanager
    async def savepoint(self, name: str) -> AsyncIterator[None]:
        """A nested transaction: an error inside undoes only what was done inside."""
        await self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self.execute(f"ROLLBACK TO SAVEPOINT {name}")
            await self.execute(f"RELEASE SAVEPOINT {name}")
            raise
        await self.execute(f"RELEASE SAVEPOINT {name}")


class Database(abc.ABC):
    """A started database: transactions for writes, snapshots for reads."""

    dialect: Dialect
    url: DatabaseURL

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections. Raises `DatabaseUnreachable` with the reason."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Close every connection; idempotent."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A write transaction: committed on normal exit, rolled back on error.

        Implementations take the write lock up front, so two writers never
        deadlock upgrading a read lock to a write lock.
        """

    @abc.abstractmethod
    def read(self) -> AbstractAsyncContextManager[Connection]:
        """A consistent read-only snapshot."""

    async def run(self, unit: Callable[[Connection], Awaitable[T]], *, quick: bool = False) -> T:
        """Run a unit of work in one transaction: committed if it returns, undone if it raises.

        A unit awaits nothing but calls on the connection it is given. That
        lets a backend run it where the connection lives, in one hop, and
        commit several concurrent units together (SQLite does both).

        `quick`: the caller knows the unit is a few statements on indexed rows.
        A backend may then run it on the calling thread when its connection is
        free, instead of handing it to another thread (SQLite does: a thread
        hop and its GIL hand-offs cost more than such a unit). Never set it for
        work whose size grows with the data (imports, exports, whole-table
        reports): that would hold up the event loop for all of it.
        """
        async with self.transaction() as conn:
            return await unit(conn)

    async def run_read(self, fn: Callable[[Connection], Awaitable[T]], *, quick: bool = False) -> T:
        """Run a read-only function on one consistent snapshot (`quick`: as for `run`)."""
        async with self.read() as conn:
            return await fn(conn)

    @abc.abstractmethod
    async def lock_for_migration(self, conn: Connection) -> None:
        """Inside a transaction: keep other processes from migrating at the same time."""

    async def commit_generation(self) -> Hashable | None:
        """A value that changes whenever anyone (any process) commits, found for much
        less than a read costs; None when the backend cannot tell (nothing is then
        cached).

        It is read *before* a cached read runs: a commit landing meanwhile changes
        it, so an answer is never kept under a generation older than what it saw.
        """
        return None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
