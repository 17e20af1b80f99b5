"""Notifications: one row per recipient of a relayed event, sent once by a worker.

`NotificationRepository` serves the relay of one community (it writes the
rows; the unique `(event, recipient)` key makes relaying an event again a
no-op) and anyone who wants to list what reached a member. `NotificationQueue`
serves the delivery workers across every community, with the same leases
and outcomes as announcement deliveries (`LeasedQueue`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from huarong_core.commands.announcements import DeliveryState
from huarong_core.notices.values import (
    ChatRecipient,
    Notice,
    Priority,
    message_to_json,
    recipient_key,
)
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime, dumps, loads
from huarong_core.storage.repositories.announcements import (
    LeasedQueue,
    QueuedRow,
    tried_platforms,
)


@attrs.frozen
class NotificationRecord:
    """A stored notification and how its delivery went."""

    id: int
    event_id: int
    kind: str
    recipient: str
    member_id: int | None
    chat: str | None
    """`platform:chat_id` for a group chat."""
    message: dict[str, Any]
    """The neutral message as stored (`notices.message_from_json` reads it)."""
    priority: Priority
    state: DeliveryState
    attempts: int
    platform: str | None
    last_error: str | None
    due_at: datetime
    sent_at: datetime | None
    created_at: datetime


def _record(row: Row) -> NotificationRecord:
    chat = None if row["chat_id"] is None else f"{row['chat_platform']}:{row['chat_id']}"
    return NotificationRecord(
        id=int(row["id"]),
        event_id=int(row["event_id"]),
        kind=row["kind"],
        recipient=row["recipient"],
        member_id=None if row["member_id"] is None else int(row["member_id"]),
        chat=chat,
        message=dict(loads(row["message"])),
        priority=Priority(row["priority"]),
        state=DeliveryState(row["state"]),
        attempts=int(row["attempts"]),
        platform=row["platform"],
        last_error=row["last_error"],
        due_at=as_datetime(row["due_at"]),
        sent_at=as_optional_datetime(row["sent_at"]),
        created_at=as_datetime(row["created_at"]),
    )


class NotificationRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def add(self, event_id: int, kind: str, notices: Sequence[Notice], now: datetime) -> int:
        """One row per notice, `pending` and due now; how many were new.

        A recipient who already has a row for `event_id` keeps it: relaying an
        event twice (a relay that died before marking it) writes nothing more.
        """
        added = 0
        for notice in notices:
            recipient = notice.recipient
            chat = recipient if isinstance(recipient, ChatRecipient) else None
            row = await self._conn.fetchrow(
                "INSERT INTO notifications (community_id, event_id, kind, recipient, member_id,"
                " chat_platform, chat_id, message, priority, state, attempts, due_at, tried,"
                " created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, ',', $10, $10)"
                " ON CONFLICT (community_id, event_id, recipient) DO NOTHING RETURNING id",
                self._cid,
                event_id,
                kind,
                recipient_key(recipient),
                None if chat is not None else recipient,
                None if chat is None else chat.platform,
                None if chat is None else chat.chat_id,
                dumps(message_to_json(notice.message)),
                notice.priority.value,
                now,
            )
            added += row is not None
        return added

    async def for_event(self, event_id: int) -> list[NotificationRecord]:
        rows = await self._conn.fetch(
            "SELECT * FROM notifications WHERE community_id = $1 AND event_id = $2 ORDER BY id",
            self._cid,
            event_id,
        )
        return [_record(r) for r in rows]

    async def for_member(
        self, member_id: int, *, before_id: int | None = None, limit: int = 50
    ) -> list[NotificationRecord]:
        """Newest first."""
        rows = await self._conn.fetch(
            "SELECT * FROM notifications WHERE community_id = $1 AND member_id = $2"
            " AND id < $3 ORDER BY id DESC LIMIT $4",
            self._cid,
            member_id,
            2**62 if before_id is None else before_id,
            limit,
        )
        return [_record(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self._conn.fetch(
            "SELECT state, COUNT(*) AS n FROM notifications WHERE community_id = $1 GROUP BY state",
            self._cid,
        )
        return {r["state"]: int(r["n"]) for r in rows}


# --- the queue (every community) --------------------------------------------------------


@attrs.frozen
class QueuedNotification(QueuedRow):
    event_id: int
    message: dict[str, Any]
    priority: Priority


@attrs.frozen
class NoticeSetting:
    """Where a notification is read: its community, and the reader's language and zone."""

    community_key: str
    locale: str
    timezone: str


