"""Salons, sessions and events: RSVP with a waitlist, check-in, attendance, timers, feeds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from huarong_core import Actor, Huarong, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    BookVenue,
    CalendarFeed,
    CancelGathering,
    CheckIn,
    CloseGathering,
    CreateEvent,
    DefinePointsRule,
    DefineSalon,
    FireDueTimers,
    GenerateSessions,
    GetCalendar,
    GetCheckInCode,
    GetGathering,
    GetPointsStatement,
    GiveFeedback,
    ListAuditEntries,
    ListFeedback,
    ListGatherings,
    ListMemberRsvps,
    ListRsvps,
    RespondToGathering,
    UpdateGathering,
    WhatsOn,
)
from huarong_core.config import RuleEntry
from huarong_core.domain.gatherings import (
    Answer,
    EventType,
    Gathering,
    GatheringStatus,
    Organizer,
    OrganizerKind,
    RsvpStatus,
    Salon,
)
from huarong_core.domain.recurrence import Recurrence
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import (
    CheckInRefused,
    GatheringNotOpen,
    InvalidValue,
    NotFound,
    PermissionDenied,
    VenueUnavailable,
    WrongCheckInCode,
)
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
PEOPLE = 32

GATHERING_COMMUNITY = (
    SAMPLE_COMMUNITY
    + "".join(
        f'\n[[members]]\nkey = "m{n:02d}"\nname = "Member {n:02d}"\n' for n in range(1, PEOPLE + 1)
    )
    + """
[[stations]]
key = "huaying"
name = { zh_CN = "华英驿站", en = "Huaying station" }
floor = 29

[[venues]]
key = "hall"
name = { zh_CN = "多功能厅", en = "Hall" }
capacity = 120
equipment = ["projector"]
station = "huaying"

[[clubs]]
key = "english"
name = { zh_CN = "英语社", en = "English club" }
station = "huaying"

