"""From a recorded event to the notices it causes: who hears of it, and what they read.

One renderer per event kind that a person should hear about, registered
with `@renders(EventClass)`. A renderer gets the stored event (structured
back into its class) and a `NoticeContext` of read-only lookups, and
returns `Notice`s: a recipient, a neutral `Message` (catalog keys and
arguments, buttons that are ordinary command lines) and a priority. Events
without a renderer tell nobody (`render_event` returns nothing).

Who hears of what follows the recipients each event names (the unit that
recorded it knew best); a renderer narrows them where it can tell the
person did it themselves. Members merged into another are told as the
member they became; members who are not active are not told at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs
import structlog

from huarong_core.conversation.values import Button, Message, Text, button_if_fits, button_rows
from huarong_core.domain.communities import Community
from huarong_core.domain.gatherings import Gathering, RsvpStatus
from huarong_core.domain.library import ReflectionStatus
from huarong_core.domain.members import MemberStatus
from huarong_core.domain.roles import Role, Scope
from huarong_core.domain.services import EntryKind, RequestState, ServiceRequest
from huarong_core.domain.shop import RedemptionStatus
from huarong_core.domain.text import LocalizedText
from huarong_core.events import (
    AidCaseUpdated,
    AidStaffNamed,
    ClubJoined,
    ClubJoinRequested,
    ClubRequestDeclined,
    ContestFinalized,
    Event,
    FeedbackRequested,
    GatheringCancelled,
    GatheringChanged,
    GatheringReminder,
    HoldExpired,
    HoldReady,
    HonourGranted,
    LoanDueSoon,
    LoanOverdue,
    MembersMerged,
    PhotoApproved,
    PhotoRejected,
    PhotoRemoved,
    PointsAwarded,
    PointsPending,
    RedemptionChanged,
    ReflectionDecided,
    ServiceRequestAssigned,
    ServiceRequestMessage,
    ServiceRequestSubmitted,
    ServiceRequestUpdated,
    ServiceSlaBreached,
    ServiceSlaWarning,
    ServiceVisitReminder,
    ShiftCancelled,
    ShiftChanged,
    ShiftReminder,
    SignInCodeSent,
    VenueConflict,
    VolunteerHoursConfirmed,
    WaitlistPromoted,
    event_class,
)
from huarong_core.notices.values import ChatRecipient, Notice, Priority, recipient_key
from huarong_core.serialization import converter
from huarong_core.services.codes import CODE_LIFETIME
from huarong_core.storage.repositories.notifications import NoticeLookups
from huarong_core.storage.unit_of_work import Repositories

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=Event)
Renderer = Callable[["NoticeContext", Any], Awaitable[list[Notice]]]

MAX_QUOTE = 300
"""Characters of a person's own words quoted in a notice (a reply, a reason)."""


@attrs.frozen
class NoticeContext:
    """What a renderer may read: the community's repositories (read only, please),
    and the relayed event's outbox id and instant."""

    repos: Repositories
    community: Community
    lookups: NoticeLookups
    event_id: int
    occurred_at: datetime


_RENDERERS: dict[str, Renderer] = {}


def renders(
    cls: type[E],
) -> Callable[[Callable[[NoticeContext, E], Awaitable[list[Notice]]]], Renderer]:
    def register(fn: Callable[[NoticeContext, E], Awaitable[list[Notice]]]) -> Renderer:
        if cls.kind in _RENDERERS:
            raise ValueError(f"{cls.kind} has two renderers")
        _RENDERERS[cls.kind] = fn
        return fn

    return register


def rendered_kinds() -> frozenset[str]:
    """The event kinds that notify someone."""
    return frozenset(_RENDERERS)


async def render_event(ctx: NoticeContext, kind: str, payload: dict[str, Any]) -> list[Notice]:
    """The notices of one stored event, one per recipient at most (the first wins)."""
    renderer = _RENDERERS.get(kind)
    cls = event_class(kind)
    if renderer is None or cls is None:
        return []
    event = converter.structure(payload, cls)
    found: dict[str, Notice] = {}
    for notice in await renderer(ctx, event):
        recipient = notice.recipient
        if not isinstance(recipient, ChatRecipient):
            now = await ctx.lookups.survivor(recipient)
            if now is None or now[1] != MemberStatus.ACTIVE.value:
                continue
            notice = attrs.evolve(notice, recipient=now[0])
        found.setdefault(recipient_key(notice.recipient), notice)
    return list(found.values())


