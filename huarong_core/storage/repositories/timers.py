"""Persisted timers: due reminders, closings and session generation.

A timer is a row keyed per community (`reminder:session:12:24h`), so
scheduling the same key again replaces it instead of adding a second one.
`claim_due` hands out due timers to one transaction at a time: on
PostgreSQL with `FOR UPDATE SKIP LOCKED`, so concurrent processes each take
different rows; on SQLite the single write lock already serializes them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime, dumps, loads

LAST_ERROR_LENGTH = 500
"""Characters of an error message kept in `last_error`."""


class TimerStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@attrs.frozen
class Timer:
    """A timer as its handler sees it."""

    id: int
    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int


@attrs.frozen
class TimerRecord:
    """A stored timer with its bookkeeping, for listings and diagnostics."""

    timer: Timer
    status: TimerStatus
    last_error: str | None
    created_at: datetime
    fired_at: datetime | None


_COLUMNS = "id, key, kind, due_at, payload, attempts"


def _timer(row: Row) -> Timer:
    payload = loads(row["payload"])
    return Timer(
        id=int(row["id"]),
        key=row["key"],
        kind=row["kind"],
        due_at=as_datetime(row["due_at"]),
        payload=payload if isinstance(payload, dict) else {},
        attempts=int(row["attempts"]),
    )


def _record(row: Row) -> TimerRecord:
    return TimerRecord(
        timer=_timer(row),
        status=TimerStatus(row["status"]),
        last_error=row["last_error"],
        created_at=as_datetime(row["created_at"]),
        fired_at=as_optional_datetime(row["fired_at"]),
    )


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching strings that start with `prefix` (escape character `\\`)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


# LIKE finds candidates (and can use an index on PostgreSQL); the substr()
# comparison makes the match exact, since SQLite's LIKE ignores ASCII case.
_PREFIX = "key LIKE $2 ESCAPE '\\' AND substr(key, 1, $3) = $4"


class TimerRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def schedule(
        self, key: str, kind: str, due_at: datetime, payload: Mapping[str, Any], now: datetime
    ) -> None:
        """Insert, or replace the timer with this key: pending again, no attempts, no error."""
        await self._conn.execute(
            "INSERT INTO timers (community_id, key, kind, due_at, payload, status, attempts,"
            " last_error, created_at, fired_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, NULL,"
            " $6, NULL) ON CONFLICT (community_id, key) DO UPDATE SET kind = excluded.kind,"
            " due_at = excluded.due_at, payload = excluded.payload, status = 'pending',"
            " attempts = 0, last_error = NULL, created_at = excluded.created_at,"
            " fired_at = NULL",
            self._cid,
            key,
            kind,
            due_at,
            dumps(dict(payload)),
            now,
        )

    async def unschedule(self, key_prefix: str) -> int:
        """Delete the pending timers whose key starts with `key_prefix`; how many."""
        rows = await self._conn.fetch(
            f"DELETE FROM timers WHERE community_id = $1 AND status = 'pending' AND {_PREFIX}"
            " RETURNING id",
            self._cid,
            like_prefix(key_prefix),
            len(key_prefix),
            key_prefix,
        )
        return len(rows)

    async def get(self, key: str) -> TimerRecord | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM timers WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _record(row)

    async def by_status(
        self, status: TimerStatus = TimerStatus.PENDING, key_prefix: str = "", limit: int = 500
    ) -> list[TimerRecord]:
        """Timers in `status`, soonest first (most recently fired first for `done`)."""
        order = "fired_at DESC, id DESC" if status is TimerStatus.DONE else "due_at, id"
        rows = await self._conn.fetch(
            f"SELECT * FROM timers WHERE community_id = $1 AND {_PREFIX} AND status = $5"
            f" ORDER BY {order} LIMIT $6",
            self._cid,
            like_prefix(key_prefix),
            len(key_prefix),
            key_prefix,
            status.value,
            limit,
        )
        return [_record(r) for r in rows]

    async def claim_due(self, now: datetime, limit: int) -> list[Timer]:
        """Up to `limit` pending timers due by `now`, soonest first, held for this transaction.

        On PostgreSQL the rows stay locked until the transaction ends and a
        concurrent claim skips them; a row another transaction fired in the
        meantime is re-checked under the lock and no longer matches.
        """
        lock = " FOR UPDATE SKIP LOCKED" if self._conn.dialect == "postgres" else ""
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM timers WHERE community_id = $1 AND status = 'pending'"
            f" AND due_at <= $2 ORDER BY due_at, id LIMIT $3{lock}",
            self._cid,
            now,
            limit,
        )
        return [_timer(r) for r in rows]

    async def mark_done(self, timer: Timer, now: datetime) -> bool:
        """Record that `timer` fired, unless its handler rescheduled or removed it."""
        row = await self._conn.fetchrow(
            "UPDATE timers SET status = 'done', fired_at = $3 WHERE community_id = $1"
            " AND id = $2 AND status = 'pending' AND kind = $4 AND due_at = $5 RETURNING id",
            self._cid,
            timer.id,
            now,
            timer.kind,
            timer.due_at,
        )
        return row is not None

    async def record_failure(
        self, timer_id: int, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        """Count a failed attempt: pending again at `retry_at`, or failed for good when None."""
        status = TimerStatus.FAILED if retry_at is None else TimerStatus.PENDING
        await self._conn.execute(
            "UPDATE timers SET attempts = $3, last_error = $4, status = $5,"
            " due_at = COALESCE($6, due_at) WHERE community_id = $1 AND id = $2",
            self._cid,
            timer_id,
            attempts,
            error[:LAST_ERROR_LENGTH],
            status.value,
            retry_at,
        )
