"""The embedded default: SQLite, one writer thread, units of work in one hop.

One process owns the file. Each connection lives on a thread of its own
(the writer, and a small pool of readers), and work reaches it as jobs.

A *unit of work* (`Database.run`) is a coroutine that only awaits database
calls. The writer thread drives it to completion itself, statement after
statement with no trip back to the event loop, so one unit costs one thread
hop however many statements it runs. Units that queue while the writer is
busy are committed together: each runs inside a SAVEPOINT of one
`BEGIN IMMEDIATE` transaction (a failing unit rolls back only its own
savepoint), and one COMMIT answers them all. That group commit is what
lets many concurrent writers share SQLite's single write lock cheaply.

`BEGIN IMMEDIATE` takes the write lock up front, so two writers (tasks or
processes) wait on the busy timeout instead of deadlocking when both try to
upgrade a read lock. Readers see the last committed state under WAL without
waiting for the writer.

A *quick* unit or read (`run(..., quick=True)`: a few statements on
indexed rows, the chat and web hot paths) skips the hop when it can: it
runs on the event loop's own thread, on the writer's connection if no other
work holds it (reads: on a read-only connection kept for the loop), and
goes to the threads as above when the connection is busy. Handing work to
another thread costs a wake-up and two GIL hand-offs each way, which is
more than such a unit costs itself; measured on the Telegram webhook bench,
a check-in took a third less CPU this way. The connection is never waited
for on the loop: a held lock, or another process holding SQLite's write
lock, sends the unit to the writer thread instead.

Quick units asked for in the same turn of the loop (32 web requests, a
webhook's records and the chat lanes' check-ins) wait for the end of that
turn and are committed together, each in its savepoint, as the writer
thread does. A COMMIT is most of a small unit's cost: SQLite writes every
page the transaction touched to the WAL (about twenty for a check-in: each
table and each of its indexes), and units of one turn share the hot pages.
A lone unit waits one turn for nothing, a few microseconds.

`transaction()` and `read()` remain for the rare multi-step callers
(migrations, tests): they hold the thread for a session of statements.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import os
import queue
import sqlite3
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Hashable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import attrs
import structlog

from huarong_core.errors import ConstraintViolation, DatabaseBusy, DatabaseUnreachable
from huarong_core.storage.base import Connection, Database, Dialect, Row
from huarong_core.storage.codec import sqlite_timestamp
from huarong_core.storage.sql import to_sqlite_params
from huarong_core.storage.sqlite_checkpoints import EVERY_COMMITS, FALLBACK_PAGES, Checkpointer
from huarong_core.storage.url import SqliteURL

log = structlog.get_logger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 15_000
MAX_GROUP = 64
"""Units committed together at most; bounds the latency one commit adds."""


def _adapt(args: Sequence[Any]) -> Sequence[Any]:
    """Datetimes as the text SQLite stores; other values pass as they are."""
    for value in args:
        if isinstance(value, datetime):
            return [sqlite_timestamp(a) if isinstance(a, datetime) else a for a in args]
    return args


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


def _split_statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def drive(awaitable: Awaitable[T]) -> T:
    """Run a coroutine that never suspends, synchronously, on this thread.

    A unit of work awaits only `ThreadConnection` methods, which finish
    without suspending; so the whole coroutine completes in one `send`.
    Awaiting anything else (a sleep, the network) inside a unit is a bug.
    """
    steps: Generator[Any, None, T] = awaitable.__await__()
    try:
        yielded = steps.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    steps.close()
    raise RuntimeError(f"a unit of work awaited {yielded!r}; only database calls may be awaited")


class ThreadConnection(Connection):
    """The connection as seen from its own thread: every call completes at once."""

    dialect: Dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def execute(self, sql: str, *args: Any) -> None:
        try:
            self._raw.execute(to_sqlite_params(sql), _adapt(args))
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        try:
            self._raw.executemany(to_sqlite_params(sql), [_adapt(a) for a in args])
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return self._raw.execute(to_sqlite_params(sql), _adapt(args)).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def execute_script(self, script: str) -> None:
        # executescript() would COMMIT the open transaction; run statements one by one.
        for statement in _split_statements(script):
            await self.execute(statement)


# --- jobs -------------------------------------------------------------------


class _Reply:
    """The caller's asyncio future, completed from the worker with one loop wake-up.

    (Cheaper than a concurrent future wrapped for asyncio, which costs a
    second hop's worth of callbacks on every unit of work.)
    """

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()

    def set_running_or_notify_cancel(self) -> bool:
        """False when the caller gave up before the work started: then it is not done."""
        return not self.future.cancelled()

    def set_result(self, value: Any) -> None:
        self._settle(value, None)

    def set_exception(self, error: BaseException) -> None:
        self._settle(None, error)

    def settle_here(self, value: Any, error: BaseException | None) -> None:
        """From the loop's own thread: tell the caller without a wake-up."""
        _settle(self.future, value, error)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        def wake() -> None:
            try:
                self.loop.call_soon_threadsafe(_settle, self.future, value, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                log.warning("storage.sqlite.reply_dropped", error=repr(error))

        _after_release(wake)


_RELEASING = threading.local()


def _after_release(action: Callable[[], None]) -> None:
    """Run `action` once this worker thread has let go of its connection, if it
    holds it: a caller woken by the answer may then run quick work on the
    connection at once, rather than find it still held and hop to the thread."""
    waiting: list[Callable[[], None]] | None = getattr(_RELEASING, "actions", None)
    if waiting is None:
        action()
    else:
        waiting.append(action)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


@attrs.frozen
class _Unit:
    """A unit of work to run inside the group transaction."""

    fn: Callable[[Connection], Awaitable[Any]]
    context: contextvars.Context
    future: _Reply


@attrs.frozen
class _Read:
    """A read to run in one snapshot transaction."""

    fn: Callable[[Connection], Awaitable[Any]]
    context: contextvars.Context
    future: _Reply


@attrs.frozen
class _Session:
    """Hold the thread for a multi-step transaction driven from the event loop."""

    begin: str
    requests: queue.SimpleQueue[_Request]
    started: concurrent.futures.Future[None]


@attrs.frozen
class _Request:
    """One step of a session: a call, or its end (`end` is "COMMIT" or "ROLLBACK")."""

    fn: Callable[[sqlite3.Connection], Any] | None
    end: str | None
    future: concurrent.futures.Future[Any]


class _CommitCount:
    """Commits by every SQLite connection this process writes with, any database."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()  # the writer threads and the loop bump it

    def bump(self) -> None:
        with self._lock:
            self.value += 1


PROCESS_COMMITS = _CommitCount()

_STOP = object()
_Job = _Unit | _Read | _Session
_BUSY: tuple[bool, Any] = (False, None)
"""An inline attempt's answer when the connection is held: hand the work to a thread."""


def _run_on(raw: sqlite3.Connection, fn: Callable[[Connection], Awaitable[T]], write: bool) -> T:
    """One transaction on this thread, begun by the caller; ended here."""
    try:
        result = drive(fn(ThreadConnection(raw)))
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    if not write:
        raw.execute("ROLLBACK")
        return result
    try:
        raw.execute("COMMIT")
    except sqlite3.Error as exc:
        raw.execute("ROLLBACK")
        raise _translate(exc) from exc
    return result


def _attempt(
    raw: sqlite3.Connection, fn: Callable[[Connection], Awaitable[T]], write: bool
) -> tuple[bool, Any]:
    """One transaction on this thread, without waiting for a lock: `(True, result)`,
    or `_BUSY` when a lock was held at the start or midway (then nothing stands,
    and it only touched the database: a thread that may wait runs it again)."""
    try:
        raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error as exc:
        error = _translate(exc)
        if isinstance(error, DatabaseBusy):
            return _BUSY
        raise error from exc
    try:
        return True, _run_on(raw, fn, write)
    except DatabaseBusy:
        return _BUSY


class _MetBusyLock(Exception):
    """A unit run on the loop's thread met a lock it may not wait for there."""


def _run_together(
    raw: sqlite3.Connection, group: Sequence[_Unit], *, undo_if_busy: bool = False
) -> list[tuple[_Unit, Any, BaseException | None]] | None:
    """Run `group` in the transaction the caller began, each unit in a savepoint of
    its own (a failing unit rolls back only itself), and commit: each unit's
    outcome. None when nothing stands and every caller was told why: a lone unit
    failed, or SQLite did (the COMMIT, a savepoint: everything is rolled back and
    every unit of the group gets the error, run or not). With `undo_if_busy`, a
    unit that meets a busy lock undoes the whole transaction and raises
    `_MetBusyLock`, nobody told: the caller hands the group to a thread that may
    wait.
    """
    outcomes: list[tuple[_Unit, Any, BaseException | None]] = []
    # A unit alone needs no savepoint: if it fails, the transaction is its own.
    alone = len(group) == 1
    try:
        for unit in group:
            if not unit.future.set_running_or_notify_cancel():
                continue
            if not alone:
                raw.execute("SAVEPOINT huarong_unit")
            try:
                result = unit.context.run(drive, unit.fn(ThreadConnection(raw)))
            except BaseException as exc:  # handed to the caller, never swallowed
                if undo_if_busy and isinstance(exc, DatabaseBusy):
                    raw.execute("ROLLBACK")
                    raise _MetBusyLock from None
                if alone:
                    raw.execute("ROLLBACK")
                    unit.future.set_exception(exc)
                    return None
                raw.execute("ROLLBACK TO SAVEPOINT huarong_unit")
                raw.execute("RELEASE SAVEPOINT huarong_unit")
                outcomes.append((unit, None, exc))
            else:
                if not alone:
                    # Released at once: left open, the savepoints of a group nest, and
                    # SQLite then journals far more (≈ 35 µs of CPU more per unit).
                    raw.execute("RELEASE SAVEPOINT huarong_unit")
                outcomes.append((unit, result, None))
        raw.execute("COMMIT")
    except sqlite3.Error as exc:
        error = _translate(exc)
        if raw.in_transaction:
            try:
                raw.execute("ROLLBACK")
            except sqlite3.Error as undo:  # the callers hear the first error
                log.error("storage.sqlite.rollback_failed", error=str(undo), after=str(exc))
        for unit in group:  # those that ran, the one running, and those not yet begun
            _fail(unit.future, error)
        return None
    return outcomes


class _Worker:
    """One thread that owns one sqlite3 connection and runs jobs in order."""

    def __init__(self, path: str, *, read_only: bool, name: str) -> None:
        self._path = path
        self._read_only = read_only
        self._jobs: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._opened: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.commits = 0
        """Transactions this worker committed; bumped before their callers hear of it."""
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._raw: sqlite3.Connection | None = None
        self._holding = threading.Lock()
        """Held by whichever thread uses the connection: this worker, or a quick unit."""
        self._busy_ms = BUSY_TIMEOUT_MS
        self.checkpoints: Checkpointer | None = None
        """Nudged every `EVERY_COMMITS` commits (a writer on a file)."""

    async def start(self) -> None:
        self._thread.start()
        await asyncio.wrap_future(self._opened)

    async def stop(self) -> None:
        self._jobs.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    def submit(self, job: _Job) -> None:
        self._jobs.put(job)

    @contextlib.contextmanager
    def _free_here(self) -> Iterator[sqlite3.Connection | None]:
        """The connection, for the calling thread, if no other work holds it right
        now (None if it does); its busy timeout is then 0: never wait on the loop."""
        if not self._holding.acquire(blocking=False):
            yield None
            return
        try:
            raw = self._raw
            if raw is not None and self._busy_ms != 0:
                raw.execute("PRAGMA busy_timeout = 0")
                self._busy_ms = 0
            yield raw
        finally:
            self._holding.release()

    def read_inline(self, fn: Callable[[Connection], Awaitable[T]]) -> tuple[bool, Any]:
        """Run the read `fn` on the calling thread if the connection is free right
        now: `(True, result)`; `_BUSY` when it is held, or the read met a busy lock
        (then read on the writer's thread, which may wait)."""
        with self._free_here() as raw:
            return _BUSY if raw is None else _attempt(raw, fn, write=False)

    def run_group_inline(self, group: Sequence[_Unit]) -> bool:
        """Run `group` as one transaction on the calling thread if the connection is
        free right now, telling each unit's caller its outcome; False when it is
        held (by this worker, or another process's write lock) or a unit met a
        busy lock midway: then nothing stands and nobody was told (submit them)."""
        with self._free_here() as raw:
            if raw is None:
                return False
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                error = _translate(exc)
                if isinstance(error, DatabaseBusy):
                    return False
                for unit in group:
                    _fail(unit.future, error)
                return True
            try:
                outcomes = _run_together(raw, group, undo_if_busy=True)
            except _MetBusyLock:
                return False
            if outcomes is None:
                return True  # every caller was told why
            self._committed()
        for unit, result, failure in outcomes:
            unit.future.settle_here(result, failure)
        return True

    def _committed(self) -> None:
        """Count a commit, before anyone hears of it (`commit_generation`)."""
        self.commits += 1
        PROCESS_COMMITS.bump()
        if self.checkpoints is not None and self.commits % EVERY_COMMITS == 0:
            self.checkpoints.nudge()

    # everything below runs on the worker thread

    def _open(self) -> sqlite3.Connection:
        raw = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        raw.row_factory = _dict_row
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        raw.execute("PRAGMA foreign_keys = ON")
        if self._path != ":memory:" and not self._read_only:
            _switch_to_wal(raw)
            raw.execute("PRAGMA synchronous = NORMAL")
            # Checkpoints run on a thread of their own (`sqlite_checkpoints`).
            raw.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_PAGES}")
        if self._read_only:
            raw.execute("PRAGMA query_only = ON")
        return raw

    def _main(self) -> None:
        try:
            raw = self._open()
        except sqlite3.Error as exc:
            self._opened.set_exception(exc)
            return
        self._raw = raw
        self._opened.set_result(None)
        pending: list[_Job | object] = []
        try:
            while True:
                job = pending.pop(0) if pending else self._jobs.get()
                if job is _STOP:
                    return
                _RELEASING.actions = []
                try:
                    with self._holding:
                        pending.extend(self._run_job(raw, job))
                finally:
                    actions, _RELEASING.actions = _RELEASING.actions, None
                    for action in actions:
                        action()
        finally:
            with self._holding:
                self._raw = None
                raw.close()

    def _run_job(self, raw: sqlite3.Connection, job: _Job | object) -> list[_Job | object]:
        """Run one job (a unit with those queued behind it); what was taken but not run."""
        if self._busy_ms != BUSY_TIMEOUT_MS:
            raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._busy_ms = BUSY_TIMEOUT_MS
        pending: list[_Job | object] = []
        if isinstance(job, _Unit):
            group = [job]
            while len(group) < MAX_GROUP:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if isinstance(more, _Unit):
                    group.append(more)
                else:
                    pending.append(more)
                    break
            self._run_group(raw, group)
        elif isinstance(job, _Read):
            self._run_read(raw, job)
        elif isinstance(job, _Session):
            self._run_session(raw, job)
        return pending

    def _run_group(self, raw: sqlite3.Connection, group: list[_Unit]) -> None:
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for unit in group:
                _fail(unit.future, _translate(exc))
            return
        outcomes = _run_together(raw, group)
        if outcomes is None:
            return  # each unit was told why
        self._committed()
        for unit, result, failure in outcomes:
            if failure is None:
                unit.future.set_result(result)
            else:
                unit.future.set_exception(failure)

    def _run_read(self, raw: sqlite3.Connection, job: _Read) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            raw.execute("BEGIN")
            try:
                result = job.context.run(drive, job.fn(ThreadConnection(raw)))
            finally:
                raw.execute("ROLLBACK")
        except BaseException as exc:  # handed to the caller
            job.future.set_exception(_translate(exc) if isinstance(exc, sqlite3.Error) else exc)
        else:
            job.future.set_result(result)

    def _run_session(self, raw: sqlite3.Connection, session: _Session) -> None:
        try:
            raw.execute(session.begin)
        except sqlite3.Error as exc:
            session.started.set_exception(_translate(exc))
            return
        session.started.set_result(None)
        while True:
            request = session.requests.get()
            if request.end is not None:
                try:
                    raw.execute(request.end)
                except sqlite3.Error as exc:
                    raw.execute("ROLLBACK")
                    error = _translate(exc)
                    _after_release(functools.partial(request.future.set_exception, error))
                else:
                    if request.end == "COMMIT":
                        self._committed()
                    _after_release(functools.partial(request.future.set_result, None))
                return
            assert request.fn is not None
            try:
                request.future.set_result(request.fn(raw))
            except BaseException as exc:  # handed to the caller
                failure = _translate(exc) if isinstance(exc, sqlite3.Error) else exc
                request.future.set_exception(failure)


def _fail(future: _Reply, error: BaseException) -> None:
    if future.set_running_or_notify_cancel():
        future.set_exception(error)


class SessionConnection(Connection):
    """A connection used from the event loop: each call is one hop to its thread."""

    dialect: Dialect = "sqlite"

    def __init__(self, requests: queue.SimpleQueue[_Request]) -> None:
        self._requests = requests

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._requests.put(_Request(fn, None, future))
        return await asyncio.wrap_future(future)

    async def execute(self, sql: str, *args: Any) -> None:
        text, values = to_sqlite_params(sql), _adapt(args)
        await self._call(lambda raw: raw.execute(text, values) and None)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        text, values = to_sqlite_params(sql), [_adapt(a) for a in args]
        await self._call(lambda raw: raw.executemany(text, values) and None)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        text, values = to_sqlite_params(sql), _adapt(args)
        rows: list[Row] = await self._call(lambda raw: raw.execute(text, values).fetchall())
        return rows

    async def execute_script(self, script: str) -> None:
        for statement in _split_statements(script):
            await self.execute(statement)


def _switch_to_wal(raw: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting out another process that holds a lock.

    Changing the journal mode answers "database is locked" at once, without the
    busy handler, while another process is creating or migrating the same file.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            raw.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class _LoopReader:
    """A read-only connection for the event loop's thread: quick reads without a hop,
    and the file's `data_version`. Never waits: when busy it says so, and the
    caller hands the read to a reader thread."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw
        self._holding = threading.Lock()

    @classmethod
    def open(cls, path: str) -> _LoopReader:
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        raw.row_factory = _dict_row
        raw.execute("PRAGMA busy_timeout = 0")
        raw.execute("PRAGMA query_only = ON")
        return cls(raw)

    def data_version(self) -> int | None:
        with self._holding:
            row = self._raw.execute("PRAGMA data_version").fetchone()
        return None if row is None else int(row["data_version"])

    def run_inline(self, fn: Callable[[Connection], Awaitable[T]]) -> tuple[bool, Any]:
        if not self._holding.acquire(blocking=False):
            return _BUSY
        try:
            return _attempt(self._raw, fn, write=False)
        finally:
            self._holding.release()

    def close(self) -> None:
        with self._holding:
            self._raw.close()


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, url: SqliteURL, *, readers: int = 2) -> None:
        self.url = self._sqlite_url = url
        self._readers_wanted = 0 if url.in_memory else readers
        self._writer: _Worker | None = None
        self._readers: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all_readers: list[_Worker] = []
        self._loop_reader: _LoopReader | None = None
        self._checkpoints: Checkpointer | None = None
        self._version_this_turn: int | None = None
        self._this_turn: list[_Unit] = []
        """Quick units waiting for the end of this turn of the loop (`_commit_turn`)."""

    async def _worker(self, *, read_only: bool, name: str) -> _Worker:
        worker = _Worker(self._sqlite_url.path, read_only=read_only, name=name)
        try:
            await worker.start()
        except sqlite3.Error as exc:
            raise DatabaseUnreachable(url=self.url.redacted(), detail=str(exc)) from exc
        return worker

    async def start(self) -> None:
        if self._writer is not None:
            return
        if not self._sqlite_url.in_memory:
            parent = await asyncio.to_thread(_missing_parent, self._sqlite_url.path)
            if parent is not None:
                raise DatabaseUnreachable(
                    url=self.url.redacted(), detail=f"directory {parent} does not exist"
                )
        self._writer = await self._worker(read_only=False, name="huarong-sqlite-writer")
        try:
            for number in range(self._readers_wanted):
                reader = await self._worker(read_only=True, name=f"huarong-sqlite-reader-{number}")
                self._all_readers.append(reader)
                self._readers.put_nowait(reader)
            if not self._sqlite_url.in_memory:
                self._loop_reader = await asyncio.to_thread(_LoopReader.open, self._sqlite_url.path)
                writer = self._writer
                self._checkpoints = Checkpointer(self._sqlite_url.path, lambda: writer.commits)
                self._checkpoints.start()
                writer.checkpoints = self._checkpoints
        except BaseException:
            await self.stop()
            raise
        log.debug(
            "storage.sqlite.started", path=self._sqlite_url.path, readers=self._readers_wanted
        )

    async def commit_generation(self) -> Hashable | None:
        """The file's `data_version` as a connection of its own sees it (it changes
        with every commit by any other connection or process), with this process's
        own commit count; in memory, where this process's writer is the only
        connection, its commits.

        `data_version` costs a statement and three system calls, so it is read
        once per turn of the event loop: every request handled in a turn arrived
        before the turn began, so a commit by another process that lands during
        the turn is concurrent with them, and answering from just before it is
        correct; the next turn reads it again. This process's commits (any of its
        databases, any thread) count at once, through `PROCESS_COMMITS`.
        """
        if self._writer is None:
            return None
        if self._loop_reader is None:
            return self._writer.commits
        version = self._version_this_turn
        if version is None:
            try:
                version = self._loop_reader.data_version()
            except sqlite3.Error as exc:
                log.warning("storage.sqlite.data_version_failed", error=str(exc))
                return None
            self._version_this_turn = version
            asyncio.get_running_loop().call_soon(self._forget_version)
        return (version, PROCESS_COMMITS.value)

    def _forget_version(self) -> None:
        self._version_this_turn = None

    async def stop(self) -> None:
        if self._checkpoints is not None:
            checkpoints, self._checkpoints = self._checkpoints, None
            if self._writer is not None:
                self._writer.checkpoints = None
            await asyncio.to_thread(checkpoints.stop)
        if self._loop_reader is not None:
            loop_reader, self._loop_reader = self._loop_reader, None
            loop_reader.close()
        for reader in self._all_readers:
            await reader.stop()
        self._all_readers.clear()
        self._readers = asyncio.Queue()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await writer.stop()

    def _require_writer(self) -> _Worker:
        if self._writer is None:
            raise RuntimeError("database is not started; use `async with` or call start()")
        return self._writer

    async def run(self, unit: Callable[[Connection], Awaitable[T]], *, quick: bool = False) -> T:
        writer = self._require_writer()
        reply = _Reply(asyncio.get_running_loop())
        job = _Unit(unit, contextvars.copy_context(), reply)
        if quick:
            self._this_turn.append(job)
            if len(self._this_turn) == 1:
                reply.loop.call_soon(self._commit_turn)
        else:
            writer.submit(job)
        result: T = await reply.future
        return result

    def _commit_turn(self) -> None:
        """The quick units asked for in one turn of the loop, committed together on
        the loop's thread (in groups of at most `MAX_GROUP`), or handed to the
        writer thread while the connection is held."""
        units, self._this_turn = self._this_turn, []
        writer = self._writer
        if writer is None:
            for unit in units:
                _fail(unit.future, RuntimeError("the database was stopped"))
            return
        for start in range(0, len(units), MAX_GROUP):
            group = units[start : start + MAX_GROUP]
            if not writer.run_group_inline(group):
                for unit in group:
                    writer.submit(unit)

    async def run_read(self, fn: Callable[[Connection], Awaitable[T]], *, quick: bool = False) -> T:
        if quick:
            if self._loop_reader is not None:
                ran, value = self._loop_reader.run_inline(fn)
            else:  # in memory: the writer's connection is the only one
                ran, value = self._require_writer().read_inline(fn)
            if ran:
                done: T = value
                return done
        reply = _Reply(asyncio.get_running_loop())
        job = _Read(fn, contextvars.copy_context(), reply)
        if not self._all_readers:
            self._require_writer().submit(job)
        else:
            reader = await self._readers.get()
            try:
                reader.submit(job)
            finally:
                # The reader runs jobs in order, so it can take the next caller now.
                self._readers.put_nowait(reader)
        result: T = await reply.future
        return result

    @asynccontextmanager
    async def _session(self, worker: _Worker, begin: str) -> AsyncIterator[Connection]:
        requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        worker.submit(_Session(begin, requests, started))
        await asyncio.wrap_future(started)
        end = "ROLLBACK"
        try:
            yield SessionConnection(requests)
            end = "COMMIT" if begin != "BEGIN" else "ROLLBACK"
        finally:
            done: concurrent.futures.Future[None] = concurrent.futures.Future()
            requests.put(_Request(None, end, done))
            await asyncio.wrap_future(done)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._session(self._require_writer(), "BEGIN IMMEDIATE") as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        if not self._all_readers:
            async with self._session(self._require_writer(), "BEGIN") as conn:
                yield conn
            return
        reader = await self._readers.get()
        try:
            async with self._session(reader, "BEGIN") as conn:
                yield conn
        finally:
            self._readers.put_nowait(reader)

    async def lock_for_migration(self, conn: Connection) -> None:
        """`BEGIN IMMEDIATE` already holds the only write lock there is."""
