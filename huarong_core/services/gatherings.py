"""Salons and their sessions, one-off events: RSVP with a waitlist, check-in, attendance.

Seats are counted and given out under a per-gathering lock (a PostgreSQL
advisory lock; SQLite has one writer), so capacity holds however many
members answer at once, and the waitlist is served in arrival order. Every
change that concerns members records an event for the outbox relay to
deliver: promotions, moves, cancellations, reminders, feedback requests.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import attrs

from huarong_core.commands import (
    AttendanceSummary,
    AwardResult,
    CancelGathering,
    CheckIn,
    CheckInCode,
    CheckInResult,
    CloseGathering,
    CreateEvent,
    DefineSalon,
    Feedback,
    FeedbackSummary,
    GatheringDetails,
    GenerateSessions,
    GetCheckInCode,
    GetGathering,
    GiveFeedback,
    ListFeedback,
    ListGatherings,
    ListMemberRsvps,
    ListRsvps,
    ListSalons,
    MemberAgendaItem,
    RespondToGathering,
    UpdateGathering,
    WhatsOn,
)
from huarong_core.domain.gatherings import (
    Answer,
    EventType,
    Gathering,
    GatheringKind,
    GatheringSettings,
    GatheringStatus,
    Organizer,
    OrganizerKind,
    Rsvp,
    RsvpStatus,
    Salon,
    require_capacity,
)
from huarong_core.domain.points import Trigger
from huarong_core.domain.roles import Permission, Scope
from huarong_core.domain.validation import require_key, require_name
from huarong_core.domain.venues import require_span
from huarong_core.errors import (
    AlreadyExists,
    CheckInRefused,
    GatheringNotOpen,
    InvalidValue,
    NotFound,
    VenueUnavailable,
    WrongCheckInCode,
)
from huarong_core.events import (
    AttendanceRecorded,
    CheckedIn,
    FeedbackRequested,
    GatheringCancelled,
    GatheringChanged,
    GatheringReminder,
    GatheringScheduled,
    RsvpRecorded,
    VenueConflict,
    WaitlistPromoted,
)
from huarong_core.services.context import Context
from huarong_core.services.members import require_active_member
from huarong_core.services.points import record_activity
from huarong_core.services.registry import handles
from huarong_core.services.scheduler import Timer, on_timer, schedule, unschedule
from huarong_core.services.stations import get_station
from huarong_core.storage.base import Row
from huarong_core.storage.codec import as_datetime

CODE_ALPHABET = "0123456789"
CODE_LENGTH = 6
MAX_CODE_TRIES = 5
CODE_TRIES_WINDOW = timedelta(minutes=15)
"""Five wrong codes in fifteen minutes, and a member must wait (or ask staff)."""
MAX_GENERATED_AHEAD = timedelta(days=731)
"""How far ahead `GenerateSessions` may make sessions (a weekly salon: about a hundred);
unbounded, one call could write centuries of them."""
MAX_COMMENT = 1000
MAX_WHATS_ON_DAYS = 62
GENERATE_KEY = "salons:generate"
GENERATE_EVERY = timedelta(days=1)


# --- lookups and authorization ---------------------------------------------------


async def get_gathering(ctx: Context, gathering_id: int) -> Gathering:
    found = await ctx.repos.gatherings.get(gathering_id)
    if found is None:
        raise NotFound(entity="gathering", ref=f"#{gathering_id}")
    return found


async def gathering_settings(ctx: Context) -> GatheringSettings:
    if "gathering_settings" not in ctx.memo:
        ctx.memo["gathering_settings"] = await ctx.repos.gatherings.settings()
    settings: GatheringSettings = ctx.memo["gathering_settings"]
    return settings


def organizer_scopes(club_key: str | None, station: str | None) -> list[Scope]:
    """Where a grant lets one run a gathering: its club, its station (or the community)."""
    scopes = []
    if club_key is not None:
        scopes.append(Scope.club(club_key))
    if station is not None:
        scopes.append(Scope.station(station))
    return scopes or [Scope.community()]


def _can_manage(ctx: Context, club_key: str | None, station: str | None) -> bool:
    return any(
        ctx.can(Permission.MANAGE_GATHERINGS, s) for s in organizer_scopes(club_key, station)
    )


def can_manage(ctx: Context, gathering: Gathering) -> bool:
    return _can_manage(ctx, gathering.club_key, gathering.station)


def require_manage(ctx: Context, gathering: Gathering) -> None:
    if not can_manage(ctx, gathering):
        ctx.require(
            Permission.MANAGE_GATHERINGS, organizer_scopes(gathering.club_key, gathering.station)[0]
        )


def acting_member(ctx: Context, member_id: int | None, gathering: Gathering) -> int:
    """The acting member; naming someone else takes the organizer's permission."""
    if member_id is None or member_id == ctx.actor.member_id:
        return ctx.target_member(None)
    require_manage(ctx, gathering)
    return member_id


