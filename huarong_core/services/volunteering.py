"""The volunteer team (爱心志愿队): membership, tasks, shifts with slots, sign-ups, hours.

Slots are taken with a conditional update (`taken < slots`) under a
per-shift lock (a PostgreSQL advisory lock; SQLite has one writer), so a
shift never has more sign-ups than slots however many members sign up at
once, and one member's sign-up, withdrawal and confirmation never race.
Confirmed hours are a `volunteer.hours_confirmed` points trigger (units =
hours, source `shift:<shift>:<member>`, so they award at most once).
Reminders before each shift go to those signed up (`[volunteering] reminders`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import attrs

from huarong_core.commands import (
    AddShift,
    CancelShift,
    ConfirmHours,
    CreateVolunteerTask,
    GetShift,
    GetVolunteerHours,
    GetVolunteerStatus,
    HoursConfirmation,
    JoinVolunteerTeam,
    LeaveVolunteerTeam,
    ListMemberShifts,
    ListShifts,
    ListShiftSignups,
    ListVolunteers,
    ListVolunteerTasks,
    MemberShift,
    ShiftDetails,
    SignUpForShift,
    UpdateShift,
    UpdateVolunteerTask,
    VolunteerHours,
    VolunteerHoursRow,
    WithdrawFromShift,
)
from huarong_core.domain.points import Trigger
from huarong_core.domain.roles import Permission, Role, Scope
from huarong_core.domain.validation import require_key, require_name
from huarong_core.domain.volunteering import (
    Shift,
    ShiftSignup,
    ShiftStatus,
    SignupStatus,
    Volunteer,
    VolunteeringSettings,
    VolunteerStatus,
    VolunteerTask,
    hours_text,
    parse_hours,
    require_hours_within,
    require_shift_span,
    require_slots,
)
from huarong_core.errors import (
    AlreadyExists,
    AlreadySignedUp,
    AlreadyVolunteer,
    HoursAlreadyConfirmed,
    InvalidValue,
    NotAVolunteer,
    NotFound,
    ShiftNotOpen,
)
from huarong_core.events import (
    ShiftCancelled,
    ShiftChanged,
    ShiftReminder,
    ShiftSignedUp,
    ShiftWithdrawn,
    VolunteerHoursConfirmed,
    VolunteerJoined,
    VolunteerLeft,
)
from huarong_core.services.context import Context
from huarong_core.services.members import get_active_member
from huarong_core.services.points import record_activity
from huarong_core.services.registry import handles
from huarong_core.services.scheduler import Timer, on_timer, schedule, unschedule
from huarong_core.services.stations import get_station

TRIGGER = "volunteer.hours_confirmed"
SETTINGS_AREA = "volunteering"
MAX_REASON = 500
MAX_DESCRIPTION = 2000
MAX_REPORT_DAYS = 3 * 366
MAX_AHEAD = timedelta(days=2 * 366)


async def volunteering_settings(ctx: Context) -> VolunteeringSettings:
    if "volunteering_settings" not in ctx.memo:
        ctx.memo["volunteering_settings"] = VolunteeringSettings.from_dict(
            await ctx.repos.volunteering.settings(SETTINGS_AREA)
        )
    settings: VolunteeringSettings = ctx.memo["volunteering_settings"]
    return settings


async def save_volunteering_settings(ctx: Context, settings: VolunteeringSettings) -> str:
    """`created`, `changed` or `unchanged`; the defaults are never written."""
    stored = await ctx.repos.volunteering.settings(SETTINGS_AREA)
    if stored is None and settings == VolunteeringSettings():
        return "unchanged"
    if stored is not None and VolunteeringSettings.from_dict(stored) == settings:
        return "unchanged"
    await ctx.repos.volunteering.save_settings(SETTINGS_AREA, settings.as_dict())
    ctx.memo.pop("volunteering_settings", None)
    await ctx.audit("volunteer.settings", f"community:{ctx.community.key}")
    return "created" if stored is None else "changed"


# --- lookups and authorization ---------------------------------------------------------


def _scope(station: str | None) -> Scope:
    return Scope.station(station) if station is not None else Scope.community()


def require_manage(ctx: Context, station: str | None) -> None:
    """Run a task of `station` (or a community-wide task): `manage_volunteering` there."""
    ctx.require(Permission.MANAGE_VOLUNTEERING, _scope(station))


def _acting(ctx: Context, member_id: int | None, station: str | None) -> int:
    """The acting member; naming someone else takes `manage_volunteering`."""
    if member_id is None or member_id == ctx.actor.member_id:
        return ctx.target_member(None)
    if station is None:
        ctx.require_anywhere(Permission.MANAGE_VOLUNTEERING)
    else:
        require_manage(ctx, station)
    return member_id


async def get_task(ctx: Context, task_id: int) -> VolunteerTask:
    found = await ctx.repos.volunteering.task(task_id)
    if found is None:
        raise NotFound(entity="volunteer_task", ref=f"#{task_id}")
    return found


async def get_shift(ctx: Context, shift_id: int) -> tuple[Shift, VolunteerTask]:
    shift = await ctx.repos.volunteering.shift(shift_id)
    if shift is None:
        raise NotFound(entity="shift", ref=f"#{shift_id}")
    return shift, await get_task(ctx, shift.task_id)


async def _holds_role(ctx: Context, member_id: int) -> bool:
    grants = (
        ctx.grants
        if member_id == ctx.actor.member_id
        else await ctx.repos.roles.for_member(member_id)
    )
    return any(g.role is Role.VOLUNTEER for g in grants)


async def volunteer_of(ctx: Context, member_id: int) -> Volunteer | None:
    """The member's place on the team (the row, or the role), or None."""
    row = await ctx.repos.volunteering.volunteer(member_id)
    if await _holds_role(ctx, member_id):
        if row is None:
            return Volunteer(member_id, VolunteerStatus.ACTIVE, None, by_role=True)
        return attrs.evolve(row, by_role=True)
    return row if row is not None and row.is_active else None


