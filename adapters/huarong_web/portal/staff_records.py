"""Announcements, venue bookings, the audit log and the exports.

`/staff/announcements` writes to an audience and follows the delivery of the
recent ones; `/staff/venues?week=YYYY-MM-DD` shows a week of bookings, venue by
day; `/staff/audit` pages through the audit log, newest first (`?before=<id>`,
`?action=`); `/staff/exports` links the API's CSV and iCalendar exports (the
browser's session opens them; a calendar app needs a read token instead).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import attrs
from aiohttp import web

from huarong_core.commands import (
    Announcement,
    AnnouncementStatus,
    DeliveryState,
    GetAnnouncementStatus,
    ListAnnouncements,
    ListAuditEntries,
    ListBookings,
    ListClubs,
    ListOrganizations,
    ListSalons,
    ListStations,
    ListVenues,
    PostAnnouncement,
)
from huarong_core.domain.venues import Booking, BookingStatus
from huarong_core.errors import HuarongError
from huarong_web.api import API_PREFIX
from huarong_web.keys import HANDLE
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    ascii_int,
    base_of,
    read_form,
    redirect,
    render,
    run,
    text_field,
)
from huarong_web.portal.staff_common import author_name, notice, now, rename, staff_page, texts

__all__ = ["ROUTES"]

RECENT = 10
AUDIT_PAGE = 50
FIRST_YEAR, LAST_YEAR = 1970, 2200
"""Weeks the venue calendar shows (a week outside is a mistyped date)."""

# --- announcements --------------------------------------------------------------------------


@attrs.frozen
class Progress:
    """One recent announcement and how far its delivery has come."""

    announcement: Announcement
    status: AnnouncementStatus | None
    """`None` when the reader may not follow it up."""

    @property
    def finished(self) -> int:
        if self.status is None:
            return 0
        return sum(n for state, n in self.status.counts.items() if DeliveryState(state).is_final)

    def count(self, state: str) -> int:
        return 0 if self.status is None else int(self.status.counts.get(state, 0))


async def _announcements(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    t = texts(request)
    recent = await run(request, ListAnnouncements(posted=True, limit=RECENT))
    progress = []
    for announcement in recent:
        try:
            found: AnnouncementStatus | None = await run(
                request, GetAnnouncementStatus(announcement.id, failure_limit=5)
            )
        except HuarongError:
            found = None
        progress.append(Progress(announcement, found))
    audiences = [("everyone", t("portal.staff.announcements.everyone"))]
    audiences += [(f"station:{s.key}", t.text(s.name)) for s in await run(request, ListStations())]
    audiences += [
        (f"club:{c.club.key}", t.text(c.club.name)) for c in await run(request, ListClubs())
    ]
    return await render(
        request,
        "staff/announcements.html",
        section="staff",
        title=t("portal.staff.announcements.title"),
        status=status,
        area="announcements",
        progress=progress,
        audiences=audiences,
        errors=errors or {},
        typed=typed or {"audience": "", "title": "", "body": ""},
        authors={p.announcement.id: author_name(p.announcement.posted_by, t) for p in progress},
        notice=notice(request, {"posted"}) if status == 200 else "",
        forget=f"{base_of(request)}/staff/announcements" if status == 200 else "",
    )


@staff_page
async def announcements(request: web.Request) -> web.StreamResponse:
    return await _announcements(request)


@staff_page
async def post_announcement(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    typed = {
        "audience": text_field(form, "audience", 200),
        "title": text_field(form, "title", 400),
        "body": text_field(form, "body", 8000),
    }
    try:
        await run(request, PostAnnouncement(typed["audience"], typed["title"], typed["body"]), key)
    except FormErrors as exc:
        return await _announcements(request, errors=rename(exc, {}), typed=typed, status=422)
    raise redirect(request, "/staff/announcements?done=posted")


# --- venues -----------------------------------------------------------------------------------


@attrs.frozen
class Day:
    day: date
    today: bool


def _monday(request: web.Request) -> tuple[date, bool]:
    """The Monday of `?week=` (any day of that week), or of this week; and whether the
    given value was unreadable."""
    handle = request.config_dict[HANDLE]
    today = now(request).astimezone(handle.community.tz).date()
    wanted = request.query.get("week", "")
    bad = False
    if wanted:
        try:
            chosen = date.fromisoformat(wanted)
        except ValueError:
            bad = True
        else:
            bad = not FIRST_YEAR <= chosen.year <= LAST_YEAR
            today = today if bad else chosen
    return today - timedelta(days=today.weekday()), bad


@staff_page
async def venues(request: web.Request) -> web.StreamResponse:
    t = texts(request)
    handle = request.config_dict[HANDLE]
    tz = handle.community.tz
    monday, bad = _monday(request)
    start = datetime.combine(monday, time(), tzinfo=tz)
    end = start + timedelta(days=7)
    rooms = await run(request, ListVenues())
    bookings = await run(request, ListBookings(starts=start, ends=end))
    today = now(request).astimezone(tz).date()
    days = [Day(monday + timedelta(days=n), monday + timedelta(days=n) == today) for n in range(7)]
    grid: dict[tuple[str, date], list[Booking]] = {}
    for booking in sorted(bookings, key=lambda b: b.starts_at):
        if booking.status is not BookingStatus.CONFIRMED:
            continue
        day = booking.starts_at.astimezone(tz).date()
        grid.setdefault((booking.venue_key, day), []).append(booking)
    return await render(
        request,
        "staff/venues.html",
        section="staff",
        title=t("portal.staff.venues.title"),
        area="venues",
        rooms=rooms,
        days=days,
        grid=grid,
        monday=monday,
        previous=(monday - timedelta(days=7)).isoformat(),
        following=(monday + timedelta(days=7)).isoformat(),
        bad_week=bad,
        count=sum(len(v) for v in grid.values()),
    )


# --- the audit log ------------------------------------------------------------------------------


@staff_page
async def audit(request: web.Request) -> web.StreamResponse:
    t = texts(request)
    action = request.query.get("action", "").strip()[:80]
    before_text = request.query.get("before", "")
    before = ascii_int(before_text)
    entries = await run(
        request, ListAuditEntries(action=action or None, before_id=before, limit=AUDIT_PAGE)
    )
    return await render(
        request,
        "staff/audit.html",
        section="staff",
        title=t("portal.staff.audit.title"),
        area="audit",
        entries=entries,
        action=action,
        paged=before is not None,
        older=entries[-1].id if len(entries) == AUDIT_PAGE else None,
        actors={e.id: author_name(e.actor.label, t) for e in entries},
        details={e.id: _details(e.details) for e in entries},
    )


def _details(details: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(details.items()))


# --- exports ----------------------------------------------------------------------------------


@staff_page
async def exports(request: web.Request) -> web.StreamResponse:
    t = texts(request)
    handle = request.config_dict[HANDLE]
    today = now(request).astimezone(handle.community.tz).date()
    try:
        organizations = list((await run(request, ListOrganizations(limit=500))).items)
    except HuarongError:
        organizations = []
    return await render(
        request,
        "staff/exports.html",
        section="staff",
        title=t("portal.staff.exports.title"),
        area="exports",
        api=f"{base_of(request)}{API_PREFIX}",
        salons=await run(request, ListSalons()),
        clubs=await run(request, ListClubs()),
        rooms=await run(request, ListVenues()),
        organizations=organizations,
        month_start=today.replace(day=1).isoformat(),
        today=today.isoformat(),
        tomorrow=(today + timedelta(days=1)).isoformat(),
    )


@staff_page
async def organization_report(request: web.Request) -> web.StreamResponse:
    """The organization report's CSV: its path names the organization, which a plain GET
    form cannot fill in, so the form comes here and is sent on."""
    chosen = request.query.get("organization_id", "")
    if ascii_int(chosen) is None:
        raise redirect(request, "/staff/exports")
    query = urlencode(
        {
            "format": "csv",
            "starts_on": request.query.get("starts_on", ""),
            "ends_on": request.query.get("ends_on", ""),
        }
    )
    raise web.HTTPSeeOther(
        f"{base_of(request)}{API_PREFIX}/organizations/{int(chosen)}/report?{query}"
    )


ROUTES: tuple[PortalRoute, ...] = (
    PortalRoute("GET", "/staff/announcements", announcements, "portal.staff.announcements"),
    PortalRoute(
        "POST", "/staff/announcements", post_announcement, "portal.staff.announcements.post"
    ),
    PortalRoute("GET", "/staff/venues", venues, "portal.staff.venues"),
    PortalRoute("GET", "/staff/audit", audit, "portal.staff.audit"),
    PortalRoute("GET", "/staff/exports", exports, "portal.staff.exports"),
    PortalRoute(
        "GET",
        "/staff/exports/organization-report",
        organization_report,
        "portal.staff.exports.organization_report",
    ),
)
