"""`make_app`: the web adapter as an aiohttp application to run or to mount.

    app = web.Application()
    app.add_subapp("/community", make_app(handle))

Everything it needs hangs on the application under typed keys; its
background chores (forgetting expired sessions and idempotency records)
start and stop with the application's own lifecycle (`cleanup_ctx`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict

from huarong_core import CommunityHandle
from huarong_core.errors import HuarongError
from huarong_core.inbox import AdapterState
from huarong_web.api import (
    API_PREFIX,
    UNSAFE,
    ApiRoute,
    command_handler,
    json_response,
    route_table,
)
from huarong_web.auth import ADAPTER, SESSION_COOKIE, Authenticator, Principal
from huarong_web.clients import ClientKeys
from huarong_web.keys import (
    AUTH,
    CLIENT_KEYS,
    FEEDS,
    HANDLE,
    LIMITER,
    PAGES,
    PRINCIPAL,
    SETTINGS,
)
from huarong_web.limits import RateLimiter, retry_after
from huarong_web.openapi import build_document, docs_page
from huarong_web.plain import PlainRoute
from huarong_web.problems import WebProblem, problem_response, request_locale
from huarong_web.settings import WebSettings

__all__ = ["client_address", "client_key", "make_app", "plain_routes"]

log = structlog.get_logger(__name__)

IDEMPOTENCY_KEEP = timedelta(hours=24)
CHORES_EVERY = 3600.0

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'{telegram}; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors {ancestors}"
)
TELEGRAM_ORIGINS = "https://web.telegram.org https://*.telegram.org"


def make_app(
    handle: CommunityHandle,
    settings: WebSettings | None = None,
    *,
    routes: Sequence[ApiRoute] | None = None,
    extra: Sequence[PlainRoute] = (),
) -> web.Application:
    """The API (and, with the portal, its pages) for one community.

    `routes` defaults to every command route; `extra` adds plain routes (the
    portal adds its sign-in pages that way).
    """
    from huarong_web.routes import ALL_ROUTES
    from huarong_web.signin import signin_context

    settings = settings or WebSettings()
    app = web.Application()
    app[HANDLE] = handle
    app[SETTINGS] = settings
    app[AUTH] = Authenticator(handle, settings.session_lifetime)
    app[LIMITER] = RateLimiter()
    app[CLIENT_KEYS] = ClientKeys(handle, ADAPTER)
    api_routes = list(ALL_ROUTES if routes is None else routes)
    route_table(api_routes)
    app[FEEDS] = frozenset(r.operation_id for r in api_routes if r.feed)
    app.middlewares.append(_middleware(app))

    for route in api_routes:
        app.router.add_route(
            route.method,
            API_PREFIX + route.path,
            command_handler(route, handle, settings.max_body_bytes),
            name=route.operation_id,
        )
    plain = [*plain_routes(settings), *extra]
    for item in plain:
        app.router.add_route(
            item.method, API_PREFIX + item.path, item.handler, name=item.operation_id
        )
    document_cache: dict[str, bytes] = {}

    async def openapi(request: web.Request) -> web.StreamResponse:
        """The OpenAPI 3.1 document of this API."""
        base = _mount_prefix(request)
        if base not in document_cache:
            import json

            document = build_document(api_routes, plain, base)
            document_cache[base] = json.dumps(document, ensure_ascii=False).encode()
        return web.Response(body=document_cache[base], content_type="application/json")

    async def docs(request: web.Request) -> web.StreamResponse:
        """A page describing every operation."""
        import json

        base = _mount_prefix(request)
        if base not in document_cache:
            await openapi(request)
        document = json.loads(document_cache[base])
        page = docs_page(document, f"{base}{API_PREFIX}/openapi.json")
        return web.Response(text=page, content_type="text/html")

    if settings.portal:
        from huarong_web.portal import STATIC, make_environment, portal_routes
        from huarong_web.portal.pages import ENV

        app[ENV] = make_environment()
        app[PAGES] = True
        for page in portal_routes():
            app.router.add_route(page.method, page.path, page.handler, name=page.name)
        app.router.add_static("/static/", STATIC, name="static", append_version=False)
    app.router.add_get(API_PREFIX + "/openapi.json", openapi, name="openapi")
    app.router.add_get(API_PREFIX + "/docs", docs, name="docs")
    app.cleanup_ctx.append(_chores)
    app.cleanup_ctx.append(signin_context)  # the sign-in's own HTTP client (Matrix)
    return app


def _mount_prefix(request: web.Request) -> str:
    """Where the application is mounted (`/community` in a host app), for the document."""
    return request.path[: request.path.find(API_PREFIX)]


# --- the session -------------------------------------------------------------------


def plain_routes(settings: WebSettings) -> list[PlainRoute]:
    """The routes that are not one command each: the session, sign-in, photo files."""
    from huarong_web.photos import photo_routes
    from huarong_web.signin import signin_routes

    return [*session_routes(), *signin_routes(settings), *photo_routes()]


def session_routes() -> list[PlainRoute]:
    from huarong_web.signin import SessionInfo

    async def get_session(request: web.Request) -> web.StreamResponse:
        principal: Principal = request[PRINCIPAL]
        if not principal.signed_in:
            raise WebProblem(401, "sign_in_required")
        return json_response(request, SessionInfo.of(principal).as_json())

    async def end_session(request: web.Request) -> web.StreamResponse:
        principal: Principal = request[PRINCIPAL]
        if principal.kind != "session":
            raise WebProblem(401, "sign_in_required")
        from huarong_web.auth import csrf_ok

        if not csrf_ok(principal, request):
            raise WebProblem(403, "csrf")
        await request.config_dict[AUTH].end_session(principal)
        response = web.Response(status=204)
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        PlainRoute(
            "GET",
            "/session",
            get_session,
            "sign-in",
            "Who is signed in, with the CSRF token to send on changes.",
            response=SessionInfo,
            signed_in=True,
            name="GetSession",
        ),
        PlainRoute(
            "DELETE",
            "/session",
            end_session,
            "sign-in",
            "Sign out.",
            status=204,
            signed_in=True,
            name="SignOut",
        ),
    ]


# --- middlewares -------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _middleware(app: web.Application) -> Middleware:
    """The one middleware every request passes: refusals as problem documents,
    who asks, and the guard on writes.

    One function rather than three, with what it needs bound here rather than
    looked up through `request.config_dict` (a chain of mappings built per
    call): a polled read spends more time in this plumbing than in the core."""
    auth: Authenticator = app[AUTH]
    feeds: frozenset[str] = app[FEEDS]
    settings: WebSettings = app[SETTINGS]
    limiter: RateLimiter = app[LIMITER]
    secure = _security_headers(settings)

    async def who_asks(request: web.Request) -> Principal:
        principal = await auth.principal(request)
        if principal.kind == "anonymous" and "access_token" in request.query:
            route = request.match_info.route
            if route.name is not None and route.name in feeds:
                # Calendar apps cannot send headers: a read-scoped token may ride in
                # the URL of a feed (and only a feed: `access_token` is ignored elsewhere).
                principal = await auth.principal_from_token(request.query["access_token"])
        return principal

    def guard_write(request: web.Request, principal: Principal) -> None:
        """Unsafe requests: same-origin only (a browser's cross-site form or fetch is
        refused before anything runs), and within the write limits."""
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null" and not _same_origin(request, origin):
            raise WebProblem(403, "cross_site")
        address = _client_address(request, settings.trust_forwarded)
        waits = [limiter.take("write-ip", address, settings.write_limit_per_ip)]
        if principal.signed_in:
            waits.append(
                limiter.take("write-member", principal.key, settings.write_limit_per_member)
            )
        wait = max(waits)
        if wait > 0:
            raise WebProblem(429, "too_many", headers={"Retry-After": retry_after(wait)})

    @web.middleware
    async def community(request: web.Request, handler: Handler) -> web.StreamResponse:
        response: web.StreamResponse
        try:
            principal = request[PRINCIPAL] = await who_asks(request)
            if request.method in UNSAFE:
                guard_write(request, principal)
            response = await handler(request)
        except (WebProblem, HuarongError) as exc:
            response = await _refusal(request, exc)
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                code = "no_such_resource" if exc.status == 404 else "method_not_allowed"
                refusal = WebProblem(exc.status, code, headers=_allow(exc))
                response = await _refusal(request, refusal)
            elif exc.status == 413:
                response = await _refusal(request, WebProblem(413, "too_large", {"limit": "-"}))
            else:  # a redirect, a 403 page ...: aiohttp answers with the exception itself
                secure(request, exc.headers)
                raise
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug: a 500 that says nothing about the inside, logged with its traceback.
            log.exception("web.unexpected", method=request.method, route=_route_name(request))
            response = await _refusal(request, WebProblem(500, "internal"))
        secure(request, response.headers)
        return response

    return community


async def _refusal(request: web.Request, error: WebProblem | HuarongError) -> web.Response:
    """A problem document for the API; a page in the reader's language for the portal."""
    if API_PREFIX in request.path or PAGES not in request.app:
        return problem_response(error, request_locale(request), request.path)
    from huarong_web.portal.pages import error_page

    return await error_page(request, error)


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