async def require_volunteer(ctx: Context, member_id: int) -> Volunteer:
    found = await volunteer_of(ctx, member_id)
    if found is None:
        raise NotAVolunteer(member_id=member_id)
    return found


async def _lock_shift(ctx: Context, shift_id: int) -> None:
    await ctx.repos.conn.lock(f"volunteering:{ctx.community.id}:shift:{shift_id}")


async def _lock_member(ctx: Context, member_id: int) -> None:
    await ctx.repos.conn.lock(f"volunteering:{ctx.community.id}:member:{member_id}")


async def _check_station(ctx: Context, station: str | None) -> None:
    if station is not None:
        await get_station(ctx, station)


# --- the team --------------------------------------------------------------------------


@handles(JoinVolunteerTeam)
async def join_team(ctx: Context, cmd: JoinVolunteerTeam) -> Volunteer:
    member_id = _acting(ctx, cmd.member_id, None)
    by_staff = member_id != ctx.actor.member_id
    await get_active_member(ctx, member_id)
    await _lock_member(ctx, member_id)
    if await volunteer_of(ctx, member_id) is not None:
        raise AlreadyVolunteer(member_id=member_id)
    joined = Volunteer(member_id, VolunteerStatus.ACTIVE, ctx.now)
    await ctx.repos.volunteering.save_volunteer(joined, ctx.actor.label)
    if by_staff:
        await ctx.audit("volunteer.add", f"member:{member_id}")
    ctx.record(VolunteerJoined(member_id, by_staff, (member_id,) if by_staff else ()))
    return joined


@handles(LeaveVolunteerTeam)
async def leave_team(ctx: Context, cmd: LeaveVolunteerTeam) -> Volunteer:
    member_id = _acting(ctx, cmd.member_id, None)
    await _lock_member(ctx, member_id)
    current = await volunteer_of(ctx, member_id)
    if current is None:
        raise NotAVolunteer(member_id=member_id)
    if current.by_role:
        raise InvalidValue(field="member", value=f"#{member_id}", reason="volunteer_by_role")
    withdrawn = []
    for shift, _ in await ctx.repos.volunteering.member_signups(member_id, ending_after=ctx.now):
        if shift.has_started(ctx.now):
            continue
        await _lock_shift(ctx, shift.id)
        await ctx.repos.volunteering.withdraw(shift.id, member_id, ctx.now)
        if shift.status is ShiftStatus.SCHEDULED:
            await ctx.repos.volunteering.release_slot(shift.id)
        withdrawn.append(shift.id)
    left = attrs.evolve(current, status=VolunteerStatus.LEFT, left_at=ctx.now)
    await ctx.repos.volunteering.save_volunteer(left, ctx.actor.label)
    if member_id != ctx.actor.member_id:
        await ctx.audit("volunteer.remove", f"member:{member_id}", withdrawn=withdrawn)
    ctx.record(VolunteerLeft(member_id, tuple(withdrawn)))
    return left


