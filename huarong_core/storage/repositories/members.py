"""Members and their categories."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import attrs

from huarong_core.domain.members import Member, MemberStatus
from huarong_core.domain.roles import RoleGrant
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.repositories._helpers import like_pattern, next_id, placeholders
from huarong_core.storage.repositories.roles import grant_from


@attrs.frozen
class MemberFilter:
    organization_id: int | None = None
    category: str | None = None
    status: MemberStatus | None = None
    query: str | None = None


def _member(row: Row, categories: Iterable[str]) -> Member:
    return Member(
        id=int(row["id"]),
        display_name=row["display_name"],
        key=row["key"],
        categories=frozenset(categories),
        organization_id=None if row["organization_id"] is None else int(row["organization_id"]),
        locale=row["locale"],
        status=MemberStatus(row["status"]),
        merged_into=None if row.get("merged_into") is None else int(row["merged_into"]),
    )


class MemberRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def _with_categories(self, rows: list[Row]) -> list[Member]:
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        found: dict[int, list[str]] = defaultdict(list)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cat_rows = await self._conn.fetch(
                "SELECT member_id, category_key FROM member_categories WHERE community_id = $1"
                f" AND member_id IN ({placeholders(2, len(chunk))})",
                self._cid,
                *chunk,
            )
            for r in cat_rows:
                found[int(r["member_id"])].append(r["category_key"])
        return [_member(r, found[int(r["id"])]) for r in rows]

    async def get(self, member_id: int) -> Member | None:
        # One statement with the categories: every command reads its acting member.
        rows = await self._conn.fetch(
            "SELECT m.*, c.category_key AS category_of_member FROM members m"
            " LEFT JOIN member_categories c"
            " ON c.community_id = m.community_id AND c.member_id = m.id"
            " WHERE m.community_id = $1 AND m.id = $2",
            self._cid,
            member_id,
        )
        if not rows:
            return None
        categories = [r["category_of_member"] for r in rows if r["category_of_member"] is not None]
        return _member(rows[0], categories)

    async def acting(self, member_id: int) -> tuple[Member, list[RoleGrant]] | None:
        """The member with their categories and role grants, in one statement: every
        command reads its acting member and their roles before anything else.

        A row per (category, grant) pair, both usually none or one; the grants
        come in `RoleRepository.for_member`'s order (sorted here: a sort in SQL
        costs a temporary b-tree even for one row)."""
        rows = await self._conn.fetch(
            "SELECT m.id, m.key, m.display_name, m.organization_id, m.locale, m.status,"
            " m.merged_into, c.category_key AS category_of_member, r.role AS grant_role,"
            " r.scope_kind AS grant_scope_kind, r.scope_key AS grant_scope_key,"
            " r.source AS grant_source, r.granted_at AS grant_granted_at,"
            " r.granted_by AS grant_granted_by FROM members m"
            " LEFT JOIN member_categories c"
            " ON c.community_id = m.community_id AND c.member_id = m.id"
            " LEFT JOIN role_grants r ON r.community_id = m.community_id AND r.member_id = m.id"
            " WHERE m.community_id = $1 AND m.id = $2",
            self._cid,
            member_id,
        )
        if not rows:
            return None
        categories = {r["category_of_member"] for r in rows} - {None}
        grants: dict[tuple[str, str, str], RoleGrant] = {}
        for r in rows:
            if r["grant_role"] is not None:
                held = (r["grant_role"], r["grant_scope_kind"], r["grant_scope_key"])
                if held not in grants:
                    grants[held] = grant_from(r, member_id, "grant_")
        return _member(rows[0], categories), [grants[held] for held in sorted(grants)]

    async def by_key(self, key: str) -> Member | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM members WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else (await self._with_categories([row]))[0]

    async def by_name(self, display_name: str) -> list[Member]:
        rows = await self._conn.fetch(
            "SELECT * FROM members WHERE community_id = $1 AND display_name = $2 ORDER BY id",
            self._cid,
            display_name,
        )
        return await self._with_categories(rows)

    async def page(
        self, member_filter: MemberFilter, *, offset: int, limit: int
    ) -> tuple[list[Member], int]:
        where = ["m.community_id = $1"]
        args: list[object] = [self._cid]
        if member_filter.organization_id is not None:
            args.append(member_filter.organization_id)
            where.append(f"m.organization_id = ${len(args)}")
        if member_filter.status is not None:
            args.append(member_filter.status.value)
            where.append(f"m.status = ${len(args)}")
        if member_filter.query:
            args.append(like_pattern(member_filter.query))
            where.append(f"LOWER(m.display_name) LIKE ${len(args)} ESCAPE '\\'")
        if member_filter.category is not None:
            args.append(member_filter.category)
            where.append(
                "EXISTS (SELECT 1 FROM member_categories c WHERE c.community_id = m.community_id"
                f" AND c.member_id = m.id AND c.category_key = ${len(args)})"
            )
        clause = " AND ".join(where)
        total = await self._conn.fetchval(
            f"SELECT COUNT(*) AS n FROM members m WHERE {clause}", *args
        )
        rows = await self._conn.fetch(
            f"SELECT m.* FROM members m WHERE {clause} ORDER BY m.id"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        return await self._with_categories(rows), int(total)

    async def insert(
        self,
        *,
        display_name: str,
        key: str | None,
        categories: frozenset[str],
        organization_id: int | None,
        locale: str | None,
        status: MemberStatus,
        now: datetime,
    ) -> Member:
        member_id = await next_id(self._conn, self._cid, "member")
        await self._conn.execute(
            "INSERT INTO members (community_id, id, key, display_name, organization_id, locale,"
            " status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            self._cid,
            member_id,
            key,
            display_name,
            organization_id,
            locale,
            status.value,
            now,
        )
        member = Member(member_id, display_name, key, categories, organization_id, locale, status)
        await self._write_categories(member_id, categories)
        return member

    async def update(self, member: Member, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE members SET key = $3, display_name = $4, organization_id = $5, locale = $6,"
            " status = $7, updated_at = $8 WHERE community_id = $1 AND id = $2",
            self._cid,
            member.id,
            member.key,
            member.display_name,
            member.organization_id,
            member.locale,
            member.status.value,
            now,
        )
        await self._conn.execute(
            "DELETE FROM member_categories WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member.id,
        )
        await self._write_categories(member.id, member.categories)

    async def _write_categories(self, member_id: int, categories: Iterable[str]) -> None:
        await self._conn.executemany(
            "INSERT INTO member_categories (community_id, member_id, category_key)"
            " VALUES ($1, $2, $3)",
            [(self._cid, member_id, key) for key in sorted(categories)],
        )