# --- helpers ---------------------------------------------------------------------------------


def _line(key: str, /, **params: Any) -> Text:
    return Text(key, params)


def _button(key: str, payload: str, /, **params: Any) -> Button | None:
    return button_if_fits(Text(key, params), payload)


def _message(*lines: Text | None, buttons: Iterable[Button | None] = ()) -> Message:
    return Message(
        tuple(line for line in lines if line is not None), button_rows(*buttons, width=3)
    )


def _to(recipients: Iterable[int], message: Message) -> list[Notice]:
    return [Notice(member_id, message, Priority.NORMAL) for member_id in dict.fromkeys(recipients)]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def _reason(text: str) -> Text | None:
    return _line("chat.notice.reason", reason=_quote(text)) if text.strip() else None


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _rule_name(definition: dict[str, Any], key: str) -> LocalizedText | str:
    name = definition.get("name")
    if isinstance(name, dict) and name:
        return LocalizedText(name)
    return name if isinstance(name, str) and name else key


async def _active(ctx: NoticeContext, ids: Iterable[int]) -> list[int]:
    found = []
    for member_id in dict.fromkeys(ids):
        member = await ctx.repos.members.get(member_id)
        if member is not None and member.is_active:
            found.append(member_id)
    return found


async def _holders(ctx: NoticeContext, role: Role, scope: Scope) -> list[int]:
    grants = await ctx.repos.roles.all()
    return await _active(ctx, (g.member_id for g in grants if g.role is role and g.scope == scope))


async def station_staff(ctx: NoticeContext, station: str | None) -> list[int]:
    """The station's own staff, else the community-wide staff, else the admins."""
    if station is not None:
        found = await _holders(ctx, Role.STATION_STAFF, Scope.station(station))
        if found:
            return found
    found = await _holders(ctx, Role.STATION_STAFF, Scope.community())
    return found or await _holders(ctx, Role.ADMIN, Scope.community())


async def club_leaders(ctx: NoticeContext, club_key: str) -> list[int]:
    """Who decides the club's join requests: its leaders, else its station's staff."""
    found = await _holders(ctx, Role.CLUB_LEADER, Scope.club(club_key))
    if found:
        return found
    club = await ctx.repos.clubs.get(club_key)
    return await station_staff(ctx, None if club is None else club.station)


async def _member_name(ctx: NoticeContext, member_id: int) -> str:
    member = await ctx.repos.members.get(member_id)
    return f"#{member_id}" if member is None else member.display_name


async def _club_name(ctx: NoticeContext, club_key: str) -> LocalizedText | str:
    club = await ctx.repos.clubs.get(club_key)
    return club_key if club is None else club.name


# --- gatherings ---------------------------------------------------------------------------------


def _details(gathering: Gathering) -> Button | None:
    return _button("chat.notice.button_details", f"/details {gathering.ref}")


async def _venue_line(ctx: NoticeContext, gathering: Gathering) -> Text | None:
    if gathering.venue_key is None:
        return None
    venue = await ctx.repos.venues.venue(gathering.venue_key)
    return _line("chat.notice.where", venue=gathering.venue_key if venue is None else venue.name)


@renders(WaitlistPromoted)
async def _promoted(ctx: NoticeContext, event: WaitlistPromoted) -> list[Notice]:
    gathering = await ctx.repos.gatherings.get(event.gathering_id)
    if gathering is None:
        return []
    message = _message(
        _line(
            "chat.notice.gathering_promoted",
            title=gathering.title,
            when=gathering.starts_at,
            ref=gathering.ref,
        ),
        await _venue_line(ctx, gathering),
        buttons=(
            _details(gathering),
            _button("chat.notice.button_not_going", f"/rsvp {gathering.ref} no"),
        ),
    )
    return _to([event.member_id], message)


@renders(GatheringReminder)
async def _reminder(ctx: NoticeContext, event: GatheringReminder) -> list[Notice]:
    gathering = await ctx.repos.gatherings.get(event.gathering_id)
    if gathering is None:
        return []
    message = _message(
        _line("chat.notice.gathering_reminder", title=gathering.title, when=gathering.starts_at),
        await _venue_line(ctx, gathering),
        buttons=(
            _details(gathering),
            _button("chat.notice.button_not_going", f"/rsvp {gathering.ref} no"),
        ),
    )
    notices = _to(event.recipients, message)
    club = gathering.host_club
    if club is not None:
        # The club's rooms: everyone there may still come, so the room's answer is an RSVP.
        room_message = _message(
            _line(
                "chat.notice.gathering_reminder", title=gathering.title, when=gathering.starts_at
            ),
            await _venue_line(ctx, gathering),
            buttons=(
                _details(gathering),
                _button("chat.notice.button_going", f"/rsvp {gathering.ref} going"),
            ),
        )
        for binding in await ctx.repos.clubs.chats(club):
            chat = ChatRecipient(binding.platform, binding.chat_id)
            notices.append(Notice(chat, room_message, Priority.NORMAL))
    return notices