async def resolve_organizer(ctx: Context, organizer: Organizer) -> tuple[str | None, str | None]:
    """(club, station) the organizer stands for; every key must exist."""
    if organizer.kind is OrganizerKind.CLUB:
        club = await ctx.repos.clubs.get(organizer.key)
        if club is None:
            raise NotFound(entity="club", ref=organizer.key)
        return club.key, club.station
    if organizer.kind is OrganizerKind.STATION:
        await get_station(ctx, organizer.key)
        return None, organizer.key
    if (
        organizer.kind is OrganizerKind.ORGANIZATION
        and await ctx.repos.organizations.by_key(organizer.key) is None
    ):
        raise NotFound(entity="organization", ref=organizer.key)
    return None, None


async def points_for(
    ctx: Context,
    gathering: Gathering,
    trigger: str,
    member_id: int,
    source_id: str,
    *,
    tags: frozenset[str] = frozenset(),
    units: str = "1",
) -> tuple[AwardResult, ...]:
    """Record a points activity for something that happened at this gathering."""
    return await record_activity(
        ctx,
        Trigger(
            kind=trigger,
            source_id=source_id,
            member_id=member_id,
            occurred_at=ctx.now,
            units=units,
            target=gathering.target,
            club=gathering.club_key,
            series=gathering.salon_key,
            station=gathering.station,
            tags=gathering.tags | tags | {gathering.event_type.value},
        ),
    )


async def _lock(ctx: Context, gathering_id: int) -> None:
    await ctx.repos.conn.lock(f"gathering:{ctx.community.id}:{gathering_id}")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# --- venue and timers that follow a gathering ------------------------------------


def _holder(gathering_id: int) -> str:
    return f"gathering:{gathering_id}"


async def _hold_venue(ctx: Context, gathering: Gathering) -> None:
    from huarong_core.services.venues import hold_venue

    if gathering.venue_key is None:
        return
    await hold_venue(
        ctx,
        gathering.venue_key,
        gathering.starts_at,
        gathering.ends_at,
        holder=_holder(gathering.id),
        purpose=gathering.title.get(ctx.community.locale),
    )


async def _release_venue(ctx: Context, gathering_id: int) -> None:
    from huarong_core.services.venues import release_venue

    await release_venue(ctx, _holder(gathering_id))


def _timer_prefix(gathering_id: int) -> str:
    return f"gathering:{gathering_id}:"


