"""Clubs, their members and the chats bound to them."""

from __future__ import annotations

from datetime import datetime

from huarong_core.domain.clubs import (
    ChatBinding,
    Club,
    ClubMembership,
    JoinPolicy,
    MembershipStatus,
)
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import (
    as_datetime,
    as_optional_datetime,
    dumps,
    optional_text,
    stored_text,
)


def _club(row: Row) -> Club:
    name = optional_text(row["name"])
    assert name is not None
    return Club(
        key=row["key"],
        name=name,
        description=optional_text(row["description"]),
        station=row["station"],
        join_policy=JoinPolicy(row["join_policy"]),
    )


def _membership(row: Row) -> ClubMembership:
    return ClubMembership(
        club_key=row["club_key"],
        member_id=int(row["member_id"]),
        status=MembershipStatus(row["status"]),
        requested_at=as_datetime(row["requested_at"]),
        decided_at=as_optional_datetime(row["decided_at"]),
        decided_by=row["decided_by"],
    )


def _binding(row: Row) -> ChatBinding:
    return ChatBinding(club_key=row["club_key"], platform=row["platform"], chat_id=row["chat_id"])


class ClubRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def get(self, key: str) -> Club | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM clubs WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _club(row)

    async def all(self) -> list[Club]:
        rows = await self._conn.fetch(
            "SELECT * FROM clubs WHERE community_id = $1 ORDER BY key", self._cid
        )
        return [_club(r) for r in rows]

    async def save(self, club: Club, source: str, now: datetime) -> None:
        description = stored_text(club.description)
        await self._conn.execute(
            "INSERT INTO clubs (community_id, key, name, description, station, join_policy,"
            " source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
            " ON CONFLICT (community_id, key) DO UPDATE SET name = excluded.name,"
            " description = excluded.description, station = excluded.station,"
            " join_policy = excluded.join_policy, source = excluded.source,"
            " updated_at = excluded.updated_at",
            self._cid,
            club.key,
            dumps(club.name.as_dict()),
            description,
            club.station,
            club.join_policy.value,
            source,
            now,
        )

    async def counts(self) -> dict[str, dict[str, int]]:
        """Per club, how many members are in each membership status."""
        rows = await self._conn.fetch(
            "SELECT club_key, status, COUNT(*) AS n FROM club_members WHERE community_id = $1"
            " GROUP BY club_key, status",
            self._cid,
        )
        found: dict[str, dict[str, int]] = {}
        for row in rows:
            found.setdefault(row["club_key"], {})[row["status"]] = int(row["n"])
        return found

    async def membership(self, key: str, member_id: int) -> ClubMembership | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM club_members WHERE community_id = $1 AND club_key = $2"
            " AND member_id = $3",
            self._cid,
            key,
            member_id,
        )
        return None if row is None else _membership(row)

    async def save_membership(self, membership: ClubMembership) -> None:
        await self._conn.execute(
            "INSERT INTO club_members (community_id, club_key, member_id, status, requested_at,"
            " decided_at, decided_by) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (community_id, club_key, member_id) DO UPDATE SET"
            " status = excluded.status, requested_at = excluded.requested_at,"
            " decided_at = excluded.decided_at, decided_by = excluded.decided_by",
            self._cid,
            membership.club_key,
            membership.member_id,
            membership.status.value,
            membership.requested_at,
            membership.decided_at,
            membership.decided_by,
        )

    async def change_status(
        self,
        key: str,
        member_id: int,
        expected: MembershipStatus,
        wanted: MembershipStatus,
        by: str,
        now: datetime,
    ) -> ClubMembership | None:
        """Move a membership from `expected` to `wanted`; `None` if it was not `expected`."""
        row = await self._conn.fetchrow(
            "UPDATE club_members SET status = $5, decided_at = $6, decided_by = $7"
            " WHERE community_id = $1 AND club_key = $2 AND member_id = $3 AND status = $4"
            " RETURNING *",
            self._cid,
            key,
            member_id,
            expected.value,
            wanted.value,
            now,
            by,
        )
        return None if row is None else _membership(row)

    async def members(self, key: str, status: MembershipStatus) -> list[ClubMembership]:
        rows = await self._conn.fetch(
            "SELECT * FROM club_members WHERE community_id = $1 AND club_key = $2"
            " AND status = $3 ORDER BY requested_at, member_id",
            self._cid,
            key,
            status.value,
        )
        return [_membership(r) for r in rows]

    async def of_member(self, member_id: int) -> list[ClubMembership]:
        rows = await self._conn.fetch(
            "SELECT * FROM club_members WHERE community_id = $1 AND member_id = $2"
            " AND status IN ('active', 'pending') ORDER BY club_key",
            self._cid,
            member_id,
        )
        return [_membership(r) for r in rows]

    async def bind(self, binding: ChatBinding, by: str, now: datetime) -> ChatBinding | None:
        """Bind a chat; `None` if it is already bound (to this or another club)."""
        row = await self._conn.fetchrow(
            "INSERT INTO club_chats (community_id, platform, chat_id, club_key, bound_by,"
            " bound_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (community_id, platform, chat_id) DO NOTHING RETURNING *",
            self._cid,
            binding.platform,
            binding.chat_id,
            binding.club_key,
            by,
            now,
        )
        return None if row is None else _binding(row)

    async def binding(self, platform: str, chat_id: str) -> ChatBinding | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM club_chats WHERE community_id = $1 AND platform = $2 AND chat_id = $3",
            self._cid,
            platform,
            chat_id,
        )
        return None if row is None else _binding(row)

    async def unbind(self, platform: str, chat_id: str) -> ChatBinding | None:
        row = await self._conn.fetchrow(
            "DELETE FROM club_chats WHERE community_id = $1 AND platform = $2 AND chat_id = $3"
            " RETURNING *",
            self._cid,
            platform,
            chat_id,
        )
        return None if row is None else _binding(row)

    async def chats(self, key: str) -> list[ChatBinding]:
        rows = await self._conn.fetch(
            "SELECT * FROM club_chats WHERE community_id = $1 AND club_key = $2"
            " ORDER BY platform, chat_id",
            self._cid,
            key,
        )
        return [_binding(r) for r in rows]