@handles(GetVolunteerStatus)
async def volunteer_status(ctx: Context, cmd: GetVolunteerStatus) -> Volunteer | None:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require_anywhere(Permission.MANAGE_VOLUNTEERING)
    return await volunteer_of(ctx, member_id)


@handles(ListVolunteers)
async def list_volunteers(ctx: Context, cmd: ListVolunteers) -> tuple[Volunteer, ...]:
    ctx.require_anywhere(Permission.MANAGE_VOLUNTEERING)
    team = {v.member_id: v for v in await ctx.repos.volunteering.active_volunteers()}
    for grant in await ctx.repos.roles.all():
        if grant.role is not Role.VOLUNTEER:
            continue
        row = team.get(grant.member_id) or await ctx.repos.volunteering.volunteer(grant.member_id)
        team[grant.member_id] = (
            Volunteer(grant.member_id, VolunteerStatus.ACTIVE, None, by_role=True)
            if row is None
            else attrs.evolve(row, by_role=True)
        )
    return tuple(team[k] for k in sorted(team))


# --- tasks -----------------------------------------------------------------------------


def _check_task_text(ctx: Context, task: VolunteerTask) -> None:
    require_name("title", task.title.get(ctx.community.locale))
    if task.description is not None:
        for _, text in task.description.values:
            if len(text) > MAX_DESCRIPTION:
                raise InvalidValue(field="description", value=text[:20] + "…", reason="too_long")


async def save_task(ctx: Context, task: VolunteerTask, source: str) -> tuple[VolunteerTask, str]:
    """Create a task, or (found by key) change it: `created`, `changed` or `unchanged`."""
    if not ctx.actor.is_system:
        require_manage(ctx, task.station)
    _check_task_text(ctx, task)
    await _check_station(ctx, task.station)
    repo = ctx.repos.volunteering
    current = None
    if task.id:
        current = await get_task(ctx, task.id)
    elif task.key is not None:
        require_key("key", task.key)
        current = await repo.task_by_key(task.key)
    if current is None:
        task_id = await repo.insert_task(task, source, ctx.actor.label, ctx.now)
        created = attrs.evolve(task, id=task_id)
        await ctx.audit("volunteer.task.save", f"volunteer_task:{created.ref}", created=True)
        return created, "created"
    wanted = attrs.evolve(task, id=current.id)
    if wanted == current:
        return current, "unchanged"
    if not ctx.actor.is_system and wanted.station != current.station:
        require_manage(ctx, current.station)
    await repo.update_task(wanted, source, ctx.now)
    await ctx.audit("volunteer.task.save", f"volunteer_task:{wanted.ref}", created=False)
    return wanted, "changed"


@handles(CreateVolunteerTask)
async def create_task(ctx: Context, cmd: CreateVolunteerTask) -> VolunteerTask:
    require_manage(ctx, cmd.station)
    if cmd.key is not None:
        require_key("key", cmd.key)
        if await ctx.repos.volunteering.task_by_key(cmd.key) is not None:
            raise AlreadyExists(entity="volunteer_task", ref=cmd.key)
    draft = VolunteerTask(0, cmd.title, cmd.key, cmd.description, cmd.station)
    task, _ = await save_task(ctx, draft, "admin")
    return task


@handles(UpdateVolunteerTask)
async def update_task(ctx: Context, cmd: UpdateVolunteerTask) -> VolunteerTask:
    current = await get_task(ctx, cmd.task_id)
    require_manage(ctx, current.station)
    wanted = attrs.evolve(
        current,
        title=cmd.title or current.title,
        description=current.description if cmd.description is None else cmd.description,
        active=current.active if cmd.active is None else cmd.active,
    )
    task, _ = await save_task(ctx, wanted, "admin")
    return task


