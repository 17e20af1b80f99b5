"""Storage of announcements to an audience, delivered to each recipient once.

`AnnouncementRepository` serves one community's handlers. `DeliveryQueue`
serves the delivery workers, across every community of the database: it
claims due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers in
several processes never claim one row twice) and records what happened.
Every state change of a claimed row names the lease it was claimed under,
so a worker that lost its lease cannot overwrite another's outcome.
`LeasedQueue` holds what notifications (`repositories/notifications.py`)
share with announcement deliveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import attrs

from huarong_core.commands.announcements import (
    Announcement,
    Audience,
    AudienceKind,
    DeliveryRecord,
    DeliveryState,
    StationSubscription,
)
from huarong_core.domain.clubs import ChatBinding
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime, loads
from huarong_core.storage.repositories._helpers import placeholders

LAST_ERROR_LENGTH = 200

# Which active members an audience reaches; `$4` is the audience's key (or organization id).
_AUDIENCE_FILTER: dict[AudienceKind, str] = {
    AudienceKind.EVERYONE: "",
    AudienceKind.CLUB: (
        " AND EXISTS (SELECT 1 FROM club_members c WHERE c.community_id = m.community_id"
        " AND c.member_id = m.id AND c.club_key = $4 AND c.status = 'active')"
    ),
    AudienceKind.STATION: (
        " AND EXISTS (SELECT 1 FROM station_subscriptions s WHERE s.community_id = m.community_id"
        " AND s.member_id = m.id AND s.station_key = $4)"
    ),
    AudienceKind.ORGANIZATION: " AND m.organization_id = $4",
    AudienceKind.CATEGORY: (
        " AND EXISTS (SELECT 1 FROM member_categories c WHERE c.community_id = m.community_id"
        " AND c.member_id = m.id AND c.category_key = $4)"
    ),
}


def _announcement(row: Row) -> Announcement:
    return Announcement(
        id=int(row["id"]),
        audience=Audience.parse(row["audience"]),
        title=row["title"],
        body=row["body"],
        posted_by=row["posted_by"],
        posted_at=as_datetime(row["posted_at"]),
        members=int(row["members"]),
        chats=int(row["chats"]),
        scope=row["scope"],
        posted_by_member=None if row["posted_by_member"] is None else int(row["posted_by_member"]),
    )


def _record(row: Row) -> DeliveryRecord:
    chat = None if row["chat_id"] is None else f"{row['chat_platform']}:{row['chat_id']}"
    return DeliveryRecord(
        id=int(row["id"]),
        announcement_id=int(row["announcement_id"]),
        recipient=row["recipient"],
        state=DeliveryState(row["state"]),
        attempts=int(row["attempts"]),
        member_id=None if row["member_id"] is None else int(row["member_id"]),
        chat=chat,
        platform=row["platform"],
        last_error=row["last_error"],
        due_at=as_datetime(row["due_at"]),
        sent_at=as_optional_datetime(row["sent_at"]),
        updated_at=as_datetime(row["updated_at"]),
    )


def _subscription(row: Row) -> StationSubscription:
    return StationSubscription(
        row["station_key"], int(row["member_id"]), as_datetime(row["subscribed_at"])
    )


class AnnouncementRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    # --- station subscriptions ---------------------------------------------------

    async def subscribe(
        self, station_key: str, member_id: int, by: str, now: datetime
    ) -> StationSubscription | None:
        """Subscribe; `None` when the member already is."""
        row = await self._conn.fetchrow(
            "INSERT INTO station_subscriptions (community_id, station_key, member_id,"
            " subscribed_at, subscribed_by) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (community_id, station_key, member_id) DO NOTHING RETURNING *",
            self._cid,
            station_key,
            member_id,
            now,
            by,
        )
        return None if row is None else _subscription(row)

    async def unsubscribe(self, station_key: str, member_id: int) -> StationSubscription | None:
        row = await self._conn.fetchrow(
            "DELETE FROM station_subscriptions WHERE community_id = $1 AND station_key = $2"
            " AND member_id = $3 RETURNING *",
            self._cid,
            station_key,
            member_id,
        )
        return None if row is None else _subscription(row)

    async def subscriptions(self, member_id: int) -> list[StationSubscription]:
        rows = await self._conn.fetch(
            "SELECT * FROM station_subscriptions WHERE community_id = $1 AND member_id = $2"
            " ORDER BY station_key",
            self._cid,
            member_id,
        )
        return [_subscription(r) for r in rows]

    # --- announcements -------------------------------------------------------------

    async def insert(
        self,
        *,
        audience: Audience,
        scope: str,
        title: str,
        body: str,
        posted_by: str,
        posted_by_member: int | None,
        now: datetime,
    ) -> int:
        value = await self._conn.fetchval(
            "INSERT INTO announcements (community_id, audience, scope, title, body, posted_by,"
            " posted_by_member, posted_at, members, chats)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0) RETURNING id",
            self._cid,
            str(audience),
            scope,
            title,
            body,
            posted_by,
            posted_by_member,
            now,
        )
        return int(value)

    async def set_counts(self, announcement_id: int, members: int, chats: int) -> None:
        await self._conn.execute(
            "UPDATE announcements SET members = $3, chats = $4 WHERE community_id = $1 AND id = $2",
            self._cid,
            announcement_id,
            members,
            chats,
        )

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM announcements WHERE community_id = $1 AND id = $2",
            self._cid,
            announcement_id,
        )
        return None if row is None else _announcement(row)

    async def for_member(
        self, member_id: int, before_id: int | None, limit: int
    ) -> list[Announcement]:
        """Those addressed to the member, newest first."""
        rows = await self._conn.fetch(
            "SELECT a.* FROM announcements a WHERE a.community_id = $1 AND a.id < $3"
            " AND EXISTS (SELECT 1 FROM announcement_deliveries d"
            " WHERE d.community_id = a.community_id AND d.member_id = $2"
            " AND d.announcement_id = a.id)"
            " ORDER BY a.id DESC LIMIT $4",
            self._cid,
            member_id,
            _before(before_id),
            limit,
        )
        return [_announcement(r) for r in rows]

    async def recent(
        self,
        *,
        scopes: Sequence[str] | None,
        posted_by_member: int | None,
        before_id: int | None,
        limit: int,
    ) -> list[Announcement]:
        """Newest first: all (`scopes=None`), or those posted in `scopes` or by the member."""
        args: list[Any] = [self._cid, _before(before_id), limit]
        where = ""
        if scopes is not None:
            args.append(-1 if posted_by_member is None else posted_by_member)
            where = f" AND (a.posted_by_member = ${len(args)}"
            if scopes:
                where += f" OR a.scope IN ({placeholders(len(args) + 1, len(scopes))})"
                args.extend(scopes)
            where += ")"
        rows = await self._conn.fetch(
            f"SELECT a.* FROM announcements a WHERE a.community_id = $1 AND a.id < $2{where}"
            " ORDER BY a.id DESC LIMIT $3",
            *args,
        )
        return [_announcement(r) for r in rows]

    # --- deliveries ----------------------------------------------------------------

    async def add_member_deliveries(
        self, announcement_id: int, audience: Audience, key: str | int | None, now: datetime
    ) -> dict[str, int]:
        """One delivery per active member of the audience; how many per initial state.

        A member with no linked account at all is `unreachable` from the start;
        the others wait for a worker, which picks their platform when it sends.
        """
        args: list[Any] = [self._cid, announcement_id, now]
        if audience.kind is not AudienceKind.EVERYONE:
            args.append(key)
        rows = await self._conn.fetch(
            "INSERT INTO announcement_deliveries (community_id, announcement_id, recipient,"
            " member_id, state, attempts, due_at, tried, created_at, updated_at)"
            " SELECT m.community_id, $2, 'member:' || m.id, m.id,"
            " CASE WHEN EXISTS (SELECT 1 FROM identities i WHERE i.community_id = m.community_id"
            " AND i.member_id = m.id) THEN 'pending' ELSE 'unreachable' END, 0, $3, ',', $3, $3"
            " FROM members m WHERE m.community_id = $1 AND m.status = 'active'"
            f"{_AUDIENCE_FILTER[audience.kind]}"
            " ON CONFLICT (community_id, announcement_id, recipient) DO NOTHING RETURNING state",
            *args,
        )
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        return counts

    async def add_chat_deliveries(
        self, announcement_id: int, chats: Sequence[ChatBinding], now: datetime
    ) -> int:
        """One delivery per bound chat; how many were added."""
        added = 0
        for chat in chats:
            row = await self._conn.fetchrow(
                "INSERT INTO announcement_deliveries (community_id, announcement_id, recipient,"
                " chat_platform, chat_id, state, attempts, due_at, tried, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, ',', $6, $6)"
                " ON CONFLICT (community_id, announcement_id, recipient) DO NOTHING RETURNING id",
                self._cid,
                announcement_id,
                f"chat:{chat.platform}:{chat.chat_id}",
                chat.platform,
                chat.chat_id,
                now,
            )
            added += row is not None
        return added

    async def all_chats(self) -> list[ChatBinding]:
        """Every chat bound to any club of the community."""
        rows = await self._conn.fetch(
            "SELECT club_key, platform, chat_id FROM club_chats WHERE community_id = $1"
            " ORDER BY platform, chat_id",
            self._cid,
        )
        return [ChatBinding(r["club_key"], r["platform"], r["chat_id"]) for r in rows]

    async def counts(self, announcement_id: int) -> dict[str, int]:
        rows = await self._conn.fetch(
            "SELECT state, COUNT(*) AS n FROM announcement_deliveries"
            " WHERE community_id = $1 AND announcement_id = $2 GROUP BY state",
            self._cid,
            announcement_id,
        )
        return {r["state"]: int(r["n"]) for r in rows}

    async def deliveries(
        self,
        announcement_id: int,
        *,
        states: Sequence[DeliveryState] = (),
        member_id: int | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[DeliveryRecord], int]:
        args: list[Any] = [self._cid, announcement_id]
        where = "community_id = $1 AND announcement_id = $2"
        if states:
            where += f" AND state IN ({placeholders(len(args) + 1, len(states))})"
            args.extend(s.value for s in states)
        if member_id is not None:
            args.append(member_id)
            where += f" AND member_id = ${len(args)}"
        total = await self._conn.fetchval(
            f"SELECT COUNT(*) AS n FROM announcement_deliveries WHERE {where}", *args
        )
        rows = await self._conn.fetch(
            f"SELECT * FROM announcement_deliveries WHERE {where} ORDER BY id"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        return [_record(r) for r in rows], int(total)


def _before(before_id: int | None) -> int:
    return 2**62 if before_id is None else before_id


# --- the delivery queue (every community) -------------------------------------------


@attrs.frozen
class QueuedRow:
    """A due row of a delivery table (an announcement's or a notification's), as a
    worker finds it, before it picks where to send it."""

    community_id: int
    id: int
    member_id: int | None
    chat_platform: str | None
    chat_id: str | None
    attempts: int
    tried: frozenset[str]


@attrs.frozen
class QueuedDelivery(QueuedRow):
    announcement_id: int


@attrs.frozen
class MessageParts:
    """What the message of one delivery is made of."""

    community_key: str
    community_name: dict[str, str]
    locale: str
    title: str
    body: str


def tried_platforms(text: str) -> frozenset[str]:
    return frozenset(p for p in text.split(",") if p)


class LeasedQueue:
    """Claiming, leasing and settling rows of one per-recipient delivery table.

    Announcement deliveries and notifications keep the same columns for this
    (`state`, `lease_id`, `lease_until`, `attempts`, `tried`, `due_at`, ...),
    so one worker drives both with the same guarantees.
    """

    table: ClassVar[str] = ""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def expire_leases(self, now: datetime) -> int:
        """Mark `unknown` what is still `sending` past its lease: its worker died mid-send.

        It is not sent again: whether it arrived cannot be known, and a member
        must never get the same message twice.
        """
        expired = "state = 'sending' AND lease_until < $1"
        if self._conn.dialect == "postgres":
            # Rows another worker is expiring right now are its business: skipping them
            # keeps two workers from waiting on (or deadlocking over) the same rows.
            expired = (
                f"(community_id, id) IN (SELECT community_id, id FROM {self.table}"
                f" WHERE {expired} FOR UPDATE SKIP LOCKED)"
            )
        rows = await self._conn.fetch(
            f"UPDATE {self.table} SET state = 'unknown', last_error = 'lease_expired',"
            f" updated_at = $1 WHERE {expired} RETURNING id",
            now,
        )
        return len(rows)

    async def _due_rows(
        self,
        columns: str,
        now: datetime,
        platforms: Sequence[str],
        community_ids: Sequence[int] | None,
        limit: int,
        order: str = "d.due_at, d.id",
        also: str = "",
    ) -> list[Row]:
        """Pending rows due by `now` that one of `platforms` could send, held until the
        transaction ends (a concurrent claim on PostgreSQL skips them).

        A member's row qualifies when the member has an account on one of
        `platforms` not yet tried, or no account at all (to be marked unreachable).
        `also` is a further condition on `d`.
        """
        args: list[Any] = [now, limit]
        marks = placeholders(len(args) + 1, len(platforms))
        args.extend(platforms)
        where = ""
        if community_ids is not None:
            where = f" AND d.community_id IN ({placeholders(len(args) + 1, len(community_ids))})"
            args.extend(community_ids)
        lock = " FOR UPDATE SKIP LOCKED" if self._conn.dialect == "postgres" else ""
        return await self._conn.fetch(
            f"SELECT {columns} FROM {self.table} d"
            f" WHERE d.state = 'pending' AND d.due_at <= $1{where}{also} AND ("
            f"(d.member_id IS NULL AND d.chat_platform IN ({marks}))"
            " OR (d.member_id IS NOT NULL AND (NOT EXISTS (SELECT 1 FROM identities i"
            " WHERE i.community_id = d.community_id AND i.member_id = d.member_id)"
            " OR EXISTS (SELECT 1 FROM identities i WHERE i.community_id = d.community_id"
            f" AND i.member_id = d.member_id AND i.platform IN ({marks})"
            " AND replace(d.tried, ',' || i.platform || ',', '') = d.tried))))"
            f" ORDER BY {order} LIMIT $2{lock}",
            *args,
        )

    async def identities(self, community_id: int, member_id: int) -> list[tuple[str, str]]:
        """The member's accounts that their platforms still reach: (platform, external id),
        in a stable order. An account whose member blocked the bot is left out until
        they reach it again (`SetAccountReachable`)."""
        rows = await self._conn.fetch(
            "SELECT platform, external_id FROM identities WHERE community_id = $1"
            " AND member_id = $2 AND unreachable_at IS NULL ORDER BY platform, external_id",
            community_id,
            member_id,
        )
        return [(r["platform"], r["external_id"]) for r in rows]

    async def mark_sending(
        self,
        row: QueuedRow,
        *,
        lease_id: str,
        lease_until: datetime,
        platform: str,
        address: str,
        now: datetime,
    ) -> bool:
        found = await self._conn.fetchrow(
            f"UPDATE {self.table} SET state = 'sending', lease_id = $3,"
            " lease_until = $4, attempts = attempts + 1, platform = $5, address = $6,"
            " updated_at = $7 WHERE community_id = $1 AND id = $2 AND state = 'pending'"
            " RETURNING id",
            row.community_id,
            row.id,
            lease_id,
            lease_until,
            platform,
            address,
            now,
        )
        return found is not None

    async def mark_unreachable(self, row: QueuedRow, now: datetime) -> None:
        await self._conn.execute(
            f"UPDATE {self.table} SET state = 'unreachable', last_error = 'no_account',"
            " updated_at = $3 WHERE community_id = $1 AND id = $2 AND state = 'pending'",
            row.community_id,
            row.id,
            now,
        )

    async def mark_failed(self, row: QueuedRow, error: str, now: datetime) -> None:
        """Give up on a pending row that cannot be sent at all (its message is unreadable)."""
        await self._conn.execute(
            f"UPDATE {self.table} SET state = 'failed', last_error = $3, updated_at = $4"
            " WHERE community_id = $1 AND id = $2 AND state = 'pending'",
            row.community_id,
            row.id,
            error[:LAST_ERROR_LENGTH],
            now,
        )

    async def finish(
        self,
        community_id: int,
        row_id: int,
        lease_id: str,
        state: DeliveryState,
        *,
        now: datetime,
        error: str | None = None,
        due_at: datetime | None = None,
        tried: str | None = None,
    ) -> bool:
        """Record the outcome of the attempt made under `lease_id`.

        A row marked `unknown` because the lease ran out meanwhile takes the
        real outcome when it comes after all; a row claimed again under
        another lease is left alone (False).
        """
        found = await self._conn.fetchrow(
            f"UPDATE {self.table} SET state = $4, last_error = $5,"
            " due_at = COALESCE($6, due_at), tried = COALESCE($7, tried),"
            " sent_at = CASE WHEN $4 = 'sent' THEN $8 ELSE sent_at END,"
            " lease_id = NULL, lease_until = NULL, updated_at = $8"
            " WHERE community_id = $1 AND id = $2 AND lease_id = $3"
            " AND state IN ('sending', 'unknown') RETURNING id",
            community_id,
            row_id,
            lease_id,
            state.value,
            None if error is None else error[:LAST_ERROR_LENGTH],
            due_at,
            tried,
            now,
        )
        return found is not None

    async def has_other_accounts(
        self, community_id: int, member_id: int, tried: frozenset[str]
    ) -> bool:
        """Whether the member has an account on a platform not in `tried`."""
        return any(p not in tried for p, _ in await self.identities(community_id, member_id))


class DeliveryQueue(LeasedQueue):
    """The announcement deliveries of every community, as the workers see them."""

    table = "announcement_deliveries"

    async def due(
        self,
        now: datetime,
        platforms: Sequence[str],
        community_ids: Sequence[int] | None,
        limit: int,
    ) -> list[QueuedDelivery]:
        rows = await self._due_rows(
            "d.community_id, d.id, d.announcement_id, d.member_id, d.chat_platform,"
            " d.chat_id, d.attempts, d.tried",
            now,
            platforms,
            community_ids,
            limit,
        )
        return [
            QueuedDelivery(
                community_id=int(r["community_id"]),
                id=int(r["id"]),
                announcement_id=int(r["announcement_id"]),
                member_id=None if r["member_id"] is None else int(r["member_id"]),
                chat_platform=r["chat_platform"],
                chat_id=r["chat_id"],
                attempts=int(r["attempts"]),
                tried=tried_platforms(r["tried"]),
            )
            for r in rows
        ]

    async def message_parts(self, delivery: QueuedDelivery) -> MessageParts:
        row = await self._conn.fetchrow(
            "SELECT c.key AS community_key, c.name AS community_name, c.locale AS community_locale,"
            " a.title, a.body, m.locale AS member_locale FROM announcements a"
            " JOIN communities c ON c.id = a.community_id"
            " LEFT JOIN members m ON m.community_id = a.community_id AND m.id = $3"
            " WHERE a.community_id = $1 AND a.id = $2",
            delivery.community_id,
            delivery.announcement_id,
            delivery.member_id,
        )
        if row is None:
            raise LookupError(f"announcement #{delivery.announcement_id} is gone")
        name = row["community_name"]
        return MessageParts(
            community_key=row["community_key"],
            community_name=dict(loads(name) if isinstance(name, str) else name),
            locale=row["member_locale"] or row["community_locale"],
            title=row["title"],
            body=row["body"],
        )
