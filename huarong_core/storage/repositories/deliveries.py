"""Processed deliveries: a redelivered input finds its first answer here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from huarong_core.storage.base import Connection
from huarong_core.storage.codec import dumps, loads

PENDING = "pending"


@attrs.frozen
class StoredOutcome:
    outcome: str
    result: Any


class DeliveryRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def claim(self, source: str, delivery_id: str, now: datetime) -> bool:
        """Record the delivery as in progress; False when it was already processed.

        On PostgreSQL a concurrent claim of the same id waits for the first
        transaction and then sees its row, so exactly one of them runs.
        """
        row = await self._conn.fetchrow(
            "INSERT INTO deliveries (community_id, source, delivery_id, outcome, created_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, source, delivery_id)"
            " DO NOTHING RETURNING delivery_id",
            self._cid,
            source,
            delivery_id,
            PENDING,
            now,
        )
        return row is not None

    async def complete(self, source: str, delivery_id: str, outcome: str, result: Any) -> None:
        await self._conn.execute(
            "UPDATE deliveries SET outcome = $4, result = $5"
            " WHERE community_id = $1 AND source = $2 AND delivery_id = $3",
            self._cid,
            source,
            delivery_id,
            outcome,
            dumps(result),
        )

    async def record(
        self, source: str, delivery_id: str, outcome: str, result: Any, now: datetime
    ) -> None:
        """Store a finished outcome unless one is there already (used for failures)."""
        await self._conn.execute(
            "INSERT INTO deliveries (community_id, source, delivery_id, outcome, result,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (community_id, source, delivery_id) DO NOTHING",
            self._cid,
            source,
            delivery_id,
            outcome,
            dumps(result),
            now,
        )

    async def get(self, source: str, delivery_id: str) -> StoredOutcome | None:
        row = await self._conn.fetchrow(
            "SELECT outcome, result FROM deliveries WHERE community_id = $1 AND source = $2"
            " AND delivery_id = $3",
            self._cid,
            source,
            delivery_id,
        )
        return None if row is None else StoredOutcome(row["outcome"], loads(row["result"]))
