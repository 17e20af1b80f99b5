"""The check-in screen: the gathering's code large, a QR code of the check-in link, and
who has arrived, refreshed every few seconds.

The QR code carries a deep link: into the Telegram bot
(`https://t.me/<bot>?start=checkin-<id>-<code>`) when the deployment names its
bot, else to the portal's own gathering page with the code filled in
(`<origin><base>/gatherings/<id>?code=<code>`). The attendance list is a
fragment at `.../attendance` that `portal.js` reloads into the page
(`data-live`). Staff may also check someone in by their member number or key
(someone without a phone), which the core allows them without the code.
"""

from __future__ import annotations

from urllib.parse import quote

import attrs
import segno
from aiohttp import web

from huarong_core.commands import (
    CheckIn,
    FindMember,
    GetCheckInCode,
    GetGathering,
    ListRsvps,
    ListVenues,
)
from huarong_core.domain.gatherings import Rsvp, RsvpStatus
from huarong_core.errors import HuarongError, PermissionDenied
from huarong_web.keys import PRINCIPAL, SETTINGS
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    base_of,
    form_errors,
    page_locale,
    path_id,
    read_form,
    redirect,
    render,
    run,
    text_field,
)
from huarong_web.portal.staff_common import (
    ID,
    member_names,
    notice,
    now,
    origin,
    rename,
    staff_page,
    texts,
)

__all__ = ["ROUTES", "check_in_link"]

DONE = frozenset({"checked_in"})


@attrs.frozen
class Arrival:
    name: str
    rsvp: Rsvp


@attrs.frozen
class Attendance:
    arrived: tuple[Arrival, ...]
    expected: int
    """Holding a seat (going), plus those who walked in."""


def check_in_link(request: web.Request, gathering_id: int, code: str) -> str:
    """Where a phone that scans the code should go."""
    bot = request.config_dict[SETTINGS].telegram_bot_username
    if bot:
        return f"https://t.me/{quote(bot.lstrip('@'), safe='')}?start=checkin-{gathering_id}-{code}"
    path = f"{base_of(request)}/gatherings/{gathering_id}?code={quote(code, safe='')}"
    return f"{origin(request)}{path}"


def qr_data_uri(link: str) -> str:
    return str(segno.make(link, error="m").svg_data_uri(scale=8, border=4, omitsize=True))


def _gathering_id(request: web.Request) -> int:
    return path_id(request, "gathering_id")


async def attendance(request: web.Request, gathering_id: int) -> Attendance:
    rsvps = await run(request, ListRsvps(gathering_id))
    arrived = sorted(
        (r for r in rsvps if r.checked_in_at is not None),
        key=lambda r: (r.checked_in_at, r.member_id),
        reverse=True,
    )
    names = await member_names(request, (r.member_id for r in arrived))
    expected = sum(1 for r in rsvps if r.status in (RsvpStatus.GOING, RsvpStatus.WALK_IN))
    return Attendance(
        tuple(Arrival(names.get(r.member_id, f"#{r.member_id}"), r) for r in arrived),
        max(expected, len(arrived)),
    )


async def _screen(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    typed: str = "",
    status: int = 200,
) -> web.Response:
    t = texts(request)
    gathering_id = _gathering_id(request)
    details = await run(request, GetGathering(gathering_id))
    code = await run(request, GetCheckInCode(gathering_id))
    venues = {v.key: t.text(v.name) for v in await run(request, ListVenues())}
    link = check_in_link(request, gathering_id, code.code)
    at = now(request)
    window = "open"
    if at < code.opens_at:
        window = "not_open_yet"
    elif at > code.closes_at:
        window = "closed"
    return await render(
        request,
        "staff/check_in.html",
        section="staff",
        title=t("portal.staff.check_in.title", title=t.text(details.gathering.title)),
        status=status,
        area="",
        gathering=details.gathering,
        venue=venues.get(details.gathering.venue_key or "", details.gathering.venue_key or ""),
        code=code,
        window=window,
        link=link,
        telegram=link.startswith("https://t.me/"),
        qr=qr_data_uri(link),
        attendance=await attendance(request, gathering_id),
        errors=errors or {},
        typed=typed,
        notice=notice(request, DONE) if status == 200 else "",
        forget="",
    )


@staff_page
async def screen(request: web.Request) -> web.StreamResponse:
    return await _screen(request)


async def attendance_part(request: web.Request) -> web.StreamResponse:
    """The live list alone (no layout). Refusals are short fragments with an error
    status, never a redirect, so the screen keeps its last good list."""
    principal = request[PRINCIPAL]
    if principal.actor is None or principal.kind != "session":
        raise web.HTTPUnauthorized(text="", content_type="text/html")
    gathering_id = _gathering_id(request)
    try:
        found = await attendance(request, gathering_id)
    except PermissionDenied:
        raise web.HTTPForbidden(text="", content_type="text/html") from None
    response = await render(request, "staff/attendance.html", attendance=found)
    response.headers["Cache-Control"] = "no-store"
    return response


@staff_page
async def check_someone_in(request: web.Request) -> web.StreamResponse:
    gathering_id = _gathering_id(request)
    form, key = await read_form(request)
    ref = text_field(form, "member", 80)
    if not ref:
        message = texts(request)("portal.staff.check_in.member_missing")
        return await _screen(request, errors={"member": message, "": message}, status=422)
    try:
        profile = await run(request, FindMember(ref))
    except HuarongError as exc:
        messages = form_errors(exc, page_locale(request)).messages
        return await _screen(
            request,
            errors={"member": messages[""], "": messages[""]},
            typed=ref,
            status=422,
        )
    try:
        await run(request, CheckIn(gathering_id, member_id=profile.member.id), key)
    except FormErrors as exc:
        errors = rename(exc, {"member_id": "member"})
        errors.setdefault("member", errors.get("", ""))
        return await _screen(request, errors=errors, typed=ref, status=422)
    raise redirect(request, f"/staff/check-in/{gathering_id}?done=checked_in")


ROUTES: tuple[PortalRoute, ...] = (
    PortalRoute("GET", f"/staff/check-in/{{gathering_id:{ID}}}", screen, "portal.staff.check_in"),
    PortalRoute(
        "POST",
        f"/staff/check-in/{{gathering_id:{ID}}}",
        check_someone_in,
        "portal.staff.check_in.member",
    ),
    PortalRoute(
        "GET",
        f"/staff/check-in/{{gathering_id:{ID}}}/attendance",
        attendance_part,
        "portal.staff.check_in.attendance",
    ),
)
