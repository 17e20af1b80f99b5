"""The home page: this week, my places (and waitlist spots), my points, my open requests."""

from __future__ import annotations

from aiohttp import web

from huarong_core.commands import (
    GetPointsStatement,
    ListMemberRsvps,
    ListMyRequests,
    WhatsOn,
)
from huarong_core.domain.services import RequestState
from huarong_web.keys import PRINCIPAL
from huarong_web.portal.pages import PortalRoute, page_locale, render, run, signed_in

__all__ = ["ROUTES"]

CLOSED = frozenset(
    {RequestState.RESOLVED, RequestState.CLOSED, RequestState.REJECTED, RequestState.CANCELLED}
)


async def home(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    member_id = request[PRINCIPAL].member_id
    assert member_id is not None
    week = await run(request, WhatsOn(days=7))
    agenda = await run(request, ListMemberRsvps())
    statement = await run(request, GetPointsStatement(member_id, limit=5))
    requests = await run(request, ListMyRequests(limit=20))
    from huarong_core.i18n import translate

    return await render(
        request,
        "home.html",
        section="home",
        title=translate("portal.home.title", page_locale(request)),
        week=week,
        agenda=agenda,
        statement=statement,
        open_requests=[r for r in requests.items if r.state not in CLOSED],
    )


ROUTES = (PortalRoute("GET", "/", home, "portal.home"),)