def _route_name(request: web.Request) -> str:
    route = request.match_info.route
    return route.name or "-" if route is not None else "-"


def _same_origin(request: web.Request, origin: str) -> bool:
    from yarl import URL

    try:
        url = URL(origin)
    except ValueError:
        return False
    host = request.headers.get("X-Forwarded-Host") if _trusted(request) else None
    return url.raw_authority == (host or request.host)


def _trusted(request: web.Request) -> bool:
    return bool(request.config_dict[SETTINGS].trust_forwarded)


def client_address(request: web.Request) -> str:
    """The client's address; behind a trusted proxy, the one the proxy saw.

    A proxy appends the address it received the request from to
    `X-Forwarded-For`: the last entry is the one it vouches for. Earlier
    entries are whatever the client sent, and trusting the first would let
    anyone pick a new address for every request (and slip past the limits).
    """
    return _client_address(request, _trusted(request))


def _client_address(request: web.Request, trusted: bool) -> str:
    if trusted:
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded:
            last = forwarded.rsplit(",", 1)[-1].strip()
            if last:
                return last
    return request.remote or "-"


async def client_key(request: web.Request) -> str:
    """The client as the core counts its sign-in tries: a key that names no one."""
    return await request.config_dict[CLIENT_KEYS].key_of(client_address(request))


