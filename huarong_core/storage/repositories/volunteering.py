"""Storage of the volunteer team: tasks, shifts, sign-ups, confirmed hours; the smile wall."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from huarong_core.domain.smile_wall import Photo, PhotoStatus
from huarong_core.domain.volunteering import (
    MAX_SHIFT,
    Shift,
    ShiftSignup,
    ShiftStatus,
    SignupStatus,
    Volunteer,
    VolunteerStatus,
    VolunteerTask,
    hours_text,
)
from huarong_core.media import MediaRef
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import (
    as_datetime,
    as_optional_datetime,
    dumps,
    loads,
    optional_text,
    stored_text,
)
from huarong_core.storage.repositories._helpers import placeholders


def _volunteer(row: Row) -> Volunteer:
    return Volunteer(
        member_id=int(row["member_id"]),
        status=VolunteerStatus(row["status"]),
        joined_at=as_datetime(row["joined_at"]),
        left_at=as_optional_datetime(row["left_at"]),
    )


def _task(row: Row) -> VolunteerTask:
    title = optional_text(row["title"])
    assert title is not None
    return VolunteerTask(
        id=int(row["id"]),
        title=title,
        key=row["key"],
        description=optional_text(row["description"]),
        station=row["station"],
        active=bool(row["active"]),
    )


def _shift(row: Row) -> Shift:
    return Shift(
        id=int(row["id"]),
        task_id=int(row["task_id"]),
        starts_at=as_datetime(row["starts_at"]),
        ends_at=as_datetime(row["ends_at"]),
        slots=int(row["slots"]),
        taken=int(row["taken"]),
        status=ShiftStatus(row["status"]),
    )


def _signup(row: Row) -> ShiftSignup:
    hours = row["hours_hundredths"]
    return ShiftSignup(
        shift_id=int(row["shift_id"]),
        member_id=int(row["member_id"]),
        status=SignupStatus(row["status"]),
        signed_up_at=as_datetime(row["signed_up_at"]),
        withdrawn_at=as_optional_datetime(row["withdrawn_at"]),
        hours=None if hours is None else hours_text(int(hours)),
        confirmed_at=as_optional_datetime(row["confirmed_at"]),
        confirmed_by=row["confirmed_by"],
    )


def _photo(row: Row) -> Photo:
    return Photo(
        id=int(row["id"]),
        member_id=int(row["member_id"]),
        media=MediaRef(row["sha256"], row["media_type"], int(row["size"])),
        caption=row["caption"],
        status=PhotoStatus(row["status"]),
        submitted_at=as_datetime(row["submitted_at"]),
        decided_at=as_optional_datetime(row["decided_at"]),
        decided_by=row["decided_by"],
        reason=row["reason"],
    )


@attrs.frozen
class HoursTotal:
    member_id: int
    display_name: str
    hundredths: int
    shifts: int


class VolunteeringRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    # --- settings (both areas) ---------------------------------------------------

    async def settings(self, area: str) -> dict[str, Any] | None:
        raw = await self._conn.fetchval(
            "SELECT settings FROM volunteering_settings WHERE community_id = $1 AND area = $2",
            self._cid,
            area,
        )
        if raw is None:
            return None
        data: dict[str, Any] = loads(raw)
        return data

    async def save_settings(self, area: str, settings: dict[str, Any]) -> None:
        await self._conn.execute(
            "INSERT INTO volunteering_settings (community_id, area, settings) VALUES ($1, $2, $3)"
            " ON CONFLICT (community_id, area) DO UPDATE SET settings = excluded.settings",
            self._cid,
            area,
            dumps(settings),
        )

    # --- the team -------------------------------------------------------------------

    async def volunteer(self, member_id: int) -> Volunteer | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM volunteers WHERE community_id = $1 AND member_id = $2",
            self._cid,
            member_id,
        )
        return None if row is None else _volunteer(row)

    async def active_volunteers(self) -> list[Volunteer]:
        rows = await self._conn.fetch(
            "SELECT * FROM volunteers WHERE community_id = $1 AND status = 'active'"
            " ORDER BY member_id",
            self._cid,
        )
        return [_volunteer(r) for r in rows]

    async def save_volunteer(self, volunteer: Volunteer, by: str) -> None:
        await self._conn.execute(
            "INSERT INTO volunteers (community_id, member_id, status, joined_at, left_at, added_by)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (community_id, member_id) DO UPDATE"
            " SET status = excluded.status, joined_at = excluded.joined_at,"
            " left_at = excluded.left_at, added_by = excluded.added_by",
            self._cid,
            volunteer.member_id,
            volunteer.status.value,
            volunteer.joined_at,
            volunteer.left_at,
            by,
        )

    # --- tasks ----------------------------------------------------------------------

    async def task(self, task_id: int) -> VolunteerTask | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM volunteer_tasks WHERE community_id = $1 AND id = $2", self._cid, task_id
        )
        return None if row is None else _task(row)

    async def task_by_key(self, key: str) -> VolunteerTask | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM volunteer_tasks WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _task(row)

    async def tasks(
        self, *, station: str | None = None, include_inactive: bool = False
    ) -> list[VolunteerTask]:
        sql = "SELECT * FROM volunteer_tasks WHERE community_id = $1"
        args: list[Any] = [self._cid]
        if station is not None:
            args.append(station)
            sql += f" AND station = ${len(args)}"
        if not include_inactive:
            sql += " AND active"
        rows = await self._conn.fetch(sql + " ORDER BY id", *args)
        return [_task(r) for r in rows]

    async def insert_task(self, task: VolunteerTask, source: str, by: str, now: datetime) -> int:
        value = await self._conn.fetchval(
            "INSERT INTO volunteer_tasks (community_id, key, title, description, station, active,"
            " source, created_by, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            self._cid,
            task.key,
            dumps(task.title.as_dict()),
            stored_text(task.description),
            task.station,
            task.active,
            source,
            by,
            now,
        )
        return int(value)

    async def update_task(self, task: VolunteerTask, source: str, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE volunteer_tasks SET title = $3, description = $4, station = $5, active = $6,"
            " source = $7, updated_at = $8 WHERE community_id = $1 AND id = $2",
            self._cid,
            task.id,
            dumps(task.title.as_dict()),
            stored_text(task.description),
            task.station,
            task.active,
            source,
            now,
        )

    # --- shifts ---------------------------------------------------------------------

    async def shift(self, shift_id: int) -> Shift | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM volunteer_shifts WHERE community_id = $1 AND id = $2",
            self._cid,
            shift_id,
        )
        return None if row is None else _shift(row)

    async def shifts_at(self, task_id: int, starts_at: datetime) -> list[Shift]:
        """Every shift of a task starting then, scheduled ones first."""
        rows = await self._conn.fetch(
            "SELECT * FROM volunteer_shifts WHERE community_id = $1 AND task_id = $2"
            " AND starts_at = $3 ORDER BY status DESC, id",
            self._cid,
            task_id,
            starts_at,
        )
        return [_shift(r) for r in rows]

    async def shifts(
        self,
        *,
        task_id: int | None = None,
        starts: datetime | None = None,
        ends: datetime | None = None,
        include_cancelled: bool = False,
        ids: Sequence[int] | None = None,
        limit: int = 200,
    ) -> list[Shift]:
        sql = "SELECT * FROM volunteer_shifts WHERE community_id = $1"
        args: list[Any] = [self._cid]
        if task_id is not None:
            args.append(task_id)
            sql += f" AND task_id = ${len(args)}"
        if starts is not None:
            args.append(starts)
            sql += f" AND ends_at > ${len(args)}"
            # No shift lasts longer than MAX_SHIFT (`require_shift_span`), so one that
            # ends after `starts` began after this: the index on start time is walked
            # over the window only, not over every shift ever held.
            args.append(starts - MAX_SHIFT)
            sql += f" AND starts_at >= ${len(args)}"
        if ends is not None:
            args.append(ends)
            sql += f" AND starts_at < ${len(args)}"
        if not include_cancelled:
            sql += " AND status = 'scheduled'"
        if ids is not None:
            if not ids:
                return []
            sql += f" AND id IN ({placeholders(len(args) + 1, len(ids))})"
            args.extend(ids)
        args.append(limit)
        rows = await self._conn.fetch(sql + f" ORDER BY starts_at, id LIMIT ${len(args)}", *args)
        return [_shift(r) for r in rows]

    async def insert_shift(self, shift: Shift, now: datetime) -> Shift:
        row = await self._conn.fetchrow(
            "INSERT INTO volunteer_shifts (community_id, task_id, starts_at, ends_at, slots, taken,"
            " status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $7)"
            " RETURNING *",
            self._cid,
            shift.task_id,
            shift.starts_at,
            shift.ends_at,
            shift.slots,
            shift.status.value,
            now,
        )
        assert row is not None
        return _shift(row)

    async def update_shift(self, shift: Shift, now: datetime) -> None:
        """Times, slots and status; `taken` moves only through `take_slot` / `release_slot`."""
        await self._conn.execute(
            "UPDATE volunteer_shifts SET starts_at = $3, ends_at = $4, slots = $5, status = $6,"
            " updated_at = $7 WHERE community_id = $1 AND id = $2",
            self._cid,
            shift.id,
            shift.starts_at,
            shift.ends_at,
            shift.slots,
            shift.status.value,
            now,
        )

    async def take_slot(self, shift_id: int) -> int | None:
        """Take one free slot; the slots left after it, or None when the shift is full."""
        value = await self._conn.fetchval(
            "UPDATE volunteer_shifts SET taken = taken + 1"
            " WHERE community_id = $1 AND id = $2 AND taken < slots RETURNING slots - taken",
            self._cid,
            shift_id,
        )
        return None if value is None else int(value)

    async def release_slot(self, shift_id: int) -> None:
        await self._conn.execute(
            "UPDATE volunteer_shifts SET taken = taken - 1"
            " WHERE community_id = $1 AND id = $2 AND taken > 0",
            self._cid,
            shift_id,
        )

    # --- sign-ups -------------------------------------------------------------------

    async def signup(self, shift_id: int, member_id: int) -> ShiftSignup | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM volunteer_signups WHERE community_id = $1 AND shift_id = $2"
            " AND member_id = $3",
            self._cid,
            shift_id,
            member_id,
        )
        return None if row is None else _signup(row)

    async def signups(self, shift_id: int, status: SignupStatus | None = None) -> list[ShiftSignup]:
        sql = "SELECT * FROM volunteer_signups WHERE community_id = $1 AND shift_id = $2"
        args: list[Any] = [self._cid, shift_id]
        if status is not None:
            args.append(status.value)
            sql += " AND status = $3"
        rows = await self._conn.fetch(sql + " ORDER BY signed_up_at, member_id", *args)
        return [_signup(r) for r in rows]

    async def signed_up_members(self, shift_id: int) -> list[int]:
        rows = await self._conn.fetch(
            "SELECT member_id FROM volunteer_signups WHERE community_id = $1 AND shift_id = $2"
            " AND status = 'signed_up' ORDER BY member_id",
            self._cid,
            shift_id,
        )
        return [int(r["member_id"]) for r in rows]

    async def member_signups(
        self, member_id: int, *, ending_after: datetime | None = None
    ) -> list[tuple[Shift, ShiftSignup]]:
        """A member's current sign-ups (not withdrawn), with their shifts, soonest first."""
        # CROSS JOIN: SQLite then reads the member's sign-ups first, not every shift
        # of the community in time order (PostgreSQL plans either way).
        sql = (
            "SELECT s.*, h.task_id, h.starts_at, h.ends_at, h.slots, h.taken, h.status AS"
            " shift_status, h.id AS id FROM volunteer_signups s CROSS JOIN volunteer_shifts h"
            " WHERE s.community_id = $1 AND s.member_id = $2 AND s.status = 'signed_up'"
            " AND h.community_id = s.community_id AND h.id = s.shift_id"
        )
        args: list[Any] = [self._cid, member_id]
        if ending_after is not None:
            args.append(ending_after)
            sql += " AND h.ends_at > $3"
        rows = await self._conn.fetch(sql + " ORDER BY h.starts_at, h.id", *args)
        found = []
        for row in rows:
            shift = _shift({**row, "status": row["shift_status"]})
            found.append((shift, _signup(row)))
        return found

    async def save_signup(self, signup: ShiftSignup, by: str) -> None:
        """Sign up (again): a withdrawn sign-up comes back with a new time."""
        await self._conn.execute(
            "INSERT INTO volunteer_signups (community_id, shift_id, member_id, status,"
            " signed_up_at, signed_up_by, withdrawn_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (community_id, shift_id, member_id) DO UPDATE SET"
            " status = excluded.status, signed_up_at = excluded.signed_up_at,"
            " signed_up_by = excluded.signed_up_by, withdrawn_at = excluded.withdrawn_at",
            self._cid,
            signup.shift_id,
            signup.member_id,
            signup.status.value,
            signup.signed_up_at,
            by,
            signup.withdrawn_at,
        )

    async def withdraw(self, shift_id: int, member_id: int, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE volunteer_signups SET status = 'withdrawn', withdrawn_at = $4"
            " WHERE community_id = $1 AND shift_id = $2 AND member_id = $3",
            self._cid,
            shift_id,
            member_id,
            now,
        )

    async def confirm_hours(
        self, shift_id: int, member_id: int, hundredths: int, by: str, now: datetime
    ) -> ShiftSignup | None:
        """Record hours once: None when the sign-up is missing, withdrawn or already confirmed."""
        row = await self._conn.fetchrow(
            "UPDATE volunteer_signups SET hours_hundredths = $4, confirmed_at = $5,"
            " confirmed_by = $6 WHERE community_id = $1 AND shift_id = $2 AND member_id = $3"
            " AND status = 'signed_up' AND hours_hundredths IS NULL RETURNING *",
            self._cid,
            shift_id,
            member_id,
            hundredths,
            now,
            by,
        )
        return None if row is None else _signup(row)

    async def hours_between(
        self, starts: datetime, ends: datetime, member_id: int | None = None
    ) -> list[HoursTotal]:
        """Confirmed hours per member of shifts starting in `[starts, ends)`, most first."""
        sql = (
            "SELECT s.member_id, m.display_name, SUM(s.hours_hundredths) AS hundredths,"
            " COUNT(*) AS shifts FROM volunteer_signups s"
            " JOIN volunteer_shifts h ON h.community_id = s.community_id AND h.id = s.shift_id"
            " JOIN members m ON m.community_id = s.community_id AND m.id = s.member_id"
            " WHERE s.community_id = $1 AND s.hours_hundredths IS NOT NULL"
            " AND h.starts_at >= $2 AND h.starts_at < $3"
        )
        args: list[Any] = [self._cid, starts, ends]
        if member_id is not None:
            args.append(member_id)
            sql += " AND s.member_id = $4"
        sql += " GROUP BY s.member_id, m.display_name ORDER BY hundredths DESC, s.member_id"
        rows = await self._conn.fetch(sql, *args)
        return [
            HoursTotal(
                int(r["member_id"]), r["display_name"], int(r["hundredths"]), int(r["shifts"])
            )
            for r in rows
        ]

    # --- the smile wall -------------------------------------------------------------

    async def photo(self, photo_id: int) -> Photo | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM smile_photos WHERE community_id = $1 AND id = $2", self._cid, photo_id
        )
        return None if row is None else _photo(row)

    async def live_photo_of(self, member_id: int, sha256: str) -> Photo | None:
        """The member's pending or approved photo of this very file, if any."""
        row = await self._conn.fetchrow(
            "SELECT * FROM smile_photos WHERE community_id = $1 AND member_id = $2"
            " AND sha256 = $3 AND status IN ('pending', 'approved') ORDER BY id LIMIT 1",
            self._cid,
            member_id,
            sha256,
        )
        return None if row is None else _photo(row)

    async def insert_photo(
        self, member_id: int, media: MediaRef, caption: str, now: datetime
    ) -> Photo:
        row = await self._conn.fetchrow(
            "INSERT INTO smile_photos (community_id, member_id, sha256, media_type, size, caption,"
            " status, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) RETURNING *",
            self._cid,
            member_id,
            media.sha256,
            media.media_type,
            media.size,
            caption,
            now,
        )
        assert row is not None
        return _photo(row)

    async def decide_photo(
        self,
        photo_id: int,
        from_states: Sequence[PhotoStatus],
        to: PhotoStatus,
        by: str,
        reason: str | None,
        now: datetime,
    ) -> Photo | None:
        """Move a photo on, only from one of `from_states`; None when it was elsewhere."""
        states = [s.value for s in from_states]
        row = await self._conn.fetchrow(
            "UPDATE smile_photos SET status = $3, decided_at = $4, decided_by = $5, reason = $6"
            f" WHERE community_id = $1 AND id = $2 AND status IN ({placeholders(7, len(states))})"
            " RETURNING *",
            self._cid,
            photo_id,
            to.value,
            now,
            by,
            reason,
            *states,
        )
        return None if row is None else _photo(row)

    async def photos(
        self,
        *,
        status: PhotoStatus | None = None,
        member_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit: int = 50,
    ) -> list[Photo]:
        sql = "SELECT * FROM smile_photos WHERE community_id = $1"
        args: list[Any] = [self._cid]
        if status is not None:
            args.append(status.value)
            sql += f" AND status = ${len(args)}"
        if member_id is not None:
            args.append(member_id)
            sql += f" AND member_id = ${len(args)}"
        if ids is not None:
            if not ids:
                return []
            sql += f" AND id IN ({placeholders(len(args) + 1, len(ids))})"
            args.extend(ids)
        args.append(limit)
        rows = await self._conn.fetch(sql + f" ORDER BY id LIMIT ${len(args)}", *args)
        return [_photo(r) for r in rows]

    async def approved_ids(
        self,
        *,
        since: datetime | None = None,
        before: datetime | None = None,
        up_to: datetime | None = None,
    ) -> list[int]:
        """Photos on the wall approved from `since`, before `before` / up to `up_to`
        (inclusive), in approval order."""
        sql = "SELECT id FROM smile_photos WHERE community_id = $1 AND status = 'approved'"
        args: list[Any] = [self._cid]
        for value, condition in ((since, ">="), (before, "<"), (up_to, "<=")):
            if value is not None:
                args.append(value)
                sql += f" AND decided_at {condition} ${len(args)}"
        rows = await self._conn.fetch(sql + " ORDER BY decided_at, id", *args)
        return [int(r["id"]) for r in rows]