async def _schedule_timers(ctx: Context, gathering: Gathering) -> None:
    """Reminders before it starts and the closing after its check-in window."""
    await unschedule(ctx, _timer_prefix(gathering.id))
    settings = await gathering_settings(ctx)
    for before in settings.reminders:
        due = gathering.starts_at - before
        if due > ctx.now:
            minutes = int(before.total_seconds() // 60)
            await schedule(
                ctx,
                f"{_timer_prefix(gathering.id)}reminder:{minutes}",
                "gathering.reminder",
                due,
                {"gathering_id": gathering.id, "minutes": minutes},
            )
    _, closes = settings.checkin_window(gathering)
    await schedule(
        ctx,
        f"{_timer_prefix(gathering.id)}close",
        "gathering.close",
        closes,
        {"gathering_id": gathering.id},
    )


async def _place(ctx: Context, draft: Gathering) -> Gathering | None:
    """Store a new gathering, hold its venue, plan its timers. `None`: the session exists."""
    created = await ctx.repos.gatherings.insert(draft, new_code(), ctx.now)
    if created is None:
        return None
    if created.venue_key is not None:
        await _hold_venue(ctx, created)
    await _schedule_timers(ctx, created)
    ctx.record(GatheringScheduled(created.id, created.kind.value))
    return created


# --- salons and sessions ---------------------------------------------------------


async def _check_venue(ctx: Context, venue_key: str | None) -> None:
    if venue_key is not None:
        from huarong_core.services.venues import get_venue

        await get_venue(ctx, venue_key)


async def save_salon(ctx: Context, salon: Salon, source: str) -> tuple[Salon, bool]:
    """Create or change a series; sessions no longer in its rhythm are cancelled."""
    club_key, station = await resolve_organizer(ctx, salon.organizer)
    if not (ctx.actor.is_system or _can_manage(ctx, club_key, station)):
        ctx.require(Permission.MANAGE_GATHERINGS, organizer_scopes(club_key, station)[0])
    await _check_venue(ctx, salon.venue_key)
    current = await ctx.repos.gatherings.salon(salon.key)
    if current == salon:
        return salon, False
    await ctx.repos.gatherings.save_salon(salon, club_key, station, source, ctx.now)
    await ctx.audit(
        "salon.save", f"salon:{salon.key}", created=current is None, rule=salon.recurrence.rule
    )
    if current is not None and (current.recurrence != salon.recurrence or not salon.enabled):
        await _drop_stale_sessions(ctx, salon)
    await _ensure_generation_timer(ctx)
    return salon, True


async def _drop_stale_sessions(ctx: Context, salon: Salon) -> None:
    settings = await gathering_settings(ctx)
    upcoming = await ctx.repos.gatherings.scheduled_occurrences(salon.key, ctx.now)
    keep = (
        {
            start
            for start, _ in salon.recurrence.occurrences(
                ctx.community.tz, ctx.now, ctx.now + settings.horizon + timedelta(days=1)
            )
        }
        if salon.enabled
        else set()
    )
    for session in upcoming:
        if session.status is GatheringStatus.SCHEDULED and session.occurrence not in keep:
            await _cancel(ctx, session, "series_changed")


async def _ensure_generation_timer(ctx: Context) -> None:
    await schedule(ctx, GENERATE_KEY, "salons.generate", ctx.now + GENERATE_EVERY)


async def generate_sessions(
    ctx: Context, salon_key: str | None = None, until: datetime | None = None
) -> int:
    settings = await gathering_settings(ctx)
    end = until if until is not None else ctx.now + settings.horizon
    salons = await ctx.repos.gatherings.salons()
    if salon_key is not None:
        salons = [s for s in salons if s.key == salon_key]
        if not salons:
            raise NotFound(entity="salon", ref=salon_key)
    created = 0
    for salon in salons:
        if not salon.enabled:
            continue
        club_key, station = await resolve_organizer(ctx, salon.organizer)
        for starts, ends in salon.recurrence.occurrences(ctx.community.tz, ctx.now, end):
            draft = Gathering(
                id=0,
                kind=GatheringKind.SESSION,
                event_type=EventType.SALON,
                title=salon.name,
                organizer=salon.organizer,
                starts_at=starts,
                ends_at=ends,
                status=GatheringStatus.SCHEDULED,
                club_key=club_key,
                station=station,
                salon_key=salon.key,
                occurrence=starts,
                venue_key=salon.venue_key,
                capacity=salon.capacity,
                description=salon.description,
                tags=salon.tags,
            )
            if await _place_session(ctx, draft):
                created += 1
    return created


async def _place_session(ctx: Context, draft: Gathering) -> bool:
    """A session whose venue is taken is still held, without the venue, and staff told."""
    try:
        async with ctx.uow.savepoint():
            return await _place(ctx, draft) is not None
    except VenueUnavailable:
        # Handled, not ignored: the session keeps its date and staff find it a room.
        placed = await _place(ctx, attrs.evolve(draft, venue_key=None))
        if placed is None:
            return False
        assert draft.venue_key is not None
        ctx.record(VenueConflict(draft.venue_key, placed.id))
        return True


@handles(DefineSalon)
async def define_salon(ctx: Context, cmd: DefineSalon) -> Salon:
    salon, _ = await save_salon(ctx, cmd.salon, "admin")
    await generate_sessions(ctx, salon.key)
    return salon


@handles(ListSalons)
async def list_salons(ctx: Context, cmd: ListSalons) -> tuple[Salon, ...]:
    return tuple(await ctx.repos.gatherings.salons())


@handles(GenerateSessions)
async def generate(ctx: Context, cmd: GenerateSessions) -> int:
    """A salon's sessions are made ahead of the scheduler by whoever runs its
    organizer's gatherings (as for its events); "every salon" means every salon
    the actor runs, which for the community's staff is all of them."""
    if cmd.until is not None and cmd.until > ctx.now + MAX_GENERATED_AHEAD:
        raise InvalidValue(field="until", value=cmd.until.isoformat(), reason="too_far_ahead")
    if cmd.salon_key is not None:
        salon = await ctx.repos.gatherings.salon(cmd.salon_key)
        if salon is None:
            raise NotFound(entity="salon", ref=cmd.salon_key)
        club_key, station = await resolve_organizer(ctx, salon.organizer)
        if not _can_manage(ctx, club_key, station):
            ctx.require(Permission.MANAGE_GATHERINGS, organizer_scopes(club_key, station)[0])
        return await generate_sessions(ctx, salon.key, cmd.until)
    if ctx.can(Permission.MANAGE_GATHERINGS, Scope.community()):
        return await generate_sessions(ctx, None, cmd.until)
    mine = [
        salon.key
        for salon in await ctx.repos.gatherings.salons()
        if _can_manage(ctx, *await resolve_organizer(ctx, salon.organizer))
    ]
    if not mine:
        ctx.require(Permission.MANAGE_GATHERINGS)  # runs no salon: refused as such
    return sum([await generate_sessions(ctx, key, cmd.until) for key in mine])


@on_timer("salons.generate")
async def _generate_timer(ctx: Context, timer: Timer) -> None:
    await generate_sessions(ctx)
    await _ensure_generation_timer(ctx)


# --- events ----------------------------------------------------------------------


@handles(CreateEvent)
async def create_event(ctx: Context, cmd: CreateEvent) -> Gathering:
    organizer = Organizer.parse(cmd.organizer)
    club_key, station = await resolve_organizer(ctx, organizer)
    if not _can_manage(ctx, club_key, station):
        ctx.require(Permission.MANAGE_GATHERINGS, organizer_scopes(club_key, station)[0])
    require_span(cmd.starts_at, cmd.ends_at)
    require_capacity(cmd.capacity)
    require_name("title", cmd.title.get(ctx.community.locale))
    if cmd.starts_at <= ctx.now:
        raise InvalidValue(field="starts_at", value=cmd.starts_at.isoformat(), reason="in_the_past")
    if cmd.key is not None:
        require_key("key", cmd.key)
        if await ctx.repos.gatherings.by_event_key(cmd.key) is not None:
            raise AlreadyExists(entity="event", ref=cmd.key)
    if cmd.checkpoints and cmd.event_type is not EventType.CHALLENGE:
        raise InvalidValue(
            field="checkpoints", value=cmd.event_type.value, reason="not_a_challenge"
        )
    await _check_venue(ctx, cmd.venue_key)
    draft = Gathering(
        id=0,
        kind=GatheringKind.EVENT,
        event_type=cmd.event_type,
        title=cmd.title,
        organizer=organizer,
        starts_at=cmd.starts_at,
        ends_at=cmd.ends_at,
        status=GatheringStatus.SCHEDULED,
        club_key=club_key,
        station=station,
        event_key=cmd.key,
        venue_key=cmd.venue_key,
        capacity=cmd.capacity,
        description=cmd.description,
        tags=cmd.tags,
        ranking=cmd.ranking,
        speaker=cmd.speaker,
    )
    created = await _place(ctx, draft)
    assert created is not None
    if cmd.checkpoints:
        from huarong_core.services.contests import add_checkpoints

        await add_checkpoints(ctx, created, cmd.checkpoints)
    await ctx.audit("event.create", f"gathering:{created.id}", type=cmd.event_type.value)
    return created


# --- changing, cancelling --------------------------------------------------------


def _require_scheduled(gathering: Gathering) -> None:
    if gathering.status is GatheringStatus.CANCELLED:
        raise GatheringNotOpen(gathering=gathering.ref, reason="cancelled")
    if gathering.status is GatheringStatus.CLOSED:
        raise GatheringNotOpen(gathering=gathering.ref, reason="closed")


async def _everyone(ctx: Context, gathering_id: int) -> tuple[int, ...]:
    return tuple(
        await ctx.repos.gatherings.recipients(
            gathering_id,
            (RsvpStatus.GOING, RsvpStatus.WAITLISTED, RsvpStatus.MAYBE, RsvpStatus.WALK_IN),
        )
    )


@handles(UpdateGathering)
async def update_gathering(ctx: Context, cmd: UpdateGathering) -> Gathering:
    current = await get_gathering(ctx, cmd.gathering_id)
    require_manage(ctx, current)
    _require_scheduled(current)
    await _lock(ctx, current.id)
    starts = cmd.starts_at or current.starts_at
    ends = cmd.ends_at or (
        current.ends_at + (starts - current.starts_at) if cmd.starts_at else current.ends_at
    )
    require_span(starts, ends)
    if cmd.capacity is not None:
        require_capacity(cmd.capacity)
    venue = current.venue_key if cmd.venue_key is None else (cmd.venue_key or None)
    await _check_venue(ctx, venue)
    wanted = attrs.evolve(
        current,
        title=cmd.title or current.title,
        topic=current.topic if cmd.topic is None else cmd.topic.strip() or None,
        speaker=current.speaker if cmd.speaker is None else cmd.speaker.strip() or None,
        venue_key=venue,
        capacity=current.capacity if cmd.capacity is None else cmd.capacity,
        starts_at=starts,
        ends_at=ends,
    )
    changed = tuple(
        f.name
        for f in attrs.fields(Gathering)
        if getattr(current, f.name) != getattr(wanted, f.name)
    )
    if not changed:
        return current
    if {"venue_key", "starts_at", "ends_at"} & set(changed):
        if wanted.venue_key is None:
            await _release_venue(ctx, current.id)
        else:
            if current.venue_key not in (None, wanted.venue_key):
                await _release_venue(ctx, current.id)
            await _hold_venue(ctx, wanted)
    await ctx.repos.gatherings.update(wanted, ctx.now)
    if {"starts_at", "ends_at"} & set(changed):
        await _schedule_timers(ctx, wanted)
    await _promote(ctx, wanted)
    await ctx.audit("gathering.update", f"gathering:{current.id}", fields=list(changed))
    ctx.record(GatheringChanged(current.id, changed, await _everyone(ctx, current.id)))
    return wanted


async def _cancel(ctx: Context, gathering: Gathering, reason: str) -> Gathering:
    done = attrs.evolve(gathering, status=GatheringStatus.CANCELLED)
    await ctx.repos.gatherings.update(done, ctx.now)
    await _release_venue(ctx, gathering.id)
    await unschedule(ctx, _timer_prefix(gathering.id))
    await ctx.audit("gathering.cancel", f"gathering:{gathering.id}", reason=reason)
    ctx.record(GatheringCancelled(gathering.id, reason, await _everyone(ctx, gathering.id)))
    return done


@handles(CancelGathering)
async def cancel_gathering(ctx: Context, cmd: CancelGathering) -> Gathering:
    current = await get_gathering(ctx, cmd.gathering_id)
    require_manage(ctx, current)
    _require_scheduled(current)
    if current.is_over(ctx.now):
        raise GatheringNotOpen(gathering=current.ref, reason="past")
    return await _cancel(ctx, current, cmd.reason.strip())


# --- reading ---------------------------------------------------------------------


@handles(GetGathering, quick=True)
async def gathering_details(ctx: Context, cmd: GetGathering) -> GatheringDetails:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    counts = await ctx.repos.gatherings.counts(gathering.id)
    going = counts.get(RsvpStatus.GOING.value, 0)
    mine = (
        None
        if ctx.actor.member_id is None
        else await ctx.repos.gatherings.rsvp(gathering.id, ctx.actor.member_id)
    )
    given = None
    if mine is not None and mine.checked_in_at is not None:  # only those who came give it
        row = await ctx.repos.gatherings.member_feedback(gathering.id, mine.member_id)
        given = None if row is None else _feedback(row)
    return GatheringDetails(
        gathering,
        going,
        counts.get(RsvpStatus.WAITLISTED.value, 0),
        counts.get(RsvpStatus.MAYBE.value, 0),
        counts["checked_in"],
        None if gathering.capacity is None else max(0, gathering.capacity - going),
        mine,
        given,
    )


@handles(ListGatherings)
async def list_gatherings(ctx: Context, cmd: ListGatherings) -> tuple[Gathering, ...]:
    return tuple(
        await ctx.repos.gatherings.between(
            cmd.starts,
            cmd.ends,
            kind=cmd.kind,
            salon_key=cmd.salon_key,
            club_key=cmd.club_key,
            venue_key=cmd.venue_key,
            include_cancelled=cmd.include_cancelled,
            limit=max(1, min(cmd.limit, 1000)),
        )
    )


@handles(WhatsOn)
async def whats_on(ctx: Context, cmd: WhatsOn) -> tuple[Gathering, ...]:
    if not 1 <= cmd.days <= MAX_WHATS_ON_DAYS:
        raise InvalidValue(field="days", value=str(cmd.days), reason="out_of_range")
    first = cmd.start or ctx.community.local(ctx.now).date()
    starts = datetime.combine(first, datetime.min.time(), tzinfo=ctx.community.tz)
    return tuple(
        await ctx.repos.gatherings.between(starts, starts + timedelta(days=cmd.days), limit=500)
    )


@handles(ListRsvps)
async def list_rsvps(ctx: Context, cmd: ListRsvps) -> tuple[Rsvp, ...]:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    require_manage(ctx, gathering)
    return tuple(await ctx.repos.gatherings.rsvps(gathering.id, cmd.status))


@handles(ListMemberRsvps)
async def member_agenda(ctx: Context, cmd: ListMemberRsvps) -> tuple[MemberAgendaItem, ...]:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require_anywhere(Permission.VIEW_MEMBERS)
    rsvps = await ctx.repos.gatherings.member_rsvps(
        member_id, ctx.now if cmd.upcoming_only else None
    )
    gatherings = {
        g.id: g
        for g in await ctx.repos.gatherings.between(
            None, None, ids=[r.gathering_id for r in rsvps], include_cancelled=True, limit=1000
        )
    }
    items = []
    for rsvp in rsvps:
        if rsvp.status is RsvpStatus.WAITLISTED:
            rsvp = attrs.evolve(
                rsvp,
                position=await ctx.repos.gatherings.waitlist_position(rsvp.gathering_id, rsvp.seq),
            )
        items.append(MemberAgendaItem(gatherings[rsvp.gathering_id], rsvp))
    items.sort(key=lambda item: (item.gathering.starts_at, item.gathering.id))
    return tuple(items)


# --- RSVP and the waitlist -------------------------------------------------------


async def _promote(ctx: Context, gathering: Gathering) -> list[int]:
    """Give freed seats to the first on the waitlist, in arrival order, and tell them."""
    if gathering.capacity is None:
        waiting = await ctx.repos.gatherings.first_waitlisted(gathering.id, 10_000)
    else:
        free = gathering.capacity - await ctx.repos.gatherings.going_count(gathering.id)
        waiting = (
            await ctx.repos.gatherings.first_waitlisted(gathering.id, free) if free > 0 else []
        )
    if waiting:
        await ctx.repos.gatherings.promote(gathering.id, waiting)
        for member_id in waiting:
            ctx.record(WaitlistPromoted(gathering.id, member_id))
    return waiting


def _require_open_for_rsvp(ctx: Context, gathering: Gathering) -> None:
    _require_scheduled(gathering)
    if ctx.now >= gathering.starts_at:
        raise GatheringNotOpen(gathering=gathering.ref, reason="past")


@handles(RespondToGathering, quick=True)
async def respond(ctx: Context, cmd: RespondToGathering) -> Rsvp:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    member_id = acting_member(ctx, cmd.member_id, gathering)
    _require_open_for_rsvp(ctx, gathering)
    await require_active_member(ctx, member_id)
    await _lock(ctx, gathering.id)
    repo = ctx.repos.gatherings
    current = await repo.rsvp(gathering.id, member_id)
    if cmd.answer is Answer.GOING:
        if current is not None and current.status in (RsvpStatus.GOING, RsvpStatus.WAITLISTED):
            return current
        has_seat = (
            gathering.capacity is None or await repo.going_count(gathering.id) < gathering.capacity
        )
        status = RsvpStatus.GOING if has_seat else RsvpStatus.WAITLISTED
        seq = await repo.next_seq(gathering.id)
    else:
        status = RsvpStatus.MAYBE if cmd.answer is Answer.MAYBE else RsvpStatus.NOT_GOING
        if current is not None and current.status is status:
            return current
        seq = current.seq if current is not None else await repo.next_seq(gathering.id)
    if current is not None and current.checked_in_at is not None:
        # Check-in opens before the start: a later answer must not undo it.
        raise GatheringNotOpen(gathering=gathering.ref, reason="already_checked_in")
    rsvp = Rsvp(gathering.id, member_id, cmd.answer, status, seq, ctx.now)
    await repo.save_rsvp(rsvp)
    if (
        current is not None
        and current.status is RsvpStatus.GOING
        and status is not RsvpStatus.GOING
    ):
        await _promote(ctx, gathering)
    if status is RsvpStatus.WAITLISTED:
        rsvp = attrs.evolve(rsvp, position=await repo.waitlist_position(gathering.id, seq))
    ctx.record(RsvpRecorded(gathering.id, member_id, status.value, rsvp.position))
    return rsvp


# --- check-in, attendance, feedback ----------------------------------------------


@handles(GetCheckInCode)
async def checkin_code(ctx: Context, cmd: GetCheckInCode) -> CheckInCode:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    require_manage(ctx, gathering)
    code = await ctx.repos.gatherings.checkin_code(gathering.id)
    assert code is not None
    opens, closes = (await gathering_settings(ctx)).checkin_window(gathering)
    return CheckInCode(gathering.id, code, opens, closes)


def _normal_code(text: str) -> str:
    return "".join(text.split()).upper()


@handles(CheckIn, quick=True)
async def check_in(ctx: Context, cmd: CheckIn) -> CheckInResult:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    member_id = acting_member(ctx, cmd.member_id, gathering)
    by_staff = member_id != ctx.actor.member_id
    if gathering.status is not GatheringStatus.SCHEDULED:
        raise CheckInRefused(gathering=gathering.ref, reason=gathering.status.value)
    opens, closes = (await gathering_settings(ctx)).checkin_window(gathering)
    if ctx.now < opens:
        raise CheckInRefused(gathering=gathering.ref, reason="not_open_yet")
    if ctx.now > closes:
        raise CheckInRefused(gathering=gathering.ref, reason="window_closed")
    if not by_staff:
        tries = await ctx.repos.audit.count_recent(
            ctx.actor.label,
            WrongCheckInCode.audit_action,
            f"gathering:{gathering.id}",
            ctx.now - CODE_TRIES_WINDOW,
        )
        if tries >= MAX_CODE_TRIES:
            raise CheckInRefused(gathering=gathering.ref, reason="too_many_attempts")
        code = await ctx.repos.gatherings.checkin_code(gathering.id)
        if cmd.code is None or code is None or _normal_code(cmd.code) != code:
            raise WrongCheckInCode(gathering_id=gathering.id)
    await require_active_member(ctx, member_id)
    await _lock(ctx, gathering.id)
    repo = ctx.repos.gatherings
    current = await repo.rsvp(gathering.id, member_id)
    if current is not None and current.checked_in_at is not None:
        raise CheckInRefused(gathering=gathering.ref, reason="already_checked_in")
    if current is not None and current.status is RsvpStatus.GOING:
        rsvp = attrs.evolve(current, checked_in_at=ctx.now, position=None)
    else:
        seq = current.seq if current is not None else await repo.next_seq(gathering.id)
        rsvp = Rsvp(
            gathering.id, member_id, Answer.GOING, RsvpStatus.WALK_IN, seq, ctx.now, ctx.now
        )
    await repo.save_rsvp(rsvp, checked_in_by=ctx.actor.label)
    ctx.record(CheckedIn(gathering.id, member_id, by_staff))
    results = await points_for(
        ctx,
        gathering,
        f"{gathering.trigger_prefix}.checked_in",
        member_id,
        f"checkin:{gathering.id}:{member_id}",
    )
    return CheckInResult(rsvp, tuple((r.rule_key, r.outcome, r.points) for r in results), gathering)


async def close(ctx: Context, gathering: Gathering) -> AttendanceSummary:
    """Settle attendance; each attendee and each no-show becomes a points trigger."""
    attended, absent = await ctx.repos.gatherings.mark_attendance(gathering.id)
    closed = attrs.evolve(gathering, status=GatheringStatus.CLOSED)
    await ctx.repos.gatherings.update(closed, ctx.now)
    await unschedule(ctx, _timer_prefix(gathering.id))
    prefix = gathering.trigger_prefix
    for member_id in attended:
        await points_for(
            ctx, gathering, f"{prefix}.attended", member_id, f"attended:{gathering.id}:{member_id}"
        )
    for member_id in absent:
        await points_for(
            ctx, gathering, f"{prefix}.no_show", member_id, f"no_show:{gathering.id}:{member_id}"
        )
    ctx.record(AttendanceRecorded(gathering.id, tuple(attended), tuple(absent)))
    if attended:
        ctx.record(FeedbackRequested(gathering.id, tuple(attended)))
    return AttendanceSummary(gathering.id, tuple(attended), tuple(absent))


@handles(CloseGathering)
async def close_gathering(ctx: Context, cmd: CloseGathering) -> AttendanceSummary:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    require_manage(ctx, gathering)
    _require_scheduled(gathering)
    if ctx.now < gathering.starts_at:
        raise GatheringNotOpen(gathering=gathering.ref, reason="not_started")
    await _lock(ctx, gathering.id)
    return await close(ctx, gathering)


@on_timer("gathering.close")
async def _close_timer(ctx: Context, timer: Timer) -> None:
    gathering = await ctx.repos.gatherings.get(int(timer.payload["gathering_id"]))
    if gathering is not None and gathering.status is GatheringStatus.SCHEDULED:
        await _lock(ctx, gathering.id)
        await close(ctx, gathering)


@on_timer("gathering.reminder")
async def _reminder_timer(ctx: Context, timer: Timer) -> None:
    gathering = await ctx.repos.gatherings.get(int(timer.payload["gathering_id"]))
    if gathering is None or gathering.status is not GatheringStatus.SCHEDULED:
        return
    going = await ctx.repos.gatherings.recipients(gathering.id, (RsvpStatus.GOING,))
    club = gathering.host_club
    # A club's bound chats hear the reminder even when nobody has said yes yet.
    rooms = await ctx.repos.clubs.chats(club) if club is not None else []
    if going or rooms:
        ctx.record(GatheringReminder(gathering.id, tuple(going), int(timer.payload["minutes"])))


@handles(GiveFeedback)
async def give_feedback(ctx: Context, cmd: GiveFeedback) -> Feedback:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    member_id = acting_member(ctx, cmd.member_id, gathering)
    if not 1 <= cmd.rating <= 5:
        raise InvalidValue(field="rating", value=str(cmd.rating), reason="bad_rating")
    comment = cmd.comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidValue(field="comment", value=comment[:20] + "…", reason="too_long")
    if gathering.status is GatheringStatus.CANCELLED:
        raise GatheringNotOpen(gathering=gathering.ref, reason="cancelled")
    if ctx.now < gathering.starts_at:
        raise GatheringNotOpen(gathering=gathering.ref, reason="not_started")
    rsvp = await ctx.repos.gatherings.rsvp(gathering.id, member_id)
    if rsvp is None or rsvp.checked_in_at is None:
        raise GatheringNotOpen(gathering=gathering.ref, reason="not_attended")
    if not await ctx.repos.gatherings.add_feedback(
        gathering.id, member_id, cmd.rating, comment, ctx.now
    ):
        raise AlreadyExists(entity="feedback", ref=f"{gathering.ref}/#{member_id}")
    return Feedback(gathering.id, member_id, cmd.rating, comment, ctx.now)


def _feedback(row: Row) -> Feedback:
    return Feedback(
        int(row["gathering_id"]),
        int(row["member_id"]),
        int(row["rating"]),
        row["comment"],
        as_datetime(row["created_at"]),
    )


@handles(ListFeedback)
async def list_feedback(ctx: Context, cmd: ListFeedback) -> FeedbackSummary:
    gathering = await get_gathering(ctx, cmd.gathering_id)
    require_manage(ctx, gathering)
    items = tuple(_feedback(row) for row in await ctx.repos.gatherings.feedback(gathering.id))
    average = round(sum(f.rating for f in items) / len(items), 2) if items else None
    return FeedbackSummary(gathering.id, len(items), average, items)
