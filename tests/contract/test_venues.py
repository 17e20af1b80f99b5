"""Venues and bookings: no two confirmed bookings of one venue overlap, series included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest

from huarong_core import Actor, ListAuditEntries, LocalizedText, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    BookVenue,
    CancelBooking,
    DefineVenue,
    ListBookings,
    ListVenues,
)
from huarong_core.domain.recurrence import Recurrence
from huarong_core.domain.roles import GrantSource, Role, Scope
from huarong_core.domain.venues import Booking, BookingStatus, Venue
from huarong_core.errors import (
    InvalidTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
    VenueUnavailable,
)
from huarong_core.serialization import converter
from huarong_core.services.context import Context
from huarong_core.services.venues import (
    get_venue,
    hold_venue,
    release_venue,
    save_venue,
    venue_is_free,
)
from huarong_core.storage.base import Connection
from huarong_core.storage.repositories import RoleRepository
from huarong_core.storage.unit_of_work import UnitOfWork
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

T = TypeVar("T")
LOCAL = ZoneInfo("Asia/Shanghai")  # the sample community's time zone
"""The sample clock stands at 2026-07-01 17:00 local time (a Wednesday)."""

VENUE_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[stations]]
key = "library"
name = { zh_CN = "图书驿站", en = "Library station" }

[[members]]
key = "leader"
name = "Leader"

[[members]]
key = "librarian"
name = "Librarian"

[[roles]]
member = "librarian"
role = "station_staff"
scope = "station:library"
"""
)

HALL = Venue(
    key="hall",
    name=LocalizedText({"zh_CN": "29楼多功能厅", "en": "29F multi-function hall"}),
    capacity=120,
    equipment=frozenset({"projector", "microphones", "lights", "audio"}),
    station="service",
    floor="29",
)
CLUB_ROOM = Venue(
    key="club-room",
    name=LocalizedText({"zh_CN": "社团活动室", "en": "Club room"}),
    capacity=20,
    equipment=frozenset({"projector"}),
)
THURSDAYS = "FREQ=WEEKLY;BYDAY=TH"


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL)


def once(start: datetime, hours: float = 2, purpose: str = "Meeting") -> BookVenue:
    return BookVenue("hall", purpose, starts_at=start, ends_at=start + timedelta(hours=hours))


def weekly(first: date, until: date, *, skip: bool = False) -> BookVenue:
    return BookVenue(
        "hall",
        "Chess club",
        recurrence=Recurrence.from_clock(THURSDAYS, first, "19:00", "21:00"),
        until=until,
        skip_conflicts=skip,
    )


@pytest.fixture
async def venues(community: Pair) -> Pair:
    huarong, handle = community
    await huarong.apply_configuration(parse_config(VENUE_COMMUNITY), actor=SYSTEM)
    await handle.execute(DefineVenue(HALL), actor=SYSTEM)
    await handle.execute(DefineVenue(CLUB_ROOM), actor=SYSTEM)
    return community


async def confirmed(handle: CommunityHandle, venue: str = "hall") -> list[Booking]:
    found = await handle.execute(ListBookings(venue_key=venue), actor=SYSTEM)
    return list(found)


async def overlapping_pairs(pair: Pair) -> int:
    """Pairs of confirmed bookings of one venue that overlap, counted by SQL itself."""
    huarong, _ = pair
    async with huarong.db.read() as conn:
        value = await conn.fetchval(
            "SELECT COUNT(*) AS n FROM venue_bookings a JOIN venue_bookings b"
            " ON a.community_id = b.community_id AND a.venue_key = b.venue_key AND a.id < b.id"
            " WHERE a.status = 'confirmed' AND b.status = 'confirmed'"
            " AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
        )
    return int(value)


