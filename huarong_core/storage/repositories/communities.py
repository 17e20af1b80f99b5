"""Communities and their configured categories and stations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from huarong_core.domain.communities import Category, Community, OpeningHours, Station
from huarong_core.domain.text import LocalizedText
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import dumps, loads, optional_text
from huarong_core.storage.repositories._helpers import next_id

GLOBAL = 0


def _community(row: Row) -> Community:
    return Community(
        id=int(row["id"]),
        key=row["key"],
        name=LocalizedText(loads(row["name"])),
        timezone=row["timezone"],
        locale=row["locale"],
        default_category=row["default_category"],
    )


def _station(row: Row) -> Station:
    raw = row["hours"]
    hours = loads(raw) or []
    return Station(
        row["key"],
        LocalizedText(loads(row["name"])),
        row["floor"],
        optional_text(row["description"]),
        tuple(OpeningHours.parse(h["days"], h["opens"], h["closes"]) for h in hours),
        row["lead"],
    )


class CommunityRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def all(self) -> list[Community]:
        rows = await self._conn.fetch("SELECT * FROM communities ORDER BY id")
        return [_community(r) for r in rows]

    async def by_key(self, key: str) -> Community | None:
        row = await self._conn.fetchrow("SELECT * FROM communities WHERE key = $1", key)
        return None if row is None else _community(row)

    async def by_id(self, community_id: int) -> Community | None:
        row = await self._conn.fetchrow("SELECT * FROM communities WHERE id = $1", community_id)
        return None if row is None else _community(row)

    async def create(
        self, key: str, name: LocalizedText, timezone: str, locale: str, now: datetime
    ) -> Community:
        community_id = await next_id(self._conn, GLOBAL, "community")
        await self._conn.execute(
            "INSERT INTO communities (id, key, name, timezone, locale, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $6)",
            community_id,
            key,
            dumps(name.as_dict()),
            timezone,
            locale,
            now,
        )
        return Community(community_id, key, name, timezone, locale)

    async def update(self, community: Community, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE communities SET name = $2, timezone = $3, locale = $4, updated_at = $5,"
            " default_category = $6 WHERE id = $1",
            community.id,
            dumps(community.name.as_dict()),
            community.timezone,
            community.locale,
            now,
            community.default_category,
        )

    async def categories(self, community_id: int) -> list[Category]:
        rows = await self._conn.fetch(
            "SELECT key, name FROM categories WHERE community_id = $1 ORDER BY position, key",
            community_id,
        )
        return [Category(r["key"], LocalizedText(loads(r["name"]))) for r in rows]

    async def save_category(self, community_id: int, category: Category, position: int) -> None:
        await self._conn.execute(
            "INSERT INTO categories (community_id, key, name, position) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (community_id, key) DO UPDATE"
            " SET name = excluded.name, position = excluded.position",
            community_id,
            category.key,
            dumps(category.name.as_dict()),
            position,
        )

    async def positions(
        self, community_id: int, kind: Literal["categories", "stations"]
    ) -> dict[str, int]:
        """Each entry's stored position: its place in the file when it was last saved.

        A load compares these, not places in the listed order: entries dropped
        from the file keep their old positions, so the listed order has gaps
        and ties that must not count as a change.
        """
        table = {"categories": "categories", "stations": "stations"}[kind]
        rows = await self._conn.fetch(
            f"SELECT key, position FROM {table} WHERE community_id = $1", community_id
        )
        return {r["key"]: int(r["position"]) for r in rows}

    async def stations(self, community_id: int) -> list[Station]:
        rows = await self._conn.fetch(
            "SELECT key, name, floor, description, hours, lead FROM stations"
            " WHERE community_id = $1 ORDER BY position, key",
            community_id,
        )
        return [_station(r) for r in rows]

    async def station(self, community_id: int, key: str) -> Station | None:
        row = await self._conn.fetchrow(
            "SELECT key, name, floor, description, hours, lead FROM stations"
            " WHERE community_id = $1 AND key = $2",
            community_id,
            key,
        )
        return None if row is None else _station(row)

    async def save_station(self, community_id: int, station: Station, position: int) -> None:
        description = station.description.as_dict() if station.description else None
        await self._conn.execute(
            "INSERT INTO stations (community_id, key, name, floor, description, position,"
            " hours, lead) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (community_id, key) DO UPDATE SET name = excluded.name,"
            " floor = excluded.floor, description = excluded.description,"
            " position = excluded.position, hours = excluded.hours, lead = excluded.lead",
            community_id,
            station.key,
            dumps(station.name.as_dict()),
            station.floor,
            None if description is None else dumps(description),
            position,
            dumps([rule.as_dict() for rule in station.hours]),
            station.lead,
        )
