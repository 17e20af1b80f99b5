"""Portal pages: the announcements sent to me, and the stations whose news I follow.

`/news` lists what was announced to the reader (newest first, older ones a
page at a time with `?before=<id>`); below, each station's subscription can
be switched on or off (`station:<key>` announcements reach subscribers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from huarong_core.commands import (
    Command,
    ListAnnouncements,
    ListStations,
    ListStationSubscriptions,
    SubscribeToStation,
    UnsubscribeFromStation,
)
from huarong_core.i18n import translate
from huarong_web.portal.pages import (
    FormErrors,
    PortalRoute,
    done_notice,
    page_locale,
    read_form,
    redirect,
    render,
    run,
    signed_in,
)

__all__ = ["ROUTES"]

PAGE_SIZE = 20


def _notice(request: web.Request) -> str:
    return done_notice(request, "portal.news.done")


async def news_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    return await _page(request, {})


async def _page(request: web.Request, errors: Mapping[str, str], status: int = 200) -> web.Response:
    locale = page_locale(request)
    text = request.query.get("before", "")
    before = int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
    items = await run(request, ListAnnouncements(before_id=before, limit=PAGE_SIZE))
    stations = await run(request, ListStations())
    following = {s.station_key for s in await run(request, ListStationSubscriptions())}
    return await render(
        request,
        "news/index.html",
        section="news",
        title=translate("portal.news.title", locale),
        items=items,
        older=items[-1].id if len(items) == PAGE_SIZE else None,
        paged=before is not None,
        stations=stations,
        station_names={s.key: s.name for s in stations},
        following=following,
        errors=errors,
        status=status,
        notice=_notice(request),
    )


async def _follow(request: web.Request, command: Command[Any], done: str) -> web.StreamResponse:
    _, key = await read_form(request)
    try:
        await run(request, command, key)
    except FormErrors as refused:
        return await _page(request, refused.messages, status=422)
    raise redirect(request, f"/news?done={done}#stations-title")


async def subscribe(request: web.Request) -> web.StreamResponse:
    command = SubscribeToStation(request.match_info["station_key"])
    return await _follow(request, command, "subscribed")


async def unsubscribe(request: web.Request) -> web.StreamResponse:
    command = UnsubscribeFromStation(request.match_info["station_key"])
    return await _follow(request, command, "unsubscribed")


async def back(request: web.Request) -> web.StreamResponse:
    raise redirect(request, "/news")


ROUTES = (
    PortalRoute("GET", "/news", news_page, "portal.news"),
    PortalRoute(
        "POST", "/news/stations/{station_key}/subscribe", subscribe, "portal.news.subscribe"
    ),
    PortalRoute(
        "POST", "/news/stations/{station_key}/unsubscribe", unsubscribe, "portal.news.unsubscribe"
    ),
    PortalRoute("GET", "/news/stations/{station_key}/subscribe", back, "portal.news.subscribe_get"),
    PortalRoute(
        "GET", "/news/stations/{station_key}/unsubscribe", back, "portal.news.unsubscribe_get"
    ),
)
