"""The adapters' inbox and their small durable values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime, dumps, loads


@attrs.frozen
class InboxItem:
    seq: int
    source: str
    delivery_id: str
    payload: Any
    received_at: datetime
    attempts: int
    handled_at: datetime | None = None
    error: str | None = None


def _item(row: Row) -> InboxItem:
    return InboxItem(
        seq=int(row["id"]),
        source=row["source"],
        delivery_id=row["delivery_id"],
        payload=loads(row["payload"]),
        received_at=as_datetime(row["received_at"]),
        attempts=int(row["attempts"]),
        handled_at=as_optional_datetime(row["handled_at"]),
        error=row["error"],
    )


class InboxRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def put(
        self, source: str, delivery_id: str, payload: Any, now: datetime, encoded: str | None = None
    ) -> bool:
        """Record an input (`encoded`: its JSON as it arrived, if the caller has it); False
        when it was recorded before (a redelivery)."""
        row = await self._conn.fetchrow(
            "INSERT INTO inbox (community_id, source, delivery_id, payload, received_at)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (community_id, source, delivery_id) DO NOTHING RETURNING id",
            self._cid,
            source,
            delivery_id,
            dumps(payload) if encoded is None else encoded,
            now,
        )
        return row is not None

    async def get(self, source: str, delivery_id: str) -> InboxItem | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM inbox WHERE community_id = $1 AND source = $2 AND delivery_id = $3",
            self._cid,
            source,
            delivery_id,
        )
        return None if row is None else _item(row)

    async def unhandled(self, source: str, limit: int) -> list[InboxItem]:
        rows = await self._conn.fetch(
            "SELECT * FROM inbox WHERE community_id = $1 AND source = $2"
            " AND handled_at IS NULL ORDER BY id LIMIT $3",
            self._cid,
            source,
            limit,
        )
        return [_item(r) for r in rows]

    async def handled(self, seq: int, now: datetime, error: str | None = None) -> None:
        await self._conn.execute(
            "UPDATE inbox SET handled_at = $3, error = $4 WHERE community_id = $1 AND id = $2",
            self._cid,
            seq,
            now,
            error,
        )

    async def handled_many(self, seqs: Sequence[int], now: datetime) -> None:
        """Mark several handled in one prepared statement (a drained batch)."""
        await self._conn.executemany(
            "UPDATE inbox SET handled_at = $3, error = NULL WHERE community_id = $1 AND id = $2",
            [(self._cid, seq, now) for seq in seqs],
        )

    async def failed(self, seq: int, error: str) -> int:
        """Count a failed attempt; the attempts so far."""
        row = await self._conn.fetchrow(
            "UPDATE inbox SET attempts = attempts + 1, error = $3"
            " WHERE community_id = $1 AND id = $2 RETURNING attempts",
            self._cid,
            seq,
            error,
        )
        return 0 if row is None else int(row["attempts"])


class AdapterStateRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def get(self, adapter: str, key: str) -> str | None:
        value = await self._conn.fetchval(
            "SELECT value FROM adapter_state WHERE community_id = $1 AND adapter = $2 AND key = $3",
            self._cid,
            adapter,
            key,
        )
        return None if value is None else str(value)

    async def set(self, adapter: str, key: str, value: str, now: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO adapter_state (community_id, adapter, key, value, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, adapter, key)"
            " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            self._cid,
            adapter,
            key,
            value,
            now,
        )

    async def add(self, adapter: str, key: str, value: str, now: datetime) -> str | None:
        """Set `key` only if it has no value; the value it already had, if any."""
        inserted = await self._conn.fetchval(
            "INSERT INTO adapter_state (community_id, adapter, key, value, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, adapter, key) DO NOTHING"
            " RETURNING key",
            self._cid,
            adapter,
            key,
            value,
            now,
        )
        if inserted is not None:
            return None
        return await self.get(adapter, key)

    async def delete(self, adapter: str, key: str) -> None:
        await self._conn.execute(
            "DELETE FROM adapter_state WHERE community_id = $1 AND adapter = $2 AND key = $3",
            self._cid,
            adapter,
            key,
        )

    async def prune(self, adapter: str, prefix: str, before: datetime) -> int:
        rows = await self._conn.fetch(
            "DELETE FROM adapter_state WHERE community_id = $1 AND adapter = $2"
            " AND substr(key, 1, $3) = $4 AND updated_at < $5 RETURNING key",
            self._cid,
            adapter,
            len(prefix),
            prefix,
            before,
        )
        return len(rows)
