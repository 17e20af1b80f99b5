"""Tables of one-time codes (link codes, sign-in codes): one shape, one set of statements.

Each table has the columns of `link_codes` (migration 10): the code's hash,
its member, when it was made and ends, and when (and by whom) it was used.
A repository for such a table subclasses `OneTimeCodes` and names it.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime


@attrs.frozen
class StoredCode:
    id: int
    member_id: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None


def _code(row: Row) -> StoredCode:
    return StoredCode(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        created_at=as_datetime(row["created_at"]),
        expires_at=as_datetime(row["expires_at"]),
        used_at=as_optional_datetime(row["used_at"]),
        used_by=None if row["used_by"] is None else int(row["used_by"]),
    )


class OneTimeCodes:
    """Codes of one table (`code_table`), in one community."""

    code_table: ClassVar[str] = ""

    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def add_code(
        self, code_hash: str, member_id: int, now: datetime, expires_at: datetime
    ) -> int | None:
        """Store a code's hash; None when that hash exists already (draw another code)."""
        value = await self._conn.fetchval(
            f"INSERT INTO {self.code_table} (community_id, code_hash, member_id, created_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (community_id, code_hash) DO NOTHING RETURNING id",
            self._cid,
            code_hash,
            member_id,
            now,
            expires_at,
        )
        return None if value is None else int(value)

    async def codes_since(self, member_id: int, since: datetime) -> int:
        return int(
            await self._conn.fetchval(
                f"SELECT COUNT(*) FROM {self.code_table} WHERE community_id = $1"
                " AND member_id = $2 AND created_at >= $3",
                self._cid,
                member_id,
                since,
            )
        )

    async def retire_codes(self, member_id: int, now: datetime) -> None:
        """End every unused, unexpired code of a member now (a newer one replaces them)."""
        await self._conn.execute(
            f"UPDATE {self.code_table} SET expires_at = $3 WHERE community_id = $1"
            " AND member_id = $2 AND used_at IS NULL AND expires_at > $3",
            self._cid,
            member_id,
            now,
        )

    async def code_by_hash(self, code_hash: str) -> StoredCode | None:
        row = await self._conn.fetchrow(
            f"SELECT * FROM {self.code_table} WHERE community_id = $1 AND code_hash = $2",
            self._cid,
            code_hash,
        )
        return None if row is None else _code(row)

    async def use_code(self, code_id: int, used_by: int, now: datetime) -> bool:
        """Mark a code used; False when another redeemer was first (the row lock decides)."""
        row = await self._conn.fetchrow(
            f"UPDATE {self.code_table} SET used_at = $3, used_by = $4 WHERE community_id = $1"
            " AND id = $2 AND used_at IS NULL RETURNING id",
            self._cid,
            code_id,
            now,
            used_by,
        )
        return row is not None

    async def wrong_tries_of(self, action: str, target: str, since: datetime) -> tuple[int, int]:
        """Refused tries on record since `since`: (those on `target`, all of `action`)."""
        row = await self._conn.fetchrow(
            "SELECT COUNT(*) AS every, COALESCE(SUM(CASE WHEN target = $4 THEN 1 ELSE 0 END), 0)"
            " AS mine FROM audit_log WHERE community_id = $1 AND at >= $2 AND action = $3",
            self._cid,
            since,
            action,
            target,
        )
        return (0, 0) if row is None else (int(row["mine"]), int(row["every"]))
