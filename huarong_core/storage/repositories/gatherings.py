"""Salons, sessions and events, RSVPs, check-ins and feedback."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from huarong_core.domain.gatherings import (
    Answer,
    Attendance,
    EventType,
    Gathering,
    GatheringKind,
    GatheringSettings,
    GatheringStatus,
    Organizer,
    Ranking,
    Rsvp,
    RsvpStatus,
    Salon,
)
from huarong_core.domain.recurrence import Recurrence
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import (
    as_datetime,
    as_optional_datetime,
    dumps,
    loads,
    optional_text,
    stored_text,
)
from huarong_core.storage.repositories._helpers import earliest_start, note_span


def _gathering(row: Row) -> Gathering:
    title = optional_text(row["title"])
    assert title is not None
    return Gathering(
        id=int(row["id"]),
        kind=GatheringKind(row["kind"]),
        event_type=EventType(row["event_type"]),
        title=title,
        organizer=Organizer.parse(row["organizer"]),
        starts_at=as_datetime(row["starts_at"]),
        ends_at=as_datetime(row["ends_at"]),
        status=GatheringStatus(row["status"]),
        club_key=row["club_key"],
        station=row["station"],
        salon_key=row["salon_key"],
        event_key=row["event_key"],
        occurrence=as_optional_datetime(row["occurrence"]),
        venue_key=row["venue_key"],
        capacity=None if row["capacity"] is None else int(row["capacity"]),
        topic=row["topic"],
        speaker=row["speaker"],
        description=optional_text(row["description"]),
        tags=frozenset(loads(row["tags"])),
        ranking=Ranking(row["ranking"]),
        finalized_at=as_optional_datetime(row["finalized_at"]),
        updated_at=as_datetime(row["updated_at"]),
    )


@functools.lru_cache(maxsize=512)
def _decoded_values(columns: tuple[str, ...], values: tuple[Any, ...]) -> Gathering:
    return _gathering(dict(zip(columns, values, strict=True)))


def _decoded(row: Row) -> Gathering:
    """A row as its `Gathering`, decoded once per distinct row. Every RSVP and
    check-in reads its gathering, which changes rarely, and decoding (its texts'
    JSON, its times, its enums) costs several times the read; a `Gathering` is
    immutable, and a changed row is a different key."""
    try:
        return _decoded_values(tuple(row.keys()), tuple(row.values()))
    except TypeError:  # a value that cannot be a key: decode it as it is
        return _gathering(row)


def _salon(row: Row) -> Salon:
    name = optional_text(row["name"])
    assert name is not None
    until = row["until_day"]
    return Salon(
        key=row["key"],
        name=name,
        organizer=Organizer.parse(row["organizer"]),
        recurrence=Recurrence(
            rule=row["rrule"],
            first_day=date.fromisoformat(row["first_day"]),
            start=time.fromisoformat(row["start_time"]),
            duration=timedelta(minutes=int(row["duration_minutes"])),
            until=None if until is None else date.fromisoformat(until),
        ),
        venue_key=row["venue_key"],
        capacity=None if row["capacity"] is None else int(row["capacity"]),
        description=optional_text(row["description"]),
        tags=frozenset(loads(row["tags"])),
        enabled=bool(row["enabled"]),
    )


def _rsvp(row: Row, position: int | None = None) -> Rsvp:
    attendance = row["attendance"]
    return Rsvp(
        gathering_id=int(row["gathering_id"]),
        member_id=int(row["member_id"]),
        answer=Answer(row["answer"]),
        status=RsvpStatus(row["status"]),
        seq=int(row["seq"]),
        responded_at=as_datetime(row["responded_at"]),
        checked_in_at=as_optional_datetime(row["checked_in_at"]),
        attendance=None if attendance is None else Attendance(attendance),
        position=position,
    )


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


class GatheringRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id
        self._codes: dict[int, str] = {}
        """Check-in codes of the gatherings this unit read whole: a code is set when
        its gathering is created and never changes, so a check-in reads it once."""

    # --- settings ------------------------------------------------------------

    async def settings(self) -> GatheringSettings:
        raw = await self._conn.fetchval(
            "SELECT settings FROM gathering_settings WHERE community_id = $1", self._cid
        )
        if raw is None:
            return GatheringSettings()
        data = loads(raw)
        return GatheringSettings(
            reminders=tuple(timedelta(minutes=m) for m in data["reminders"]),
            checkin_opens_before=timedelta(minutes=data["checkin_opens_before"]),
            checkin_closes_after=timedelta(minutes=data["checkin_closes_after"]),
            horizon=timedelta(days=data["horizon_days"]),
        )

    async def save_settings(self, settings: GatheringSettings) -> None:
        data = {
            "reminders": [_minutes(r) for r in settings.reminders],
            "checkin_opens_before": _minutes(settings.checkin_opens_before),
            "checkin_closes_after": _minutes(settings.checkin_closes_after),
            "horizon_days": settings.horizon.days,
        }
        await self._conn.execute(
            "INSERT INTO gathering_settings (community_id, settings) VALUES ($1, $2)"
            " ON CONFLICT (community_id) DO UPDATE SET settings = excluded.settings",
            self._cid,
            dumps(data),
        )

    # --- salons --------------------------------------------------------------

    async def salon(self, key: str) -> Salon | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM salons WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _salon(row)

    async def salons(self) -> list[Salon]:
        rows = await self._conn.fetch(
            "SELECT * FROM salons WHERE community_id = $1 ORDER BY key", self._cid
        )
        return [_salon(r) for r in rows]

    async def save_salon(
        self, salon: Salon, club_key: str | None, station: str | None, source: str, now: datetime
    ) -> None:
        rec = salon.recurrence
        description = stored_text(salon.description)
        await self._conn.execute(
            "INSERT INTO salons (community_id, key, name, description, organizer, club_key,"
            " station, venue_key, capacity, rrule, first_day, start_time, duration_minutes,"
            " until_day, tags, enabled, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
            " $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
            " ON CONFLICT (community_id, key) DO UPDATE SET name = excluded.name,"
            " description = excluded.description, organizer = excluded.organizer,"
            " club_key = excluded.club_key, station = excluded.station,"
            " venue_key = excluded.venue_key, capacity = excluded.capacity,"
            " rrule = excluded.rrule, first_day = excluded.first_day,"
            " start_time = excluded.start_time, duration_minutes = excluded.duration_minutes,"
            " until_day = excluded.until_day, tags = excluded.tags, enabled = excluded.enabled,"
            " source = excluded.source, updated_at = excluded.updated_at",
            self._cid,
            salon.key,
            dumps(salon.name.as_dict()),
            description,
            str(salon.organizer),
            club_key,
            station,
            salon.venue_key,
            salon.capacity,
            rec.rule,
            rec.first_day.isoformat(),
            rec.start.isoformat(timespec="minutes"),
            _minutes(rec.duration),
            None if rec.until is None else rec.until.isoformat(),
            dumps(sorted(salon.tags)),
            salon.enabled,
            source,
            now,
        )

    # --- gatherings ----------------------------------------------------------

    async def get(self, gathering_id: int) -> Gathering | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM gatherings WHERE community_id = $1 AND id = $2", self._cid, gathering_id
        )
        if row is None:
            return None
        self._codes[gathering_id] = str(row["checkin_code"])
        return _decoded(row)

    async def by_event_key(self, key: str) -> Gathering | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM gatherings WHERE community_id = $1 AND event_key = $2", self._cid, key
        )
        return None if row is None else _decoded(row)

    async def insert(self, g: Gathering, code: str, now: datetime) -> Gathering | None:
        """Store a new gathering; `None` when its salon occurrence already exists."""
        description = stored_text(g.description)
        conflict = (
            " ON CONFLICT (community_id, salon_key, occurrence) WHERE salon_key IS NOT NULL"
            " DO NOTHING"
            if g.salon_key is not None
            else ""
        )
        row = await self._conn.fetchrow(
            "INSERT INTO gatherings (community_id, kind, event_type, salon_key, occurrence,"
            " event_key, title, description, topic, speaker, organizer, club_key, station,"
            " venue_key, capacity, starts_at, ends_at, status, checkin_code, tags, ranking,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
            " $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22)"
            f"{conflict} RETURNING *",
            self._cid,
            g.kind.value,
            g.event_type.value,
            g.salon_key,
            g.occurrence,
            g.event_key,
            dumps(g.title.as_dict()),
            description,
            g.topic,
            g.speaker,
            str(g.organizer),
            g.club_key,
            g.station,
            g.venue_key,
            g.capacity,
            g.starts_at,
            g.ends_at,
            g.status.value,
            code,
            dumps(sorted(g.tags)),
            g.ranking.value,
            now,
        )
        if row is None:
            return None
        await note_span(self._conn, self._cid, "gatherings", g.starts_at, g.ends_at)
        return _decoded(row)

    async def update(self, g: Gathering, now: datetime) -> None:
        """Write back the fields a gathering may change after it is created."""
        description = stored_text(g.description)
        await self._conn.execute(
            "UPDATE gatherings SET title = $3, description = $4, topic = $5, speaker = $6,"
            " venue_key = $7, capacity = $8, starts_at = $9, ends_at = $10, status = $11,"
            " tags = $12, finalized_at = $13, updated_at = $14"
            " WHERE community_id = $1 AND id = $2",
            self._cid,
            g.id,
            dumps(g.title.as_dict()),
            description,
            g.topic,
            g.speaker,
            g.venue_key,
            g.capacity,
            g.starts_at,
            g.ends_at,
            g.status.value,
            dumps(sorted(g.tags)),
            g.finalized_at,
            now,
        )
        await note_span(self._conn, self._cid, "gatherings", g.starts_at, g.ends_at)

    async def checkin_code(self, gathering_id: int) -> str | None:
        known = self._codes.get(gathering_id)
        if known is not None:
            return known
        value = await self._conn.fetchval(
            "SELECT checkin_code FROM gatherings WHERE community_id = $1 AND id = $2",
            self._cid,
            gathering_id,
        )
        return None if value is None else str(value)

    async def between(
        self,
        starts: datetime | None,
        ends: datetime | None,
        *,
        kind: GatheringKind | None = None,
        salon_key: str | None = None,
        club_key: str | None = None,
        venue_key: str | None = None,
        ids: Sequence[int] | None = None,
        include_cancelled: bool = False,
        limit: int = 200,
    ) -> list[Gathering]:
        """Gatherings overlapping [starts, ends), in start order."""
        if ids is not None:
            # Found by id and filtered here: with the window in SQL, SQLite's planner
            # would read every gathering of the community in time order instead.
            found = [
                g
                for g in await self._by_ids(ids)
                if (starts is None or g.ends_at > starts)
                and (ends is None or g.starts_at < ends)
                and (kind is None or g.kind is kind)
                and (salon_key is None or g.salon_key == salon_key)
                and (club_key is None or g.club_key == club_key)
                and (venue_key is None or g.venue_key == venue_key)
                and (include_cancelled or g.status is not GatheringStatus.CANCELLED)
            ]
            found.sort(key=lambda g: (g.starts_at, g.id))
            return found[:limit]
        where = ["community_id = $1"]
        args: list[Any] = [self._cid]

        def add(condition: str, value: Any) -> None:
            args.append(value)
            where.append(condition.replace("?", f"${len(args)}"))

        if starts is not None:
            add("ends_at > ?", starts)
            # So that the index on start time is walked over the window only.
            earliest = await earliest_start(self._conn, self._cid, "gatherings", starts)
            if earliest is not None:
                add("starts_at >= ?", earliest)
        if ends is not None:
            add("starts_at < ?", ends)
        if kind is not None:
            add("kind = ?", kind.value)
        if salon_key is not None:
            add("salon_key = ?", salon_key)
        if club_key is not None:
            add("club_key = ?", club_key)
        if venue_key is not None:
            add("venue_key = ?", venue_key)
        if not include_cancelled:
            add("status <> ?", GatheringStatus.CANCELLED.value)
        args.append(limit)
        rows = await self._conn.fetch(
            f"SELECT * FROM gatherings WHERE {' AND '.join(where)}"
            f" ORDER BY starts_at, id LIMIT ${len(args)}",
            *args,
        )
        return [_decoded(r) for r in rows]

    async def _by_ids(self, ids: Sequence[int]) -> list[Gathering]:
        if not ids:
            return []
        marks = ", ".join(f"${n}" for n in range(2, 2 + len(ids)))
        rows = await self._conn.fetch(
            f"SELECT * FROM gatherings WHERE community_id = $1 AND id IN ({marks})",
            self._cid,
            *ids,
        )
        return [_decoded(r) for r in rows]

    async def scheduled_occurrences(self, salon_key: str, after: datetime) -> list[Gathering]:
        rows = await self._conn.fetch(
            "SELECT * FROM gatherings WHERE community_id = $1 AND salon_key = $2"
            " AND occurrence >= $3 ORDER BY occurrence",
            self._cid,
            salon_key,
            after,
        )
        return [_decoded(r) for r in rows]

    # --- RSVPs ---------------------------------------------------------------

    async def rsvp(self, gathering_id: int, member_id: int) -> Rsvp | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM rsvps WHERE community_id = $1 AND gathering_id = $2 AND member_id = $3",
            self._cid,
            gathering_id,
            member_id,
        )
        if row is None:
            return None
        rsvp = _rsvp(row)
        if rsvp.status is RsvpStatus.WAITLISTED:
            return _rsvp(row, await self.waitlist_position(gathering_id, rsvp.seq))
        return rsvp

    async def rsvps(self, gathering_id: int, status: RsvpStatus | None = None) -> list[Rsvp]:
        if status is None:
            rows = await self._conn.fetch(
                "SELECT * FROM rsvps WHERE community_id = $1 AND gathering_id = $2 ORDER BY seq",
                self._cid,
                gathering_id,
            )
        else:
            rows = await self._conn.fetch(
                "SELECT * FROM rsvps WHERE community_id = $1 AND gathering_id = $2"
                " AND status = $3 ORDER BY seq",
                self._cid,
                gathering_id,
                status.value,
            )
        found: list[Rsvp] = []
        position = 0
        for row in rows:
            if row["status"] == RsvpStatus.WAITLISTED.value:
                position += 1
                found.append(_rsvp(row, position))
            else:
                found.append(_rsvp(row))
        return found

    async def counts(self, gathering_id: int) -> dict[str, int]:
        """Members per RSVP status, plus `checked_in`."""
        rows = await self._conn.fetch(
            "SELECT status, COUNT(*) AS n, COUNT(checked_in_at) AS c FROM rsvps"
            " WHERE community_id = $1 AND gathering_id = $2 GROUP BY status",
            self._cid,
            gathering_id,
        )
        counts = {str(r["status"]): int(r["n"]) for r in rows}
        counts["checked_in"] = sum(int(r["c"]) for r in rows)
        return counts

    async def going_count(self, gathering_id: int) -> int:
        value = await self._conn.fetchval(
            "SELECT COUNT(*) FROM rsvps WHERE community_id = $1 AND gathering_id = $2"
            " AND status = 'going'",
            self._cid,
            gathering_id,
        )
        return int(value)

    async def next_seq(self, gathering_id: int) -> int:
        value = await self._conn.fetchval(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM rsvps WHERE community_id = $1"
            " AND gathering_id = $2",
            self._cid,
            gathering_id,
        )
        return int(value)

    async def waitlist_position(self, gathering_id: int, seq: int) -> int:
        value = await self._conn.fetchval(
            "SELECT COUNT(*) FROM rsvps WHERE community_id = $1 AND gathering_id = $2"
            " AND status = 'waitlisted' AND seq <= $3",
            self._cid,
            gathering_id,
            seq,
        )
        return int(value)

    async def first_waitlisted(self, gathering_id: int, count: int) -> list[int]:
        rows = await self._conn.fetch(
            "SELECT member_id FROM rsvps WHERE community_id = $1 AND gathering_id = $2"
            " AND status = 'waitlisted' ORDER BY seq LIMIT $3",
            self._cid,
            gathering_id,
            count,
        )
        return [int(r["member_id"]) for r in rows]

    async def save_rsvp(self, rsvp: Rsvp, checked_in_by: str | None = None) -> None:
        await self._conn.execute(
            "INSERT INTO rsvps (community_id, gathering_id, member_id, answer, status, seq,"
            " responded_at, checked_in_at, checked_in_by, attendance) VALUES ($1, $2, $3, $4,"
            " $5, $6, $7, $8, $9, $10) ON CONFLICT (community_id, gathering_id, member_id)"
            " DO UPDATE SET answer = excluded.answer, status = excluded.status,"
            " seq = excluded.seq, responded_at = excluded.responded_at,"
            " checked_in_at = excluded.checked_in_at,"
            " checked_in_by = COALESCE(excluded.checked_in_by, rsvps.checked_in_by),"
            " attendance = excluded.attendance",
            self._cid,
            rsvp.gathering_id,
            rsvp.member_id,
            rsvp.answer.value,
            rsvp.status.value,
            rsvp.seq,
            rsvp.responded_at,
            rsvp.checked_in_at,
            checked_in_by,
            None if rsvp.attendance is None else rsvp.attendance.value,
        )

    async def promote(self, gathering_id: int, member_ids: Sequence[int]) -> None:
        for member_id in member_ids:
            await self._conn.execute(
                "UPDATE rsvps SET status = 'going' WHERE community_id = $1"
                " AND gathering_id = $2 AND member_id = $3 AND status = 'waitlisted'",
                self._cid,
                gathering_id,
                member_id,
            )

    async def mark_attendance(self, gathering_id: int) -> tuple[list[int], list[int]]:
        """Settle attendance: checked in → attended; going but absent → no-show."""
        await self._conn.execute(
            "UPDATE rsvps SET attendance = 'attended' WHERE community_id = $1"
            " AND gathering_id = $2 AND checked_in_at IS NOT NULL",
            self._cid,
            gathering_id,
        )
        await self._conn.execute(
            "UPDATE rsvps SET attendance = 'no_show' WHERE community_id = $1"
            " AND gathering_id = $2 AND checked_in_at IS NULL AND status = 'going'",
            self._cid,
            gathering_id,
        )
        rows = await self._conn.fetch(
            "SELECT member_id, attendance FROM rsvps WHERE community_id = $1"
            " AND gathering_id = $2 AND attendance IS NOT NULL ORDER BY seq",
            self._cid,
            gathering_id,
        )
        attended = [int(r["member_id"]) for r in rows if r["attendance"] == "attended"]
        absent = [int(r["member_id"]) for r in rows if r["attendance"] == "no_show"]
        return attended, absent

    async def recipients(self, gathering_id: int, statuses: Sequence[RsvpStatus]) -> list[int]:
        marks = ", ".join(f"${n}" for n in range(3, 3 + len(statuses)))
        rows = await self._conn.fetch(
            "SELECT member_id FROM rsvps WHERE community_id = $1 AND gathering_id = $2"
            f" AND status IN ({marks}) ORDER BY seq",
            self._cid,
            gathering_id,
            *[s.value for s in statuses],
        )
        return [int(r["member_id"]) for r in rows]

    async def member_rsvps(self, member_id: int, since: datetime | None) -> list[Rsvp]:
        if since is None:
            rows = await self._conn.fetch(
                "SELECT r.* FROM rsvps r WHERE r.community_id = $1 AND r.member_id = $2"
                " ORDER BY r.gathering_id",
                self._cid,
                member_id,
            )
        else:
            # CROSS JOIN: SQLite then reads the member's RSVPs first, not every
            # gathering of the community in time order (PostgreSQL plans either way).
            rows = await self._conn.fetch(
                "SELECT r.* FROM rsvps r CROSS JOIN gatherings g WHERE r.community_id = $1"
                " AND r.member_id = $2 AND g.community_id = r.community_id"
                " AND g.id = r.gathering_id AND g.ends_at > $3 ORDER BY g.starts_at",
                self._cid,
                member_id,
                since,
            )
        return [_rsvp(r) for r in rows]

    # --- feedback ------------------------------------------------------------

    async def add_feedback(
        self, gathering_id: int, member_id: int, rating: int, comment: str, now: datetime
    ) -> bool:
        """False when this member already gave feedback on this gathering."""
        row = await self._conn.fetchrow(
            "INSERT INTO gathering_feedback (community_id, gathering_id, member_id, rating,"
            " comment, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (community_id, gathering_id, member_id) DO NOTHING RETURNING rating",
            self._cid,
            gathering_id,
            member_id,
            rating,
            comment,
            now,
        )
        return row is not None

    async def member_feedback(self, gathering_id: int, member_id: int) -> Row | None:
        return await self._conn.fetchrow(
            "SELECT * FROM gathering_feedback WHERE community_id = $1 AND gathering_id = $2"
            " AND member_id = $3",
            self._cid,
            gathering_id,
            member_id,
        )

    async def feedback(self, gathering_id: int) -> list[Row]:
        return await self._conn.fetch(
            "SELECT * FROM gathering_feedback WHERE community_id = $1 AND gathering_id = $2"
            " ORDER BY created_at, member_id",
            self._cid,
            gathering_id,
        )
