"""Role grants."""

from __future__ import annotations

from datetime import datetime

from huarong_core.domain.roles import GrantSource, Role, RoleGrant, Scope, ScopeKind
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime


def _grant(row: Row) -> RoleGrant:
    return grant_from(row, int(row["member_id"]))


def grant_from(row: Row, member_id: int, prefix: str = "") -> RoleGrant:
    """A grant from a row of `role_grants` whose columns carry `prefix` (a join's)."""
    return RoleGrant(
        member_id=member_id,
        role=Role(row[prefix + "role"]),
        scope=Scope(ScopeKind(row[prefix + "scope_kind"]), row[prefix + "scope_key"]),
        source=GrantSource(row[prefix + "source"]),
        granted_at=as_datetime(row[prefix + "granted_at"]),
        granted_by=row[prefix + "granted_by"],
    )


class RoleRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def for_member(self, member_id: int) -> list[RoleGrant]:
        rows = await self._conn.fetch(
            "SELECT * FROM role_grants WHERE community_id = $1 AND member_id = $2"
            " ORDER BY role, scope_kind, scope_key",
            self._cid,
            member_id,
        )
        return [_grant(r) for r in rows]

    async def all(self, *, source: GrantSource | None = None) -> list[RoleGrant]:
        if source is None:
            rows = await self._conn.fetch(
                "SELECT * FROM role_grants WHERE community_id = $1"
                " ORDER BY member_id, role, scope_kind, scope_key",
                self._cid,
            )
        else:
            rows = await self._conn.fetch(
                "SELECT * FROM role_grants WHERE community_id = $1 AND source = $2"
                " ORDER BY member_id, role, scope_kind, scope_key",
                self._cid,
                source.value,
            )
        return [_grant(r) for r in rows]

    async def add(
        self, member_id: int, role: Role, scope: Scope, source: GrantSource, by: str, now: datetime
    ) -> RoleGrant | None:
        """Grant, or return None when the member already holds exactly this role."""
        row = await self._conn.fetchrow(
            "INSERT INTO role_grants (community_id, member_id, role, scope_kind, scope_key,"
            " source, granted_at, granted_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (community_id, member_id, role, scope_kind, scope_key) DO NOTHING"
            " RETURNING *",
            self._cid,
            member_id,
            role.value,
            scope.kind.value,
            scope.key,
            source.value,
            now,
            by,
        )
        return None if row is None else _grant(row)

    async def set_source(self, grant: RoleGrant, source: GrantSource) -> None:
        await self._conn.execute(
            "UPDATE role_grants SET source = $6 WHERE community_id = $1 AND member_id = $2"
            " AND role = $3 AND scope_kind = $4 AND scope_key = $5",
            self._cid,
            grant.member_id,
            grant.role.value,
            grant.scope.kind.value,
            grant.scope.key,
            source.value,
        )

    async def remove(self, member_id: int, role: Role, scope: Scope) -> RoleGrant | None:
        row = await self._conn.fetchrow(
            "DELETE FROM role_grants WHERE community_id = $1 AND member_id = $2 AND role = $3"
            " AND scope_kind = $4 AND scope_key = $5 RETURNING *",
            self._cid,
            member_id,
            role.value,
            scope.kind.value,
            scope.key,
        )
        return None if row is None else _grant(row)
