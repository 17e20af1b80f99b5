"""Portal pages: the clubs, and one club (join, ask to join, leave)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from aiohttp import web

from huarong_core.commands import (
    GetClub,
    JoinClub,
    LeaveClub,
    ListClubs,
    ListGatherings,
    ListMemberClubs,
    ListStations,
)
from huarong_core.domain.clubs import JoinPolicy, MembershipStatus
from huarong_web.portal.gatherings import handle_of, member_of, notice, say
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    page_locale,
    read_form,
    redirect,
    render,
    run,
    text_field,
)

__all__ = ["ROUTES"]

COMING_DAYS = 60
"""A club's page lists what it has on in the next two months."""


async def _my_clubs(request: web.Request) -> dict[str, MembershipStatus]:
    """The reader's standing in each club they are in, or waiting to join."""
    return {
        membership.club_key: membership.status
        for membership in await run(request, ListMemberClubs())
        if membership.status.is_current
    }


async def clubs(request: web.Request) -> web.StreamResponse:
    member_of(request)
    found = await run(request, ListClubs())
    mine = await _my_clubs(request)
    # Mine first, then the rest in the community's own order.
    ordered = sorted(found, key=lambda summary: summary.club.key not in mine)
    return await render(
        request,
        "clubs/list.html",
        section="clubs",
        title=say(request, "portal.clubs.title"),
        clubs=ordered,
        mine=mine,
    )


def _club_key(request: web.Request) -> str:
    return request.match_info["club_key"]


async def club_page(
    request: web.Request, *, status: int = 200, errors: Mapping[str, str] | None = None
) -> web.Response:
    """What the club is, how many belong, what it has on, and my place in it."""
    member_of(request)
    details = await run(request, GetClub(_club_key(request)))
    club = details.club
    mine = (await _my_clubs(request)).get(club.key)
    station = None
    if club.station is not None:
        names = {s.key: s.name for s in await run(request, ListStations())}
        station = names.get(club.station, club.station)
    now = handle_of(request).now()
    coming = await run(
        request,
        ListGatherings(
            starts=now, ends=now + timedelta(days=COMING_DAYS), club_key=club.key, limit=20
        ),
    )
    return await render(
        request,
        "clubs/detail.html",
        section="clubs",
        title=club.name.get(page_locale(request)),
        status=status,
        details=details,
        club=club,
        mine=mine.value if mine is not None else "",
        approval=club.join_policy is JoinPolicy.APPROVAL,
        station=station,
        coming=coming,
        errors=dict(errors or {}),
        **notice(request, "club", ("joined", "requested", "left", "withdrawn")),
    )


async def club(request: web.Request) -> web.StreamResponse:
    return await club_page(request)


async def join(request: web.Request) -> web.StreamResponse:
    """Open clubs admit at once; approval clubs keep the request until a leader decides."""
    key = _club_key(request)
    _, form_key = await read_form(request)
    try:
        membership = await run(request, JoinClub(key), form_key)
    except FormErrors as exc:
        return await club_page(request, status=422, errors=exc.messages)
    done = "requested" if membership.status is MembershipStatus.PENDING else "joined"
    raise redirect(request, f"/clubs/{key}?done={done}")


async def leave(request: web.Request) -> web.StreamResponse:
    """Leave the club, or take back a request still waiting (`pending=1`)."""
    key = _club_key(request)
    form, form_key = await read_form(request)
    try:
        await run(request, LeaveClub(key), form_key)
    except FormErrors as exc:
        return await club_page(request, status=422, errors=exc.messages)
    done = "withdrawn" if text_field(form, "pending", 1) == "1" else "left"
    raise redirect(request, f"/clubs/{key}?done={done}")


KEY = "{club_key}"

ROUTES = (
    PortalRoute("GET", "/clubs", clubs, "portal.clubs"),
    PortalRoute("GET", f"/clubs/{KEY}", club, "portal.club"),
    PortalRoute("POST", f"/clubs/{KEY}/join", join, "portal.club.join"),
    PortalRoute("POST", f"/clubs/{KEY}/leave", leave, "portal.club.leave"),
)
