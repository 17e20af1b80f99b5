"""Link codes, wrong tries, and the row moves that merge one member into another.

Every statement names the community; a merge moves the absorbed member's
rows table by table (see `huarong_core.services.linking` for the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from huarong_core.storage.base import Row
from huarong_core.storage.repositories.codes import OneTimeCodes, StoredCode

StoredLinkCode = StoredCode
"""A link code as stored (the shape every one-time code table shares)."""


class LinkingRepository(OneTimeCodes):
    """Link codes (`OneTimeCodes` on `link_codes`), and the row moves of a merge."""

    code_table = "link_codes"

    async def merges(self) -> dict[int, int]:
        """absorbed member -> the member it was merged into, for every merged member."""
        rows = await self._conn.fetch(
            "SELECT id, merged_into FROM members WHERE community_id = $1"
            " AND merged_into IS NOT NULL",
            self._cid,
        )
        return {int(r["id"]): int(r["merged_into"]) for r in rows}

    # --- merging ------------------------------------------------------------------------

    async def mark_merged(self, absorbed: int, survivor: int, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE members SET status = 'merged', merged_into = $3, updated_at = $4"
            " WHERE community_id = $1 AND id = $2",
            self._cid,
            absorbed,
            survivor,
            now,
        )

    async def move(
        self,
        table: str,
        column: str,
        absorbed: int,
        survivor: int,
        *,
        keys: Sequence[str] = (),
        on_conflict: str = "drop",
        where: str = "",
    ) -> tuple[int, int]:
        """Give the absorbed member's rows of `table` to the survivor: (moved, dropped).

        `keys` are the other columns of a unique key with `column`: a row the
        survivor already has a twin of is dropped (`on_conflict="drop"`) or
        left with the absorbed member (`"stay"`). `where` narrows the rows
        (a condition on `table`'s own columns, no parameters).
        """
        extra = f" AND ({where})" if where else ""
        twin = ""
        if keys:
            same = " AND ".join(f"o.{key} = {table}.{key}" for key in keys)
            twin = (
                f"EXISTS (SELECT 1 FROM {table} o WHERE o.community_id = {table}.community_id"
                f" AND o.{column} = $3 AND {same})"
            )
        dropped = 0
        if twin and on_conflict == "drop":
            gone = await self._conn.fetch(
                f"DELETE FROM {table} WHERE community_id = $1 AND {column} = $2{extra}"
                f" AND {twin} RETURNING 1 AS x",
                self._cid,
                absorbed,
                survivor,
            )
            dropped = len(gone)
        keep_twins = f" AND NOT {twin}" if twin else ""
        moved = await self._conn.fetch(
            f"UPDATE {table} SET {column} = $3 WHERE community_id = $1 AND {column} = $2"
            f"{extra}{keep_twins} RETURNING 1 AS x",
            self._cid,
            absorbed,
            survivor,
        )
        return len(moved), dropped

    async def rows_of(self, table: str, column: str, member_ids: Sequence[int]) -> list[Row]:
        return await self._conn.fetch(
            f"SELECT * FROM {table} WHERE community_id = $1 AND {column} IN ($2, $3)",
            self._cid,
            member_ids[0],
            member_ids[1],
        )

    async def delete_row(self, table: str, match: dict[str, object]) -> None:
        names = sorted(match)
        condition = " AND ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
        await self._conn.execute(
            f"DELETE FROM {table} WHERE community_id = $1 AND {condition}",
            self._cid,
            *(match[name] for name in names),
        )

    async def update_row(
        self, table: str, match: dict[str, object], values: dict[str, object]
    ) -> None:
        names = sorted(values)
        keys = sorted(match)
        sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
        start = len(names) + 2
        condition = " AND ".join(f"{key} = ${n}" for n, key in enumerate(keys, start=start))
        await self._conn.execute(
            f"UPDATE {table} SET {sets} WHERE community_id = $1 AND {condition}",
            self._cid,
            *(values[name] for name in names),
            *(match[key] for key in keys),
        )

    async def release_slot(self, shift_id: int) -> None:
        await self._conn.execute(
            "UPDATE volunteer_shifts SET taken = taken - 1"
            " WHERE community_id = $1 AND id = $2 AND taken > 0",
            self._cid,
            shift_id,
        )

    async def free_copy(self, code: str, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE book_copies SET status = 'available', held_for = NULL, updated_at = $3"
            " WHERE community_id = $1 AND code = $2 AND status = 'held_for_pickup'",
            self._cid,
            code,
            now,
        )

    async def gatherings_of(self, ids: Sequence[int]) -> dict[int, Row]:
        if not ids:
            return {}
        marks = ", ".join(f"${n}" for n in range(2, len(ids) + 2))
        rows = await self._conn.fetch(
            "SELECT id, capacity, status, starts_at FROM gatherings WHERE community_id = $1"
            f" AND id IN ({marks})",
            self._cid,
            *ids,
        )
        return {int(r["id"]): r for r in rows}

    async def move_deliveries(self, absorbed: int, survivor: int) -> int:
        """Pending announcement deliveries of the absorbed member that the survivor has
        no twin of go to the survivor; the rest stay (they end unreachable)."""
        rows = await self._conn.fetch(
            "UPDATE announcement_deliveries SET member_id = $3, recipient = $4"
            " WHERE community_id = $1 AND member_id = $2 AND state = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM announcement_deliveries o"
            " WHERE o.community_id = announcement_deliveries.community_id"
            " AND o.announcement_id = announcement_deliveries.announcement_id"
            " AND o.recipient = $4) RETURNING 1 AS x",
            self._cid,
            absorbed,
            survivor,
            f"member:{survivor}",
        )
        return len(rows)

    async def move_notifications(self, absorbed: int, survivor: int) -> int:
        """Pending notifications of the absorbed member go to the survivor, unless the
        survivor has the same event's notice already (one notice per event and person)."""
        rows = await self._conn.fetch(
            "UPDATE notifications SET member_id = $3, recipient = $4"
            " WHERE community_id = $1 AND member_id = $2 AND state = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM notifications o"
            " WHERE o.community_id = notifications.community_id"
            " AND o.event_id = notifications.event_id AND o.recipient = $4) RETURNING 1 AS x",
            self._cid,
            absorbed,
            survivor,
            f"member:{survivor}",
        )
        return len(rows)

    async def move_contest_entries(self, absorbed: int, survivor: int) -> tuple[int, int]:
        """Contest scores entered for `member:<absorbed>`; the survivor's own score wins."""
        old, new = f"member:{absorbed}", f"member:{survivor}"
        gone = await self._conn.fetch(
            "DELETE FROM contest_scores WHERE community_id = $1 AND entrant = $2"
            " AND EXISTS (SELECT 1 FROM contest_scores o WHERE o.community_id ="
            " contest_scores.community_id AND o.gathering_id = contest_scores.gathering_id"
            " AND o.entrant = $3) RETURNING 1 AS x",
            self._cid,
            old,
            new,
        )
        moved = await self._conn.fetch(
            "UPDATE contest_scores SET entrant = $3 WHERE community_id = $1 AND entrant = $2"
            " RETURNING 1 AS x",
            self._cid,
            old,
            new,
        )
        return len(moved), len(gone)

    # --- points: what the merge lines do not carry themselves ------------------------------

    async def take_score(self, member_id: int, score: int, now: datetime) -> None:
        """Zero a member's all-time score (its season rows go separately)."""
        await self._conn.execute(
            "UPDATE balances SET score = score - $3, updated_at = $4"
            " WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member_id,
            score,
            now,
        )

    async def season_rows(self, member_id: int) -> list[tuple[str, int]]:
        rows = await self._conn.fetch(
            "SELECT season, score FROM season_scores WHERE community_id = $1 AND member_id = $2"
            " ORDER BY season",
            self._cid,
            member_id,
        )
        return [(str(r["season"]), int(r["score"])) for r in rows]

    async def drop_seasons(self, member_id: int) -> None:
        await self._conn.execute(
            "DELETE FROM season_scores WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member_id,
        )

    async def move_open_lots(self, absorbed: int, survivor: int) -> int:
        """Open lots change hands with their own earned and expiry dates; spent ones stay."""
        rows = await self._conn.fetch(
            "UPDATE point_lots SET member_id = $3 WHERE community_id = $1 AND member_id = $2"
            " AND remaining > 0 RETURNING remaining",
            self._cid,
            absorbed,
            survivor,
        )
        return len(rows)
