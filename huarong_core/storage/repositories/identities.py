"""Platform identities -> members."""

from __future__ import annotations

from datetime import datetime

from huarong_core.domain.members import Identity, IdentityRef
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime


def _identity(row: Row) -> Identity:
    return Identity(
        ref=IdentityRef(row["platform"], row["external_id"]),
        member_id=int(row["member_id"]),
        linked_at=as_datetime(row["linked_at"]),
    )


class IdentityRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def get(self, ref: IdentityRef) -> Identity | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM identities WHERE community_id = $1 AND platform = $2"
            " AND external_id = $3",
            self._cid,
            ref.platform,
            ref.external_id,
        )
        return None if row is None else _identity(row)

    async def for_member(self, member_id: int) -> list[Identity]:
        rows = await self._conn.fetch(
            "SELECT * FROM identities WHERE community_id = $1 AND member_id = $2"
            " ORDER BY platform, external_id",
            self._cid,
            member_id,
        )
        return [_identity(r) for r in rows]

    async def add(self, ref: IdentityRef, member_id: int, now: datetime) -> Identity | None:
        """Link, or return None when the identity already exists (race-free uniqueness)."""
        row = await self._conn.fetchrow(
            "INSERT INTO identities (community_id, platform, external_id, member_id, linked_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, platform, external_id)"
            " DO NOTHING RETURNING *",
            self._cid,
            ref.platform,
            ref.external_id,
            member_id,
            now,
        )
        return None if row is None else _identity(row)

    async def remove(self, ref: IdentityRef) -> None:
        await self._conn.execute(
            "DELETE FROM identities WHERE community_id = $1 AND platform = $2 AND external_id = $3",
            self._cid,
            ref.platform,
            ref.external_id,
        )

    async def set_unreachable(self, ref: IdentityRef, since: datetime | None) -> bool:
        """Mark (or clear, with `None`) the account as refused by its platform; True if changed."""
        if since is None:
            row = await self._conn.fetchrow(
                "UPDATE identities SET unreachable_at = NULL WHERE community_id = $1"
                " AND platform = $2 AND external_id = $3 AND unreachable_at IS NOT NULL"
                " RETURNING platform",
                self._cid,
                ref.platform,
                ref.external_id,
            )
        else:
            row = await self._conn.fetchrow(
                "UPDATE identities SET unreachable_at = $4 WHERE community_id = $1"
                " AND platform = $2 AND external_id = $3 AND unreachable_at IS NULL"
                " RETURNING platform",
                self._cid,
                ref.platform,
                ref.external_id,
                since,
            )
        return row is not None
