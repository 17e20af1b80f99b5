"""Shop items, redemptions and honours."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from huarong_core.commands import Honour
from huarong_core.domain.points import Period
from huarong_core.domain.shop import Redemption, RedemptionStatus, ShopItem
from huarong_core.domain.text import LocalizedText
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, as_optional_datetime, dumps, loads
from huarong_core.storage.repositories._helpers import next_id


def _item(row: Row) -> ShopItem:
    description = loads(row["description"])
    return ShopItem(
        key=row["key"],
        name=LocalizedText(loads(row["name"])),
        price=int(row["price"]),
        stock=int(row["stock"]),
        description=None if description is None else LocalizedText(description),
        category=row["category"],
        available_from=as_optional_datetime(row["available_from"]),
        available_until=as_optional_datetime(row["available_until"]),
        limit_count=None if row["limit_count"] is None else int(row["limit_count"]),
        limit_period=None if row["limit_period"] is None else Period(row["limit_period"]),
        station=row["station"],
        enabled=bool(row["enabled"]),
    )


def _redemption(row: Row) -> Redemption:
    return Redemption(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        item_key=row["item_key"],
        quantity=int(row["quantity"]),
        points=int(row["points"]),
        status=RedemptionStatus(row["status"]),
        created_at=as_datetime(row["created_at"]),
        decided_at=as_optional_datetime(row["decided_at"]),
        decided_by=row["decided_by"],
        note=row["note"],
    )


def _honour(row: Row) -> Honour:
    return Honour(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        kind=row["kind"],
        title=LocalizedText(loads(row["title"])),
        citation=row["citation"],
        starts_on=date.fromisoformat(row["starts_on"]),
        ends_on=None if row["ends_on"] is None else date.fromisoformat(row["ends_on"]),
        granted_by=row["granted_by"],
        revoked=row["revoked_at"] is not None,
    )


class ShopRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    async def items(self) -> list[ShopItem]:
        rows = await self._conn.fetch(
            "SELECT * FROM shop_items WHERE community_id = $1 ORDER BY key", self._cid
        )
        return [_item(r) for r in rows]

    async def item(self, key: str) -> ShopItem | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM shop_items WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _item(row)

    async def save_item(self, item: ShopItem, source: str, now: datetime) -> None:
        description: Any = None if item.description is None else item.description.as_dict()
        await self._conn.execute(
            "INSERT INTO shop_items (community_id, key, name, description, category, price,"
            " stock, available_from, available_until, limit_count, limit_period, station,"
            " enabled, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
            " $11, $12, $13, $14, $15) ON CONFLICT (community_id, key) DO UPDATE SET"
            " name = excluded.name, description = excluded.description,"
            " category = excluded.category, price = excluded.price, stock = excluded.stock,"
            " available_from = excluded.available_from,"
            " available_until = excluded.available_until, limit_count = excluded.limit_count,"
            " limit_period = excluded.limit_period, station = excluded.station,"
            " enabled = excluded.enabled, source = excluded.source,"
            " updated_at = excluded.updated_at",
            self._cid,
            item.key,
            dumps(item.name.as_dict()),
            None if description is None else dumps(description),
            item.category,
            item.price,
            item.stock,
            item.available_from,
            item.available_until,
            item.limit_count,
            None if item.limit_period is None else item.limit_period.value,
            item.station,
            item.enabled,
            source,
            now,
        )

    async def take_stock(self, key: str, quantity: int) -> bool:
        """Reserve `quantity` unless that would drive stock below zero (atomic)."""
        row = await self._conn.fetchrow(
            "UPDATE shop_items SET stock = stock - $3 WHERE community_id = $1 AND key = $2"
            " AND stock >= $3 RETURNING stock",
            self._cid,
            key,
            quantity,
        )
        return row is not None

    async def adjust_stock(self, key: str, delta: int) -> int | None:
        """Add `delta` (may be negative) unless stock would go below zero; the new stock."""
        row = await self._conn.fetchrow(
            "UPDATE shop_items SET stock = stock + $3 WHERE community_id = $1 AND key = $2"
            " AND stock + $3 >= 0 RETURNING stock",
            self._cid,
            key,
            delta,
        )
        return None if row is None else int(row["stock"])

    async def return_stock(self, key: str, quantity: int) -> None:
        await self._conn.execute(
            "UPDATE shop_items SET stock = stock + $3 WHERE community_id = $1 AND key = $2",
            self._cid,
            key,
            quantity,
        )

    async def redeemed_since(self, member_id: int, key: str, start: datetime) -> int:
        value = await self._conn.fetchval(
            "SELECT COALESCE(SUM(quantity), 0) AS n FROM redemptions WHERE community_id = $1"
            " AND member_id = $2 AND item_key = $3 AND created_at >= $4"
            " AND status <> 'cancelled'",
            self._cid,
            member_id,
            key,
            start,
        )
        return int(value)

    async def add_redemption(
        self, member_id: int, key: str, quantity: int, points: int, now: datetime
    ) -> Redemption:
        redemption_id = await next_id(self._conn, self._cid, "redemption")
        await self._conn.execute(
            "INSERT INTO redemptions (community_id, id, member_id, item_key, quantity, points,"
            " status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'reserved', $7)",
            self._cid,
            redemption_id,
            member_id,
            key,
            quantity,
            points,
            now,
        )
        return Redemption(
            redemption_id, member_id, key, quantity, points, RedemptionStatus.RESERVED, now
        )

    async def set_lots(self, redemption_id: int, taken: Sequence[tuple[int, int]]) -> None:
        await self._conn.execute(
            "UPDATE redemptions SET lots = $3 WHERE community_id = $1 AND id = $2",
            self._cid,
            redemption_id,
            dumps([list(pair) for pair in taken]),
        )

    async def lots_of(self, redemption_id: int) -> tuple[tuple[int, int], ...]:
        raw = await self._conn.fetchval(
            "SELECT lots FROM redemptions WHERE community_id = $1 AND id = $2",
            self._cid,
            redemption_id,
        )
        return tuple((int(a), int(b)) for a, b in (loads(raw) or []))

    async def redemption(self, redemption_id: int) -> Redemption | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM redemptions WHERE community_id = $1 AND id = $2",
            self._cid,
            redemption_id,
        )
        return None if row is None else _redemption(row)

    async def decide(
        self, redemption_id: int, status: RedemptionStatus, by: str, note: str, now: datetime
    ) -> Redemption | None:
        """Leave `reserved` for `status`; None if it was not reserved any more."""
        row = await self._conn.fetchrow(
            "UPDATE redemptions SET status = $3, decided_by = $4, note = $5, decided_at = $6"
            " WHERE community_id = $1 AND id = $2 AND status = 'reserved' RETURNING *",
            self._cid,
            redemption_id,
            status.value,
            by,
            note,
            now,
        )
        return None if row is None else _redemption(row)

    async def redemptions(
        self, status: RedemptionStatus | None, member_id: int | None, limit: int
    ) -> list[Redemption]:
        where = ["community_id = $1"]
        args: list[object] = [self._cid]
        if status is not None:
            args.append(status.value)
            where.append(f"status = ${len(args)}")
        if member_id is not None:
            args.append(member_id)
            where.append(f"member_id = ${len(args)}")
        args.append(limit)
        rows = await self._conn.fetch(
            f"SELECT * FROM redemptions WHERE {' AND '.join(where)} ORDER BY id DESC"
            f" LIMIT ${len(args)}",
            *args,
        )
        return [_redemption(r) for r in rows]

    # --- honours --------------------------------------------------------------------

    async def add_honour(
        self,
        member_id: int,
        kind: str,
        title: LocalizedText,
        citation: str,
        starts_on: date,
        ends_on: date | None,
        by: str,
        now: datetime,
    ) -> Honour:
        honour_id = await next_id(self._conn, self._cid, "honour")
        await self._conn.execute(
            "INSERT INTO honours (community_id, id, member_id, kind, title, citation,"
            " starts_on, ends_on, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
            " $8, $9, $10)",
            self._cid,
            honour_id,
            member_id,
            kind,
            dumps(title.as_dict()),
            citation,
            starts_on.isoformat(),
            None if ends_on is None else ends_on.isoformat(),
            by,
            now,
        )
        return Honour(honour_id, member_id, kind, title, citation, starts_on, ends_on, by)

    async def honour(self, honour_id: int) -> Honour | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM honours WHERE community_id = $1 AND id = $2", self._cid, honour_id
        )
        return None if row is None else _honour(row)

    async def revoke_honour(self, honour_id: int, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE honours SET revoked_at = $3 WHERE community_id = $1 AND id = $2",
            self._cid,
            honour_id,
            now,
        )

    async def honours(self, member_id: int | None) -> list[Honour]:
        if member_id is None:
            rows = await self._conn.fetch(
                "SELECT * FROM honours WHERE community_id = $1 ORDER BY starts_on DESC, id",
                self._cid,
            )
        else:
            rows = await self._conn.fetch(
                "SELECT * FROM honours WHERE community_id = $1 AND member_id = $2"
                " ORDER BY starts_on DESC, id",
                self._cid,
                member_id,
            )
        return [_honour(r) for r in rows]