_CHANGE_GROUPS = {
    "starts_at": "time",
    "ends_at": "time",
    "venue_key": "venue",
    "capacity": "capacity",
}


@renders(GatheringChanged)
async def _changed(ctx: NoticeContext, event: GatheringChanged) -> list[Notice]:
    """One line per kind of change (time, place, places, details), with the new value."""
    gathering = await ctx.repos.gatherings.get(event.gathering_id)
    if gathering is None:
        return []
    groups = dict.fromkeys(_CHANGE_GROUPS.get(field, "details") for field in event.fields)
    venue: Any = "-"
    if gathering.venue_key is not None:
        found = await ctx.repos.venues.venue(gathering.venue_key)
        venue = gathering.venue_key if found is None else found.name
    values = {
        "when": gathering.starts_at,
        "venue": venue,
        "capacity": "-" if gathering.capacity is None else gathering.capacity,
    }
    message = _message(
        _line("chat.notice.gathering_changed", title=gathering.title, ref=gathering.ref),
        *(Text(f"chat.notice.changed.{group}", values) for group in groups),
        buttons=(_details(gathering),),
    )
    return _to(event.recipients, message)


@renders(GatheringCancelled)
async def _cancelled(ctx: NoticeContext, event: GatheringCancelled) -> list[Notice]:
    gathering = await ctx.repos.gatherings.get(event.gathering_id)
    if gathering is None:
        return []
    message = _message(
        _line("chat.notice.gathering_cancelled", title=gathering.title, when=gathering.starts_at),
        _reason(event.reason),
    )
    return _to(event.recipients, message)


@renders(FeedbackRequested)
async def _feedback(ctx: NoticeContext, event: FeedbackRequested) -> list[Notice]:
    gathering = await ctx.repos.gatherings.get(event.gathering_id)
    if gathering is None:
        return []
    message = _message(
        _line("chat.notice.feedback_requested", title=gathering.title, ref=gathering.ref),
        buttons=(
            _button("chat.notice.button_rating", f"/feedback {gathering.ref} {n}", n=n)
            for n in range(5, 0, -1)
        ),
    )
    return _to(event.recipients, message)


@renders(ContestFinalized)
async def _contest(ctx: NoticeContext, event: ContestFinalized) -> list[Notice]:
    """Those on the podium are told so; everyone else who took part, that results are out."""
    gathering = await ctx.repos.gatherings.get(event.gathering_id)
    if gathering is None:
        return []
    podium: list[int] = []
    for entrant in event.podium:
        kind, _, ref = entrant.partition(":")
        if kind == "member" and ref.isdigit():
            podium.append(int(ref))
        elif kind == "team" and ref.isdigit():
            podium.extend(await ctx.repos.contests.team_members(int(ref)))
    took_part = await ctx.repos.gatherings.recipients(
        gathering.id, (RsvpStatus.GOING, RsvpStatus.WALK_IN)
    )
    results = _button("chat.notice.button_results", f"/results {gathering.ref}")
    on_podium = _message(
        _line("chat.notice.contest_podium", title=gathering.title), buttons=(results,)
    )
    out = _message(_line("chat.notice.contest_results", title=gathering.title), buttons=(results,))
    return _to(podium, on_podium) + _to((m for m in took_part if m not in podium), out)


@renders(VenueConflict)
async def _venue_conflict(ctx: NoticeContext, event: VenueConflict) -> list[Notice]:
    gathering = await ctx.repos.gatherings.get(event.gathering_id)
    if gathering is None:
        return []
    venue = await ctx.repos.venues.venue(event.venue_key)
    station = venue.station if venue is not None and venue.station else gathering.station
    message = _message(
        _line(
            "chat.notice.venue_conflict",
            venue=event.venue_key if venue is None else venue.name,
            title=gathering.title,
            when=gathering.starts_at,
            ref=gathering.ref,
        ),
        buttons=(_details(gathering),),
    )
    return _to(await station_staff(ctx, station), message)