@handles(ListVolunteerTasks)
async def list_tasks(ctx: Context, cmd: ListVolunteerTasks) -> tuple[VolunteerTask, ...]:
    return tuple(
        await ctx.repos.volunteering.tasks(
            station=cmd.station, include_inactive=cmd.include_inactive
        )
    )


# --- shifts ----------------------------------------------------------------------------


def _timer_prefix(shift_id: int) -> str:
    return f"volunteer-shift:{shift_id}:"


async def _schedule_reminders(ctx: Context, shift: Shift) -> None:
    await unschedule(ctx, _timer_prefix(shift.id))
    for before in (await volunteering_settings(ctx)).reminders:
        due = shift.starts_at - before
        if due > ctx.now:
            minutes = int(before.total_seconds() // 60)
            await schedule(
                ctx,
                f"{_timer_prefix(shift.id)}reminder:{minutes}",
                "volunteer.shift_reminder",
                due,
                {"shift_id": shift.id, "minutes": minutes},
            )


def _check_new_times(ctx: Context, starts_at: datetime, ends_at: datetime) -> None:
    require_shift_span(starts_at, ends_at)
    if starts_at <= ctx.now:
        raise InvalidValue(field="starts_at", value=starts_at.isoformat(), reason="in_the_past")
    if starts_at > ctx.now + MAX_AHEAD:
        raise InvalidValue(field="starts_at", value=starts_at.isoformat(), reason="too_far_ahead")


async def _require_free_start(ctx: Context, task: VolunteerTask, starts_at: datetime) -> None:
    for other in await ctx.repos.volunteering.shifts_at(task.id, starts_at):
        if other.status is ShiftStatus.SCHEDULED:
            raise AlreadyExists(
                entity="shift", ref=f"{task.ref} {ctx.community.local(starts_at):%Y-%m-%d %H:%M}"
            )


async def add_shift(
    ctx: Context, task: VolunteerTask, starts_at: datetime, ends_at: datetime, slots: int
) -> Shift:
    require_manage(ctx, task.station)
    _check_new_times(ctx, starts_at, ends_at)
    require_slots(slots)
    await _require_free_start(ctx, task, starts_at)
    draft = Shift(0, task.id, starts_at, ends_at, slots)
    shift = await ctx.repos.volunteering.insert_shift(draft, ctx.now)
    await _schedule_reminders(ctx, shift)
    await ctx.audit(
        "volunteer.shift.add",
        f"shift:{shift.id}",
        task=task.ref,
        starts_at=starts_at.isoformat(),
        slots=slots,
    )
    return shift


@handles(AddShift)
async def add_shift_handler(ctx: Context, cmd: AddShift) -> Shift:
    task = await get_task(ctx, cmd.task_id)
    require_manage(ctx, task.station)
    return await add_shift(ctx, task, cmd.starts_at, cmd.ends_at, cmd.slots)


async def change_shift(
    ctx: Context,
    shift: Shift,
    task: VolunteerTask,
    *,
    starts_at: datetime,
    ends_at: datetime,
    slots: int,
) -> Shift:
    """Move a shift or change its slots; everyone signed up hears of a move."""
    require_manage(ctx, task.station)
    if shift.status is not ShiftStatus.SCHEDULED:
        raise ShiftNotOpen(shift=shift.ref, reason="cancelled")
    moved = (starts_at, ends_at) != (shift.starts_at, shift.ends_at)
    if moved:
        if shift.has_started(ctx.now):
            raise ShiftNotOpen(shift=shift.ref, reason="started")
        _check_new_times(ctx, starts_at, ends_at)
        if starts_at != shift.starts_at:
            await _require_free_start(ctx, task, starts_at)
    require_slots(slots)
    await _lock_shift(ctx, shift.id)
    current = await ctx.repos.volunteering.shift(shift.id)
    assert current is not None
    if slots < current.taken:
        raise InvalidValue(field="slots", value=str(slots), reason="below_signed_up")
    wanted = attrs.evolve(current, starts_at=starts_at, ends_at=ends_at, slots=slots)
    changed = tuple(
        name
        for name in ("starts_at", "ends_at", "slots")
        if getattr(current, name) != getattr(wanted, name)
    )
    if not changed:
        return current
    await ctx.repos.volunteering.update_shift(wanted, ctx.now)
    if moved:
        await _schedule_reminders(ctx, wanted)
    await ctx.audit("volunteer.shift.update", f"shift:{shift.id}", fields=list(changed))
    recipients = await ctx.repos.volunteering.signed_up_members(shift.id)
    if moved and recipients:
        ctx.record(ShiftChanged(shift.id, changed, tuple(recipients)))
    return wanted


@handles(UpdateShift)
async def update_shift(ctx: Context, cmd: UpdateShift) -> Shift:
    shift, task = await get_shift(ctx, cmd.shift_id)
    require_manage(ctx, task.station)
    starts = cmd.starts_at or shift.starts_at
    ends = cmd.ends_at or (shift.ends_at if cmd.starts_at is None else starts + shift.length)
    return await change_shift(
        ctx,
        shift,
        task,
        starts_at=starts,
        ends_at=ends,
        slots=shift.slots if cmd.slots is None else cmd.slots,
    )


@handles(CancelShift)
async def cancel_shift(ctx: Context, cmd: CancelShift) -> Shift:
    shift, task = await get_shift(ctx, cmd.shift_id)
    require_manage(ctx, task.station)
    if shift.status is ShiftStatus.CANCELLED:
        raise ShiftNotOpen(shift=shift.ref, reason="cancelled")
    if shift.has_started(ctx.now):
        raise ShiftNotOpen(shift=shift.ref, reason="started")
    reason = cmd.reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidValue(field="reason", value=reason[:20] + "…", reason="too_long")
    await _lock_shift(ctx, shift.id)
    done = attrs.evolve(shift, status=ShiftStatus.CANCELLED)
    await ctx.repos.volunteering.update_shift(done, ctx.now)
    await unschedule(ctx, _timer_prefix(shift.id))
    await ctx.audit("volunteer.shift.cancel", f"shift:{shift.id}", reason=reason)
    recipients = await ctx.repos.volunteering.signed_up_members(shift.id)
    ctx.record(ShiftCancelled(shift.id, reason, tuple(recipients)))
    return done


@on_timer("volunteer.shift_reminder")
async def _reminder_timer(ctx: Context, timer: Timer) -> None:
    shift = await ctx.repos.volunteering.shift(int(timer.payload["shift_id"]))
    if shift is None or shift.status is not ShiftStatus.SCHEDULED:
        return
    recipients = await ctx.repos.volunteering.signed_up_members(shift.id)
    if recipients:
        ctx.record(
            ShiftReminder(shift.id, shift.task_id, tuple(recipients), int(timer.payload["minutes"]))
        )


async def _details(ctx: Context, shifts: list[Shift]) -> tuple[ShiftDetails, ...]:
    tasks: dict[int, VolunteerTask] = {}
    found = []
    for shift in shifts:
        if shift.task_id not in tasks:
            tasks[shift.task_id] = await get_task(ctx, shift.task_id)
        mine = (
            None
            if ctx.actor.member_id is None
            else await ctx.repos.volunteering.signup(shift.id, ctx.actor.member_id)
        )
        found.append(ShiftDetails(shift, tasks[shift.task_id], mine))
    return tuple(found)


@handles(GetShift)
async def shift_details(ctx: Context, cmd: GetShift) -> ShiftDetails:
    shift, _ = await get_shift(ctx, cmd.shift_id)
    (details,) = await _details(ctx, [shift])
    return details


@handles(ListShifts)
async def list_shifts(ctx: Context, cmd: ListShifts) -> tuple[ShiftDetails, ...]:
    if cmd.task_id is not None:
        await get_task(ctx, cmd.task_id)
    starts = cmd.starts or ctx.now
    shifts = await ctx.repos.volunteering.shifts(
        task_id=cmd.task_id,
        starts=starts,
        ends=cmd.ends,
        include_cancelled=cmd.include_cancelled and not cmd.open_only,
        limit=1000 if cmd.open_only else cmd.limit,
    )
    if cmd.open_only:
        shifts = [s for s in shifts if s.slots_left > 0 and not s.has_started(ctx.now)]
        active = {t.id for t in await ctx.repos.volunteering.tasks()}
        shifts = [s for s in shifts if s.task_id in active][: cmd.limit]
    return await _details(ctx, shifts)


# --- sign-ups --------------------------------------------------------------------------


def _require_open(ctx: Context, shift: Shift, task: VolunteerTask) -> None:
    if shift.status is ShiftStatus.CANCELLED:
        raise ShiftNotOpen(shift=shift.ref, reason="cancelled")
    if shift.has_started(ctx.now):
        raise ShiftNotOpen(shift=shift.ref, reason="started")
    if not task.active:
        raise ShiftNotOpen(shift=shift.ref, reason="task_closed")


@handles(SignUpForShift)
async def sign_up(ctx: Context, cmd: SignUpForShift) -> ShiftSignup:
    shift, task = await get_shift(ctx, cmd.shift_id)
    member_id = _acting(ctx, cmd.member_id, task.station)
    _require_open(ctx, shift, task)
    await get_active_member(ctx, member_id)
    await require_volunteer(ctx, member_id)
    repo = ctx.repos.volunteering
    await _lock_member(ctx, member_id)
    await _lock_shift(ctx, shift.id)
    current = await repo.signup(shift.id, member_id)
    if current is not None and current.status is SignupStatus.SIGNED_UP:
        raise AlreadySignedUp(shift=shift.ref, member_id=member_id)
    for other, _ in await repo.member_signups(member_id, ending_after=shift.starts_at):
        if other.status is ShiftStatus.SCHEDULED and other.starts_at < shift.ends_at:
            raise ShiftNotOpen(shift=shift.ref, reason="clashes")
    left = await repo.take_slot(shift.id)
    if left is None:
        raise ShiftNotOpen(shift=shift.ref, reason="full")
    signup = ShiftSignup(shift.id, member_id, SignupStatus.SIGNED_UP, ctx.now)
    await repo.save_signup(signup, ctx.actor.label)
    if member_id != ctx.actor.member_id:
        await ctx.audit("volunteer.sign_up", f"shift:{shift.id}", member=member_id)
    ctx.record(ShiftSignedUp(shift.id, member_id, left))
    return signup


@handles(WithdrawFromShift)
async def withdraw(ctx: Context, cmd: WithdrawFromShift) -> ShiftSignup:
    shift, task = await get_shift(ctx, cmd.shift_id)
    member_id = _acting(ctx, cmd.member_id, task.station)
    if shift.status is ShiftStatus.CANCELLED:
        raise ShiftNotOpen(shift=shift.ref, reason="cancelled")
    if shift.has_started(ctx.now):
        raise ShiftNotOpen(shift=shift.ref, reason="started")
    repo = ctx.repos.volunteering
    await _lock_shift(ctx, shift.id)
    current = await repo.signup(shift.id, member_id)
    if current is None or current.status is not SignupStatus.SIGNED_UP:
        raise NotFound(entity="shift_signup", ref=f"{shift.ref}/#{member_id}")
    await repo.withdraw(shift.id, member_id, ctx.now)
    await repo.release_slot(shift.id)
    if member_id != ctx.actor.member_id:
        await ctx.audit("volunteer.withdraw", f"shift:{shift.id}", member=member_id)
    ctx.record(ShiftWithdrawn(shift.id, member_id))
    return attrs.evolve(current, status=SignupStatus.WITHDRAWN, withdrawn_at=ctx.now)


@handles(ListShiftSignups)
async def list_signups(ctx: Context, cmd: ListShiftSignups) -> tuple[ShiftSignup, ...]:
    shift, task = await get_shift(ctx, cmd.shift_id)
    require_manage(ctx, task.station)
    return tuple(await ctx.repos.volunteering.signups(shift.id, cmd.status))


@handles(ListMemberShifts)
async def member_shifts(ctx: Context, cmd: ListMemberShifts) -> tuple[MemberShift, ...]:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require_anywhere(Permission.MANAGE_VOLUNTEERING)
    pairs = await ctx.repos.volunteering.member_signups(
        member_id, ending_after=ctx.now if cmd.upcoming_only else None
    )
    tasks: dict[int, VolunteerTask] = {}
    found = []
    for shift, signup in pairs:
        if shift.task_id not in tasks:
            tasks[shift.task_id] = await get_task(ctx, shift.task_id)
        found.append(MemberShift(shift, tasks[shift.task_id], signup))
    return tuple(found)


# --- hours -----------------------------------------------------------------------------


@handles(ConfirmHours)
async def confirm_hours(ctx: Context, cmd: ConfirmHours) -> HoursConfirmation:
    shift, task = await get_shift(ctx, cmd.shift_id)
    require_manage(ctx, task.station)
    if shift.status is ShiftStatus.CANCELLED:
        raise ShiftNotOpen(shift=shift.ref, reason="cancelled")
    if not shift.has_started(ctx.now):
        raise ShiftNotOpen(shift=shift.ref, reason="not_started")
    hundredths = parse_hours(cmd.hours)
    require_hours_within(hundredths, shift)
    repo = ctx.repos.volunteering
    await _lock_shift(ctx, shift.id)
    current = await repo.signup(shift.id, cmd.member_id)
    if current is None or current.status is not SignupStatus.SIGNED_UP:
        raise NotFound(entity="shift_signup", ref=f"{shift.ref}/#{cmd.member_id}")
    if current.hours is not None:
        raise HoursAlreadyConfirmed(shift=shift.ref, member_id=cmd.member_id, hours=current.hours)
    confirmed = await repo.confirm_hours(
        shift.id, cmd.member_id, hundredths, ctx.actor.label, ctx.now
    )
    assert confirmed is not None  # the lock keeps the sign-up as read
    hours = hours_text(hundredths)
    await ctx.audit(
        "volunteer.hours.confirm", f"shift:{shift.id}", member=cmd.member_id, hours=hours
    )
    ctx.record(VolunteerHoursConfirmed(shift.id, cmd.member_id, hours, (cmd.member_id,)))
    results = await record_activity(
        ctx,
        Trigger(
            kind=TRIGGER,
            source_id=f"shift:{shift.id}:{cmd.member_id}",
            member_id=cmd.member_id,
            occurred_at=ctx.now,
            units=hours,
            target=f"shift:{shift.id}",
            station=task.station,
            tags=frozenset({task.key}) if task.key else frozenset(),
        ),
    )
    return HoursConfirmation(confirmed, tuple((r.rule_key, r.outcome, r.points) for r in results))


@handles(GetVolunteerHours)
async def volunteer_hours(ctx: Context, cmd: GetVolunteerHours) -> VolunteerHours:
    if cmd.ends_on < cmd.starts_on:
        raise InvalidValue(field="ends_on", value=cmd.ends_on.isoformat(), reason="bad_window")
    if (cmd.ends_on - cmd.starts_on).days > MAX_REPORT_DAYS:
        raise InvalidValue(field="ends_on", value=cmd.ends_on.isoformat(), reason="out_of_range")
    staff = ctx.can_anywhere(Permission.MANAGE_VOLUNTEERING)
    member_id = cmd.member_id
    if member_id is not None and member_id != ctx.actor.member_id and not staff:
        ctx.require_anywhere(Permission.MANAGE_VOLUNTEERING)
    if member_id is None and not staff:
        if ctx.actor.member_id is None:
            raise InvalidValue(field="member", value="-", reason="member_required")
        member_id = ctx.actor.member_id
    tz = ctx.community.tz
    start = datetime.combine(cmd.starts_on, time(), tz)
    end = datetime.combine(cmd.ends_on + timedelta(days=1), time(), tz)
    totals = await ctx.repos.volunteering.hours_between(start, end)
    rows = tuple(
        VolunteerHoursRow(t.member_id, t.display_name, hours_text(t.hundredths), t.shifts)
        for t in totals
        if member_id is None or t.member_id == member_id
    )
    return VolunteerHours(
        cmd.starts_on,
        cmd.ends_on,
        hours_text(sum(t.hundredths for t in totals)),
        sum(t.shifts for t in totals),
        rows,
    )