async def in_unit(pair: Pair, clock: FrozenClock, work: Callable[[Context], Awaitable[T]]) -> T:
    """Run `work` in one unit of work, the way another service calls the helpers."""
    huarong, handle = pair

    async def unit(conn: Connection) -> T:
        uow = UnitOfWork(conn, handle.community.id, clock.now(), converter)
        ctx = Context(uow, handle.community, SYSTEM, (), clock.now())
        result = await work(ctx)
        await uow.flush()
        return result

    return await huarong.db.run(unit)


async def make_club_leader(pair: Pair, clock: FrozenClock, key: str) -> Actor:
    """Club leaders hold their rights in the scope of their club only."""
    huarong, handle = pair
    actor = await actor_for(handle, key)
    assert actor.member_id is not None
    async with huarong.db.transaction() as conn:
        await RoleRepository(conn, handle.community.id).add(
            actor.member_id,
            Role.CLUB_LEADER,
            Scope.club("chess"),
            GrantSource.MANUAL,
            "test",
            clock.now(),
        )
    return actor


# --- venues ----------------------------------------------------------------------------


async def test_staff_define_venues_of_their_station(venues: Pair) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    listed = await handle.execute(ListVenues(), actor=await actor_for(handle, "alice"))
    assert listed == (CLUB_ROOM, HALL)
    bigger = Venue(
        key="hall",
        name=HALL.name,
        capacity=150,
        equipment=frozenset({"projector", " audio "}),
        station="service",
    )
    assert await handle.execute(DefineVenue(bigger), actor=staff) == bigger
    assert (await handle.execute(ListVenues(), actor=staff))[1].equipment == {"projector", "audio"}
    # Defining it again unchanged writes no audit entry.
    await handle.execute(DefineVenue(bigger), actor=staff)
    saves = await handle.execute(ListAuditEntries(action="venue.save"), actor=SYSTEM)
    assert [e.target for e in saves].count("venue:hall") == 2
    elsewhere = Venue(key="reading", name=LocalizedText({"en": "Reading room"}), capacity=8)
    for venue in (
        elsewhere,
        Venue(key="stacks", name=elsewhere.name, capacity=8, station="library"),
    ):
        with pytest.raises(PermissionDenied):
            await handle.execute(DefineVenue(venue), actor=staff)
    with pytest.raises(PermissionDenied):
        await handle.execute(DefineVenue(HALL), actor=await actor_for(handle, "alice"))
    nowhere = Venue(key="attic", name=elsewhere.name, capacity=3, station="attic")
    with pytest.raises(NotFound) as missing:
        await handle.execute(DefineVenue(nowhere), actor=SYSTEM)
    assert missing.value.entity == "station"


def test_venue_values_are_checked() -> None:
    with pytest.raises(InvalidValue) as raised:
        Venue(key="hall", name=HALL.name, capacity=0)
    assert raised.value.reason == "not_positive"
    with pytest.raises(InvalidValue) as raised:
        Venue(key="Hall 29", name=HALL.name, capacity=10)
    assert raised.value.reason == "bad_key"


# --- single bookings -----------------------------------------------------------------


async def test_a_single_booking_is_stored_and_listed(venues: Pair) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    result = await handle.execute(once(local(7, 10, 19), purpose=" Party  lecture "), actor=staff)
    [booking] = result.booked
    assert result.skipped == ()
    assert booking.span == (local(7, 10, 19), local(7, 10, 21))
    assert (booking.purpose, booking.status, booking.series, booking.holder) == (
        "Party lecture",
        BookingStatus.CONFIRMED,
        None,
        None,
    )
    assert booking.booked_by_member == staff.member_id
    assert await confirmed(handle) == [booking]
    assert await confirmed(handle, "club-room") == []
    # Back to back is fine: spans are half-open.
    await handle.execute(once(local(7, 10, 21)), actor=staff)
    await handle.execute(once(local(7, 10, 17)), actor=staff)
    with pytest.raises(VenueUnavailable) as taken:
        await handle.execute(once(local(7, 10, 20, 30), hours=0.5), actor=staff)
    assert (taken.value.venue, taken.value.starts) == ("hall", ("2026-07-10 20:30",))
    assert len(await confirmed(handle)) == 3


