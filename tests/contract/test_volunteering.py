"""The volunteer team: membership, tasks, shifts with slots, sign-ups, confirmed hours."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle, Delivery
from huarong_core.commands import (
    AddShift,
    CancelShift,
    ConfirmHours,
    CreateVolunteerTask,
    DefinePointsRule,
    FireDueTimers,
    GetPointsStatement,
    GetShift,
    GetVolunteerHours,
    GetVolunteerStatus,
    JoinVolunteerTeam,
    LeaveVolunteerTeam,
    ListMemberShifts,
    ListShifts,
    ListShiftSignups,
    ListVolunteers,
    ListVolunteerTasks,
    SignUpForShift,
    UpdateShift,
    UpdateVolunteerTask,
    WithdrawFromShift,
)
from huarong_core.config import RuleEntry, parse_config
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.volunteering import Shift, ShiftStatus, SignupStatus, VolunteerTask
from huarong_core.errors import (
    AlreadyExists,
    AlreadySignedUp,
    AlreadyVolunteer,
    ConfigError,
    HoursAlreadyConfirmed,
    InvalidValue,
    NotAVolunteer,
    NotFound,
    PermissionDenied,
    ShiftNotOpen,
)
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
PEOPLE = 24

VOLUNTEER_COMMUNITY = (
    SAMPLE_COMMUNITY
    + "".join(
        f'\n[[members]]\nkey = "m{n:02d}"\nname = "Member {n:02d}"\n' for n in range(1, PEOPLE + 1)
    )
    + """
[[members]]
key = "veteran"
name = "Veteran"

[[stations]]
key = "party"
name = { zh_CN = "党群服务站", en = "Party-masses station" }

[[roles]]
member = "veteran"
role = "volunteer"
scope = "station:party"
"""
)

TASKS_TOML = """
[volunteering]
team_name = { zh_CN = "爱心志愿队", en = "Volunteer team" }
reminders = ["24h", "2h"]

[[volunteering.tasks]]
key = "bookshelf"
title = { zh_CN = "红色书架整理", en = "Tidying the bookshelf" }
station = "service"
shifts = [
    { starts = 2026-07-10T09:00:00+08:00, ends = 2026-07-10T11:00:00+08:00, slots = 4 },
    { starts = 2026-07-17T09:00:00+08:00, ends = 2026-07-17T11:00:00+08:00, slots = 4 },
]