# --- clubs -------------------------------------------------------------------------------------


@renders(ClubJoinRequested)
async def _join_requested(ctx: NoticeContext, event: ClubJoinRequested) -> list[Notice]:
    ref = f"club:{event.club_key}:{event.member_id}"
    message = _message(
        _line(
            "chat.notice.club_join_requested",
            name=await _member_name(ctx, event.member_id),
            club=await _club_name(ctx, event.club_key),
        ),
        buttons=(
            _button("chat.notice.button_approve", f"/approve {ref}"),
            _button("chat.notice.button_decline", f"/reject {ref}"),
        ),
    )
    leaders = await club_leaders(ctx, event.club_key)
    return _to((m for m in leaders if m != event.member_id), message)


@renders(ClubJoined)
async def _joined(ctx: NoticeContext, event: ClubJoined) -> list[Notice]:
    """Only a join that answered a request is news: joining an open club, the member
    saw it happen, and members added by a config file would all be told at once."""
    decisions = await ctx.lookups.audit_at(f"club:{event.club_key}", ctx.occurred_at)
    approved = any(
        d.action == "club.decide"
        and d.details.get("member") == event.member_id
        and d.details.get("approve") is True
        for d in decisions
    )
    if not approved:
        return []
    message = _message(
        _line("chat.notice.club_approved", club=await _club_name(ctx, event.club_key)),
        buttons=(_button("chat.notice.button_club", f"/club {event.club_key}"),),
    )
    return _to([event.member_id], message)


@renders(ClubRequestDeclined)
async def _declined(ctx: NoticeContext, event: ClubRequestDeclined) -> list[Notice]:
    club = await _club_name(ctx, event.club_key)
    line = (
        _line("chat.notice.club_declined_because", club=club, reason=event.reason)
        if event.reason
        else _line("chat.notice.club_declined", club=club)
    )
    return _to([event.member_id], _message(line))


# --- service requests ---------------------------------------------------------------------------


async def _request(ctx: NoticeContext, request_id: int) -> tuple[ServiceRequest, Any] | None:
    request = await ctx.repos.requests.get(request_id)
    if request is None:
        return None
    service = await ctx.repos.requests.service(request.service_key)
    return request, request.service_key if service is None else service.name


def _ticket(request_id: int) -> Button | None:
    return _button("chat.notice.button_ticket", f"/ticket {request_id}")


def _state(state: str) -> Text:
    return Text(f"chat.notice.state.{state}")


@renders(ServiceRequestSubmitted)
async def _submitted(ctx: NoticeContext, event: ServiceRequestSubmitted) -> list[Notice]:
    found = await _request(ctx, event.request_id)
    if found is None:
        return []
    request, service = found
    message = _message(
        _line(
            "chat.notice.request_submitted",
            id=str(request.id),
            service=service,
            name=await _member_name(ctx, request.requester_id),
            due=request.due_at,
        ),
        buttons=(
            _ticket(request.id),
            _button("chat.notice.button_accept", f"/accept {request.id}"),
        ),
    )
    return _to((m for m in event.recipients if m != event.requester_id), message)


async def _entry_author(
    ctx: NoticeContext, request_id: int, kinds: Sequence[EntryKind], state: str | None = None
) -> int | None:
    """Who wrote the request's latest entry of `kinds` at the event's instant."""
    entries = await ctx.repos.requests.entries(request_id, internal=True)
    for entry in reversed(entries):
        if (
            entry.kind in kinds
            and entry.at == ctx.occurred_at
            and (state is None or (entry.to_state is not None and entry.to_state.value == state))
        ):
            return entry.author_id
    return None