async def test_bad_bookings_are_refused_and_change_nothing(venues: Pair) -> None:
    huarong, handle = venues
    staff = await actor_for(handle, "staff")
    await handle.execute(once(local(7, 10, 19)), actor=staff)
    before = await snapshot(huarong.db)
    start = local(7, 20, 19)
    cases: list[tuple[BookVenue, str]] = [
        (
            BookVenue("hall", "x", starts_at=start, ends_at=start - timedelta(hours=1)),
            "ends_before_start",
        ),
        (BookVenue("hall", "x", starts_at=start, ends_at=start), "ends_before_start"),
        (
            BookVenue(
                "hall",
                "x",
                starts_at=start.replace(tzinfo=None),
                ends_at=start.replace(tzinfo=None),
            ),
            "naive_time",
        ),
        (once(local(6, 30, 19)), "in_the_past"),
        (once(start, hours=24 * 8), "bad_duration"),
        (once(datetime(2029, 1, 1, 10, tzinfo=LOCAL)), "too_far_ahead"),
        (BookVenue("hall", "x", starts_at=start), "span_or_recurrence"),
        (BookVenue("hall", "   ", starts_at=start, ends_at=start + timedelta(hours=1)), "empty"),
        (
            BookVenue(
                "hall",
                "x",
                recurrence=Recurrence.from_clock(THURSDAYS, date(2026, 7, 2), "19:00", "21:00"),
            ),
            "until_required",
        ),
        (
            BookVenue(
                "hall",
                "x",
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                recurrence=Recurrence.from_clock(THURSDAYS, date(2026, 7, 2), "19:00", "21:00"),
                until=date(2026, 8, 1),
            ),
            "span_or_recurrence",
        ),
        (weekly(date(2026, 7, 2), date(2028, 12, 31)), "too_far_ahead"),
        (
            BookVenue(
                "hall",
                "x",
                recurrence=Recurrence.from_clock("FREQ=DAILY", date(2026, 7, 2), "19:00", "21:00"),
                until=date(2026, 7, 1),
            ),
            "ends_before_start",
        ),
        (
            BookVenue(
                "hall",
                "x",
                recurrence=Recurrence("FREQ=DAILY", date(2026, 7, 2), time(0), timedelta(hours=36)),
                until=date(2026, 7, 9),
            ),
            "series_overlaps",
        ),
    ]
    for command, reason in cases:
        with pytest.raises(InvalidValue) as raised:
            await handle.execute(command, actor=staff)
        assert raised.value.reason == reason, command
    with pytest.raises(NotFound):
        await handle.execute(
            BookVenue("ballroom", "x", starts_at=start, ends_at=start + timedelta(hours=1)),
            actor=staff,
        )
    assert await snapshot(huarong.db) == before


async def test_a_recurrence_rule_that_does_not_parse_is_refused() -> None:
    for rule in (
        "FREQ=SOMETIMES",
        "every thursday",
        "",
        "FREQ=WEEKLY;BYDAY=XX",
        "DTSTART:20260101",
    ):
        with pytest.raises(InvalidValue) as raised:
            Recurrence.from_clock(rule, date(2026, 7, 2), "19:00", "21:00")
        assert (raised.value.field, raised.value.reason) == ("rrule", "bad_rrule")


# --- series ----------------------------------------------------------------------------


