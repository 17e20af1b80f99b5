"""Portal pages: my profile, my language, my linked chat accounts, signing out.

A member may change their own name and language (`UpdateMember`; anything
else is staff's). The language chosen here is also what the page switch
remembers (the `huarong_lang` cookie), so the portal follows at once and the
bots follow the profile. "Link another account" draws a one-time code
(`CreateLinkCode`) to send from the other chat account; the code is shown
once, in the answer to the form, and never stored in plain.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from huarong_core.commands import (
    CreateLinkCode,
    GetMember,
    LinkCode,
    ListClubs,
    ListStations,
    UpdateMember,
)
from huarong_core.i18n import SUPPORTED_LOCALES, translate
from huarong_web.portal.pages import (
    LANG_COOKIE,
    FormErrors,
    PortalRoute,
    base_of,
    done_notice,
    page_locale,
    read_form,
    redirect,
    render,
    run,
    signed_in,
    text_field,
)
from huarong_web.portal.pages import (
    member_id_of as _me,
)

__all__ = ["ROUTES"]

LANGUAGES = {"zh_CN": "中文", "en": "English"}
"""Each language in its own words (what a reader looks for in a list of languages)."""


def _notice(request: web.Request) -> str:
    return done_notice(request, "portal.profile.done")


async def profile_page(request: web.Request) -> web.StreamResponse:
    signed_in(request)
    return await _page(request, {}, {})


async def _page(
    request: web.Request,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    status: int = 200,
    link: LinkCode | None = None,
) -> web.Response:
    locale = page_locale(request)
    profile = await run(request, GetMember(_me(request)))
    stations = {s.key: s.name for s in await run(request, ListStations())}
    clubs = {c.club.key: c.club.name for c in await run(request, ListClubs())}
    done = request.query.get("done", "")
    return await render(
        request,
        "profile/index.html",
        section="profile",
        title=translate("portal.profile.title", locale),
        profile=profile,
        member=profile.member,
        languages=[(code, LANGUAGES.get(code, code)) for code in SUPPORTED_LOCALES],
        chosen=profile.member.locale or locale,
        stations=stations,
        clubs=clubs,
        link=link,
        values=values,
        errors=errors,
        status=status,
        notice=_notice(request),
        forget=f"{base_of(request)}/profile/name" if done == "name" else "",
    )


async def choose_language(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    chosen = text_field(form, "locale", 16)
    locale = page_locale(request)
    try:
        if chosen not in SUPPORTED_LOCALES:
            message = translate("portal.profile.language.unknown", locale)
            raise FormErrors({"locale": message, "": message})
        await run(request, UpdateMember(_me(request), locale=chosen), key)
    except FormErrors as refused:
        return await _page(request, {}, refused.messages, status=422)
    response = redirect(request, "/profile?done=language")
    response.set_cookie(LANG_COOKIE, chosen, path="/", max_age=365 * 86400, samesite="Lax")
    raise response


async def rename(request: web.Request) -> web.StreamResponse:
    form, key = await read_form(request)
    name = text_field(form, "display_name", 200)
    try:
        await run(request, UpdateMember(_me(request), display_name=name), key)
    except FormErrors as refused:
        return await _page(request, {"display_name": name}, refused.messages, status=422)
    raise redirect(request, "/profile?done=name")


async def link_code(request: web.Request) -> web.StreamResponse:
    """A new code, shown in this answer (not remembered, so not a redirect: a new post
    draws a new code and retires the old one)."""
    _, key = await read_form(request)
    try:
        made = await run(request, CreateLinkCode(), key)
    except FormErrors as refused:
        return await _page(request, {}, refused.messages, status=422)
    return await _page(request, {}, {}, link=made)


async def back(request: web.Request) -> web.StreamResponse:
    raise redirect(request, "/profile")


ROUTES = (
    PortalRoute("GET", "/profile", profile_page, "portal.profile"),
    PortalRoute("POST", "/profile/language", choose_language, "portal.profile.language"),
    PortalRoute("POST", "/profile/name", rename, "portal.profile.name"),
    PortalRoute("POST", "/profile/link-code", link_code, "portal.profile.link_code"),
    PortalRoute("GET", "/profile/language", back, "portal.profile.language_get"),
    PortalRoute("GET", "/profile/name", back, "portal.profile.name_get"),
    PortalRoute("GET", "/profile/link-code", back, "portal.profile.link_code_get"),
)
