"""Portal pages: the calendar, and one gathering (RSVP with the waitlist, check-in by
the code shown at the venue, feedback after attending).

The few helpers at the top (`say`, `member_of`, `notice`, `beside`) are shared
by the other activity pages (clubs, points, shop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import structlog
from aiohttp import web

from huarong_core import CommunityHandle
from huarong_core.commands import (
    CheckIn,
    FindOrganization,
    GetCheckInCode,
    GetClub,
    GetGathering,
    GiveFeedback,
    ListGatherings,
    ListMemberRsvps,
    ListStations,
    ListVenues,
    RespondToGathering,
)
from huarong_core.domain.gatherings import (
    Answer,
    EventType,
    Gathering,
    GatheringKind,
    GatheringStatus,
    OrganizerKind,
    Rsvp,
)
from huarong_core.errors import HuarongError
from huarong_core.i18n import translate
from huarong_web.keys import HANDLE, PRINCIPAL
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    ascii_int,
    base_of,
    page_locale,
    path_id,
    read_form,
    redirect,
    render,
    run,
    signed_in,
    text_field,
)

__all__ = ["ROUTES", "beside", "member_of", "notice", "say"]

log = structlog.get_logger(__name__)

CALENDAR_DAYS = 28
"""The calendar shows four weeks from its first day."""
CHECK_IN_SHOWN = timedelta(days=1)
"""The check-in form is offered from a day before the start to a day after the end (the
core decides the real window, 30 minutes either side by default, and says so)."""
KINDS: tuple[str, ...] = (
    GatheringKind.SESSION.value,
    GatheringKind.EVENT.value,
    *(t.value for t in EventType if t is not EventType.SALON),
)
"""What the calendar filters by: salon sessions, events, or one type of event."""
SESSION_OR_EVENT = (GatheringKind.SESSION.value, GatheringKind.EVENT.value)
MAX_CALENDAR_REACH = 5 * 366
"""Days from today the calendar pages to, at most (further is a typo)."""
MAX_COMMENT = 2000


# --- shared by the activity pages ------------------------------------------------------


def say(request: web.Request, key: str, /, **params: Any) -> str:
    """A catalog text in the reader's language."""
    return translate(key, page_locale(request), **params)


def member_of(request: web.Request) -> int:
    """The signed-in reader's member id (or off to the sign-in page)."""
    signed_in(request)
    member_id: int | None = request[PRINCIPAL].member_id
    assert member_id is not None  # a portal session always belongs to a member
    return member_id


def notice(request: web.Request, area: str, known: Sequence[str]) -> dict[str, str]:
    """The notice after a successful form (`?done=<what>`), and the form whose draft to
    forget; nothing for anything else in `done`."""
    done = request.query.get("done", "")
    if done not in known:
        return {}
    return {
        "notice": say(request, f"portal.{area}.done.{done}"),
        "forget": f"{base_of(request)}{request.path}",
    }


def beside(messages: Mapping[str, str], field: str) -> dict[str, str]:
    """A refusal about the form as a whole shown beside its one field (a wrong code is
    about the code); a refusal that names its field stays as it is."""
    if field in messages or "" not in messages:
        return dict(messages)
    return {field: messages[""]}


def handle_of(request: web.Request) -> CommunityHandle:
    handle: CommunityHandle = request.config_dict[HANDLE]
    return handle


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- the calendar ----------------------------------------------------------------------


