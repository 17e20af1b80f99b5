"""Storage of aid cases (帮扶): confidential records of help for members in difficulty.

Every read here returns case content; only `services/aid.py` calls it, after
checking that the acting member is named on the case, and it audits the read.
"""

from __future__ import annotations

from datetime import date, datetime

from huarong_core.domain.aid import AidAction, AidCase, AidCategory, AidStaff, AidStatus
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime


def _case(row: Row) -> AidCase:
    return AidCase(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        category=AidCategory(row["category"]),
        description=row["description"],
        status=AidStatus(row["status"]),
        opened_at=as_datetime(row["opened_at"]),
        opened_by=row["opened_by"],
        updated_at=as_datetime(row["updated_at"]),
        closed_at=as_optional_datetime(row["closed_at"]),
    )


def _staff(row: Row) -> AidStaff:
    return AidStaff(
        member_id=int(row["member_id"]),
        named_at=as_datetime(row["named_at"]),
        named_by=row["named_by"],
    )


def _action(row: Row) -> AidAction:
    return AidAction(
        case_id=int(row["case_id"]),
        number=int(row["number"]),
        taken_on=date.fromisoformat(row["taken_on"]),
        text=row["text"],
        by_member=int(row["by_member"]),
        recorded_at=as_datetime(row["recorded_at"]),
    )


class AidRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    # --- cases ---------------------------------------------------------------

    async def create(
        self,
        member_id: int,
        category: AidCategory,
        description: str,
        opened_by: str,
        now: datetime,
    ) -> AidCase:
        row = await self._conn.fetchrow(
            "INSERT INTO aid_cases (community_id, member_id, category, description, status,"
            " opened_by, opened_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
            " RETURNING *",
            self._cid,
            member_id,
            category.value,
            description,
            AidStatus.OPEN.value,
            opened_by,
            now,
        )
        assert row is not None
        return _case(row)

    async def get(self, case_id: int) -> AidCase | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM aid_cases WHERE community_id = $1 AND id = $2", self._cid, case_id
        )
        return None if row is None else _case(row)

    async def set_status(self, case_id: int, status: AidStatus, now: datetime) -> AidCase:
        row = await self._conn.fetchrow(
            "UPDATE aid_cases SET status = $3, updated_at = $4, closed_at = $5"
            " WHERE community_id = $1 AND id = $2 RETURNING *",
            self._cid,
            case_id,
            status.value,
            now,
            now if status is AidStatus.CLOSED else None,
        )
        assert row is not None
        return _case(row)

    async def touch(self, case_id: int, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE aid_cases SET updated_at = $3 WHERE community_id = $1 AND id = $2",
            self._cid,
            case_id,
            now,
        )

    async def named_cases(
        self,
        member_id: int,
        *,
        status: AidStatus | None,
        about: int | None,
        offset: int,
        limit: int,
    ) -> tuple[list[AidCase], int]:
        """The cases `member_id` is named on (newest first), and how many there are."""
        where = [
            "c.community_id = $1",
            "s.community_id = c.community_id",
            "s.case_id = c.id",
            "s.member_id = $2",
        ]
        args: list[object] = [self._cid, member_id]
        if status is not None:
            args.append(status.value)
            where.append(f"c.status = ${len(args)}")
        if about is not None:
            args.append(about)
            where.append(f"c.member_id = ${len(args)}")
        # CROSS JOIN: SQLite then reads this staff member's cases first, not every
        # case of the community (PostgreSQL plans either way).
        sql_from = f"FROM aid_case_staff s CROSS JOIN aid_cases c WHERE {' AND '.join(where)}"
        total = int(await self._conn.fetchval(f"SELECT COUNT(*) AS n {sql_from}", *args))
        rows = await self._conn.fetch(
            f"SELECT c.* {sql_from} ORDER BY c.id DESC"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        return [_case(r) for r in rows], total

    # --- staff ----------------------------------------------------------------

    async def is_named(self, case_id: int, member_id: int) -> bool:
        found = await self._conn.fetchval(
            "SELECT COUNT(*) AS n FROM aid_case_staff WHERE community_id = $1 AND case_id = $2"
            " AND member_id = $3",
            self._cid,
            case_id,
            member_id,
        )
        return int(found) > 0

    async def staff(self, case_id: int) -> list[AidStaff]:
        rows = await self._conn.fetch(
            "SELECT * FROM aid_case_staff WHERE community_id = $1 AND case_id = $2"
            " ORDER BY named_at, member_id",
            self._cid,
            case_id,
        )
        return [_staff(r) for r in rows]

    async def name(self, case_id: int, member_id: int, named_by: str, now: datetime) -> bool:
        """Name a staff member on the case; False when they already were."""
        row = await self._conn.fetchrow(
            "INSERT INTO aid_case_staff (community_id, case_id, member_id, named_at, named_by)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, case_id, member_id)"
            " DO NOTHING RETURNING member_id",
            self._cid,
            case_id,
            member_id,
            now,
            named_by,
        )
        return row is not None

    async def unname(self, case_id: int, member_id: int) -> bool:
        row = await self._conn.fetchrow(
            "DELETE FROM aid_case_staff WHERE community_id = $1 AND case_id = $2"
            " AND member_id = $3 RETURNING member_id",
            self._cid,
            case_id,
            member_id,
        )
        return row is not None

    # --- actions --------------------------------------------------------------

    async def add_action(
        self, case_id: int, taken_on: date, text: str, by_member: int, now: datetime
    ) -> AidAction:
        """Append an action; the caller holds the case's lock, so numbers do not race."""
        number = await self._conn.fetchval(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM aid_actions"
            " WHERE community_id = $1 AND case_id = $2",
            self._cid,
            case_id,
        )
        row = await self._conn.fetchrow(
            "INSERT INTO aid_actions (community_id, case_id, number, taken_on, text, by_member,"
            " recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            self._cid,
            case_id,
            int(number),
            taken_on.isoformat(),
            text,
            by_member,
            now,
        )
        assert row is not None
        return _action(row)

    async def actions(self, case_id: int) -> list[AidAction]:
        rows = await self._conn.fetch(
            "SELECT * FROM aid_actions WHERE community_id = $1 AND case_id = $2 ORDER BY number",
            self._cid,
            case_id,
        )
        return [_action(r) for r in rows]
