"""The outbox: events committed with the change, relayed after the commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import attrs

from huarong_core.storage.base import Connection
from huarong_core.storage.codec import as_datetime, dumps, loads
from huarong_core.storage.repositories._helpers import placeholders


@attrs.frozen
class OutboxMessage:
    id: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


class OutboxRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def append(self, kind: str, payload: dict[str, Any], now: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO outbox (community_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)",
            self._cid,
            kind,
            dumps(payload),
            now,
        )

    async def append_many(self, messages: list[tuple[str, dict[str, Any]]], now: datetime) -> None:
        """Several events in one statement call (a unit usually records one or a batch)."""
        if len(messages) == 1:
            kind, payload = messages[0]
            await self.append(kind, payload, now)
            return
        if self._conn.dialect == "postgres":
            await self._conn.execute(
                "INSERT INTO outbox (community_id, kind, payload, created_at)"
                " SELECT $1, u.k, u.p, $2 FROM unnest($3::text[], $4::jsonb[]) WITH ORDINALITY"
                " AS u(k, p, n)"
                " ORDER BY u.n",
                self._cid,
                now,
                [kind for kind, _ in messages],
                [dumps(payload) for _, payload in messages],
            )
            return
        await self._conn.executemany(
            "INSERT INTO outbox (community_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)",
            [(self._cid, kind, dumps(payload), now) for kind, payload in messages],
        )

    async def pending(
        self, limit: int = 100, *, skip_locked: bool = False, exclude: Collection[int] = ()
    ) -> list[OutboxMessage]:
        """Undispatched messages, oldest first.

        `skip_locked` holds them until the transaction ends and, on PostgreSQL,
        passes over those another relay holds (so two relays share the work
        instead of waiting on each other); `exclude` leaves out ids already
        tried in this pass.
        """
        args: list[Any] = [self._cid, limit]
        where = ""
        if exclude:
            where = f" AND id NOT IN ({placeholders(3, len(exclude))})"
            args.extend(exclude)
        lock = " FOR UPDATE SKIP LOCKED" if skip_locked and self._conn.dialect == "postgres" else ""
        rows = await self._conn.fetch(
            "SELECT id, kind, payload, created_at, attempts FROM outbox"
            f" WHERE community_id = $1 AND dispatched_at IS NULL{where} ORDER BY id LIMIT $2{lock}",
            *args,
        )
        return [
            OutboxMessage(
                int(r["id"]),
                r["kind"],
                loads(r["payload"]),
                as_datetime(r["created_at"]),
                int(r["attempts"]),
            )
            for r in rows
        ]

    async def mark_dispatched(self, ids: Sequence[int], now: datetime) -> None:
        await self._conn.executemany(
            "UPDATE outbox SET dispatched_at = $3, attempts = attempts + 1"
            " WHERE community_id = $1 AND id = $2",
            [(self._cid, message_id, now) for message_id in ids],
        )

    async def record_attempt(self, ids: Sequence[int]) -> None:
        """Count a failed try at relaying these (they stay undispatched)."""
        await self._conn.executemany(
            "UPDATE outbox SET attempts = attempts + 1 WHERE community_id = $1 AND id = $2",
            [(self._cid, message_id) for message_id in ids],
        )
