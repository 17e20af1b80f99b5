"""The embedded default: SQLite through aiosqlite.

One process owns the file. Writes go through a single connection guarded by
an asyncio lock and open with `BEGIN IMMEDIATE`, which takes SQLite's write
lock at the start: two writers (tasks or processes) queue on the busy
timeout instead of deadlocking when both try to upgrade a read lock. Reads
use a small pool of their own connections; under WAL they see the last
committed state without waiting for a writer.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiosqlite
import structlog

from huarong_core.errors import ConstraintViolation, DatabaseBusy, DatabaseUnreachable
from huarong_core.storage.base import Connection, Database, Dialect, Row
from huarong_core.storage.codec import sqlite_timestamp
from huarong_core.storage.sql import to_sqlite_params
from huarong_core.storage.url import SqliteURL

log = structlog.get_logger(__name__)

BUSY_TIMEOUT_MS = 15_000


def _adapt(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(sqlite_timestamp(a) if isinstance(a, datetime) else a for a in args)


def _missing_parent(path: str) -> str | None:
    """The folder that should hold the database file, if it does not exist."""
    parent = os.path.dirname(os.path.abspath(path))
    return None if os.path.isdir(parent) else parent


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _translate(exc: sqlite3.Error) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError):
        return ConstraintViolation(detail=str(exc))
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return DatabaseBusy(detail=str(exc))
    return exc


class SqliteConnection(Connection):
    dialect: Dialect = "sqlite"

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self._raw = raw

    async def execute(self, sql: str, *args: Any) -> None:
        try:
            await self._raw.execute(to_sqlite_params(sql), _adapt(args))
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        try:
            await self._raw.executemany(to_sqlite_params(sql), [_adapt(a) for a in args])
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            async with self._raw.execute(to_sqlite_params(sql), _adapt(args)) as cursor:
                return list(await cursor.fetchall())  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def execute_script(self, script: str) -> None:
        # executescript() would COMMIT our open transaction; run statements one by one.
        for statement in _split_statements(script):
            await self.execute(statement)


def _split_statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, url: SqliteURL, *, readers: int = 2) -> None:
        self.url = self._sqlite_url = url
        self._readers_wanted = 0 if url.in_memory else readers
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []

    async def _connect(self, *, read_only: bool) -> aiosqlite.Connection:
        target = self._sqlite_url.path
        if not self._sqlite_url.in_memory:
            parent = await asyncio.to_thread(_missing_parent, target)
            if parent is not None:
                raise DatabaseUnreachable(
                    url=self.url.redacted(), detail=f"directory {parent} does not exist"
                )
        try:
            raw = await aiosqlite.connect(target, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseUnreachable(url=self.url.redacted(), detail=str(exc)) from exc
        raw.row_factory = _dict_row  # type: ignore[assignment]
        try:
            await raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await raw.execute("PRAGMA foreign_keys = ON")
            if not self._sqlite_url.in_memory and not read_only:
                await raw.execute("PRAGMA journal_mode = WAL")
                await raw.execute("PRAGMA synchronous = NORMAL")
            if read_only:
                await raw.execute("PRAGMA query_only = ON")
        except sqlite3.DatabaseError as exc:
            await raw.close()
            raise DatabaseUnreachable(url=self.url.redacted(), detail=str(exc)) from exc
        return raw

    async def start(self) -> None:
        if self._writer is not None:
            return
        self._writer = await self._connect(read_only=False)
        for _ in range(self._readers_wanted):
            reader = await self._connect(read_only=True)
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        log.debug(
            "storage.sqlite.started", path=self._sqlite_url.path, readers=self._readers_wanted
        )

    async def stop(self) -> None:
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        self._readers = asyncio.Queue()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    def _require_writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not started; use `async with` or call start()")
        return self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        raw = self._require_writer()
        async with self._write_lock:
            try:
                await raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _translate(exc) from exc
            try:
                yield SqliteConnection(raw)
            except BaseException:
                await raw.execute("ROLLBACK")
                raise
            else:
                try:
                    await raw.execute("COMMIT")
                except sqlite3.Error as exc:
                    # Never leave the shared writer inside a half-finished transaction.
                    await raw.execute("ROLLBACK")
                    raise _translate(exc) from exc

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        if not self._all_readers:
            raw = self._require_writer()
            async with self._write_lock:
                await raw.execute("BEGIN")
                try:
                    yield SqliteConnection(raw)
                finally:
                    await raw.execute("ROLLBACK")
            return
        reader = await self._readers.get()
        try:
            await reader.execute("BEGIN")
            try:
                yield SqliteConnection(reader)
            finally:
                await reader.execute("ROLLBACK")
        finally:
            self._readers.put_nowait(reader)

    async def lock_for_migration(self, conn: Connection) -> None:
        """`BEGIN IMMEDIATE` already holds the only write lock there is."""
