"""Signing in and out of the portal, and the reader's language.

The sign-in page offers what the deployment has: a code sent to one's chat
account (always), a password (for operators), and inside Telegram the Mini
App's own sign-in. The forms post here and end in a redirect with the
session cookie, using the same core commands, rate limits and session as the
API's sign-in (`huarong_web.signin`).
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from huarong_core import Actor
from huarong_core.commands import CheckPassword, RedeemSignInCode
from huarong_core.errors import MemberInactive, SignInRefused, WrongPassword, WrongSignInCode
from huarong_core.i18n import normalize_locale, translate
from huarong_web.app import client_key
from huarong_web.auth import SESSION_COOKIE, Principal, csrf_ok
from huarong_web.keys import AUTH, HANDLE, PRINCIPAL
from huarong_web.portal.pages import (
    LANG_COOKIE,
    PortalRoute,
    base_of,
    page_locale,
    render,
    text_field,
)
from huarong_web.problems import WebProblem
from huarong_web.signin import begin_session, count_attempt, send_code_evenly

__all__ = ["ROUTES"]

SYSTEM = Actor.system("web")


def _next(request: web.Request, value: object) -> str:
    """Only a path of this site (never `//elsewhere` or `https://...`)."""
    target = value if isinstance(value, str) else ""
    if not target.startswith("/") or target.startswith("//") or "\\\\" in target:
        return "/"
    return target


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    t_locale = page_locale(request)
    return await render(
        request,
        "sign_in.html",
        title=translate("portal.sign_in.title", t_locale),
        next=_next(request, request.query.get("next")),
        sent=request.query.get("sent") == "1",
        errors={},
        login="",
    )


async def _again(
    request: web.Request, status: int, errors: dict[str, str], **typed: object
) -> web.Response:
    locale = page_locale(request)
    form = await request.post()
    return await render(
        request,
        "sign_in.html",
        title=translate("portal.sign_in.title", locale),
        next=_next(request, form.get("next")),
        sent=False,
        errors=errors,
        status=status,
        login=typed.get("login", ""),
    )


async def ask_for_code(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    login = text_field(form, "login", 255)
    locale = page_locale(request)
    if not login:
        message = translate("portal.sign_in.login_missing", locale)
        return await _again(request, 422, {"login": message})
    try:
        count_attempt(request, login)
    except WebProblem:
        return await _again(
            request, 429, {"": translate("web.problem.too_many", locale)}, login=login
        )
    await send_code_evenly(request.config_dict[HANDLE], login)
    target = _next(request, form.get("next"))
    raise web.HTTPSeeOther(f"{base_of(request)}/sign-in?sent=1&next={quote(target, safe='')}")


async def sign_in_with_code(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    code = text_field(form, "code", 32)
    locale = page_locale(request)
    try:
        count_attempt(request)
        member = await request.config_dict[HANDLE].execute(
            RedeemSignInCode(code, client=await client_key(request)), actor=SYSTEM
        )
    except WebProblem:
        return await _again(request, 429, {"": translate("web.problem.too_many", locale)})
    except SignInRefused:
        return await _again(request, 429, {"": translate("web.problem.sign_in_paused", locale)})
    except (WrongSignInCode, MemberInactive):
        message = translate("web.problem.sign_in_code_failed", locale)
        return await _again(request, 401, {"code": message})
    return await _signed_in(request, member, "code", form.get("next"))


async def sign_in_with_password(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    login = text_field(form, "login", 255)
    password = form.get("password")
    locale = page_locale(request)
    try:
        count_attempt(request, login)
        member = await request.config_dict[HANDLE].execute(
            CheckPassword(login, password if isinstance(password, str) else ""), actor=SYSTEM
        )
    except WebProblem:
        return await _again(request, 429, {"": translate("web.problem.too_many", locale)})
    except (WrongPassword, MemberInactive):
        message = translate("web.problem.sign_in_password_failed", locale)
        return await _again(request, 401, {"password": message}, login=login)
    return await _signed_in(request, member, "password", form.get("next"))


async def _signed_in(
    request: web.Request, member: object, via: str, next_path: object
) -> web.StreamResponse:
    from huarong_core.domain.members import Member

    assert isinstance(member, Member)
    principal, cookie = await begin_session(request, member, via)
    del principal
    response = web.HTTPSeeOther(f"{base_of(request)}{_next(request, next_path)}")
    cookie.set_on(response)
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    principal: Principal = request[PRINCIPAL]
    form = await request.post()
    token = form.get("csrf_token")
    if principal.kind == "session" and csrf_ok(
        principal, request, token if isinstance(token, str) else None
    ):
        await request.config_dict[AUTH].end_session(principal)
    response = web.HTTPSeeOther(f"{base_of(request)}/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def choose_language(request: web.Request) -> web.StreamResponse:
    """The language switch: remembered in a cookie (a preference, not a secret)."""
    form = await request.post()
    chosen = normalize_locale(str(form.get("lang", "")))
    response = web.HTTPSeeOther(f"{base_of(request)}{_next(request, form.get('next'))}")
    if chosen is not None:
        response.set_cookie(LANG_COOKIE, chosen, path="/", max_age=365 * 86400, samesite="Lax")
    raise response


ROUTES = (
    PortalRoute("GET", "/sign-in", sign_in_page, "portal.sign_in"),
    PortalRoute("POST", "/sign-in/code/request", ask_for_code, "portal.ask_for_code"),
    PortalRoute("POST", "/sign-in/code", sign_in_with_code, "portal.sign_in_with_code"),
    PortalRoute("POST", "/sign-in/password", sign_in_with_password, "portal.sign_in_with_password"),
    PortalRoute("POST", "/sign-out", sign_out, "portal.sign_out"),
    PortalRoute("POST", "/language", choose_language, "portal.language"),
)