@renders(ServiceRequestUpdated)
async def _updated(ctx: NoticeContext, event: ServiceRequestUpdated) -> list[Notice]:
    """The requester hears of every change someone else made; whoever works the request
    hears of the steps the requester took (the event lists them then)."""
    found = await _request(ctx, event.request_id)
    if found is None:
        return []
    request, service = found
    requester = request.requester_id
    handlers = [m for m in event.recipients if m != requester]
    ticket = _ticket(request.id)
    if event.change == "submitted":
        if await _entry_author(ctx, request.id, (EntryKind.SUBMITTED,)) == requester:
            return []  # they filed it and saw the answer
        line = _line("chat.notice.request_filed", id=str(request.id), service=service)
        return _to([requester], _message(line, buttons=(ticket,)))
    if event.change == "state":
        author = await _entry_author(ctx, request.id, (EntryKind.STATE,), event.state)
        by_requester = bool(handlers) or author == requester
        if by_requester:
            line = _line(
                "chat.notice.request_state_by_requester",
                id=str(request.id),
                service=service,
                state=_state(event.state),
            )
            return _to(handlers, _message(line, _reason(event.text), buttons=(ticket,)))
        buttons: list[Button | None] = [ticket]
        if event.state == RequestState.RESOLVED.value:
            buttons += [
                _button("chat.notice.button_confirm", f"/state {request.id} closed"),
                _button("chat.notice.button_reopen", f"/state {request.id} reopen"),
            ]
        line = _line(
            "chat.notice.request_state",
            id=str(request.id),
            service=service,
            state=_state(event.state),
        )
        return _to([requester], _message(line, _reason(event.text), buttons=buttons))
    if event.change == "assigned":
        if request.assignee_id is None:
            return []
        line = _line(
            "chat.notice.request_assignee",
            id=str(request.id),
            service=service,
            name=await _member_name(ctx, request.assignee_id),
        )
        return _to([requester], _message(line, buttons=(ticket,)))
    if event.change == "reply":
        line = _line("chat.notice.request_reply", id=str(request.id), service=service)
        quote = _line("chat.notice.quote", text=_quote(event.text))
        reply = _button("chat.notice.button_ticket", f"/ticket {request.id}")
        return _to([requester], _message(line, quote, buttons=(reply,)))
    if event.change == "visit" and event.visit_at is not None:
        line = _line(
            "chat.notice.request_visit",
            id=str(request.id),
            service=service,
            when=_when(event.visit_at),
        )
        note = _line("chat.notice.quote", text=_quote(event.text)) if event.text else None
        return _to([requester], _message(line, note, buttons=(ticket,)))
    return []  # `rated`: the requester did it; the staff hear of it as `service.rated`


@renders(ServiceRequestAssigned)
async def _assigned(ctx: NoticeContext, event: ServiceRequestAssigned) -> list[Notice]:
    found = await _request(ctx, event.request_id)
    if found is None:
        return []
    request, service = found
    actors = await ctx.lookups.audit_at(f"service_request:{request.id}", ctx.occurred_at)
    if actors and actors[0].actor_member_id == event.assignee_id:
        return []  # they took it themselves
    message = _message(
        _line(
            "chat.notice.request_assigned",
            id=str(request.id),
            service=service,
            name=await _member_name(ctx, request.requester_id),
            due=request.due_at,
        ),
        buttons=(_ticket(request.id),),
    )
    return _to([event.assignee_id], message)


@renders(ServiceRequestMessage)
async def _request_message(ctx: NoticeContext, event: ServiceRequestMessage) -> list[Notice]:
    """The requester's words go to whoever works the request; staff's internal notes
    record no event, so they never reach the requester."""
    found = await _request(ctx, event.request_id)
    if found is None:
        return []
    request, service = found
    entries = await ctx.repos.requests.entries(request.id, internal=False)
    text = next(
        (
            e.text
            for e in reversed(entries)
            if e.kind is EntryKind.MESSAGE and e.at == ctx.occurred_at
        ),
        "",
    )
    message = _message(
        _line(
            "chat.notice.request_message",
            id=str(request.id),
            service=service,
            name=await _member_name(ctx, event.requester_id),
        ),
        _line("chat.notice.quote", text=_quote(text)) if text else None,
        buttons=(_ticket(request.id),),
    )
    return _to((m for m in event.recipients if m != event.requester_id), message)


async def _sla_notice(
    ctx: NoticeContext, key: str, event: ServiceSlaWarning | ServiceSlaBreached
) -> list[Notice]:
    """Staff told a request nears (or passed) its deadline: both events read alike."""
    found = await _request(ctx, event.request_id)
    if found is None:
        return []
    request, service = found
    message = _message(
        _line(key, id=str(request.id), service=service, due=_when(event.due_at)),
        buttons=(_ticket(request.id),),
    )
    return _to(event.recipients, message)


@renders(ServiceSlaWarning)
async def _sla_warning(ctx: NoticeContext, event: ServiceSlaWarning) -> list[Notice]:
    return await _sla_notice(ctx, "chat.notice.sla_warning", event)


@renders(ServiceSlaBreached)
async def _sla_breached(ctx: NoticeContext, event: ServiceSlaBreached) -> list[Notice]:
    return await _sla_notice(ctx, "chat.notice.sla_breached", event)