async def test_weekly_series_over_one_off_bookings_names_exactly_the_clashing_dates(
    venues: Pair,
) -> None:
    huarong, handle = venues
    staff = await actor_for(handle, "staff")
    await handle.execute(once(local(7, 16, 18)), actor=staff)  # 18-20: clashes with 19-21
    await handle.execute(once(local(8, 6, 20, 30), hours=3), actor=staff)  # clashes
    await handle.execute(once(local(7, 23, 21)), actor=staff)  # starts as it ends: no clash
    await handle.execute(once(local(7, 24, 19)), actor=staff)  # a Friday: no clash
    before = await snapshot(huarong.db)
    with pytest.raises(VenueUnavailable) as refused:
        await handle.execute(weekly(date(2026, 7, 1), date(2026, 8, 27)), actor=staff)
    assert refused.value.venue == "hall"
    assert refused.value.starts == ("2026-07-16 19:00", "2026-08-06 19:00")
    assert await snapshot(huarong.db) == before


async def test_skipping_conflicts_books_the_rest_as_one_series(venues: Pair) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    [one_off] = (await handle.execute(once(local(7, 16, 18)), actor=staff)).booked
    result = await handle.execute(
        weekly(date(2026, 7, 1), date(2026, 8, 27), skip=True), actor=staff
    )
    assert result.skipped == (local(7, 16, 19),)
    assert [b.starts_at for b in result.booked] == [
        local(7, 2, 19),
        local(7, 9, 19),
        local(7, 23, 19),
        local(7, 30, 19),
        local(8, 6, 19),
        local(8, 13, 19),
        local(8, 20, 19),
        local(8, 27, 19),
    ]
    assert len({b.series for b in result.booked}) == 1
    assert result.booked[0].series is not None
    assert len(await confirmed(handle)) == 9
    assert await overlapping_pairs(venues) == 0
    # A second series over the first: everything clashes, so nothing is booked even when skipping.
    with pytest.raises(VenueUnavailable) as refused:
        await handle.execute(weekly(date(2026, 7, 1), date(2026, 8, 27), skip=True), actor=staff)
    assert len(refused.value.starts) == 9
    assert one_off in await confirmed(handle)


async def test_occurrences_already_begun_are_left_out(venues: Pair, clock: FrozenClock) -> None:
    _, handle = venues
    clock.set(local(7, 2, 20))  # Thursday 20:00, the first occurrence is under way
    result = await handle.execute(weekly(date(2026, 7, 2), date(2026, 7, 16)), actor=SYSTEM)
    assert [b.starts_at for b in result.booked] == [local(7, 9, 19), local(7, 16, 19)]


async def test_cancelling_a_whole_series_cancels_its_future_occurrences(
    venues: Pair, clock: FrozenClock
) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    series = (await handle.execute(weekly(date(2026, 7, 1), date(2026, 7, 30)), actor=staff)).booked
    assert len(series) == 5
    other = (await handle.execute(once(local(7, 10, 19)), actor=staff)).booked
    clock.set(local(7, 12, 9))
    cancelled = await handle.execute(CancelBooking(series[-1].id, whole_series=True), actor=staff)
    assert [b.starts_at for b in cancelled] == [
        local(7, 16, 19),
        local(7, 23, 19),
        local(7, 30, 19),
    ]
    assert all(b.status is BookingStatus.CANCELLED for b in cancelled)
    clock.set(local(7, 1, 9))
    left = await confirmed(handle)
    assert [b.id for b in left] == [series[0].id, series[1].id, other[0].id]
    # The freed Thursdays can be booked again.
    await handle.execute(once(local(7, 23, 19)), actor=staff)


# --- cancelling -----------------------------------------------------------------------


async def test_cancelling_frees_the_slot(venues: Pair) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    [booking] = (await handle.execute(once(local(7, 10, 19)), actor=staff)).booked
    [done] = await handle.execute(CancelBooking(booking.id), actor=staff)
    assert (done.id, done.status) == (booking.id, BookingStatus.CANCELLED)
    assert await confirmed(handle) == []
    await handle.execute(once(local(7, 10, 19)), actor=staff)
    with pytest.raises(InvalidTransition):
        await handle.execute(CancelBooking(booking.id), actor=staff)
    with pytest.raises(NotFound):
        await handle.execute(CancelBooking(9999), actor=staff)
    [logged] = await handle.execute(ListAuditEntries(action="venue.cancel"), actor=SYSTEM)
    assert logged.details["bookings"] == [booking.id]


