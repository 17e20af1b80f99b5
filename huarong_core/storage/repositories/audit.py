"""The audit log: appended to in the transaction of the change it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from huarong_core.domain.audit import Actor, AuditEntry
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, dumps, loads


def _entry(row: Row) -> AuditEntry:
    member_id = row["actor_member_id"]
    return AuditEntry(
        id=int(row["id"]),
        at=as_datetime(row["at"]),
        actor=Actor(
            label=row["actor_label"], member_id=None if member_id is None else int(member_id)
        ),
        action=row["action"],
        target=row["target"],
        details=loads(row["details"]),
    )


class AuditRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def append(
        self, actor: Actor, action: str, target: str, details: dict[str, Any], now: datetime
    ) -> None:
        await self._conn.execute(
            "INSERT INTO audit_log (community_id, at, actor_member_id, actor_label, action,"
            " target, details) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self._cid,
            now,
            actor.member_id,
            actor.label,
            action,
            target,
            dumps(details),
        )

    async def page(
        self, *, action: str | None, before_id: int | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first; page backwards with `before_id` (stable while entries are added)."""
        where = ["community_id = $1"]
        args: list[object] = [self._cid]
        if action:
            args.append(action)
            where.append(f"action = ${len(args)}")
        if before_id is not None:
            args.append(before_id)
            where.append(f"id < ${len(args)}")
        args.append(limit)
        rows = await self._conn.fetch(
            f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC"
            f" LIMIT ${len(args)}",
            *args,
        )
        return [_entry(r) for r in rows]

    async def count_recent(
        self, actor_label: str | None, action: str, target: str, since: datetime
    ) -> int:
        """How often `actor_label` (anyone, when None) did `action` on `target` since
        `since` (a short window: the scan follows the time index)."""
        by_actor = "" if actor_label is None else " AND actor_label = $5"
        return int(
            await self._conn.fetchval(
                "SELECT COUNT(*) FROM audit_log WHERE community_id = $1 AND at >= $2"
                f" AND action = $3 AND target = $4{by_actor}",
                self._cid,
                since,
                action,
                target,
                *(() if actor_label is None else (actor_label,)),
            )
        )

    async def count(self) -> int:
        return int(
            await self._conn.fetchval(
                "SELECT COUNT(*) AS n FROM audit_log WHERE community_id = $1", self._cid
            )
        )
