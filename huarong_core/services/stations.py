"""Handlers of the service catalogue of each station, service requests and their workflow.

"One visit, done once": a member asks for a service by filling its form;
the station's staff accept it, work it, perhaps ask the requester for more
or visit on site, and resolve it; the requester confirms (closes), reopens
or rates it. Every step follows `domain.services.TRANSITIONS`, happens under
the request's lock, lands in the request's thread, and tells the requester
through the outbox. SLA timers warn the assignee at 80% of the target and
escalate to the station lead at 100%; they vanish when the request is
resolved, rejected or cancelled, and come back when it is reopened. The SLA
clock runs from submission, waiting for the requester included: the
promise is to the member, whose wait is the whole of it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, time, timedelta

import attrs

from huarong_core.commands import (
    AssignRequest,
    ChangeRequestState,
    DefineService,
    GetRequest,
    GetService,
    GetServiceMetrics,
    GetStation,
    ListMyRequests,
    ListRequestQueue,
    ListServices,
    ListStations,
    Page,
    RateRequest,
    ReplyToRequest,
    RequestDetails,
    ScheduleVisit,
    ServiceMetricsReport,
    StationDetails,
    SubmitRequest,
)
from huarong_core.domain.communities import Station
from huarong_core.domain.points import Trigger
from huarong_core.domain.roles import ROLE_PERMISSIONS, Permission, Role, Scope, ScopeKind, permits
from huarong_core.domain.services import (
    DONE_STATES,
    FINAL_STATES,
    MAX_TEXT_LENGTH,
    OPEN_STATES,
    EntryKind,
    Party,
    RequestEntry,
    RequestState,
    Service,
    ServiceRequest,
    check_answers,
    compute_metrics,
    is_reopen,
    metrics_by_group,
    sla_warning_at,
    step_parties,
)
from huarong_core.domain.validation import BIDI_CONTROLS
from huarong_core.errors import AlreadyExists, InvalidValue, NotFound, NotTheRequester
from huarong_core.events import (
    ServiceRequestAssigned,
    ServiceRequestMessage,
    ServiceRequestRated,
    ServiceRequestSubmitted,
    ServiceRequestUpdated,
    ServiceSlaBreached,
    ServiceSlaWarning,
    ServiceVisitReminder,
)
from huarong_core.services.context import Context
from huarong_core.services.members import get_active_member
from huarong_core.services.points import record_activity
from huarong_core.services.registry import handles
from huarong_core.services.scheduler import Timer, on_timer, schedule, unschedule
from huarong_core.storage.repositories.requests import QueueFilter

CLOSE_AFTER = timedelta(days=7)
"""A resolved request that nobody confirms or reopens closes itself after this long."""
VISIT_REMINDER_BEFORE = timedelta(hours=2)
MAX_VISIT_AHEAD = timedelta(days=90)
MAX_COMMENT_LENGTH = 1000
MAX_METRICS_DAYS = 732
RATED_TRIGGER = "service.request_rated"


# --- lookups and who is who ----------------------------------------------------------


async def get_station(ctx: Context, key: str) -> Station:
    found = await ctx.repos.communities.station(ctx.community.id, key)
    if found is None:
        raise NotFound(entity="station", ref=key)
    return found


async def get_service(ctx: Context, key: str) -> Service:
    found = await ctx.repos.requests.service(key)
    if found is None:
        raise NotFound(entity="service", ref=key)
    return found


async def get_request(ctx: Context, request_id: int) -> ServiceRequest:
    found = await ctx.repos.requests.get(request_id)
    if found is None:
        raise NotFound(entity="service_request", ref=f"#{request_id}")
    return found


async def _locked(ctx: Context, request_id: int) -> ServiceRequest:
    """The request, under its lock for the rest of the unit of work."""
    await ctx.repos.conn.lock(f"service_request:{ctx.community.id}:{request_id}")
    return await get_request(ctx, request_id)


def _scope(station: str) -> Scope:
    return Scope.station(station)


def is_staff(ctx: Context, station: str) -> bool:
    return ctx.can(Permission.HANDLE_REQUESTS, _scope(station))


def is_requester(ctx: Context, request: ServiceRequest) -> bool:
    return ctx.actor.member_id is not None and ctx.actor.member_id == request.requester_id


def _parties(ctx: Context, request: ServiceRequest) -> frozenset[Party]:
    parties = set()
    if is_staff(ctx, request.station):
        parties.add(Party.STAFF)
    if is_requester(ctx, request):
        parties.add(Party.REQUESTER)
    return frozenset(parties)


def _require_access(ctx: Context, request: ServiceRequest) -> frozenset[Party]:
    """The actor's parts in this request; neither staff nor requester is refused."""
    parties = _parties(ctx, request)
    if not parties:
        ctx.require(Permission.HANDLE_REQUESTS, _scope(request.station))
    return parties