class NotificationQueue(LeasedQueue):
    """The notifications of every community, as the workers see them: the most
    urgent first, then the oldest.

    A recipient's notifications go out one at a time, in the order they were
    written: a row waits while an earlier one to the same recipient is still
    `pending` (a retry included) or `sending`, so "accepted" never arrives
    after "resolved", and a chat gets one message from us at a time.
    """

    table = "notifications"

    async def due(
        self,
        now: datetime,
        platforms: Sequence[str],
        community_ids: Sequence[int] | None,
        limit: int,
    ) -> list[QueuedNotification]:
        rows = await self._due_rows(
            "d.community_id, d.id, d.event_id, d.member_id, d.chat_platform, d.chat_id,"
            " d.attempts, d.tried, d.message, d.priority",
            now,
            platforms,
            community_ids,
            limit,
            order="CASE d.priority WHEN 'urgent' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,"
            " d.due_at, d.id",
            also=" AND NOT EXISTS (SELECT 1 FROM notifications e"
            " WHERE e.community_id = d.community_id AND e.recipient = d.recipient"
            " AND e.id < d.id AND e.state IN ('pending', 'sending'))",
        )
        return [
            QueuedNotification(
                community_id=int(r["community_id"]),
                id=int(r["id"]),
                event_id=int(r["event_id"]),
                member_id=None if r["member_id"] is None else int(r["member_id"]),
                chat_platform=r["chat_platform"],
                chat_id=r["chat_id"],
                attempts=int(r["attempts"]),
                tried=tried_platforms(r["tried"]),
                message=dict(loads(r["message"])),
                priority=Priority(r["priority"]),
            )
            for r in rows
        ]

    async def setting(self, row: QueuedRow) -> NoticeSetting:
        """The member's language now (else the community's), and the community's zone."""
        found = await self._conn.fetchrow(
            "SELECT c.key, c.locale AS community_locale, c.timezone, m.locale AS member_locale"
            " FROM communities c LEFT JOIN members m ON m.community_id = c.id AND m.id = $2"
            " WHERE c.id = $1",
            row.community_id,
            row.member_id,
        )
        if found is None:
            raise LookupError(f"community #{row.community_id} is gone")
        return NoticeSetting(
            community_key=found["key"],
            locale=found["member_locale"] or found["community_locale"],
            timezone=found["timezone"],
        )


# --- what renderers look up beyond the area repositories ----------------------------------


@attrs.frozen
class AuditTrace:
    """An audit entry written by the unit that recorded an event (same instant)."""

    actor_member_id: int | None
    action: str
    details: dict[str, Any]


class NoticeLookups:
    """Read-only questions a renderer asks about the unit that recorded its event.

    Events carry ids, not actors; the audit entries of the same unit (same
    instant, same target) say who acted, so nobody is told what they just did.
    """

    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def audit_at(self, target: str, at: datetime) -> list[AuditTrace]:
        """Audit entries on `target` written at `at`, newest first."""
        rows = await self._conn.fetch(
            "SELECT actor_member_id, action, details FROM audit_log WHERE community_id = $1"
            " AND target = $2 AND at = $3 ORDER BY id DESC",
            self._cid,
            target,
            at,
        )
        return [
            AuditTrace(
                None if r["actor_member_id"] is None else int(r["actor_member_id"]),
                r["action"],
                dict(loads(r["details"])),
            )
            for r in rows
        ]

    async def survivor(self, member_id: int) -> tuple[int, str] | None:
        """The member that `member_id` now is (following merges) and its status."""
        seen: set[int] = set()
        current = member_id
        while current not in seen:
            seen.add(current)
            row = await self._conn.fetchrow(
                "SELECT status, merged_into FROM members WHERE community_id = $1 AND id = $2",
                self._cid,
                current,
            )
            if row is None:
                return None
            if row["merged_into"] is None:
                return current, str(row["status"])
            current = int(row["merged_into"])
        return None

    async def approved_pending(self, member_id: int, rule_key: str, source_id: str) -> bool:
        """Whether an award came from a pending one that staff approved."""
        value = await self._conn.fetchval(
            "SELECT 1 AS x FROM pending_awards WHERE community_id = $1 AND member_id = $2"
            " AND rule_key = $3 AND source_id = $4 AND status = 'approved'",
            self._cid,
            member_id,
            rule_key,
            source_id,
        )
        return value is not None