async def calendar(request: web.Request) -> web.StreamResponse:
    """Four weeks of sessions and events, by day, with the reader's own answer on each."""
    signed_in(request)
    handle = handle_of(request)
    tz = handle.community.tz
    today = handle.now().astimezone(tz).date()
    first = _day(request.query.get("start")) or today
    if abs((first - today).days) > MAX_CALENDAR_REACH:
        first = today
    kind = request.query.get("kind", "")
    if kind not in KINDS:
        kind = ""
    starts = datetime.combine(first, time(), tzinfo=tz)
    found = await run(
        request,
        ListGatherings(
            starts=starts,
            ends=starts + timedelta(days=CALENDAR_DAYS),
            kind=GatheringKind(kind) if kind in SESSION_OR_EVENT else None,
            limit=1000,
        ),
    )
    if kind and kind not in SESSION_OR_EVENT:
        found = tuple(g for g in found if g.event_type.value == kind)
    days: dict[date, list[Gathering]] = {}
    for gathering in found:
        days.setdefault(gathering.starts_at.astimezone(tz).date(), []).append(gathering)
    mine = {item.gathering.id: item.rsvp for item in await run(request, ListMemberRsvps())}
    venues = {venue.key: venue.name for venue in await run(request, ListVenues())}
    return await render(
        request,
        "gatherings/calendar.html",
        section="calendar",
        title=say(request, "portal.calendar.title"),
        days=sorted(days.items()),
        kind=kind,
        kinds=KINDS,
        first=first,
        last=first + timedelta(days=CALENDAR_DAYS - 1),
        earlier=(first - timedelta(days=CALENDAR_DAYS)).isoformat(),
        later=(first + timedelta(days=CALENDAR_DAYS)).isoformat(),
        today=today,
        mine=mine,
        venues=venues,
    )


# --- one gathering ---------------------------------------------------------------------


def _gathering_id(request: web.Request) -> int:
    return path_id(request, "gathering_id")


async def _organizer(request: web.Request, gathering: Gathering) -> Any:
    """Who runs it, as the reader would name it (a club's or station's own name)."""
    organizer = gathering.organizer
    try:
        if gathering.host_club is not None:
            return (await run(request, GetClub(gathering.host_club))).club.name
        if organizer.kind is OrganizerKind.STATION:
            for station in await run(request, ListStations()):
                if station.key == organizer.key:
                    return station.name
        if organizer.kind is OrganizerKind.ORGANIZATION:
            return (await run(request, FindOrganization(organizer.key))).name
    except HuarongError as exc:
        # A name the reader may not look up: the organizer's key still says who it is.
        log.debug("portal.organizer_unnamed", error=type(exc).__name__)
    if organizer.kind is OrganizerKind.COMMUNITY:
        return handle_of(request).community.name
    return organizer.key


async def _runs_it(request: web.Request, gathering: Gathering) -> bool:
    """Whether the reader may run its check-in (staff of its organizer): then the page
    links to the staff's check-in screen."""
    if gathering.status is not GatheringStatus.SCHEDULED:
        return False
    try:
        await run(request, GetCheckInCode(gathering.id))
    except HuarongError:
        return False
    return True


def _done_points(request: web.Request) -> int:
    value = request.query.get("points", "")
    return ascii_int(value, 5) or 0


async def gathering_page(
    request: web.Request,
    *,
    status: int = 200,
    failed: str = "",
    errors: Mapping[str, str] | None = None,
    code: str = "",
    rating: str = "",
    comment: str = "",
) -> web.Response:
    """What it is, who is going, my answer (and place on the waitlist), and what I can do
    now: answer, check in, or say how it was."""
    member_of(request)
    if not code and request.method == "GET":
        # The check-in screen's QR code opens this page with the code in the link.
        code = "".join(ch for ch in request.query.get("code", "") if ch.isalnum())[:32]
    details = await run(request, GetGathering(_gathering_id(request)))
    gathering = details.gathering
    now = handle_of(request).now()
    mine: Rsvp | None = details.mine
    scheduled = gathering.status is GatheringStatus.SCHEDULED
    checked_in = mine is not None and mine.checked_in_at is not None
    venue_name: Any = None
    if gathering.venue_key is not None:
        venues = {venue.key: venue.name for venue in await run(request, ListVenues())}
        venue_name = venues.get(gathering.venue_key, gathering.venue_key)
    points = _done_points(request)
    done = notice(request, "gathering", ("rsvp", "check_in", "feedback"))
    if done and request.query.get("done") == "check_in" and points:
        done["notice"] = say(request, "portal.gathering.done.check_in_points", points=points)
    return await render(
        request,
        "gatherings/detail.html",
        section="calendar",
        title=gathering.title.get(page_locale(request)),
        status=status,
        g=gathering,
        details=details,
        mine=mine,
        organizer=await _organizer(request, gathering),
        staff=await _runs_it(request, gathering),
        venue=venue_name,
        can_answer=scheduled and now < gathering.starts_at,
        checked_in=checked_in,
        can_check_in=scheduled
        and not checked_in
        and gathering.starts_at - CHECK_IN_SHOWN <= now <= gathering.ends_at + CHECK_IN_SHOWN,
        check_in_later=scheduled and not checked_in and now < gathering.starts_at - CHECK_IN_SHOWN,
        can_give_feedback=checked_in
        and gathering.status is not GatheringStatus.CANCELLED
        and now >= gathering.starts_at,
        answers=[answer.value for answer in (Answer.GOING, Answer.MAYBE, Answer.NOT_GOING)],
        failed=failed,
        errors=dict(errors or {}),
        code=code,
        rating=rating,
        comment=comment,
        **done,
    )