def handled_stations(ctx: Context) -> frozenset[str] | None:
    """The stations whose requests the actor handles; `None`: all of them."""
    if ctx.can(Permission.HANDLE_REQUESTS):
        return None
    return frozenset(
        grant.scope.key
        for grant in ctx.grants
        if grant.scope.kind is ScopeKind.STATION
        and Permission.HANDLE_REQUESTS in ROLE_PERMISSIONS[grant.role]
    )


async def _active_ids(ctx: Context, member_ids: Iterable[int]) -> tuple[int, ...]:
    found = []
    for member_id in sorted(set(member_ids)):
        member = await ctx.repos.members.get(member_id)
        if member is not None and member.is_active:
            found.append(member_id)
    return tuple(found)


async def station_staff(ctx: Context, station: str) -> tuple[int, ...]:
    """Active members holding `station_staff` in the station's scope (else community-wide)."""
    grants = [g for g in await ctx.repos.roles.all() if g.role is Role.STATION_STAFF]
    scoped = await _active_ids(ctx, (g.member_id for g in grants if g.scope == _scope(station)))
    if scoped:
        return scoped
    return await _active_ids(ctx, (g.member_id for g in grants if g.scope == Scope.community()))


async def station_lead(ctx: Context, station: str) -> int | None:
    """The active member the station names as its lead, if any."""
    found = await ctx.repos.communities.station(ctx.community.id, station)
    if found is None or found.lead is None:
        return None
    member = await ctx.repos.members.by_key(found.lead)
    return member.id if member is not None and member.is_active else None


async def _handlers(ctx: Context, request: ServiceRequest) -> tuple[int, ...]:
    """Who works the request: its assignee, or else the station's staff."""
    if request.assignee_id is not None:
        return (request.assignee_id,)
    return await station_staff(ctx, request.station)