# --- permissions ----------------------------------------------------------------------


async def test_a_plain_member_may_not_book(venues: Pair) -> None:
    huarong, handle = venues
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")
    [booking] = (await handle.execute(once(local(7, 10, 19)), actor=staff)).booked
    before = await snapshot(huarong.db)
    with pytest.raises(PermissionDenied):
        await handle.execute(once(local(7, 11, 19)), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelBooking(booking.id), actor=alice)
    # Staff of another station neither, for a venue of this one.
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelBooking(booking.id), actor=await actor_for(handle, "librarian"))
    assert await snapshot(huarong.db) == before
    assert await handle.execute(ListBookings(), actor=alice) == (booking,)


async def test_a_club_leader_may_book_and_cancel_their_own(
    venues: Pair, clock: FrozenClock
) -> None:
    _, handle = venues
    leader = await make_club_leader(venues, clock, "leader")
    staff = await actor_for(handle, "staff")
    result = await handle.execute(weekly(date(2026, 7, 1), date(2026, 7, 16)), actor=leader)
    assert [b.booked_by_member for b in result.booked] == [leader.member_id] * 3
    theirs = (await handle.execute(once(local(7, 10, 9)), actor=staff)).booked[0]
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelBooking(theirs.id), actor=leader)
    cancelled = await handle.execute(
        CancelBooking(result.booked[0].id, whole_series=True), actor=leader
    )
    assert len(cancelled) == 3
    # Staff of the venue's station may cancel anyone's booking.
    await handle.execute(once(local(7, 20, 9)), actor=leader)
    mine = [b for b in await confirmed(handle) if b.booked_by_member == leader.member_id]
    await handle.execute(CancelBooking(mine[0].id), actor=staff)


# --- concurrency ----------------------------------------------------------------------


async def test_twenty_concurrent_bookings_of_one_slot_confirm_exactly_one(venues: Pair) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    outcomes = await asyncio.gather(
        *(
            handle.execute(once(local(7, 10, 19), purpose=f"Meeting {i}"), actor=staff)
            for i in range(20)
        ),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, VenueUnavailable)]
    assert (len(won), len(refused)) == (1, 19)
    assert all(r.starts == ("2026-07-10 19:00",) for r in refused)
    assert len(await confirmed(handle)) == 1
    assert await overlapping_pairs(venues) == 0


async def test_concurrent_series_and_single_bookings_never_overlap(venues: Pair) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    commands: list[BookVenue] = [
        once(local(7, 2 + i % 4 * 7, 17, 30 * i % 60), hours=1 + i % 3) for i in range(12)
    ]
    commands += [weekly(date(2026, 7, 1), date(2026, 8, 27), skip=i % 2 == 0) for i in range(6)]
    outcomes = await asyncio.gather(
        *(handle.execute(c, actor=staff) for c in commands), return_exceptions=True
    )
    assert all(isinstance(o, VenueUnavailable) for o in outcomes if isinstance(o, BaseException))
    assert any(not isinstance(o, BaseException) for o in outcomes)
    assert await overlapping_pairs(venues) == 0


# --- helpers the gatherings service calls --------------------------------------------


