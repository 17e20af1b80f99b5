"""Venues and their bookings.

The repository only reads and writes rows; the rule that confirmed bookings
of a venue never overlap is kept by the service, which takes the venue's
lock before it reads the bookings it checks against and inserts new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from huarong_core.domain.text import LocalizedText
from huarong_core.domain.venues import Booking, BookingStatus, Venue
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import as_datetime, dumps, loads
from huarong_core.storage.repositories._helpers import earliest_start, note_span, placeholders

_CANCEL = "UPDATE venue_bookings SET status = 'cancelled', cancelled_at = $2"


def _venue(row: Row) -> Venue:
    return Venue(
        key=row["key"],
        name=LocalizedText(loads(row["name"])),
        capacity=int(row["capacity"]),
        equipment=frozenset(loads(row["equipment"]) or ()),
        station=row["station"],
        floor=row["floor"],
    )


def _booking(row: Row) -> Booking:
    member = row["booked_by_member"]
    return Booking(
        id=int(row["id"]),
        venue_key=row["venue_key"],
        starts_at=as_datetime(row["starts_at"]),
        ends_at=as_datetime(row["ends_at"]),
        status=BookingStatus(row["status"]),
        purpose=row["purpose"],
        holder=row["holder"],
        series=row["series"],
        booked_by=row["booked_by"],
        booked_by_member=None if member is None else int(member),
    )


def _in_order(rows: Sequence[Row]) -> list[Booking]:
    return sorted((_booking(r) for r in rows), key=lambda b: (b.starts_at, b.id))


class VenueRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    # --- venues ------------------------------------------------------------------------

    async def venues(self) -> list[Venue]:
        rows = await self._conn.fetch(
            "SELECT * FROM venues WHERE community_id = $1 ORDER BY key", self._cid
        )
        return [_venue(r) for r in rows]

    async def venue(self, key: str) -> Venue | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM venues WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _venue(row)

    async def save_venue(self, venue: Venue, source: str, now: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO venues (community_id, key, name, capacity, equipment, station, floor,"
            " source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (community_id, key) DO UPDATE SET name = excluded.name,"
            " capacity = excluded.capacity, equipment = excluded.equipment,"
            " station = excluded.station, floor = excluded.floor, source = excluded.source,"
            " updated_at = excluded.updated_at",
            self._cid,
            venue.key,
            dumps(venue.name.as_dict()),
            venue.capacity,
            dumps(sorted(venue.equipment)),
            venue.station,
            venue.floor,
            source,
            now,
        )

    # --- bookings ----------------------------------------------------------------------

    async def booking(self, booking_id: int) -> Booking | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM venue_bookings WHERE community_id = $1 AND id = $2",
            self._cid,
            booking_id,
        )
        return None if row is None else _booking(row)

    async def confirmed_overlapping(
        self, venue_key: str, starts_at: datetime, ends_at: datetime
    ) -> list[Booking]:
        """Confirmed bookings of the venue that overlap `[starts_at, ends_at)`."""
        sql = (
            "SELECT * FROM venue_bookings WHERE community_id = $1 AND venue_key = $2"
            " AND status = 'confirmed' AND starts_at < $4 AND ends_at > $3"
        )
        args: list[object] = [self._cid, venue_key, starts_at, ends_at]
        sql = await self._started_since(sql, args, starts_at)
        return _in_order(await self._conn.fetch(sql, *args))

    async def _started_since(self, sql: str, args: list[object], opens: datetime) -> str:
        """`sql` with a lower bound on start time, so that a window walks the index
        over itself only: nothing that started one longest booking before `opens`
        is still going on then (no bound while no booking was ever made)."""
        earliest = await earliest_start(self._conn, self._cid, "venue_bookings", opens)
        if earliest is None:
            return sql
        args.append(earliest)
        return f"{sql} AND starts_at >= ${len(args)}"

    async def add(
        self,
        venue_key: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        purpose: str,
        holder: str | None,
        series: str | None,
        booked_by: str,
        booked_by_member: int | None,
        now: datetime,
    ) -> Booking:
        booking_id = await self._conn.fetchval(
            "INSERT INTO venue_bookings (community_id, venue_key, starts_at, ends_at, status,"
            " purpose, holder, series, booked_by, booked_by_member, created_at)"
            " VALUES ($1, $2, $3, $4, 'confirmed', $5, $6, $7, $8, $9, $10) RETURNING id",
            self._cid,
            venue_key,
            starts_at,
            ends_at,
            purpose,
            holder,
            series,
            booked_by,
            booked_by_member,
            now,
        )
        await note_span(self._conn, self._cid, "venue_bookings", starts_at, ends_at)
        return Booking(
            id=int(booking_id),
            venue_key=venue_key,
            starts_at=starts_at,
            ends_at=ends_at,
            status=BookingStatus.CONFIRMED,
            purpose=purpose,
            holder=holder,
            series=series,
            booked_by=booked_by,
            booked_by_member=booked_by_member,
        )

    async def cancel(self, booking_ids: Sequence[int], now: datetime) -> list[Booking]:
        """Cancel those of `booking_ids` still confirmed; the ones it cancelled."""
        if not booking_ids:
            return []
        rows = await self._conn.fetch(
            f"{_CANCEL} WHERE community_id = $1 AND status = 'confirmed'"
            f" AND id IN ({placeholders(3, len(booking_ids))}) RETURNING *",
            self._cid,
            now,
            *booking_ids,
        )
        return _in_order(rows)

    async def cancel_series(self, series: str, since: datetime, now: datetime) -> list[Booking]:
        """Cancel every confirmed occurrence of `series` starting at or after `since`."""
        rows = await self._conn.fetch(
            f"{_CANCEL} WHERE community_id = $1 AND series = $3 AND status = 'confirmed'"
            " AND starts_at >= $4 RETURNING *",
            self._cid,
            now,
            series,
            since,
        )
        return _in_order(rows)

    async def held_by(self, holder: str) -> list[Booking]:
        rows = await self._conn.fetch(
            "SELECT * FROM venue_bookings WHERE community_id = $1 AND holder = $2"
            " AND status = 'confirmed'",
            self._cid,
            holder,
        )
        return _in_order(rows)

    async def release(self, holder: str, now: datetime) -> list[Booking]:
        """Cancel every confirmed booking that `holder` holds."""
        rows = await self._conn.fetch(
            f"{_CANCEL} WHERE community_id = $1 AND holder = $3 AND status = 'confirmed'"
            " RETURNING *",
            self._cid,
            now,
            holder,
        )
        return _in_order(rows)

    async def bookings(
        self,
        venue_key: str | None,
        starts: datetime,
        ends: datetime | None,
        limit: int,
    ) -> list[Booking]:
        """Confirmed bookings overlapping `[starts, ends)` (open-ended without `ends`)."""
        sql = (
            "SELECT * FROM venue_bookings WHERE community_id = $1 AND status = 'confirmed'"
            " AND ends_at > $2"
        )
        args: list[object] = [self._cid, starts]
        sql = await self._started_since(sql, args, starts)
        if ends is not None:
            args.append(ends)
            sql += f" AND starts_at < ${len(args)}"
        if venue_key is not None:
            args.append(venue_key)
            sql += f" AND venue_key = ${len(args)}"
        args.append(limit)
        sql += f" ORDER BY starts_at, id LIMIT ${len(args)}"
        return [_booking(r) for r in await self._conn.fetch(sql, *args)]