[[volunteering.tasks]]
key = "old_shift"
title = "Past duty"
shifts = [{ starts = 2026-06-01T09:00:00+08:00, ends = 2026-06-01T10:00:00+08:00, slots = 2 }]
"""


@pytest.fixture
async def team(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=VOLUNTEER_COMMUNITY, clock=clock) as pair:
        yield pair


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def mid(actor: Actor) -> int:
    assert actor.member_id is not None
    return actor.member_id


async def people(handle: CommunityHandle, count: int, *, join: bool = True) -> list[Actor]:
    found = [await actor_for(handle, f"m{n:02d}") for n in range(1, count + 1)]
    if join:
        for actor in found:
            await handle.execute(JoinVolunteerTeam(), actor=actor)
    return found


async def make_task(
    handle: CommunityHandle, station: str | None = "service", actor: Actor = SYSTEM
) -> VolunteerTask:
    return await handle.execute(
        CreateVolunteerTask(
            title=LocalizedText({"en": "Help desk", "zh_CN": "服务台"}), station=station
        ),
        actor=actor,
    )


async def make_shift(
    handle: CommunityHandle,
    task: VolunteerTask,
    *,
    slots: int = 5,
    starts: datetime | None = None,
    hours: float = 3,
    actor: Actor = SYSTEM,
) -> Shift:
    starts = starts or local(date(2026, 7, 10), 9)
    return await handle.execute(
        AddShift(task.id, starts, starts + timedelta(hours=hours), slots), actor=actor
    )


async def events_of(huarong: Huarong, kind: str) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", kind)
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else dict(r["payload"])
        for r in rows
    ]


async def test_a_day_long_shift_begun_the_day_before_is_in_the_window(team: Pair) -> None:
    """Windows are searched by start time back to the longest a shift may last."""
    _, handle = team
    task = await make_task(handle)
    night = await make_shift(handle, task, starts=local(date(2026, 7, 10), 10), hours=24)
    short = await make_shift(handle, task, starts=local(date(2026, 7, 10), 14), hours=2)
    listed = await handle.execute(
        ListShifts(starts=local(date(2026, 7, 11), 9), ends=local(date(2026, 7, 12), 0)),
        actor=SYSTEM,
    )
    assert [d.shift.id for d in listed] == [night.id]
    earlier = await handle.execute(ListShifts(starts=local(date(2026, 7, 10), 15)), actor=SYSTEM)
    assert [d.shift.id for d in earlier] == [night.id, short.id]


# --- the team --------------------------------------------------------------------------


async def test_members_join_and_leave_and_the_role_counts(team: Pair) -> None:
    huarong, handle = team
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")
    veteran = await actor_for(handle, "veteran")
    (m01,) = await people(handle, 1, join=False)

    joined = await handle.execute(JoinVolunteerTeam(), actor=alice)
    assert (joined.member_id, joined.is_active, joined.by_role) == (mid(alice), True, False)
    before = await snapshot(huarong.db)
    with pytest.raises(AlreadyVolunteer):
        await handle.execute(JoinVolunteerTeam(), actor=alice)
    with pytest.raises(AlreadyVolunteer):
        await handle.execute(JoinVolunteerTeam(), actor=veteran)
    with pytest.raises(PermissionDenied):
        await handle.execute(JoinVolunteerTeam(member_id=mid(m01)), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(ListVolunteers(), actor=alice)
    assert await snapshot(huarong.db) == before

    await handle.execute(JoinVolunteerTeam(member_id=mid(m01)), actor=staff)
    added = await events_of(huarong, "volunteer.joined")
    assert [(e["member_id"], e["added_by_staff"], e["recipients"]) for e in added] == [
        (mid(alice), False, []),
        (mid(m01), True, [mid(m01)]),
    ]
    listed = await handle.execute(ListVolunteers(), actor=staff)
    assert [(v.member_id, v.by_role) for v in listed] == sorted(
        [(mid(alice), False), (mid(m01), False), (mid(veteran), True)]
    )

    left = await handle.execute(LeaveVolunteerTeam(), actor=alice)
    assert not left.is_active
    with pytest.raises(NotAVolunteer):
        await handle.execute(LeaveVolunteerTeam(), actor=alice)
    with pytest.raises(InvalidValue) as by_role:
        await handle.execute(LeaveVolunteerTeam(), actor=veteran)
    assert by_role.value.reason == "volunteer_by_role"
    again = await handle.execute(JoinVolunteerTeam(), actor=alice)
    assert again.is_active
    assert mid(alice) in {v.member_id for v in await handle.execute(ListVolunteers(), actor=staff)}


async def test_members_read_their_own_place_on_the_team(team: Pair) -> None:
    _, handle = team
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")
    veteran = await actor_for(handle, "veteran")

    assert await handle.execute(GetVolunteerStatus(), actor=alice) is None
    await handle.execute(JoinVolunteerTeam(), actor=alice)
    mine = await handle.execute(GetVolunteerStatus(), actor=alice)
    assert mine is not None
    assert (mine.member_id, mine.is_active, mine.by_role) == (mid(alice), True, False)
    by_role = await handle.execute(GetVolunteerStatus(), actor=veteran)
    assert by_role is not None
    assert (by_role.member_id, by_role.by_role) == (mid(veteran), True)

    # Someone else's place is staff's to read.
    with pytest.raises(PermissionDenied):
        await handle.execute(GetVolunteerStatus(member_id=mid(veteran)), actor=alice)
    seen = await handle.execute(GetVolunteerStatus(member_id=mid(alice)), actor=staff)
    assert seen == mine

    await handle.execute(LeaveVolunteerTeam(), actor=alice)
    assert await handle.execute(GetVolunteerStatus(), actor=alice) is None


async def test_only_staff_of_the_tasks_station_run_it(team: Pair) -> None:
    huarong, handle = team
    alice = await actor_for(handle, "alice")
    staff = await actor_for(handle, "staff")  # station staff of "service"
    admin = await actor_for(handle, "admin")
    before = await snapshot(huarong.db)
    with pytest.raises(PermissionDenied):
        await make_task(handle, actor=alice)
    with pytest.raises(PermissionDenied):
        await make_task(handle, station="party", actor=staff)
    with pytest.raises(PermissionDenied):
        await make_task(handle, station=None, actor=staff)
    with pytest.raises(NotFound):
        await make_task(handle, station="nowhere")
    assert await snapshot(huarong.db) == before

    task = await make_task(handle, actor=staff)
    party_task = await make_task(handle, station="party", actor=admin)
    shift = await make_shift(handle, task, actor=staff)
    with pytest.raises(PermissionDenied):
        await make_shift(handle, party_task, actor=staff)
    with pytest.raises(PermissionDenied):
        await make_shift(handle, task, actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(CancelShift(shift.id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(ListShiftSignups(shift.id), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(UpdateVolunteerTask(party_task.id, active=False), actor=staff)
    tasks = await handle.execute(ListVolunteerTasks(), actor=alice)
    assert [t.id for t in tasks] == [task.id, party_task.id]
    closed = await handle.execute(UpdateVolunteerTask(task.id, active=False), actor=staff)
    assert not closed.active
    assert [t.id for t in await handle.execute(ListVolunteerTasks(), actor=alice)] == [
        party_task.id
    ]


async def test_shift_values_are_checked(team: Pair, clock: FrozenClock) -> None:
    huarong, handle = team
    task = await make_task(handle)
    starts = local(date(2026, 7, 10), 9)
    before = await snapshot(huarong.db)
    for slots, hours, when, reason in (
        (0, 2, starts, "out_of_range"),
        (1001, 2, starts, "out_of_range"),
        (3, -1, starts, "ends_before_start"),
        (3, 25, starts, "shift_too_long"),
        (3, 2, clock.now() - timedelta(hours=1), "in_the_past"),
    ):
        with pytest.raises(InvalidValue) as refused:
            await make_shift(handle, task, slots=slots, hours=hours, starts=when)
        assert refused.value.reason == reason
    assert await snapshot(huarong.db) == before
    await make_shift(handle, task)
    with pytest.raises(AlreadyExists):
        await make_shift(handle, task)


# --- sign-ups --------------------------------------------------------------------------


async def test_twenty_concurrent_sign_ups_for_five_slots(team: Pair) -> None:
    huarong, handle = team
    task = await make_task(handle)
    shift = await make_shift(handle, task, slots=5)
    crowd = await people(handle, 20)

    answers = await asyncio.gather(
        *(handle.execute(SignUpForShift(shift.id), actor=a) for a in crowd),
        return_exceptions=True,
    )
    taken = [a for a in answers if not isinstance(a, BaseException)]
    refused = [a for a in answers if isinstance(a, BaseException)]
    assert len(taken) == 5
    assert len(refused) == 15
    assert all(isinstance(e, ShiftNotOpen) and e.reason == "full" for e in refused)
    details = await handle.execute(GetShift(shift.id), actor=SYSTEM)
    assert (details.shift.taken, details.shift.slots_left) == (5, 0)
    signups = await handle.execute(ListShiftSignups(shift.id), actor=SYSTEM)
    assert sorted(s.member_id for s in signups) == sorted(s.member_id for s in taken)
    notices = await events_of(huarong, "volunteer.signed_up")
    assert sorted(n["slots_left"] for n in notices) == [0, 1, 2, 3, 4]

    # A freed slot goes to the next one to ask.
    leaving = next(a for a in crowd if mid(a) == taken[0].member_id)
    await handle.execute(WithdrawFromShift(shift.id), actor=leaving)
    waiting = next(a for a in crowd if mid(a) not in {s.member_id for s in taken})
    late = await handle.execute(SignUpForShift(shift.id), actor=waiting)
    assert late.status is SignupStatus.SIGNED_UP
    assert (await handle.execute(GetShift(shift.id), actor=SYSTEM)).shift.taken == 5


async def test_signing_up_twice_or_without_joining_changes_nothing(team: Pair) -> None:
    huarong, handle = team
    task = await make_task(handle)
    shift = await make_shift(handle, task, slots=3)
    (member,) = await people(handle, 1)
    outsider = await actor_for(handle, "alice")
    veteran = await actor_for(handle, "veteran")
    first = await handle.execute(SignUpForShift(shift.id), actor=member)
    assert (first.member_id, first.status, first.hours) == (
        mid(member),
        SignupStatus.SIGNED_UP,
        None,
    )

    before = await snapshot(huarong.db)
    with pytest.raises(AlreadySignedUp) as twice:
        await handle.execute(SignUpForShift(shift.id), actor=member)
    assert (twice.value.shift, twice.value.member_id) == (f"#{shift.id}", mid(member))
    with pytest.raises(NotAVolunteer):
        await handle.execute(SignUpForShift(shift.id), actor=outsider)
    with pytest.raises(PermissionDenied):
        await handle.execute(SignUpForShift(shift.id, member_id=mid(veteran)), actor=member)
    with pytest.raises(NotFound):
        await handle.execute(SignUpForShift(shift.id + 1000), actor=member)
    assert await snapshot(huarong.db) == before

    # The role makes a volunteer; staff may sign a member up.
    by_staff = await handle.execute(
        SignUpForShift(shift.id, member_id=mid(veteran)), actor=await actor_for(handle, "staff")
    )
    assert by_staff.member_id == mid(veteran)
    assert (await handle.execute(GetShift(shift.id), actor=member)).mine == first


async def test_withdrawal_is_refused_once_the_shift_started(team: Pair, clock: FrozenClock) -> None:
    huarong, handle = team
    task = await make_task(handle)
    shift = await make_shift(handle, task, slots=2)
    first, second, third = await people(handle, 3)
    await handle.execute(SignUpForShift(shift.id), actor=first)
    out = await handle.execute(WithdrawFromShift(shift.id), actor=first)
    assert out.status is SignupStatus.WITHDRAWN
    with pytest.raises(NotFound):
        await handle.execute(WithdrawFromShift(shift.id), actor=first)
    back = await handle.execute(SignUpForShift(shift.id), actor=first)
    assert back.status is SignupStatus.SIGNED_UP
    await handle.execute(SignUpForShift(shift.id), actor=second)

    clock.set(shift.starts_at + timedelta(minutes=1))
    before = await snapshot(huarong.db)
    with pytest.raises(ShiftNotOpen) as late:
        await handle.execute(WithdrawFromShift(shift.id), actor=first)
    assert late.value.reason == "started"
    with pytest.raises(ShiftNotOpen) as late_sign_up:
        await handle.execute(SignUpForShift(shift.id), actor=third)
    assert late_sign_up.value.reason == "started"
    assert await snapshot(huarong.db) == before


async def test_clashing_cancelled_and_closed_shifts_refuse_sign_ups(team: Pair) -> None:
    _, handle = team
    task = await make_task(handle)
    morning = await make_shift(handle, task, starts=local(date(2026, 7, 10), 9), hours=3)
    overlapping = await make_shift(handle, task, starts=local(date(2026, 7, 10), 11), hours=2)
    after = await make_shift(handle, task, starts=local(date(2026, 7, 10), 12), hours=2)
    member, other_member = await people(handle, 2)
    await handle.execute(SignUpForShift(morning.id), actor=member)
    with pytest.raises(ShiftNotOpen) as clash:
        await handle.execute(SignUpForShift(overlapping.id), actor=member)
    assert clash.value.reason == "clashes"
    await handle.execute(SignUpForShift(after.id), actor=member)  # back to back is fine

    cancelled = await handle.execute(CancelShift(overlapping.id, "rain"), actor=SYSTEM)
    assert cancelled.status is ShiftStatus.CANCELLED
    with pytest.raises(ShiftNotOpen) as gone:
        await handle.execute(SignUpForShift(overlapping.id), actor=member)
    assert gone.value.reason == "cancelled"

    other = await make_task(handle)
    shift = await make_shift(handle, other)
    await handle.execute(UpdateVolunteerTask(other.id, active=False), actor=SYSTEM)
    with pytest.raises(ShiftNotOpen) as closed:
        await handle.execute(SignUpForShift(shift.id), actor=other_member)
    assert closed.value.reason == "task_closed"


async def test_cancelling_and_moving_tell_those_signed_up(team: Pair) -> None:
    huarong, handle = team
    task = await make_task(handle)
    shift = await make_shift(handle, task, slots=3)
    crowd = await people(handle, 3)
    for actor in crowd[:2]:
        await handle.execute(SignUpForShift(shift.id), actor=actor)
    await handle.execute(WithdrawFromShift(shift.id), actor=crowd[1])
    moved = await handle.execute(
        UpdateShift(shift.id, starts_at=shift.starts_at + timedelta(hours=1)), actor=SYSTEM
    )
    assert moved.ends_at == shift.ends_at + timedelta(hours=1)
    (change,) = await events_of(huarong, "volunteer.shift_changed")
    assert change["recipients"] == [mid(crowd[0])]
    with pytest.raises(InvalidValue) as below:
        await handle.execute(UpdateShift(shift.id, slots=0), actor=SYSTEM)
    assert below.value.reason == "out_of_range"
    await handle.execute(SignUpForShift(shift.id), actor=crowd[2])
    with pytest.raises(InvalidValue) as taken:
        await handle.execute(UpdateShift(shift.id, slots=1), actor=SYSTEM)
    assert taken.value.reason == "below_signed_up"
    await handle.execute(CancelShift(shift.id, "typhoon"), actor=SYSTEM)
    (notice,) = await events_of(huarong, "volunteer.shift_cancelled")
    assert notice["recipients"] == sorted([mid(crowd[0]), mid(crowd[2])])
    assert notice["reason"] == "typhoon"
    listed = await handle.execute(ListShifts(task_id=task.id), actor=SYSTEM)
    assert listed == ()


async def test_leaving_the_team_withdraws_upcoming_sign_ups(team: Pair) -> None:
    huarong, handle = team
    task = await make_task(handle)
    first = await make_shift(handle, task, slots=1)
    second = await make_shift(handle, task, slots=1, starts=local(date(2026, 7, 11), 9))
    member, other = await people(handle, 2)
    for shift in (first, second):
        await handle.execute(SignUpForShift(shift.id), actor=member)
    mine = await handle.execute(ListMemberShifts(), actor=member)
    assert [item.shift.id for item in mine] == [first.id, second.id]
    await handle.execute(LeaveVolunteerTeam(), actor=member)
    (left,) = await events_of(huarong, "volunteer.left")
    assert left["withdrawn_shifts"] == [first.id, second.id]
    assert await handle.execute(ListMemberShifts(), actor=member) == ()
    open_shifts = await handle.execute(ListShifts(open_only=True), actor=other)
    assert [d.shift.id for d in open_shifts] == [first.id, second.id]
    await handle.execute(SignUpForShift(first.id), actor=other)


# --- hours -----------------------------------------------------------------------------


async def add_hours_rule(handle: CommunityHandle) -> None:
    await handle.execute(
        DefinePointsRule(
            RuleEntry(
                key="volunteering",
                name=LocalizedText({"en": "Volunteering"}),
                trigger="volunteer.hours_confirmed",
                per_unit=4,
            )
        ),
        actor=SYSTEM,
    )


async def test_confirmed_hours_award_points_once(team: Pair, clock: FrozenClock) -> None:
    huarong, handle = team
    await add_hours_rule(handle)
    task = await make_task(handle)
    shift = await make_shift(handle, task, hours=3)
    member, idle = await people(handle, 2)
    await handle.execute(SignUpForShift(shift.id), actor=member)
    staff = await actor_for(handle, "staff")

    with pytest.raises(ShiftNotOpen) as early:
        await handle.execute(ConfirmHours(shift.id, mid(member), "2.5"), actor=staff)
    assert early.value.reason == "not_started"

    clock.set(shift.ends_at + timedelta(minutes=10))
    before = await snapshot(huarong.db)
    for hours, reason in (
        ("3.5", "exceeds_shift_length"),
        ("0", "not_positive"),
        ("-1", "not_positive"),
        ("2.555", "too_precise"),
        ("two", "not_a_number"),
        ("NaN", "not_a_number"),
    ):
        with pytest.raises(InvalidValue) as bad:
            await handle.execute(ConfirmHours(shift.id, mid(member), hours), actor=staff)
        assert bad.value.reason == reason, hours
    with pytest.raises(NotFound):
        await handle.execute(ConfirmHours(shift.id, mid(idle), "1"), actor=staff)
    with pytest.raises(PermissionDenied):
        await handle.execute(ConfirmHours(shift.id, mid(member), "2.5"), actor=member)
    assert await snapshot(huarong.db) == before

    done = await handle.execute(ConfirmHours(shift.id, mid(member), 2.5), actor=staff)
    assert done.signup.hours == "2.5"
    assert done.signup.confirmed_at == clock.now()
    assert done.awards == (("volunteering", "awarded", 10),)
    statement = await handle.execute(GetPointsStatement(mid(member)), actor=SYSTEM)
    assert statement.balance == 10
    (entry,) = statement.entries
    assert entry.source_id == f"shift:{shift.id}:{mid(member)}"
    (told,) = await events_of(huarong, "volunteer.hours_confirmed")
    assert (told["hours"], told["recipients"]) == ("2.5", [mid(member)])

    before = await snapshot(huarong.db)
    with pytest.raises(HoursAlreadyConfirmed) as twice:
        await handle.execute(ConfirmHours(shift.id, mid(member), "3"), actor=staff)
    assert twice.value.hours == "2.5"
    assert await snapshot(huarong.db) == before


async def test_hours_for_a_period_follow_the_community_time_zone(
    team: Pair, clock: FrozenClock
) -> None:
    _, handle = team
    task = await make_task(handle)
    late_july = await make_shift(handle, task, starts=local(date(2026, 7, 31), 21), hours=2)
    # 00:30 on 1 August in Shanghai is still 31 July in UTC: it counts for August.
    early_august = await make_shift(handle, task, starts=local(date(2026, 8, 1), 0, 30), hours=2)
    august = await make_shift(handle, task, starts=local(date(2026, 8, 10), 9), hours=4)
    first, second, third = await people(handle, 3)
    for shift, actors in (
        (late_july, (first, second)),
        (early_august, (first,)),
        (august, (second, third)),
    ):
        for actor in actors:
            await handle.execute(SignUpForShift(shift.id), actor=actor)
    clock.set(local(date(2026, 8, 11), 9))
    for shift, member_id, hours in (
        (late_july, mid(first), "2"),
        (late_july, mid(second), "1.25"),
        (early_august, mid(first), "1.5"),
        (august, mid(second), "4"),
    ):
        await handle.execute(ConfirmHours(shift.id, member_id, hours), actor=SYSTEM)

    july = await handle.execute(
        GetVolunteerHours(date(2026, 7, 1), date(2026, 7, 31)), actor=SYSTEM
    )
    assert (july.team_hours, july.team_shifts) == ("3.25", 2)
    assert [(r.member_id, r.hours, r.shifts) for r in july.rows] == [
        (mid(first), "2", 1),
        (mid(second), "1.25", 1),
    ]
    aug = await handle.execute(GetVolunteerHours(date(2026, 8, 1), date(2026, 8, 31)), actor=SYSTEM)
    assert (aug.team_hours, aug.team_shifts) == ("5.5", 2)
    assert [(r.member_id, r.hours) for r in aug.rows] == [(mid(second), "4"), (mid(first), "1.5")]
    both = await handle.execute(
        GetVolunteerHours(date(2026, 7, 1), date(2026, 8, 31)), actor=SYSTEM
    )
    assert both.team_hours == "8.75"
    assert [(r.member_id, r.hours, r.shifts) for r in both.rows] == [
        (mid(second), "5.25", 2),
        (mid(first), "3.5", 2),
    ]
    assert both.rows[0].display_name == "Member 02"

    # A member sees the team's total and their own row only.
    own = await handle.execute(GetVolunteerHours(date(2026, 7, 1), date(2026, 8, 31)), actor=first)
    assert own.team_hours == "8.75"
    assert [(r.member_id, r.hours) for r in own.rows] == [(mid(first), "3.5")]
    with pytest.raises(PermissionDenied):
        await handle.execute(
            GetVolunteerHours(date(2026, 7, 1), date(2026, 8, 31), member_id=mid(second)),
            actor=first,
        )
    none = await handle.execute(GetVolunteerHours(date(2026, 7, 1), date(2026, 8, 31)), actor=third)
    assert none.rows == ()
    with pytest.raises(InvalidValue):
        await handle.execute(GetVolunteerHours(date(2026, 8, 1), date(2026, 7, 1)), actor=SYSTEM)


async def test_reminders_go_to_those_signed_up(team: Pair, clock: FrozenClock) -> None:
    huarong, handle = team
    task = await make_task(handle)
    shift = await make_shift(handle, task, slots=3)
    cancelled = await make_shift(handle, task, starts=local(date(2026, 7, 12), 9))
    goer, quitter = await people(handle, 2)
    for actor in (goer, quitter):
        await handle.execute(SignUpForShift(shift.id), actor=actor)
        await handle.execute(SignUpForShift(cancelled.id), actor=actor)
    await handle.execute(WithdrawFromShift(shift.id), actor=quitter)
    await handle.execute(CancelShift(cancelled.id), actor=SYSTEM)

    clock.set(shift.starts_at - timedelta(hours=25))
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0
    clock.set(shift.starts_at - timedelta(hours=23))
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 1
    (reminder,) = await events_of(huarong, "volunteer.shift_reminder")
    assert reminder["recipients"] == [mid(goer)]
    assert (reminder["shift_id"], reminder["minutes_before"]) == (shift.id, 1440)
    clock.set(cancelled.starts_at)
    assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 0


# --- the community file ----------------------------------------------------------------


async def test_tasks_and_shifts_from_the_file_load_idempotently(
    database_url: str, clock: FrozenClock
) -> None:
    text = VOLUNTEER_COMMUNITY + TASKS_TOML
    async with open_test_community(database_url, config=text, clock=clock) as (huarong, handle):
        tasks = await handle.execute(ListVolunteerTasks(), actor=SYSTEM)
        assert [(t.key, t.station) for t in tasks] == [
            ("bookshelf", "service"),
            ("old_shift", None),
        ]
        shifts = await handle.execute(ListShifts(), actor=SYSTEM)
        assert [(d.task.key, d.shift.slots) for d in shifts] == [("bookshelf", 4)] * 2

        before = await snapshot(huarong.db)
        clock.advance(hours=1)
        again = await huarong.apply_configuration(parse_config(text), actor=SYSTEM, source="<test>")
        assert again.changes == 0
        assert again.unchanged["volunteer_tasks"] == 2
        assert again.unchanged["volunteer_shifts"] == 2
        assert again.unchanged["volunteering_settings"] == 1
        assert await snapshot(huarong.db) == before

        edited = text.replace(
            "slots = 4 },\n    { starts = 2026-07-17", "slots = 6 },\n    { starts = 2026-07-17"
        )
        report = await huarong.apply_configuration(
            parse_config(edited), actor=SYSTEM, source="<test>"
        )
        assert report.updated == {"volunteer_shifts": 1}
        shifts = await handle.execute(ListShifts(), actor=SYSTEM)
        assert [d.shift.slots for d in shifts] == [6, 4]

        # Reminders from the file's settings.
        (member,) = await people(handle, 1)
        await handle.execute(SignUpForShift(shifts[0].shift.id), actor=member)
        clock.set(shifts[0].shift.starts_at - timedelta(hours=1))
        assert await handle.execute(FireDueTimers(), actor=SYSTEM) == 2
        minutes = [
            e["minutes_before"] for e in await events_of(huarong, "volunteer.shift_reminder")
        ]
        assert minutes == [1440, 120]


def test_bad_volunteering_entries_are_reported() -> None:
    text = (
        VOLUNTEER_COMMUNITY
        + """