def _security_headers(settings: WebSettings) -> Callable[[web.Request, CIMultiDict[str]], None]:
    """The headers every answer carries, worked out once from the settings; the
    middleware adds them to every answer of this app, refusals and redirects too
    (cheaper per request than an `on_response_prepare` signal)."""
    framed = settings.mini_app and bool(settings.telegram_bot_token)
    ancestors = f"'self' {TELEGRAM_ORIGINS}" if framed else "'none'"
    telegram = " https://telegram.org" if settings.telegram_bot_token else ""
    fixed = [
        ("Content-Security-Policy", CSP.format(telegram=telegram, ancestors=ancestors)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin-allow-popups"),
        ("Permissions-Policy", "camera=(self), geolocation=(), microphone=()"),
    ]
    if not framed:
        fixed.append(("X-Frame-Options", "DENY"))

    names = [name for name, _ in fixed]

    def add(request: web.Request, headers: CIMultiDict[str]) -> None:
        for name in names:
            if name in headers:  # set by the handler: keep it, add the others
                for other, value in fixed:
                    if other not in headers:
                        headers[other] = value
                break
        else:
            headers.extend(fixed)  # the usual case, in one call
        if request.secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if "/api/" in request.path:
            headers.setdefault("Cache-Control", "no-store")

    return add


async def _chores(app: web.Application) -> AsyncIterator[None]:
    """Forget expired sessions and old idempotency records, hourly."""

    async def loop() -> None:
        handle = app[HANDLE]
        state = AdapterState(handle, ADAPTER)
        while True:
            try:
                await app[AUTH].prune()
                await state.prune("idem:", handle.now() - IDEMPOTENCY_KEEP)
            except HuarongError as exc:
                log.warning("web.chores_failed", error=type(exc).__name__)
            await asyncio.sleep(CHORES_EVERY)

    task = asyncio.create_task(loop(), name="huarong-web-chores")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