@renders(ServiceVisitReminder)
async def _visit_reminder(ctx: NoticeContext, event: ServiceVisitReminder) -> list[Notice]:
    found = await _request(ctx, event.request_id)
    if found is None:
        return []
    request, service = found
    message = _message(
        _line(
            "chat.notice.visit_reminder",
            id=str(request.id),
            service=service,
            when=_when(event.visit_at),
        ),
        buttons=(_ticket(request.id),),
    )
    return _to(event.recipients, message)


# --- points, the shop, honours -------------------------------------------------------------------


@renders(PointsPending)
async def _pending(ctx: NoticeContext, event: PointsPending) -> list[Notice]:
    """Staff who may decide it (`manage_points`): the staff of the station the award is
    about when that is known, else the community's."""
    pending = await ctx.repos.points.pending(event.pending_id)
    if pending is None or pending.status != "pending":
        return []
    station = await _target_station(ctx, pending.target)
    rules = {r.key: r for r in await ctx.repos.points.rules()}
    rule = rules.get(event.rule_key)
    ref = f"award:{event.pending_id}"
    message = _message(
        _line(
            "chat.notice.points_pending",
            name=await _member_name(ctx, event.member_id),
            points=event.points,
            rule=event.rule_key if rule is None else _rule_name(rule.definition, rule.key),
        ),
        buttons=(
            _button("chat.notice.button_approve", f"/approve {ref}"),
            _button("chat.notice.button_decline", f"/reject {ref}"),
        ),
    )
    staff = await station_staff(ctx, station)
    return _to((m for m in staff if m != event.member_id), message)


async def _target_station(ctx: NoticeContext, target: str | None) -> str | None:
    """The station behind a points target (`club:tea`, `salon:12`, `event:7`), if any."""
    if not target:
        return None
    kind, _, ref = target.partition(":")
    if kind == "club":
        club = await ctx.repos.clubs.get(ref)
        return None if club is None else club.station
    if ref.isdigit() and kind in {"salon", "session", "event"}:
        gathering = await ctx.repos.gatherings.get(int(ref))
        if gathering is None:
            return None
        if gathering.station is not None:
            return gathering.station
        if gathering.club_key is not None:
            club = await ctx.repos.clubs.get(gathering.club_key)
            return None if club is None else club.station
    return None


@renders(PointsAwarded)
async def _awarded(ctx: NoticeContext, event: PointsAwarded) -> list[Notice]:
    """Only awards a person decided: a manual award or deduction, or an approved
    pending award.

    Automatic awards follow the member's own action (a check-in, a rating, a
    returned book), whose reply already says what was earned; a notice for
    each would double every reply and, after a batch import or a closing of
    a 100-person event, flood the chats with messages nobody asked for. The
    statement (`/history`) lists them all.
    """
    entry = await ctx.repos.points.entry(event.entry_id)
    if entry is None:
        return []
    if event.rule_key is not None:
        if entry.source_id is None:
            return []
        decided = await ctx.lookups.approved_pending(
            event.member_id, event.rule_key, entry.source_id
        )
        if not decided:
            return []
    key = "chat.notice.points_awarded" if event.points >= 0 else "chat.notice.points_deducted"
    reason: Any = entry.reason
    if event.rule_key is not None:
        rules = {r.key: r for r in await ctx.repos.points.rules()}
        rule = rules.get(event.rule_key)
        reason = event.rule_key if rule is None else _rule_name(rule.definition, rule.key)
    message = _message(
        _line(key, points=abs(event.points), reason=reason),
        buttons=(_button("chat.notice.button_points", "/points"),),
    )
    return _to([event.member_id], message)


@renders(RedemptionChanged)
async def _redemption(ctx: NoticeContext, event: RedemptionChanged) -> list[Notice]:
    redemption = await ctx.repos.shop.redemption(event.redemption_id)
    if redemption is None:
        return []
    actors = await ctx.lookups.audit_at(f"redemption:{redemption.id}", ctx.occurred_at)
    if actors and actors[0].actor_member_id == event.member_id:
        return []  # they cancelled it themselves
    item = await ctx.repos.shop.item(redemption.item_key)
    name: Any = redemption.item_key if item is None else item.name
    if event.status == RedemptionStatus.FULFILLED.value:
        line = _line(
            "chat.notice.redemption_fulfilled",
            id=str(redemption.id),
            item=name,
            quantity=redemption.quantity,
        )
        return _to([event.member_id], _message(line))
    if event.status == RedemptionStatus.CANCELLED.value:
        line = _line(
            "chat.notice.redemption_cancelled",
            id=str(redemption.id),
            item=name,
            points=redemption.points,
        )
        return _to([event.member_id], _message(line, _reason(redemption.note or "")))
    return []