[volunteering]
reminders = ["soon"]

[[volunteering.tasks]]
key = "Bad Key"
title = "x"
station = "nowhere"
shifts = [{ starts = 2026-07-10T09:00:00+08:00, ends = 2026-07-10T08:00:00+08:00, slots = 0 }]

[smile_wall]
period = "month"
photos_per_period = 0
"""
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(text)
    where = sorted(p.where for p in refused.value.problems)
    assert where == [
        "smile_wall",
        "volunteering",
        "volunteering.tasks[0]",
        "volunteering.tasks[0].shifts[0]",
        "volunteering.tasks[0].station",
    ]


async def test_a_redelivered_sign_up_gets_the_same_answer(team: Pair) -> None:
    huarong, handle = team
    task = await make_task(handle)
    shift = await make_shift(handle, task, slots=1)
    first, second = await people(handle, 2)
    delivery = Delivery("telegram", "update-1")
    signup = await handle.execute(SignUpForShift(shift.id), actor=first, delivery=delivery)
    again = await handle.execute(SignUpForShift(shift.id), actor=first, delivery=delivery)
    assert again == signup
    refused = Delivery("telegram", "update-2")
    with pytest.raises(ShiftNotOpen):
        await handle.execute(SignUpForShift(shift.id), actor=second, delivery=refused)
    await handle.execute(WithdrawFromShift(shift.id), actor=first)
    with pytest.raises(ShiftNotOpen):  # the stored answer, not a second try
        await handle.execute(SignUpForShift(shift.id), actor=second, delivery=refused)
    assert len(await events_of(huarong, "volunteer.signed_up")) == 1
