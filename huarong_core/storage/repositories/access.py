"""Sign-in codes, password hashes and API tokens (migration 13).

Every statement names the community. Nothing here ever holds a plain secret:
codes and tokens arrive as their SHA-256, passwords as their argon2 hash.
"""

from __future__ import annotations

from datetime import datetime

from huarong_core.commands.access import ApiToken
from huarong_core.storage.base import Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime
from huarong_core.storage.repositories.codes import OneTimeCodes


def _token(row: Row) -> ApiToken:
    return ApiToken(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        name=str(row["name"]),
        scopes=frozenset(str(row["scopes"]).split()),
        created_at=as_datetime(row["created_at"]),
        expires_at=as_optional_datetime(row["expires_at"]),
        revoked_at=as_optional_datetime(row["revoked_at"]),
        last_used_at=as_optional_datetime(row["last_used_at"]),
    )


_TOKEN_COLUMNS = "id, member_id, name, scopes, created_at, expires_at, revoked_at, last_used_at"
"""Every column but the hash: a token read never carries it."""


class AccessRepository(OneTimeCodes):
    """Sign-in codes (`OneTimeCodes` on `sign_in_codes`), passwords, API tokens."""

    code_table = "sign_in_codes"

    # --- passwords -----------------------------------------------------------------------

    async def password_hash(self, member_id: int) -> str | None:
        value = await self._conn.fetchval(
            "SELECT password_hash FROM member_passwords WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member_id,
        )
        return None if value is None else str(value)

    async def set_password_hash(self, member_id: int, password_hash: str, now: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO member_passwords (community_id, member_id, password_hash, set_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, member_id)"
            " DO UPDATE SET password_hash = excluded.password_hash, set_at = excluded.set_at",
            self._cid,
            member_id,
            password_hash,
            now,
        )

    async def move_password(self, absorbed: int, survivor: int) -> tuple[int, int]:
        """A merge: the absorbed member's password goes to the survivor unless the
        survivor has one (then it is dropped). (moved, dropped)."""
        dropped = await self._conn.fetch(
            "DELETE FROM member_passwords WHERE community_id = $1 AND member_id = $2"
            " AND EXISTS (SELECT 1 FROM member_passwords o WHERE o.community_id = $1"
            " AND o.member_id = $3) RETURNING 1 AS x",
            self._cid,
            absorbed,
            survivor,
        )
        moved = await self._conn.fetch(
            "UPDATE member_passwords SET member_id = $3 WHERE community_id = $1"
            " AND member_id = $2 RETURNING 1 AS x",
            self._cid,
            absorbed,
            survivor,
        )
        return len(moved), len(dropped)

    # --- API tokens ----------------------------------------------------------------------

    async def add_token(
        self,
        member_id: int,
        name: str,
        scopes: frozenset[str],
        token_hash: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiToken:
        row = await self._conn.fetchrow(
            "INSERT INTO api_tokens (community_id, member_id, name, scopes, token_hash,"
            " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            f" RETURNING {_TOKEN_COLUMNS}",
            self._cid,
            member_id,
            name,
            " ".join(sorted(scopes)),
            token_hash,
            now,
            expires_at,
        )
        assert row is not None
        return _token(row)

    async def token(self, token_id: int) -> ApiToken | None:
        row = await self._conn.fetchrow(
            f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE community_id = $1 AND id = $2",
            self._cid,
            token_id,
        )
        return None if row is None else _token(row)

    async def token_by_hash(self, token_hash: str) -> ApiToken | None:
        row = await self._conn.fetchrow(
            f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE community_id = $1 AND token_hash = $2",
            self._cid,
            token_hash,
        )
        return None if row is None else _token(row)

    async def tokens_of(
        self, member_id: int, offset: int, limit: int
    ) -> tuple[list[ApiToken], int]:
        """One page of a member's tokens, newest first, and how many there are."""
        rows = await self._conn.fetch(
            f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE community_id = $1"
            " AND member_id = $2 ORDER BY id DESC LIMIT $3 OFFSET $4",
            self._cid,
            member_id,
            limit,
            offset,
        )
        total = await self._conn.fetchval(
            "SELECT COUNT(*) FROM api_tokens WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member_id,
        )
        return [_token(r) for r in rows], int(total)

    async def revoke_token(self, token_id: int, now: datetime) -> ApiToken | None:
        """Revoke a token not yet revoked; None when it was (or does not exist)."""
        row = await self._conn.fetchrow(
            "UPDATE api_tokens SET revoked_at = $3 WHERE community_id = $1 AND id = $2"
            f" AND revoked_at IS NULL RETURNING {_TOKEN_COLUMNS}",
            self._cid,
            token_id,
            now,
        )
        return None if row is None else _token(row)