[[roles]]
member = "m01"
role = "club_leader"
scope = "club:english"
"""
)


def mid(actor: Actor) -> int:
    """The member id of a member actor."""
    assert actor.member_id is not None
    return actor.member_id


@pytest.fixture
async def hub(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=GATHERING_COMMUNITY, clock=clock) as pair:
        yield pair


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def make_event(
    handle: CommunityHandle,
    *,
    capacity: int | None = 10,
    starts: datetime | None = None,
    **extra: Any,
) -> Gathering:
    starts = starts or local(date(2026, 7, 10), 19)
    return await handle.execute(
        CreateEvent(
            title=LocalizedText({"en": "Themed day", "zh_CN": "主题党日"}),
            event_type=extra.pop("event_type", EventType.ACTIVITY_DAY),
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            organizer=extra.pop("organizer", "station:huaying"),
            capacity=capacity,
            tags=frozenset({"themed_day"}),
            **extra,
        ),
        actor=SYSTEM,
    )


async def members(handle: CommunityHandle, count: int) -> list[Actor]:
    return [await actor_for(handle, f"m{n:02d}") for n in range(1, count + 1)]


async def events_of(huarong: Huarong, kind: str) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", kind)
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else dict(r["payload"])
        for r in rows
    ]


async def add_rule(handle: CommunityHandle, key: str, trigger: str, points: int) -> None:
    await handle.execute(
        DefinePointsRule(
            RuleEntry(key=key, name=LocalizedText({"en": key}), trigger=trigger, points=points)
        ),
        actor=SYSTEM,
    )


async def balance(handle: CommunityHandle, member_id: int) -> int:
    return (await handle.execute(GetPointsStatement(member_id), actor=SYSTEM)).balance


# --- RSVP and the waitlist -------------------------------------------------------


async def test_thirty_concurrent_rsvps_for_ten_seats(hub: Pair) -> None:
    huarong, handle = hub
    event = await make_event(handle, capacity=10)
    people = await members(handle, 30)

    answers = await asyncio.gather(
        *(handle.execute(RespondToGathering(event.id, Answer.GOING), actor=a) for a in people)
    )
    going = [r for r in answers if r.status is RsvpStatus.GOING]
    waiting = [r for r in answers if r.status is RsvpStatus.WAITLISTED]
    assert (len(going), len(waiting)) == (10, 20)
    # Arrival order: the seats went to the first ten to arrive, the queue follows arrival.
    assert sorted(r.seq for r in answers) == list(range(1, 31))
    assert max(r.seq for r in going) < min(r.seq for r in waiting)
    queue = await handle.execute(ListRsvps(event.id, RsvpStatus.WAITLISTED), actor=SYSTEM)
    assert [r.position for r in queue] == list(range(1, 21))
    assert [r.seq for r in queue] == sorted(r.seq for r in waiting)

    leaving = sorted(going, key=lambda r: r.seq)[:3]
    by_id = {a.member_id: a for a in people}
    for rsvp in leaving:
        await handle.execute(
            RespondToGathering(event.id, Answer.NOT_GOING), actor=by_id[rsvp.member_id]
        )
    promoted = [r.member_id for r in queue[:3]]
    notices = await events_of(huarong, "gathering.promoted")
    assert [n["member_id"] for n in notices] == promoted
    details = await handle.execute(GetGathering(event.id), actor=SYSTEM)
    assert (details.going, details.waitlisted, details.seats_left) == (10, 17, 0)
    for member_id in promoted:
        mine = await handle.execute(ListMemberRsvps(), actor=by_id[member_id])
        assert [i.rsvp.status for i in mine] == [RsvpStatus.GOING]
    rest = await handle.execute(ListRsvps(event.id, RsvpStatus.WAITLISTED), actor=SYSTEM)
    assert [r.member_id for r in rest] == [r.member_id for r in queue[3:]]
    assert [r.position for r in rest] == list(range(1, 18))


async def test_rsvp_again_changes_nothing_and_maybe_frees_a_seat(hub: Pair) -> None:
    huarong, handle = hub
    event = await make_event(handle, capacity=1)
    first, second = await members(handle, 2)
    seat = await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=first)
    assert seat.status is RsvpStatus.GOING
    again = await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=first)
    assert again == seat
    queued = await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=second)
    assert (queued.status, queued.position) == (RsvpStatus.WAITLISTED, 1)
    maybe = await handle.execute(RespondToGathering(event.id, Answer.MAYBE), actor=first)
    assert maybe.status is RsvpStatus.MAYBE
    assert [n["member_id"] for n in await events_of(huarong, "gathering.promoted")] == [
        second.member_id
    ]


async def test_rsvp_to_cancelled_or_past_gathering_changes_nothing(
    hub: Pair, clock: FrozenClock
) -> None:
    huarong, handle = hub
    cancelled = await make_event(handle)
    past = await make_event(handle, starts=local(date(2026, 7, 2), 9))
    await handle.execute(CancelGathering(cancelled.id, "rain"), actor=SYSTEM)
    clock.set(local(date(2026, 7, 2), 10))
    (member,) = await members(handle, 1)
    before = await snapshot(huarong.db)
    with pytest.raises(GatheringNotOpen) as refused:
        await handle.execute(RespondToGathering(cancelled.id, Answer.GOING), actor=member)
    assert refused.value.reason == "cancelled"
    with pytest.raises(GatheringNotOpen) as late:
        await handle.execute(RespondToGathering(past.id, Answer.GOING), actor=member)
    assert late.value.reason == "past"
    assert await snapshot(huarong.db) == before


async def test_cancelling_tells_everyone_and_frees_the_venue(hub: Pair) -> None:
    huarong, handle = hub
    event = await make_event(handle, venue_key="hall")
    with pytest.raises(VenueUnavailable):
        await make_event(handle, venue_key="hall")
    people = await members(handle, 2)
    for actor in people:
        await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=actor)
    await handle.execute(CancelGathering(event.id, "typhoon"), actor=SYSTEM)
    (notice,) = await events_of(huarong, "gathering.cancelled")
    assert notice["recipients"] == [a.member_id for a in people]
    assert notice["reason"] == "typhoon"
    other = await make_event(handle, venue_key="hall")
    assert other.venue_key == "hall"


async def test_plain_members_cannot_run_gatherings(hub: Pair) -> None:
    _, handle = hub
    event = await make_event(handle)
    alice = await actor_for(handle, "alice")
    with pytest.raises(PermissionDenied):
        await make_event_as(handle, alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelGathering(event.id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(GetCheckInCode(event.id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(
            CheckIn(event.id, member_id=(await members(handle, 1))[0].member_id), actor=alice
        )


async def make_event_as(
    handle: CommunityHandle, actor: Actor, organizer: str = "station:huaying"
) -> Gathering:
    starts = local(date(2026, 7, 20), 19)
    return await handle.execute(
        CreateEvent(
            title=LocalizedText({"en": "Talk"}),
            event_type=EventType.LECTURE,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            organizer=organizer,
        ),
        actor=actor,
    )


async def test_a_club_leader_runs_their_own_clubs_gatherings_only(hub: Pair) -> None:
    _, handle = hub
    leader = await actor_for(handle, "m01")
    event = await make_event_as(handle, leader, organizer="club:english")
    assert (event.club_key, event.station) == ("english", "huaying")
    with pytest.raises(PermissionDenied):
        await make_event_as(handle, leader, organizer="station:huaying")
    staff_event = await make_event(handle)
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelGathering(staff_event.id), actor=leader)
    await handle.execute(CancelGathering(event.id), actor=leader)


# --- check-in, attendance, feedback ------------------------------------------------


async def test_check_in_with_the_code_awards_points_once(hub: Pair, clock: FrozenClock) -> None:
    huarong, handle = hub
    await add_rule(handle, "day", "event.checked_in", 5)
    event = await make_event(handle)
    member, walk_in = await members(handle, 2)
    await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=member)
    code = await handle.execute(GetCheckInCode(event.id), actor=SYSTEM)
    assert len(code.code) == 6
    assert code.opens_at == event.starts_at - timedelta(minutes=30)

    clock.set(event.starts_at - timedelta(hours=1))
    with pytest.raises(CheckInRefused) as early:
        await handle.execute(CheckIn(event.id, code.code), actor=member)
    assert early.value.reason == "not_open_yet"

    clock.set(event.starts_at + timedelta(minutes=5))
    before = await snapshot(huarong.db)
    with pytest.raises(WrongCheckInCode):
        await handle.execute(CheckIn(event.id, wrong_code(code.code)), actor=member)
    after = await snapshot(huarong.db)
    # Nothing changes but the record of the wrong try.
    assert {t: r for t, r in after.items() if t != "audit_log"} == {
        t: r for t, r in before.items() if t != "audit_log"
    }
    assert len(after["audit_log"]) == len(before["audit_log"]) + 1

    done = await handle.execute(CheckIn(event.id, f" {code.code} "), actor=member)
    assert done.rsvp.checked_in_at == clock.now()
    assert done.awards == (("day", "awarded", 5),)
    with pytest.raises(CheckInRefused) as twice:
        await handle.execute(CheckIn(event.id, code.code), actor=member)
    assert twice.value.reason == "already_checked_in"
    assert await balance(handle, mid(member)) == 5

    # Staff check a member in without a code; someone without an RSVP is a walk-in.
    staff = await actor_for(handle, "staff")
    with pytest.raises(PermissionDenied):
        await handle.execute(CheckIn(event.id, member_id=walk_in.member_id), actor=staff)
    by_admin = await handle.execute(CheckIn(event.id, member_id=walk_in.member_id), actor=SYSTEM)
    assert by_admin.rsvp.status is RsvpStatus.WALK_IN

    clock.set(event.ends_at + timedelta(minutes=31))
    late = (await members(handle, 3))[2]
    with pytest.raises(CheckInRefused) as closed:
        await handle.execute(CheckIn(event.id, code.code), actor=late)
    assert closed.value.reason == "window_closed"


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def test_guessing_codes_runs_out_of_tries(hub: Pair, clock: FrozenClock) -> None:
    _, handle = hub
    event = await make_event(handle)
    guesser, other = await members(handle, 2)
    code = (await handle.execute(GetCheckInCode(event.id), actor=SYSTEM)).code
    clock.set(event.starts_at)
    for _ in range(5):
        with pytest.raises(WrongCheckInCode):
            await handle.execute(CheckIn(event.id, wrong_code(code)), actor=guesser)
        clock.advance(minutes=1)
    with pytest.raises(CheckInRefused) as blocked:
        await handle.execute(CheckIn(event.id, code), actor=guesser)
    assert blocked.value.reason == "too_many_attempts"
    # Others are not affected; staff can still check the guesser in, and the wait ends.
    await handle.execute(CheckIn(event.id, code), actor=other)
    clock.advance(minutes=11)
    done = await handle.execute(CheckIn(event.id, code), actor=guesser)
    assert done.rsvp.checked_in_at == clock.now()
    entries = await handle.execute(ListAuditEntries(action="gathering.wrong_code"), actor=SYSTEM)
    assert len(entries) == 5
    assert {e.target for e in entries} == {f"gathering:{event.id}"}


async def test_closing_records_attendance_no_shows_and_asks_for_feedback(
    hub: Pair, clock: FrozenClock
) -> None:
    huarong, handle = hub
    await add_rule(handle, "attended", "event.attended", 10)
    await add_rule(handle, "no_show", "event.no_show", -3)
    event = await make_event(handle)
    came, stayed_away, maybe = await members(handle, 3)
    await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=came)
    await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=stayed_away)
    await handle.execute(RespondToGathering(event.id, Answer.MAYBE), actor=maybe)
    await handle.execute(
        RespondToGathering(event.id, Answer.GOING, member_id=stayed_away.member_id), actor=SYSTEM
    )
    clock.set(event.starts_at + timedelta(minutes=10))
    code = (await handle.execute(GetCheckInCode(event.id), actor=SYSTEM)).code
    await handle.execute(CheckIn(event.id, code), actor=came)
    with pytest.raises(GatheringNotOpen):
        await handle.execute(GiveFeedback(event.id, 5), actor=stayed_away)

    # The scheduler closes it when the check-in window ends.
    clock.set(event.ends_at + timedelta(minutes=30))
    fired = await handle.execute(FireDueTimers(), actor=SYSTEM)
    assert fired >= 1
    (summary,) = await events_of(huarong, "gathering.closed")
    assert summary["attended"] == [came.member_id]
    assert summary["no_shows"] == [stayed_away.member_id]
    (asked,) = await events_of(huarong, "gathering.feedback_requested")
    assert asked["recipients"] == [came.member_id]
    assert await balance(handle, mid(came)) == 10
    assert await balance(handle, mid(stayed_away)) == 0  # never below zero
    closed = await handle.execute(GetGathering(event.id), actor=SYSTEM)
    assert closed.gathering.status is GatheringStatus.CLOSED
    with pytest.raises(GatheringNotOpen):
        await handle.execute(CloseGathering(event.id), actor=SYSTEM)

    with pytest.raises(InvalidValue):
        await handle.execute(GiveFeedback(event.id, 6), actor=came)
    assert (await handle.execute(GetGathering(event.id), actor=came)).my_feedback is None
    given = await handle.execute(GiveFeedback(event.id, 4, "Great talk"), actor=came)
    summary_fb = await handle.execute(ListFeedback(event.id), actor=SYSTEM)
    assert (summary_fb.count, summary_fb.average) == (1, 4.0)
    assert summary_fb.items[0].comment == "Great talk"
    # Each reader sees their own feedback with the gathering, and nobody else's.
    assert (await handle.execute(GetGathering(event.id), actor=came)).my_feedback == given
    assert (await handle.execute(GetGathering(event.id), actor=stayed_away)).my_feedback is None


# --- salons and their sessions -----------------------------------------------------


def english_salon(**changes: Any) -> Salon:
    values: dict[str, Any] = {
        "key": "english",
        "name": LocalizedText({"en": "English salon", "zh_CN": "英语沙龙"}),
        "organizer": Organizer(OrganizerKind.CLUB, "english"),
        "recurrence": Recurrence.from_clock(
            "FREQ=MONTHLY;BYDAY=2TH", date(2026, 1, 1), "19:00", "21:00"
        ),
        "venue_key": "hall",
        "capacity": 20,
        "tags": frozenset({"language"}),
    }
    values.update(changes)
    return Salon(**values)


async def test_a_salon_makes_its_sessions_in_local_time(hub: Pair) -> None:
    _, handle = hub
    await handle.execute(DefineSalon(english_salon()), actor=SYSTEM)
    sessions = await handle.execute(ListGatherings(salon_key="english"), actor=SYSTEM)
    # Sixty days from 2026-07-01: the second Thursdays of July and August.
    assert [s.starts_at.astimezone(SHANGHAI) for s in sessions] == [
        local(date(2026, 7, 9), 19),
        local(date(2026, 8, 13), 19),
    ]
    assert all(s.venue_key == "hall" and s.capacity == 20 for s in sessions)
    again = await handle.execute(GenerateSessions(), actor=SYSTEM)
    assert again == 0
    more = await handle.execute(GenerateSessions(until=local(date(2026, 10, 31), 0)), actor=SYSTEM)
    assert more == 2


async def test_who_may_make_sessions_ahead_and_how_far(hub: Pair, clock: FrozenClock) -> None:
    huarong, handle = hub
    await handle.execute(DefineSalon(english_salon()), actor=SYSTEM)
    await handle.execute(
        DefineSalon(english_salon(key="town", organizer=Organizer.parse("community"))),
        actor=SYSTEM,
    )
    leader = await actor_for(handle, "m01")  # leads the English club
    staff = await actor_for(handle, "staff")  # station staff of another station
    member = await actor_for(handle, "m02")
    later = local(date(2026, 11, 30), 0)
    before = await snapshot(huarong.db)
    for actor in (staff, member):  # runs no salon at all
        with pytest.raises(PermissionDenied):
            await handle.execute(GenerateSessions(until=later), actor=actor)
    for actor in (staff, member):  # a salon: its organizer's people
        with pytest.raises(PermissionDenied):
            await handle.execute(GenerateSessions("english", until=later), actor=actor)
    with pytest.raises(PermissionDenied):
        await handle.execute(GenerateSessions("town", until=later), actor=leader)
    with pytest.raises(InvalidValue) as far:  # centuries of sessions in one call
        await handle.execute(
            GenerateSessions(until=clock.now() + timedelta(days=732)), actor=SYSTEM
        )
    assert (far.value.field, far.value.reason) == ("until", "too_far_ahead")
    with pytest.raises(NotFound):
        await handle.execute(GenerateSessions("nowhere"), actor=SYSTEM)
    assert await snapshot(huarong.db) == before

    # "Every salon", said by the English club's leader: every salon they run.
    made = await handle.execute(GenerateSessions(until=later), actor=leader)
    assert made == 3  # the second Thursdays of September, October and November
    town = await handle.execute(ListGatherings(salon_key="town"), actor=SYSTEM)
    assert len(town) == 2  # July and August only, from its definition
    far_enough = clock.now() + timedelta(days=731)
    assert await handle.execute(GenerateSessions("town", until=far_enough), actor=SYSTEM) > 20


async def test_one_session_is_moved_or_cancelled_without_touching_the_rest(
    hub: Pair, clock: FrozenClock
) -> None:
    huarong, handle = hub
    await handle.execute(DefineSalon(english_salon()), actor=SYSTEM)
    first, second = await handle.execute(ListGatherings(salon_key="english"), actor=SYSTEM)
    goer = (await members(handle, 1))[0]
    await handle.execute(RespondToGathering(first.id, Answer.GOING), actor=goer)
    moved = await handle.execute(
        UpdateGathering(first.id, starts_at=local(date(2026, 7, 10), 19), topic="Travel"),
        actor=SYSTEM,
    )
    assert moved.ends_at - moved.starts_at == timedelta(hours=2)
    (change,) = await events_of(huarong, "gathering.changed")
    assert change["recipients"] == [goer.member_id]
    assert set(change["fields"]) == {"starts_at", "ends_at", "topic"}
    await handle.execute(CancelGathering(second.id), actor=SYSTEM)
    # Regenerating keeps the move and the cancellation.
    await handle.execute(GenerateSessions(), actor=SYSTEM)
    listed = await handle.execute(
        ListGatherings(salon_key="english", include_cancelled=True), actor=SYSTEM
    )
    assert [(g.id, g.status) for g in listed] == [
        (first.id, GatheringStatus.SCHEDULED),
        (second.id, GatheringStatus.CANCELLED),
    ]
    assert listed[0].starts_at == local(date(2026, 7, 10), 19)
    # The move's reminders follow the new time.
    async with huarong.db.read() as conn:
        due = await conn.fetch(
            "SELECT key, due_at FROM timers WHERE key LIKE $1 ORDER BY key",
            f"gathering:{first.id}:%",
        )
    keys = [r["key"] for r in due]
    assert keys == [
        f"gathering:{first.id}:close",
        f"gathering:{first.id}:reminder:1440",
        f"gathering:{first.id}:reminder:60",
    ]


async def test_a_session_whose_venue_is_taken_is_kept_without_it(hub: Pair) -> None:
    huarong, handle = hub
    taken = local(date(2026, 8, 13), 18)
    await handle.execute(
        BookVenue("hall", "Wedding", starts_at=taken, ends_at=taken + timedelta(hours=4)),
        actor=SYSTEM,
    )
    await handle.execute(DefineSalon(english_salon()), actor=SYSTEM)
    first, second = await handle.execute(ListGatherings(salon_key="english"), actor=SYSTEM)
    assert (first.venue_key, second.venue_key) == ("hall", None)
    (conflict,) = await events_of(huarong, "venue.conflict")
    assert conflict == {"venue_key": "hall", "gathering_id": second.id}


async def test_bad_recurrence_rules_are_refused() -> None:
    with pytest.raises(InvalidValue) as bad:
        Recurrence.from_clock("FREQ=SOMETIMES", date(2026, 1, 1), "19:00", "21:00")
    assert bad.value.reason == "bad_rrule"
    with pytest.raises(InvalidValue) as clock_text:
        Recurrence.from_clock("FREQ=WEEKLY", date(2026, 1, 1), "7pm", "21:00")
    assert clock_text.value.reason == "bad_time"


async def test_whats_on_lists_this_weeks_gatherings(hub: Pair) -> None:
    _, handle = hub
    soon = await make_event(handle, starts=local(date(2026, 7, 3), 10))
    await make_event(handle, starts=local(date(2026, 7, 20), 10))
    week = await handle.execute(WhatsOn(), actor=await actor_for(handle, "alice"))
    assert [g.id for g in week] == [soon.id]


async def test_a_long_gathering_begun_well_before_a_window_is_still_in_it(hub: Pair) -> None:
    """Windows are searched by start time back to one longest gathering before them:
    a long gathering, made or lengthened, moves that bound."""
    _, handle = hub
    short = await make_event(handle, starts=local(date(2026, 7, 3), 10))
    fair = await handle.execute(
        CreateEvent(
            title=LocalizedText({"en": "Book fair", "zh_CN": "书市"}),
            event_type=EventType.ACTIVITY_DAY,
            starts_at=local(date(2026, 7, 2), 9),
            ends_at=local(date(2026, 7, 30), 18),
            organizer="station:huaying",
            capacity=None,
            tags=frozenset(),
        ),
        actor=SYSTEM,
    )

    async def window(day: date) -> list[int]:
        found = await handle.execute(
            ListGatherings(starts=local(day, 0), ends=local(day + timedelta(days=1), 0)),
            actor=SYSTEM,
        )
        return [g.id for g in found]

    assert await window(date(2026, 7, 20)) == [fair.id]
    assert await window(date(2026, 7, 3)) == [fair.id, short.id]
    await handle.execute(
        UpdateGathering(short.id, ends_at=local(date(2026, 8, 15), 18)), actor=SYSTEM
    )
    assert await window(date(2026, 8, 10)) == [short.id]
    upcoming = await handle.execute(ListGatherings(starts=local(date(2026, 8, 1), 0)), actor=SYSTEM)
    assert [g.id for g in upcoming] == [short.id]


# --- timers and calendars ----------------------------------------------------------


async def test_a_reminder_scheduled_before_a_restart_fires_once_after_it(
    database_url: str, clock: FrozenClock
) -> None:
    config = parse_config(GATHERING_COMMUNITY)
    async with open_test_community(database_url, config=GATHERING_COMMUNITY, clock=clock) as (
        _,
        handle,
    ):
        event = await make_event(handle)
        goer = (await members(handle, 1))[0]
        await handle.execute(RespondToGathering(event.id, Answer.GOING), actor=goer)
    # A new process: nothing in memory survives, the timers do.
    clock.set(event.starts_at - timedelta(hours=23))
    async with Huarong(database_url, clock=clock) as restarted:
        handle = await restarted.community(config.community.key)
        assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 1
        assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0
        (reminder,) = await events_of(restarted, "gathering.reminder")
        assert reminder["recipients"] == [goer.member_id]
        assert reminder["minutes_before"] == 1440


async def test_calendar_feeds_parse_and_hold_shanghai_times(hub: Pair) -> None:
    _, handle = hub
    await handle.execute(DefineSalon(english_salon()), actor=SYSTEM)
    first, second = await handle.execute(ListGatherings(salon_key="english"), actor=SYSTEM)
    await handle.execute(CancelGathering(second.id), actor=SYSTEM)
    goer = (await members(handle, 1))[0]
    await handle.execute(RespondToGathering(first.id, Answer.GOING), actor=goer)

    text = await handle.execute(GetCalendar(CalendarFeed.SALON, "english"), actor=goer)
    calendar = icalendar.Calendar.from_ical(text)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    start = events[0].decoded("dtstart")
    assert start == local(date(2026, 7, 9), 19)
    assert start.utcoffset() == timedelta(hours=8)
    assert str(events[0]["location"]) == "多功能厅"  # the community's language
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone["tzid"] == "Asia/Shanghai"
    assert "TZID=Asia/Shanghai:20260709T190000" in text

    own_feed = await handle.execute(GetCalendar(CalendarFeed.MEMBER), actor=goer)
    mine = icalendar.Calendar.from_ical(own_feed)
    assert [e.decoded("dtstart") for e in mine.walk("VEVENT")] == [start]
    for feed, key in ((CalendarFeed.CLUB, "english"), (CalendarFeed.VENUE, "hall")):
        feed_text = await handle.execute(GetCalendar(feed, key), actor=goer)
        assert len(icalendar.Calendar.from_ical(feed_text).walk("VEVENT")) == 2
    with pytest.raises(PermissionDenied):
        await handle.execute(
            GetCalendar(CalendarFeed.MEMBER, str(goer.member_id)),
            actor=await actor_for(handle, "alice"),
        )


async def test_reminders_and_closing_are_scheduled_on_creation(hub: Pair) -> None:
    huarong, handle = hub
    event = await make_event(handle)
    async with huarong.db.read() as conn:
        rows = await conn.fetch(
            "SELECT kind, due_at FROM timers WHERE key LIKE $1 ORDER BY due_at",
            f"gathering:{event.id}:%",
        )
    due = [(r["kind"], _instant(r["due_at"])) for r in rows]
    assert due == [
        ("gathering.reminder", event.starts_at - timedelta(hours=24)),
        ("gathering.reminder", event.starts_at - timedelta(hours=1)),
        ("gathering.close", event.ends_at + timedelta(minutes=30)),
    ]


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)