@renders(HonourGranted)
async def _honour(ctx: NoticeContext, event: HonourGranted) -> list[Notice]:
    honour = await ctx.repos.shop.honour(event.honour_id)
    if honour is None or honour.revoked:
        return []
    message = _message(
        _line("chat.notice.honour_granted", title=honour.title),
        _line("chat.notice.quote", text=_quote(honour.citation)) if honour.citation else None,
        buttons=(_button("chat.notice.button_honours", "/honours"),),
    )
    return _to([event.member_id], message)


# --- the library ---------------------------------------------------------------------------------


async def _book_title(ctx: NoticeContext, book_id: int) -> str:
    book = await ctx.repos.library.book(book_id)
    return f"#{book_id}" if book is None else book.title


@renders(HoldReady)
async def _hold_ready(ctx: NoticeContext, event: HoldReady) -> list[Notice]:
    message = _message(
        _line(
            "chat.notice.hold_ready",
            title=await _book_title(ctx, event.book_id),
            code=event.copy_code,
            until=_when(event.pickup_by),
        ),
        buttons=(_button("chat.notice.button_holds", "/holds"),),
    )
    return _to(event.recipients, message)


@renders(HoldExpired)
async def _hold_expired(ctx: NoticeContext, event: HoldExpired) -> list[Notice]:
    message = _message(
        _line("chat.notice.hold_expired", title=await _book_title(ctx, event.book_id)),
        buttons=(_button("chat.notice.button_hold_again", f"/hold #{event.book_id}"),),
    )
    return _to(event.recipients, message)


@renders(LoanDueSoon)
async def _due_soon(ctx: NoticeContext, event: LoanDueSoon) -> list[Notice]:
    message = _message(
        _line(
            "chat.notice.loan_due_soon",
            title=await _book_title(ctx, event.book_id),
            code=event.copy_code,
            due=_when(event.due_at),
        ),
        buttons=(_button("chat.notice.button_renew", f"/renew {event.copy_code}"),),
    )
    return _to(event.recipients, message)


@renders(LoanOverdue)
async def _overdue(ctx: NoticeContext, event: LoanOverdue) -> list[Notice]:
    message = _message(
        _line(
            "chat.notice.loan_overdue",
            title=await _book_title(ctx, event.book_id),
            code=event.copy_code,
            due=_when(event.due_at),
            days=event.days_overdue,
        ),
        buttons=(_button("chat.notice.button_renew", f"/renew {event.copy_code}"),),
    )
    return _to(event.recipients, message)


@renders(ReflectionDecided)
async def _reflection(ctx: NoticeContext, event: ReflectionDecided) -> list[Notice]:
    title = await _book_title(ctx, event.book_id)
    show = _button("chat.notice.button_reflection", f"/reflection #{event.reflection_id}")
    if event.status == ReflectionStatus.APPROVED.value:
        message = _message(_line("chat.notice.reflection_approved", title=title), buttons=(show,))
    else:
        message = _message(
            _line("chat.notice.reflection_returned", title=title),
            _line("chat.notice.quote", text=_quote(event.note)) if event.note else None,
            buttons=(show,),
        )
    return _to(event.recipients, message)


# --- volunteering and the smile wall ----------------------------------------------------------


async def _shift(ctx: NoticeContext, shift_id: int) -> tuple[Any, Any] | None:
    shift = await ctx.repos.volunteering.shift(shift_id)
    if shift is None:
        return None
    task = await ctx.repos.volunteering.task(shift.task_id)
    return shift, f"#{shift.task_id}" if task is None else task.title


@renders(ShiftReminder)
async def _shift_reminder(ctx: NoticeContext, event: ShiftReminder) -> list[Notice]:
    found = await _shift(ctx, event.shift_id)
    if found is None:
        return []
    shift, task = found
    message = _message(
        _line("chat.notice.shift_reminder", task=task, when=shift.starts_at),
        buttons=(_button("chat.notice.button_withdraw", f"/withdraw #{shift.id}"),),
    )
    return _to(event.recipients, message)


