"""Organizations (tenant companies)."""

from __future__ import annotations

from datetime import datetime

from huarong_core.domain.organizations import Organization
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.repositories._helpers import like_pattern, next_id


def _organization(row: Row) -> Organization:
    return Organization(
        id=int(row["id"]),
        name=row["name"],
        key=row["key"],
        floor=row["floor"],
        industry=row["industry"],
        has_party_branch=bool(row["has_party_branch"]),
    )


class OrganizationRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def get(self, organization_id: int) -> Organization | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM organizations WHERE community_id = $1 AND id = $2",
            self._cid,
            organization_id,
        )
        return None if row is None else _organization(row)

    async def by_key(self, key: str) -> Organization | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM organizations WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _organization(row)

    async def by_name(self, name: str) -> Organization | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM organizations WHERE community_id = $1 AND name = $2", self._cid, name
        )
        return None if row is None else _organization(row)

    async def all(self) -> list[Organization]:
        rows = await self._conn.fetch(
            "SELECT * FROM organizations WHERE community_id = $1 ORDER BY id", self._cid
        )
        return [_organization(r) for r in rows]

    async def page(
        self, *, query: str | None, offset: int, limit: int
    ) -> tuple[list[Organization], int]:
        where = "community_id = $1"
        args: list[object] = [self._cid]
        if query:
            args.append(like_pattern(query))
            where += f" AND LOWER(name) LIKE ${len(args)} ESCAPE '\\'"
        total = await self._conn.fetchval(
            f"SELECT COUNT(*) AS n FROM organizations WHERE {where}", *args
        )
        rows = await self._conn.fetch(
            f"SELECT * FROM organizations WHERE {where} ORDER BY id"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        return [_organization(r) for r in rows], int(total)

    async def insert(
        self,
        *,
        name: str,
        key: str | None,
        floor: str | None,
        industry: str | None,
        has_party_branch: bool,
        now: datetime,
    ) -> Organization:
        organization_id = await next_id(self._conn, self._cid, "organization")
        await self._conn.execute(
            "INSERT INTO organizations (community_id, id, key, name, floor, industry,"
            " has_party_branch, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            self._cid,
            organization_id,
            key,
            name,
            floor,
            industry,
            has_party_branch,
            now,
        )
        return Organization(organization_id, name, key, floor, industry, has_party_branch)

    async def update(self, organization: Organization, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE organizations SET key = $3, name = $4, floor = $5, industry = $6,"
            " has_party_branch = $7, updated_at = $8 WHERE community_id = $1 AND id = $2",
            self._cid,
            organization.id,
            organization.key,
            organization.name,
            organization.floor,
            organization.industry,
            organization.has_party_branch,
            now,
        )