async def test_holding_a_venue_for_a_gathering(venues: Pair, clock: FrozenClock) -> None:
    _, handle = venues
    staff = await actor_for(handle, "staff")
    start, end = local(7, 10, 19), local(7, 10, 21)

    held = await in_unit(
        venues,
        clock,
        lambda ctx: hold_venue(ctx, "hall", start, end, holder="gathering:1", purpose="Salon"),
    )
    assert (held.holder, held.span, held.status) == (
        "gathering:1",
        (start, end),
        BookingStatus.CONFIRMED,
    )
    # Holding the same again changes nothing; moving it by an hour re-books, over its own old span.
    again = await in_unit(
        venues,
        clock,
        lambda ctx: hold_venue(ctx, "hall", start, end, holder="gathering:1", purpose="Salon"),
    )
    assert again == held
    later = start + timedelta(hours=1), end + timedelta(hours=1)
    moved = await in_unit(
        venues,
        clock,
        lambda ctx: hold_venue(ctx, "hall", *later, holder="gathering:1", purpose="Salon"),
    )
    assert moved.id != held.id
    assert [b.id for b in await confirmed(handle)] == [moved.id]
    # Another holder, or a person, cannot take it.
    with pytest.raises(VenueUnavailable):
        await in_unit(
            venues,
            clock,
            lambda ctx: hold_venue(ctx, "hall", start, end, holder="gathering:2", purpose="Talk"),
        )
    with pytest.raises(VenueUnavailable):
        await handle.execute(once(local(7, 10, 21)), actor=staff)

    async def free(ctx: Context) -> tuple[bool, bool, bool]:
        return (
            await venue_is_free(ctx, "hall", *later),
            await venue_is_free(ctx, "hall", *later, ignore_holder="gathering:1"),
            await venue_is_free(ctx, "hall", local(7, 10, 17), local(7, 10, 20)),
        )

    assert await in_unit(venues, clock, free) == (False, True, True)
    # A booking held by a gathering is released through the gathering, not cancelled here.
    with pytest.raises(InvalidTransition) as held_error:
        await handle.execute(CancelBooking(moved.id), actor=SYSTEM)
    assert held_error.value.state == "held"
    # Moving to another venue leaves the first one free.
    other = await in_unit(
        venues,
        clock,
        lambda ctx: hold_venue(ctx, "club-room", *later, holder="gathering:1", purpose="Salon"),
    )
    assert other.venue_key == "club-room"
    assert await confirmed(handle) == []
    assert await in_unit(venues, clock, lambda ctx: release_venue(ctx, "gathering:1")) == 1
    assert await in_unit(venues, clock, lambda ctx: release_venue(ctx, "gathering:1")) == 0
    assert await confirmed(handle, "club-room") == []


async def test_a_long_hold_begun_well_before_still_clashes(
    venues: Pair, clock: FrozenClock
) -> None:
    """Clashes are searched by start time back to the venue's longest booking."""
    _, handle = venues
    staff = await actor_for(handle, "staff")
    await handle.execute(once(local(7, 3, 9)), actor=staff)  # short ones came first
    fair = await in_unit(
        venues,
        clock,
        lambda ctx: hold_venue(
            ctx, "hall", local(7, 4, 9), local(7, 24, 18), holder="gathering:7", purpose="Fair"
        ),
    )
    with pytest.raises(VenueUnavailable):
        await handle.execute(once(local(7, 20, 10)), actor=staff)
    listed = await handle.execute(
        ListBookings(starts=local(7, 20, 0), ends=local(7, 21, 0)), actor=staff
    )
    assert [b.id for b in listed] == [fair.id]


async def test_get_and_save_venue(venues: Pair, clock: FrozenClock) -> None:
    _, handle = venues
    assert await in_unit(venues, clock, lambda ctx: get_venue(ctx, "hall")) == HALL
    with pytest.raises(NotFound) as missing:
        await in_unit(venues, clock, lambda ctx: get_venue(ctx, "ballroom"))
    assert (missing.value.entity, missing.value.ref) == ("venue", "ballroom")
    assert await in_unit(venues, clock, lambda ctx: save_venue(ctx, HALL, "config")) == (
        HALL,
        False,
    )
    smaller = Venue(key="hall", name=HALL.name, capacity=60, station="service")
    assert await in_unit(venues, clock, lambda ctx: save_venue(ctx, smaller, "config")) == (
        smaller,
        True,
    )
    assert (await handle.execute(ListVenues(), actor=SYSTEM))[1] == smaller