@renders(ShiftChanged)
async def _shift_changed(ctx: NoticeContext, event: ShiftChanged) -> list[Notice]:
    found = await _shift(ctx, event.shift_id)
    if found is None:
        return []
    shift, task = found
    message = _message(
        _line("chat.notice.shift_changed", task=task, when=shift.starts_at, end=shift.ends_at),
        buttons=(
            _button("chat.notice.button_myshifts", "/myshifts"),
            _button("chat.notice.button_withdraw", f"/withdraw #{shift.id}"),
        ),
    )
    return _to(event.recipients, message)


@renders(ShiftCancelled)
async def _shift_cancelled(ctx: NoticeContext, event: ShiftCancelled) -> list[Notice]:
    found = await _shift(ctx, event.shift_id)
    if found is None:
        return []
    shift, task = found
    message = _message(
        _line("chat.notice.shift_cancelled", task=task, when=shift.starts_at),
        _reason(event.reason),
    )
    return _to(event.recipients, message)


@renders(VolunteerHoursConfirmed)
async def _hours(ctx: NoticeContext, event: VolunteerHoursConfirmed) -> list[Notice]:
    found = await _shift(ctx, event.shift_id)
    if found is None:
        return []
    shift, task = found
    message = _message(
        _line("chat.notice.hours_confirmed", hours=event.hours, task=task, when=shift.starts_at),
        buttons=(_button("chat.notice.button_hours", "/hours"),),
    )
    return _to(event.recipients, message)


@renders(PhotoApproved)
async def _photo_approved(ctx: NoticeContext, event: PhotoApproved) -> list[Notice]:
    message = _message(
        _line("chat.notice.photo_approved", id=str(event.photo_id)),
        buttons=(_button("chat.notice.button_photo", f"/photo #{event.photo_id}"),),
    )
    return _to(event.recipients, message)


@renders(PhotoRejected)
async def _photo_rejected(ctx: NoticeContext, event: PhotoRejected) -> list[Notice]:
    message = _message(
        _line("chat.notice.photo_rejected", id=str(event.photo_id)), _reason(event.reason)
    )
    return _to(event.recipients, message)


@renders(PhotoRemoved)
async def _photo_removed(ctx: NoticeContext, event: PhotoRemoved) -> list[Notice]:
    message = _message(
        _line("chat.notice.photo_removed", id=str(event.photo_id)), _reason(event.reason)
    )
    return _to(event.recipients, message)


# --- aid cases: the case number only, never what the case holds ----------------------------------


def _aid_message(key: str, case_id: int) -> Message:
    return _message(
        _line(key, id=str(case_id), command=f"/aid {case_id}"),
        buttons=(_button("chat.notice.button_aid", f"/aid {case_id}"),),
    )


@renders(AidStaffNamed)
async def _aid_named(ctx: NoticeContext, event: AidStaffNamed) -> list[Notice]:
    """Only the staff the event names, and only the case number: reading the case
    needs being named on it, which `/aid` checks."""
    return _to(event.recipients, _aid_message("chat.notice.aid_named", event.case_id))


@renders(AidCaseUpdated)
async def _aid_updated(ctx: NoticeContext, event: AidCaseUpdated) -> list[Notice]:
    return _to(event.recipients, _aid_message("chat.notice.aid_updated", event.case_id))


# --- accounts ------------------------------------------------------------------------------------


@renders(MembersMerged)
async def _merged(ctx: NoticeContext, event: MembersMerged) -> list[Notice]:
    message = _message(
        _line("chat.notice.members_merged", accounts=", ".join(event.identities) or "-"),
        _line("chat.notice.points_moved", points=event.points_moved)
        if event.points_moved
        else None,
        buttons=(_button("chat.notice.button_me", "/me"),),
    )
    return _to([event.survivor_id], message)


@renders(SignInCodeSent)
async def _sign_in_code(ctx: NoticeContext, event: SignInCodeSent) -> list[Notice]:
    """The code, privately, to the member who asked the web portal for it. Urgent: they
    are waiting on the sign-in page, and the code lasts minutes."""
    message = _message(
        _line("chat.notice.sign_in_code", community=ctx.community.name, code=event.code),
        _line(
            "chat.notice.sign_in_expires",
            minutes=int(CODE_LIFETIME.total_seconds() // 60),
            expires=_when(event.expires_at),
        ),
        _line("chat.notice.sign_in_ignore"),
    )
    return [Notice(event.member_id, message, Priority.URGENT)]