def _clean_text(field: str, text: str, *, required: bool, max_length: int) -> str:
    value = text.strip()
    if required and not value:
        raise InvalidValue(field=field, value=text, reason="empty")
    if len(value) > max_length:
        raise InvalidValue(field=field, value=value[:20] + "…", reason="too_long")
    if any(
        (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in BIDI_CONTROLS
        for ch in value
    ):
        raise InvalidValue(field=field, value=value[:20], reason="control_characters")
    return value


# --- thread, events and timers ------------------------------------------------------


async def _write(
    ctx: Context,
    request: ServiceRequest,
    kind: EntryKind,
    *,
    text: str = "",
    from_state: RequestState | None = None,
    to_state: RequestState | None = None,
    assignee_id: int | None = None,
    visit_at: datetime | None = None,
) -> RequestEntry:
    """Add a line to the request's thread, by the acting member or system."""
    entry = RequestEntry(
        id=0,
        request_id=request.id,
        kind=kind,
        at=ctx.now,
        author=ctx.actor.label,
        author_id=ctx.actor.member_id,
        text=text,
        from_state=from_state,
        to_state=to_state,
        assignee_id=assignee_id,
        visit_at=visit_at,
    )
    return await ctx.uow.requests.add_entry(entry)


def _tell(
    ctx: Context,
    request: ServiceRequest,
    change: str,
    *,
    text: str = "",
    also: Iterable[int] = (),
) -> None:
    """The requester hears of every change (and `also` these members)."""
    recipients = (request.requester_id, *sorted(set(also) - {request.requester_id}))
    visit = None if request.visit_at is None else request.visit_at.isoformat()
    ctx.record(
        ServiceRequestUpdated(
            request.id,
            change,
            request.state.value,
            recipients,
            text,
            visit if change == "visit" else None,
        )
    )


def _timer_prefix(request_id: int) -> str:
    return f"service_request:{request_id}:"


async def _arm_sla(ctx: Context, request: ServiceRequest) -> None:
    """The warning at 80% of the target (if still ahead) and the breach at 100%.

    A reopened request that is already overdue escalates at once.
    """
    prefix = _timer_prefix(request.id)
    payload = {"request_id": request.id}
    warning = sla_warning_at(request.submitted_at, request.sla_hours)
    if warning > ctx.now:
        await schedule(ctx, f"{prefix}sla:warning", "services.sla_warning", warning, payload)
    if request.sla_breached_at is None:
        due = max(request.due_at, ctx.now)
        await schedule(ctx, f"{prefix}sla:breach", "services.sla_breach", due, payload)


async def _step(
    ctx: Context, request: ServiceRequest, wanted: RequestState, comment: str
) -> ServiceRequest:
    """Move a (locked, checked) request to `wanted`: fields, thread, timers."""
    now = ctx.now
    changes: dict[str, object] = {"state": wanted, "updated_at": now}
    if wanted is RequestState.ACCEPTED:
        changes["accepted_at"] = now
        member_id = ctx.actor.member_id
        if request.assignee_id is None and member_id is not None and is_staff(ctx, request.station):
            changes["assignee_id"] = member_id  # who accepts it takes it
    elif wanted is RequestState.RESOLVED:
        changes["resolved_at"] = now
        changes["first_resolved_at"] = request.first_resolved_at or now
    elif wanted is RequestState.CLOSED:
        changes["closed_at"] = now
    if is_reopen(request.state, wanted):
        changes["reopen_count"] = request.reopen_count + 1
    updated = attrs.evolve(request, **changes)  # type: ignore[arg-type]
    await ctx.uow.requests.update(updated)
    await _write(
        ctx, updated, EntryKind.STATE, text=comment, from_state=request.state, to_state=wanted
    )

    prefix = _timer_prefix(request.id)
    if wanted in FINAL_STATES:
        await unschedule(ctx, prefix)
    elif wanted is RequestState.RESOLVED:
        await unschedule(ctx, prefix)
        await schedule(
            ctx,
            f"{prefix}close",
            "services.auto_close",
            now + CLOSE_AFTER,
            {"request_id": request.id},
        )
    elif is_reopen(request.state, wanted):
        await unschedule(ctx, f"{prefix}close")
        await _arm_sla(ctx, updated)
    return updated


# --- stations and the catalogue -------------------------------------------------------


@handles(ListStations)
async def list_stations(ctx: Context, cmd: ListStations) -> tuple[Station, ...]:
    return tuple(await ctx.repos.communities.stations(ctx.community.id))


@handles(GetStation)
async def get_station_details(ctx: Context, cmd: GetStation) -> StationDetails:
    station = await get_station(ctx, cmd.station_key)
    services = [
        s for s in await ctx.repos.requests.services() if s.station == station.key and s.enabled
    ]
    return StationDetails(
        station=station,
        services=tuple(services),
        staff=await station_staff(ctx, station.key),
        lead_id=await station_lead(ctx, station.key),
        open_now=station.is_open(ctx.now, ctx.community.tz),
    )


async def save_service(ctx: Context, service: Service, source: str) -> tuple[Service, bool]:
    """Create or change a service; `False` when it is already exactly so."""
    await get_station(ctx, service.station)
    current = await ctx.repos.requests.service(service.key)
    if current == service:
        return service, False
    await ctx.uow.requests.save_service(service, source, ctx.now)
    await ctx.audit(
        "service.save",
        f"service:{service.key}",
        created=current is None,
        station=service.station,
        affair=service.affair.value,
        sla_hours=service.sla_hours,
        enabled=service.enabled,
    )
    return service, True


@handles(DefineService)
async def define_service(ctx: Context, cmd: DefineService) -> Service:
    ctx.require(Permission.MANAGE_SERVICES, _scope(cmd.service.station))
    current = await ctx.repos.requests.service(cmd.service.key)
    if current is not None and current.station != cmd.service.station:
        ctx.require(Permission.MANAGE_SERVICES, _scope(current.station))  # moving it away
    service, _ = await save_service(ctx, cmd.service, "admin")
    return service


@handles(ListServices)
async def list_services(ctx: Context, cmd: ListServices) -> tuple[Service, ...]:
    if cmd.include_disabled:
        ctx.require_anywhere(Permission.MANAGE_SERVICES)
    return tuple(
        s
        for s in await ctx.repos.requests.services()
        if (cmd.station is None or s.station == cmd.station)
        and (cmd.affair is None or s.affair is cmd.affair)
        and (s.enabled or cmd.include_disabled)
    )


@handles(GetService)
async def get_service_handler(ctx: Context, cmd: GetService) -> Service:
    return await get_service(ctx, cmd.service_key)


# --- submitting -------------------------------------------------------------------


@handles(SubmitRequest)
async def submit_request(ctx: Context, cmd: SubmitRequest) -> ServiceRequest:
    service = await get_service(ctx, cmd.service_key)
    if not service.enabled:
        raise InvalidValue(field="service", value=service.key, reason="service_disabled")
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require(Permission.HANDLE_REQUESTS, _scope(service.station))
    member = await get_active_member(ctx, member_id)
    refusal = service.refusal(organization_id=member.organization_id, categories=member.categories)
    if refusal is not None:
        raise InvalidValue(field="requester", value=f"#{member.id}", reason=refusal)
    answers = check_answers(service.form, cmd.answers, member.locale_or(ctx.community.locale))

    request = await ctx.uow.requests.insert(
        ServiceRequest(
            id=0,
            service_key=service.key,
            station=service.station,
            affair=service.affair,
            requester_id=member.id,
            organization_id=member.organization_id,
            answers=answers,
            state=RequestState.SUBMITTED,
            sla_hours=service.sla_hours,
            due_at=ctx.now + service.sla,
            submitted_at=ctx.now,
            updated_at=ctx.now,
        )
    )
    await _write(ctx, request, EntryKind.SUBMITTED)
    await _arm_sla(ctx, request)
    staff = await station_staff(ctx, request.station)
    ctx.record(ServiceRequestSubmitted(request.id, service.key, request.station, member.id, staff))
    _tell(ctx, request, "submitted")
    if member.id != ctx.actor.member_id:
        await ctx.audit(
            "service_request.submit", f"service_request:{request.id}", member_id=member.id
        )
    return request


# --- the workflow -------------------------------------------------------------------


@handles(ChangeRequestState)
async def change_request_state(ctx: Context, cmd: ChangeRequestState) -> ServiceRequest:
    request = await _locked(ctx, cmd.request_id)
    mine = _require_access(ctx, request)
    allowed = step_parties(request.ref, request.state, cmd.state)
    acting = allowed & mine
    if not acting:
        if Party.STAFF in allowed:
            ctx.require(Permission.HANDLE_REQUESTS, _scope(request.station))
        raise NotTheRequester(request=request.ref)
    comment = _clean_text("comment", cmd.comment, required=False, max_length=MAX_TEXT_LENGTH)
    if cmd.state is RequestState.REJECTED and not comment:
        raise InvalidValue(field="comment", value="", reason="reason_required")
    as_requester = Party.REQUESTER in acting
    updated = await _step(ctx, request, cmd.state, comment)
    # A step the requester took is news for whoever works the request.
    _tell(
        ctx,
        updated,
        "state",
        text=comment,
        also=await _handlers(ctx, updated) if as_requester else (),
    )
    if updated.assignee_id is not None and updated.assignee_id != request.assignee_id:
        ctx.record(ServiceRequestAssigned(updated.id, updated.assignee_id, (updated.assignee_id,)))
    if not as_requester:
        await ctx.audit(
            "service_request.state",
            f"service_request:{request.id}",
            state=cmd.state.value,
            previous=request.state.value,
        )
    return updated


@handles(AssignRequest)
async def assign_request(ctx: Context, cmd: AssignRequest) -> ServiceRequest:
    request = await _locked(ctx, cmd.request_id)
    ctx.require(Permission.HANDLE_REQUESTS, _scope(request.station))
    if request.is_final:
        raise InvalidValue(field="request", value=request.ref, reason="request_finished")
    if cmd.assignee_id is not None:
        assignee = await get_active_member(ctx, cmd.assignee_id)
        grants = await ctx.repos.roles.for_member(assignee.id)
        if not permits(grants, Permission.HANDLE_REQUESTS, _scope(request.station)):
            raise InvalidValue(
                field="assignee", value=f"#{assignee.id}", reason="not_station_staff"
            )
    if cmd.assignee_id == request.assignee_id:
        return request
    updated = attrs.evolve(request, assignee_id=cmd.assignee_id, updated_at=ctx.now)
    await ctx.uow.requests.update(updated)
    await _write(ctx, updated, EntryKind.ASSIGNED, assignee_id=cmd.assignee_id)
    if cmd.assignee_id is not None:
        ctx.record(ServiceRequestAssigned(updated.id, cmd.assignee_id, (cmd.assignee_id,)))
    _tell(ctx, updated, "assigned")
    await ctx.audit(
        "service_request.assign",
        f"service_request:{request.id}",
        assignee_id=cmd.assignee_id,
        previous=request.assignee_id,
    )
    return updated


@handles(ReplyToRequest)
async def reply_to_request(ctx: Context, cmd: ReplyToRequest) -> RequestEntry:
    request = await _locked(ctx, cmd.request_id)
    mine = _require_access(ctx, request)
    text = _clean_text("text", cmd.text, required=True, max_length=MAX_TEXT_LENGTH)
    if cmd.internal:
        if Party.STAFF not in mine:
            raise InvalidValue(field="internal", value="yes", reason="staff_only")
        return await _write(ctx, request, EntryKind.NOTE, text=text)
    if request.is_final:
        raise InvalidValue(field="request", value=request.ref, reason="request_finished")
    if Party.REQUESTER in mine:
        entry = await _write(ctx, request, EntryKind.MESSAGE, text=text)
        handlers = await _handlers(ctx, request)
        ctx.record(ServiceRequestMessage(request.id, request.requester_id, handlers))
        if request.state is RequestState.WAITING_FOR_REQUESTER:
            updated = await _step(ctx, request, RequestState.IN_PROGRESS, "")
            _tell(ctx, updated, "state", also=handlers)
        else:
            await ctx.uow.requests.update(attrs.evolve(request, updated_at=ctx.now))
        return entry
    entry = await _write(ctx, request, EntryKind.REPLY, text=text)
    updated = attrs.evolve(request, updated_at=ctx.now)
    await ctx.uow.requests.update(updated)
    _tell(ctx, updated, "reply", text=text)
    return entry


@handles(ScheduleVisit)
async def schedule_visit(ctx: Context, cmd: ScheduleVisit) -> ServiceRequest:
    request = await _locked(ctx, cmd.request_id)
    ctx.require(Permission.HANDLE_REQUESTS, _scope(request.station))
    if request.state not in OPEN_STATES:
        raise InvalidValue(field="request", value=request.ref, reason="request_not_open")
    when = cmd.visit_at
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidValue(field="visit_at", value=when.isoformat(), reason="naive_time")
    if when <= ctx.now:
        raise InvalidValue(field="visit_at", value=when.isoformat(), reason="in_the_past")
    if when > ctx.now + MAX_VISIT_AHEAD:
        raise InvalidValue(field="visit_at", value=when.isoformat(), reason="too_far_ahead")
    note = _clean_text("note", cmd.note, required=False, max_length=MAX_COMMENT_LENGTH)
    updated = attrs.evolve(request, visit_at=when, updated_at=ctx.now)
    await ctx.uow.requests.update(updated)
    await _write(ctx, updated, EntryKind.VISIT, text=note, visit_at=when)
    key = f"{_timer_prefix(request.id)}visit"
    await unschedule(ctx, key)
    remind_at = when - VISIT_REMINDER_BEFORE
    if remind_at > ctx.now:
        await schedule(
            ctx,
            key,
            "services.visit_reminder",
            remind_at,
            {"request_id": request.id, "visit_at": when.isoformat()},
        )
    _tell(ctx, updated, "visit", text=note)
    await ctx.audit(
        "service_request.visit", f"service_request:{request.id}", visit_at=when.isoformat()
    )
    return updated


@handles(RateRequest)
async def rate_request(ctx: Context, cmd: RateRequest) -> ServiceRequest:
    request = await _locked(ctx, cmd.request_id)
    _require_access(ctx, request)
    if not is_requester(ctx, request):
        raise NotTheRequester(request=request.ref)
    if request.state not in DONE_STATES:
        raise InvalidValue(field="rating", value=str(cmd.rating), reason="not_resolved")
    if request.rating is not None:
        raise AlreadyExists(entity="request_rating", ref=request.ref)
    if isinstance(cmd.rating, bool) or not 1 <= cmd.rating <= 5:
        raise InvalidValue(field="rating", value=str(cmd.rating), reason="bad_rating")
    comment = _clean_text("comment", cmd.comment, required=False, max_length=MAX_COMMENT_LENGTH)
    updated = attrs.evolve(
        request, rating=cmd.rating, rating_comment=comment, rated_at=ctx.now, updated_at=ctx.now
    )
    await ctx.uow.requests.update(updated)
    await _write(ctx, updated, EntryKind.RATED, text=comment)
    await record_activity(
        ctx,
        Trigger(
            kind=RATED_TRIGGER,
            source_id=f"request:{request.id}:rated",
            member_id=request.requester_id,
            occurred_at=ctx.now,
            target=f"service_request:{request.id}",
            station=request.station,
            tags=frozenset({request.affair.value, request.service_key}),
        ),
    )
    ctx.record(
        ServiceRequestRated(request.id, request.station, cmd.rating, await _handlers(ctx, request))
    )
    _tell(ctx, updated, "rated")
    return updated


# --- reading ----------------------------------------------------------------------


@handles(ListRequestQueue)
async def list_queue(ctx: Context, cmd: ListRequestQueue) -> Page[ServiceRequest]:
    if cmd.station is not None:
        ctx.require(Permission.HANDLE_REQUESTS, _scope(cmd.station))
        stations: frozenset[str] | None = frozenset({cmd.station})
    else:
        stations = handled_stations(ctx)
        if stations is not None and not stations:
            ctx.require_anywhere(Permission.HANDLE_REQUESTS)
    offset = max(0, cmd.offset)
    items, total = await ctx.repos.requests.page(
        QueueFilter(stations, cmd.state, cmd.assignee_id, cmd.unassigned),
        offset=offset,
        limit=cmd.limit,
    )
    return Page(tuple(items), total, offset, cmd.limit)


@handles(ListMyRequests)
async def list_my_requests(ctx: Context, cmd: ListMyRequests) -> Page[ServiceRequest]:
    member_id = ctx.target_member(cmd.member_id)
    stations: frozenset[str] | None = None
    if member_id != ctx.actor.member_id:
        # Staff see a member's requests to the stations they handle.
        stations = handled_stations(ctx)
        if stations is not None and not stations:
            ctx.require_anywhere(Permission.HANDLE_REQUESTS)
    offset = max(0, cmd.offset)
    items, total = await ctx.repos.requests.page(
        QueueFilter(stations, cmd.state, requester_id=member_id), offset=offset, limit=cmd.limit
    )
    return Page(tuple(items), total, offset, cmd.limit)


@handles(GetRequest)
async def get_request_details(ctx: Context, cmd: GetRequest) -> RequestDetails:
    request = await get_request(ctx, cmd.request_id)
    mine = _require_access(ctx, request)
    thread = await ctx.repos.requests.entries(request.id, internal=Party.STAFF in mine)
    return RequestDetails(request, await get_service(ctx, request.service_key), tuple(thread))


@handles(GetServiceMetrics)
async def get_service_metrics(ctx: Context, cmd: GetServiceMetrics) -> ServiceMetricsReport:
    ctx.require(Permission.VIEW_REPORTS, None if cmd.station is None else _scope(cmd.station))
    if cmd.ends_on <= cmd.starts_on:
        raise InvalidValue(
            field="ends_on", value=cmd.ends_on.isoformat(), reason="ends_before_start"
        )
    if (cmd.ends_on - cmd.starts_on).days > MAX_METRICS_DAYS:
        raise InvalidValue(field="ends_on", value=cmd.ends_on.isoformat(), reason="out_of_range")
    tz = ctx.community.tz
    start = datetime.combine(cmd.starts_on, time(), tzinfo=tz)
    end = datetime.combine(cmd.ends_on, time(), tzinfo=tz)
    requests = await ctx.repos.requests.submitted_between(start, end, cmd.station, cmd.affair)
    return ServiceMetricsReport(
        starts_on=cmd.starts_on,
        ends_on=cmd.ends_on,
        station=cmd.station,
        affair=cmd.affair,
        total=compute_metrics(requests, station=cmd.station, affair=cmd.affair),
        rows=tuple(metrics_by_group(requests)),
    )


# --- timers -------------------------------------------------------------------------


async def _timer_request(ctx: Context, timer: Timer) -> ServiceRequest | None:
    request_id = int(timer.payload["request_id"])
    await ctx.repos.conn.lock(f"service_request:{ctx.community.id}:{request_id}")
    return await ctx.repos.requests.get(request_id)


@on_timer("services.sla_warning")
async def sla_warning(ctx: Context, timer: Timer) -> None:
    request = await _timer_request(ctx, timer)
    if request is None or request.state not in OPEN_STATES:
        return
    await _write(ctx, request, EntryKind.SLA_WARNING)
    ctx.record(
        ServiceSlaWarning(
            request.id, request.station, request.due_at.isoformat(), await _handlers(ctx, request)
        )
    )


@on_timer("services.sla_breach")
async def sla_breach(ctx: Context, timer: Timer) -> None:
    request = await _timer_request(ctx, timer)
    if request is None or request.state not in OPEN_STATES or request.sla_breached_at is not None:
        return
    updated = attrs.evolve(request, sla_breached_at=ctx.now)
    await ctx.uow.requests.update(updated)
    await _write(ctx, updated, EntryKind.SLA_BREACH)
    lead = await station_lead(ctx, request.station)
    recipients = (lead,) if lead is not None else await station_staff(ctx, request.station)
    ctx.record(
        ServiceSlaBreached(
            request.id, request.station, request.due_at.isoformat(), lead, recipients
        )
    )


@on_timer("services.visit_reminder")
async def visit_reminder(ctx: Context, timer: Timer) -> None:
    request = await _timer_request(ctx, timer)
    if request is None or request.state not in OPEN_STATES or request.visit_at is None:
        return
    if request.visit_at != datetime.fromisoformat(str(timer.payload.get("visit_at"))):
        return  # moved since; its own reminder is planned
    recipients = [request.requester_id]
    if request.assignee_id is not None:
        recipients.append(request.assignee_id)
    ctx.record(ServiceVisitReminder(request.id, request.visit_at.isoformat(), tuple(recipients)))


@on_timer("services.auto_close")
async def auto_close(ctx: Context, timer: Timer) -> None:
    request = await _timer_request(ctx, timer)
    if request is None or request.state is not RequestState.RESOLVED:
        return
    updated = await _step(ctx, request, RequestState.CLOSED, "")
    _tell(ctx, updated, "state")
