"""Venues and bookings: rooms with capacity and equipment, booked once or as a series.

Two confirmed bookings of one venue never overlap. Every path that adds a
confirmed booking (`BookVenue`, `hold_venue`) first takes the venue's lock
(`venue:<community>:<key>`: a PostgreSQL advisory transaction lock; SQLite
has one writer anyway), then reads the confirmed bookings that overlap the
wanted spans, then inserts. A concurrent booker waits on the lock and, when
it gets it, reads the winner's committed rows (read committed), so it sees
the clash. Nothing else writes confirmed bookings.

Sessions and events hold their venue through `hold_venue` / `release_venue`
(the gatherings service calls them inside its own unit of work, after its
own permission checks); people book through `BookVenue`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from huarong_core.commands import (
    BookingResult,
    BookVenue,
    CancelBooking,
    DefineVenue,
    ListBookings,
    ListVenues,
)
from huarong_core.domain.roles import Permission, Scope
from huarong_core.domain.validation import require_name
from huarong_core.domain.venues import (
    MAX_PURPOSE_LENGTH,
    Booking,
    Span,
    Venue,
    clashing,
    conflict_text,
    plan_series,
    require_bookable,
    require_span,
)
from huarong_core.errors import InvalidTransition, InvalidValue, NotFound, VenueUnavailable
from huarong_core.events import VenueBooked
from huarong_core.services.context import Context
from huarong_core.services.registry import handles
from huarong_core.services.stations import get_station

MAX_LISTED = 1000
"""At most this many bookings in one `ListBookings` answer."""


def _station_scope(station: str | None) -> Scope | None:
    return None if station is None else Scope.station(station)


async def _lock(ctx: Context, venue_key: str) -> None:
    await ctx.repos.conn.lock(f"venue:{ctx.community.id}:{venue_key}")


async def _taken(
    ctx: Context, venue_key: str, spans: list[Span], ignore_holder: str | None = None
) -> list[Span]:
    """The spans of `spans` that overlap a confirmed booking of the venue."""
    first = min(span[0] for span in spans)
    last = max(span[1] for span in spans)
    booked = await ctx.repos.venues.confirmed_overlapping(venue_key, first, last)
    others = [b.span for b in booked if ignore_holder is None or b.holder != ignore_holder]
    return clashing(spans, others) if others else []


def _unavailable(ctx: Context, venue_key: str, spans: list[Span]) -> VenueUnavailable:
    return VenueUnavailable(
        venue=venue_key, conflicts=conflict_text((s[0] for s in spans), ctx.community.tz)
    )


# --- helpers other services call -----------------------------------------------------


async def get_venue(ctx: Context, key: str) -> Venue:
    venue = await ctx.repos.venues.venue(key)
    if venue is None:
        raise NotFound(entity="venue", ref=key)
    return venue


async def save_venue(ctx: Context, venue: Venue, source: str) -> tuple[Venue, bool]:
    """Create or replace a venue (`source`: "config" or "admin"); whether it changed."""
    current = await ctx.repos.venues.venue(venue.key)
    if current == venue:
        return venue, False
    await ctx.repos.venues.save_venue(venue, source, ctx.now)
    await ctx.audit(
        "venue.save",
        f"venue:{venue.key}",
        created=current is None,
        capacity=venue.capacity,
        equipment=sorted(venue.equipment),
        station=venue.station,
        source=source,
    )
    return venue, True


async def venue_is_free(
    ctx: Context,
    venue_key: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    ignore_holder: str | None = None,
) -> bool:
    """Whether no confirmed booking (other than `ignore_holder`'s) overlaps the span.

    A look without the lock: the answer may be stale by the time one books, so
    booking goes through `hold_venue`, which checks again under the lock.
    """
    require_span(starts_at, ends_at)
    return not await _taken(ctx, venue_key, [(starts_at, ends_at)], ignore_holder)


async def hold_venue(
    ctx: Context,
    venue_key: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    holder: str,
    purpose: str,
) -> Booking:
    """Book the venue for `holder` (e.g. `gathering:12`), replacing what it held before.

    No permission check: the caller (a session or event being scheduled or
    moved) checked its own. Raises `VenueUnavailable` if another booking
    overlaps, and then changes nothing; the holder's own earlier booking
    never counts as a clash, so moving a session by an hour works.
    """
    require_span(starts_at, ends_at)
    venue = await get_venue(ctx, venue_key)
    await _lock(ctx, venue.key)
    repo = ctx.repos.venues
    held = await repo.held_by(holder)
    if len(held) == 1:
        [current] = held
        if (
            current.venue_key == venue.key
            and current.span == (starts_at, ends_at)
            and current.purpose == purpose
        ):
            return current
    wanted = [(starts_at, ends_at)]
    if await _taken(ctx, venue.key, wanted, ignore_holder=holder):
        raise _unavailable(ctx, venue.key, wanted)
    await repo.release(holder, ctx.now)
    return await repo.add(
        venue.key,
        starts_at,
        ends_at,
        purpose=purpose,
        holder=holder,
        series=None,
        booked_by=ctx.actor.label,
        booked_by_member=ctx.actor.member_id,
        now=ctx.now,
    )


async def release_venue(ctx: Context, holder: str) -> int:
    """Cancel every confirmed booking `holder` holds; how many there were."""
    return len(await ctx.repos.venues.release(holder, ctx.now))


# --- handlers --------------------------------------------------------------------------


@handles(DefineVenue)
async def define_venue(ctx: Context, cmd: DefineVenue) -> Venue:
    venue = cmd.venue
    ctx.require(Permission.MANAGE_VENUES, _station_scope(venue.station))
    current = await ctx.repos.venues.venue(venue.key)
    if current is not None and current.station != venue.station:
        # Moving a venue to another station needs the right over the one it leaves.
        ctx.require(Permission.MANAGE_VENUES, _station_scope(current.station))
    if venue.station is not None:
        await get_station(ctx, venue.station)
    saved, _ = await save_venue(ctx, venue, "admin")
    return saved


@handles(ListVenues)
async def list_venues(ctx: Context, cmd: ListVenues) -> tuple[Venue, ...]:
    return tuple(await ctx.repos.venues.venues())


def _requested_spans(ctx: Context, cmd: BookVenue) -> list[Span]:
    has_span = cmd.starts_at is not None or cmd.ends_at is not None
    if cmd.recurrence is None:
        if cmd.starts_at is None or cmd.ends_at is None:
            raise InvalidValue(field="starts_at", value="-", reason="span_or_recurrence")
        return [require_bookable(cmd.starts_at, cmd.ends_at, ctx.now, ctx.community.tz)]
    if has_span:
        raise InvalidValue(
            field="recurrence", value=cmd.recurrence.rule, reason="span_or_recurrence"
        )
    if cmd.until is None:
        raise InvalidValue(field="until", value="-", reason="until_required")
    return plan_series(cmd.recurrence, cmd.until, ctx.now, ctx.community.tz)


@handles(BookVenue)
async def book_venue(ctx: Context, cmd: BookVenue) -> BookingResult:
    """Book once or as a series; a clash refuses everything unless `skip_conflicts`."""
    ctx.require_anywhere(Permission.BOOK_VENUES)
    venue = await get_venue(ctx, cmd.venue_key)
    purpose = require_name("purpose", cmd.purpose, max_length=MAX_PURPOSE_LENGTH)
    wanted = _requested_spans(ctx, cmd)
    await _lock(ctx, venue.key)
    taken = await _taken(ctx, venue.key, wanted)
    if taken and (not cmd.skip_conflicts or len(taken) == len(wanted)):
        raise _unavailable(ctx, venue.key, taken)
    skipped = set(taken)
    series = None if cmd.recurrence is None else f"series:{uuid.uuid4().hex}"
    booked = [
        await ctx.repos.venues.add(
            venue.key,
            starts_at,
            ends_at,
            purpose=purpose,
            holder=None,
            series=series,
            booked_by=ctx.actor.label,
            booked_by_member=ctx.actor.member_id,
            now=ctx.now,
        )
        for starts_at, ends_at in wanted
        if (starts_at, ends_at) not in skipped
    ]
    ids = tuple(b.id for b in booked)
    await ctx.audit(
        "venue.book",
        f"venue:{venue.key}",
        bookings=list(ids),
        series=series,
        skipped=[span[0].isoformat() for span in taken],
    )
    ctx.record(VenueBooked(venue.key, ids))
    return BookingResult(booked=tuple(booked), skipped=tuple(span[0] for span in taken))


@handles(CancelBooking)
async def cancel_booking(ctx: Context, cmd: CancelBooking) -> tuple[Booking, ...]:
    """The one who booked may cancel, and staff who manage the venue's station.

    A booking held by a session or event is released by changing or
    cancelling that session or event, not here.
    """
    repo = ctx.repos.venues
    current = await repo.booking(cmd.booking_id)
    if current is None:
        raise NotFound(entity="booking", ref=f"#{cmd.booking_id}")
    venue = await get_venue(ctx, current.venue_key)
    booker = current.booked_by_member
    if booker is None or booker != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_VENUES, _station_scope(venue.station))
    ref = f"#{current.id}"
    if current.holder is not None:
        raise InvalidTransition(entity="booking", ref=ref, state="held", wanted="cancelled")
    if cmd.whole_series and current.series is not None:
        done = await repo.cancel_series(current.series, ctx.now, ctx.now)
    else:
        done = await repo.cancel([current.id], ctx.now)
    if not done and not current.is_confirmed:
        raise InvalidTransition(
            entity="booking", ref=ref, state=current.status.value, wanted="cancelled"
        )
    if done:
        await ctx.audit(
            "venue.cancel",
            f"venue:{venue.key}",
            bookings=[b.id for b in done],
            series=current.series if cmd.whole_series else None,
        )
    return tuple(done)


@handles(ListBookings)
async def list_bookings(ctx: Context, cmd: ListBookings) -> tuple[Booking, ...]:
    """Confirmed bookings overlapping the window (default: from now on)."""
    starts = cmd.starts if cmd.starts is not None else ctx.now
    if cmd.ends is not None:
        require_span(starts, cmd.ends)
    elif starts.tzinfo is None:
        raise InvalidValue(field="starts_at", value=str(starts), reason="naive_time")
    if cmd.venue_key is not None:
        await get_venue(ctx, cmd.venue_key)
    return tuple(await ctx.repos.venues.bookings(cmd.venue_key, starts, cmd.ends, MAX_LISTED))