async def gathering(request: web.Request) -> web.StreamResponse:
    return await gathering_page(request)


async def respond(request: web.Request) -> web.StreamResponse:
    """`answer` = going | maybe | not_going (one button each)."""
    gathering_id = _gathering_id(request)
    form, key = await read_form(request)
    try:
        answer = Answer(text_field(form, "answer", 20))
    except ValueError:
        message = say(request, "portal.gathering.answer_missing")
        return await gathering_page(request, status=422, failed="rsvp", errors={"answer": message})
    try:
        await run(request, RespondToGathering(gathering_id, answer), key)
    except FormErrors as exc:
        return await gathering_page(request, status=422, failed="rsvp", errors=exc.messages)
    raise redirect(request, f"/gatherings/{gathering_id}?done=rsvp")


async def check_in(request: web.Request) -> web.StreamResponse:
    """`code`: the code shown at the venue."""
    gathering_id = _gathering_id(request)
    form, key = await read_form(request)
    code = text_field(form, "code", 32)
    if not code:
        message = say(request, "portal.gathering.code_missing")
        return await gathering_page(
            request, status=422, failed="check_in", errors={"code": message}
        )
    try:
        result = await run(request, CheckIn(gathering_id, code=code), key)
    except FormErrors as exc:
        errors = beside(exc.messages, "code")
        return await gathering_page(
            request, status=422, failed="check_in", errors=errors, code=code
        )
    points = sum(p for _, outcome, p in result.awards if outcome == "awarded" and p > 0)
    raise redirect(request, f"/gatherings/{gathering_id}?done=check_in&points={points}")


async def feedback(request: web.Request) -> web.StreamResponse:
    """`rating` 1-5 and an optional `comment`, once one has attended."""
    gathering_id = _gathering_id(request)
    form, key = await read_form(request)
    rating = text_field(form, "rating", 4)
    comment = text_field(form, "comment", MAX_COMMENT + 1)
    if not 1 <= (ascii_int(rating, 1) or 0) <= 5:
        message = say(request, "portal.gathering.rating_missing")
        return await gathering_page(
            request, status=422, failed="feedback", errors={"rating": message}, comment=comment
        )
    try:
        await run(request, GiveFeedback(gathering_id, int(rating), comment), key)
    except FormErrors as exc:
        return await gathering_page(
            request,
            status=422,
            failed="feedback",
            errors=exc.messages,
            rating=rating,
            comment=comment,
        )
    raise redirect(request, f"/gatherings/{gathering_id}?done=feedback")


ID = r"{gathering_id:\d+}"

ROUTES = (
    PortalRoute("GET", "/calendar", calendar, "portal.calendar"),
    PortalRoute("GET", f"/gatherings/{ID}", gathering, "portal.gathering"),
    PortalRoute("POST", f"/gatherings/{ID}/rsvp", respond, "portal.gathering.rsvp"),
    PortalRoute("POST", f"/gatherings/{ID}/check-in", check_in, "portal.gathering.check_in"),
    PortalRoute("POST", f"/gatherings/{ID}/feedback", feedback, "portal.gathering.feedback"),
)
