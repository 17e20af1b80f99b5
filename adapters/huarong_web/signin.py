"""Signing in: six ways to prove who one is, and the session that follows.

Every route is a POST under `/api/v1/sign-in` (tag `sign-in`):

- `code/request` `{login}`: the core sends a one-time code to the member's chat
  account (`SendSignInCode`); the answer is `202` and the same whatever the
  login, so the route cannot tell who is a member.
- `code` `{code}`: that code, once (`RedeemSignInCode`).
- `telegram`: the fields of the Telegram Login Widget, checked with an HMAC keyed
  by SHA-256 of the bot token (https://core.telegram.org/widgets/login).
- `telegram/mini-app` `{init_data}`: a Mini App's raw `Telegram.WebApp.initData`,
  checked with an HMAC keyed by HMAC-SHA-256("WebAppData", bot token)
  (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app).
- `matrix` `{access_token, matrix_server_name}`: an OpenID token a Matrix client
  got from its homeserver, checked by asking the configured homeserver who it
  belongs to (`/_matrix/federation/v1/openid/userinfo`).
- `password` `{login, password}` (`CheckPassword`).

The Telegram routes exist only with `WebSettings.telegram_bot_token`, the Matrix
route only with `matrix_homeserver` (elsewhere they answer 404 like any unknown
address, and the OpenAPI document does not list them). A Telegram or Matrix
account seen for the first time becomes a member, as when it first writes to the
community's bot (`RegisterChatMember`).

A sign-in that works answers `200` with the `SessionInfo` (which carries the
CSRF token) and sets the `huarong_session` cookie: HttpOnly, `Path=/`,
`SameSite=Lax` (`None` for a Mini App over HTTPS, since Telegram's web client
shows it in a frame), Secure as `WebSettings.secure_cookies` says. One that
does not answers a `401` problem that never repeats what was sent. Every
attempt, whatever its outcome, is counted per client address and, where there
is a login, per login; past either limit the answer is `429` with
`Retry-After`. Codes, passwords, tokens, hashes and init data never reach a log
line.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import attrs
import structlog
from aiohttp import web

from huarong_core import Actor, CommunityHandle
from huarong_core.commands import (
    CheckPassword,
    RedeemSignInCode,
    RegisterChatMember,
    SendSignInCode,
    SignInCodeRequest,
)
from huarong_core.domain.members import Member
from huarong_core.errors import (
    MemberInactive,
    SignInRefused,
    WrongPassword,
    WrongSignInCode,
)
from huarong_core.i18n import normalize_locale
from huarong_web.api import json_response, read_json
from huarong_web.app import client_address, client_key
from huarong_web.auth import SESSION_COOKIE, Authenticator, Principal
from huarong_web.keys import AUTH, HANDLE, LIMITER, PRINCIPAL, SETTINGS
from huarong_web.limits import RateLimiter, retry_after
from huarong_web.plain import PlainRoute
from huarong_web.problems import WebProblem, from_decode_error
from huarong_web.schema import DecodeError, build, json_converter
from huarong_web.settings import RateLimit, WebSettings

__all__ = [
    "MATRIX_HTTP",
    "CodeSignIn",
    "MatrixSignIn",
    "MiniAppSignIn",
    "PasswordSignIn",
    "SessionCookie",
    "SessionInfo",
    "SignInCodeAsk",
    "TelegramLogin",
    "begin_session",
    "count_attempt",
    "signin_context",
    "signin_routes",
]

log = structlog.get_logger(__name__)

SYSTEM = Actor.system("web")
TAG = "sign-in"

TELEGRAM = "telegram"
MATRIX = "matrix"
FUTURE_SKEW = timedelta(minutes=1)
"""How far ahead of our clock a Telegram `auth_date` may be (clocks differ a little)."""
MAX_INIT_DATA = 8192
"""Characters of Mini App init data: real ones are well under 2 KB."""
MAX_INIT_FIELDS = 64
MAX_EXTRA_FIELDS = 32
"""Login Widget fields beyond the known ones (Telegram may add some; all are checked)."""
MAX_EXTRA_TEXT = 2048
_FIELD_NAME = re.compile(r"[a-z0-9_]{1,64}")
MAX_MATRIX_TOKEN = 1024
MATRIX_TIMEOUT = aiohttp.ClientTimeout(total=10.0)
MAX_MATRIX_ANSWER = 64 * 1024
_MATRIX_USER = re.compile(r"@([^:\s]{1,255}):([^\s]{1,255})")
CORE_LOCKOUT_SECONDS = 15 * 60
"""The core stops a client's code sign-ins for a quarter of an hour after five wrong
codes (and everyone's after far more; `huarong_core.commands.access`); a refused
try waits at most that long."""

SEND_CODE_FLOOR = 0.25
"""Seconds a request for a sign-in code takes at least, found or not (`send_code_evenly`)."""

MATRIX_HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("huarong.signin.matrix_http")
"""The HTTP client that asks the homeserver about OpenID tokens (Matrix sign-in only)."""

_converter = json_converter()


# --- what the routes take and give ---------------------------------------------------


@attrs.frozen
class SessionInfo:
    """Who is signed in; `csrf_token` goes into `X-CSRF-Token` on every change."""

    member_id: int | None
    name: str
    kind: str
    scopes: tuple[str, ...]
    csrf_token: str | None
    locale: str | None

    @classmethod
    def of(cls, principal: Principal) -> SessionInfo:
        return cls(
            principal.member_id,
            principal.name,
            principal.kind,
            tuple(sorted(principal.scopes)),
            principal.csrf,
            principal.locale,
        )

    def as_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class SignInCodeAsk:
    """Send a sign-in code to the chat account of the member `login` names: a member
    key, `platform:id` (`telegram:12345`) or a Matrix user id (`@someone:server`)."""

    login: str


@attrs.frozen
class CodeSignIn:
    """A sign-in code received in chat (or given by `/signin`)."""

    code: str = attrs.field(repr=False)


@attrs.frozen
class TelegramLogin:
    """What the Telegram Login Widget hands the page (`onTelegramAuth(user)`), sent on
    unchanged. Fields Telegram adds later are accepted (text or integers) and are
    part of the check."""

    id: int
    first_name: str
    auth_date: int
    hash: str = attrs.field(repr=False)
    last_name: str = ""
    username: str = ""
    photo_url: str = ""


@attrs.frozen
class MiniAppSignIn:
    """The Mini App's raw `Telegram.WebApp.initData` query string, unchanged."""

    init_data: str = attrs.field(repr=False)


@attrs.frozen
class MatrixSignIn:
    """An OpenID token from `POST /_matrix/client/v3/user/{userId}/openid/request_token`
    (its `access_token` and `matrix_server_name`)."""

    access_token: str = attrs.field(repr=False)
    matrix_server_name: str


@attrs.frozen
class PasswordSignIn:
    """A member key and that member's password."""

    login: str
    password: str = attrs.field(repr=False)


# --- the routes ------------------------------------------------------------------------


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signin_routes(settings: WebSettings) -> list[PlainRoute]:
    """The sign-in routes this deployment offers (Telegram and Matrix only when set up)."""
    routes = [
        PlainRoute(
            "POST",
            "/sign-in/code/request",
            _request_code,
            TAG,
            "Send a sign-in code to the member's chat account; the same answer whatever the login.",
            body=SignInCodeAsk,
            response=SignInCodeRequest,
            status=202,
            name="RequestSignInCode",
            rate_limited=True,
        ),
        PlainRoute(
            "POST",
            "/sign-in/code",
            _sign_in_with_code,
            TAG,
            "Sign in with a code received in chat.",
            body=CodeSignIn,
            response=SessionInfo,
            name="SignInWithCode",
            rate_limited=True,
        ),
        PlainRoute(
            "POST",
            "/sign-in/password",
            _sign_in_with_password,
            TAG,
            "Sign in with a member key and password.",
            body=PasswordSignIn,
            response=SessionInfo,
            name="SignInWithPassword",
            rate_limited=True,
        ),
    ]
    if settings.telegram_bot_token:
        routes += [
            PlainRoute(
                "POST",
                "/sign-in/telegram",
                _sign_in_with_telegram,
                TAG,
                "Sign in with the Telegram Login Widget's data (any further fields it "
                "sends are accepted and checked too).",
                body=TelegramLogin,
                response=SessionInfo,
                name="SignInWithTelegram",
                rate_limited=True,
            ),
            PlainRoute(
                "POST",
                "/sign-in/telegram/mini-app",
                _sign_in_with_mini_app,
                TAG,
                "Sign in from the Telegram Mini App with its init data.",
                body=MiniAppSignIn,
                response=SessionInfo,
                name="SignInWithTelegramMiniApp",
                rate_limited=True,
            ),
        ]
    if settings.matrix_homeserver:
        routes.append(
            PlainRoute(
                "POST",
                "/sign-in/matrix",
                _sign_in_with_matrix,
                TAG,
                "Sign in with a Matrix OpenID token, checked with the community's homeserver.",
                body=MatrixSignIn,
                response=SessionInfo,
                name="SignInWithMatrix",
                rate_limited=True,
            )
        )
    return routes


async def signin_context(app: web.Application) -> AsyncIterator[None]:
    """The HTTP client of Matrix sign-in, for the application's lifetime (`cleanup_ctx`)."""
    if not app[SETTINGS].matrix_homeserver:
        yield
        return
    session = aiohttp.ClientSession(timeout=MATRIX_TIMEOUT, raise_for_status=False)
    app[MATRIX_HTTP] = session
    try:
        yield
    finally:
        await session.close()


async def send_code_evenly(handle: CommunityHandle, login: str) -> SignInCodeRequest:
    """`SendSignInCode`, answered no sooner than `SEND_CODE_FLOOR` seconds after it began.

    The answer is the same whether or not the login exists, but making and sending a
    code takes longer than finding nobody; a floor above both keeps the time from
    telling which it was.
    """
    started = time.monotonic()
    try:
        return await handle.execute(SendSignInCode(login), actor=SYSTEM)
    finally:
        await asyncio.sleep(max(0.0, SEND_CODE_FLOOR - (time.monotonic() - started)))


async def _request_code(request: web.Request) -> web.StreamResponse:
    _count_address(request)
    body: SignInCodeAsk = await _body(request, SignInCodeAsk)
    _count_login(request, body.login)
    answer = await send_code_evenly(_handle(request), body.login)
    return json_response(request, _converter.unstructure(answer, SignInCodeRequest), status=202)


async def _sign_in_with_code(request: web.Request) -> web.StreamResponse:
    _count_address(request)
    body: CodeSignIn = await _body(request, CodeSignIn)
    try:
        member = await _handle(request).execute(
            RedeemSignInCode(body.code, client=await client_key(request)), actor=SYSTEM
        )
    except SignInRefused as exc:
        _failed("code", type(exc).__name__)
        raise WebProblem(
            429, "sign_in_paused", headers={"Retry-After": str(CORE_LOCKOUT_SECONDS)}
        ) from exc
    except (WrongSignInCode, MemberInactive) as exc:
        _failed("code", type(exc).__name__)
        raise WebProblem(401, "sign_in_code_failed") from exc
    return await _start(request, member, "code")


async def _sign_in_with_password(request: web.Request) -> web.StreamResponse:
    _count_address(request)
    body: PasswordSignIn = await _body(request, PasswordSignIn)
    _count_login(request, body.login)
    try:
        member = await _handle(request).execute(
            CheckPassword(body.login, body.password), actor=SYSTEM
        )
    except (WrongPassword, MemberInactive) as exc:
        _failed("password", type(exc).__name__)
        raise WebProblem(401, "sign_in_password_failed") from exc
    return await _start(request, member, "password")


# --- Telegram --------------------------------------------------------------------------


async def _sign_in_with_telegram(request: web.Request) -> web.StreamResponse:
    token = _telegram_token(request)
    _count_address(request)
    _, raw = await read_json(request)
    known = {f.name for f in attrs.fields(TelegramLogin)}
    extra = {name: value for name, value in raw.items() if name not in known}
    try:
        body = build(TelegramLogin, {k: v for k, v in raw.items() if k in known})
    except DecodeError as exc:
        raise from_decode_error(exc) from exc
    _check_extra(extra)
    fields = {name: str(value) for name, value in raw.items() if name != "hash"}
    secret = hashlib.sha256(token.encode()).digest()
    if not _signed(secret, fields, body.hash):
        _failed("telegram", "bad_hash")
        raise WebProblem(401, "sign_in_telegram_failed")
    if not _fresh(request, body.auth_date):
        _failed("telegram", "stale")
        raise WebProblem(401, "sign_in_telegram_failed")
    name = _telegram_name(body.first_name, body.last_name, body.username, body.id)
    member = await _chat_member(request, TELEGRAM, str(body.id), name, None, "telegram")
    return await _start(request, member, "telegram")


async def _sign_in_with_mini_app(request: web.Request) -> web.StreamResponse:
    token = _telegram_token(request)
    _count_address(request)
    body: MiniAppSignIn = await _body(request, MiniAppSignIn)
    fields = _init_data_fields(body.init_data)
    given = fields.pop("hash", None) if fields is not None else None
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    if fields is None or given is None or not _signed(secret, fields, given):
        _failed("mini_app", "bad_hash")
        raise WebProblem(401, "sign_in_telegram_failed")
    # Authentic from here on: Telegram made every field below.
    auth_date = _int(fields.get("auth_date"))
    if auth_date is None or not _fresh(request, auth_date):
        _failed("mini_app", "stale")
        raise WebProblem(401, "sign_in_telegram_failed")
    user = _mini_app_user(fields.get("user"))
    if user is None:
        _failed("mini_app", "no_user")
        raise WebProblem(401, "sign_in_telegram_failed")
    user_id, name, locale = user
    member = await _chat_member(request, TELEGRAM, str(user_id), name, locale, "mini_app")
    return await _start(request, member, "mini_app")


def _telegram_token(request: web.Request) -> str:
    token = request.config_dict[SETTINGS].telegram_bot_token
    if not token:
        raise WebProblem(404, "no_such_resource")
    return token


def _check_extra(extra: Mapping[str, Any]) -> None:
    """Fields of the Login Widget we do not know: text or integers, reasonably few."""
    if len(extra) > MAX_EXTRA_FIELDS:
        raise WebProblem(422, "invalid_request", fields=(("", "too_many_fields", {}),))
    for name, value in extra.items():
        pointer = "/" + name.replace("~", "~0").replace("/", "~1")
        if not _FIELD_NAME.fullmatch(name):
            raise WebProblem(422, "invalid_request", fields=((pointer, "unknown_field", {}),))
        text = isinstance(value, str) and len(value) <= MAX_EXTRA_TEXT and "\x00" not in value
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not (text or whole):
            expected = {"expected": "string | integer"}
            raise WebProblem(422, "invalid_request", fields=((pointer, "wrong_type", expected),))


def _signed(secret: bytes, fields: Mapping[str, str], given: str) -> bool:
    """Whether `given` is the hex HMAC-SHA-256, keyed by `secret`, of the fields as
    Telegram's data-check-string: `key=value` lines sorted by key, `\\n`-joined."""
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _fresh(request: web.Request, auth_date: int) -> bool:
    """Not older than `telegram_auth_max_age`, and not from the future."""
    settings: WebSettings = request.config_dict[SETTINGS]
    now = _handle(request).now()
    try:
        signed_at = datetime.fromtimestamp(auth_date, UTC)
    except (OverflowError, OSError, ValueError):
        return False
    return now - settings.telegram_auth_max_age <= signed_at <= now + FUTURE_SKEW


def _init_data_fields(init_data: str) -> dict[str, str] | None:
    """The init data's fields, or None when it is no query string or names a field twice."""
    if not init_data or len(init_data) > MAX_INIT_DATA:
        return None
    try:
        pairs = parse_qsl(
            init_data,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_INIT_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):
        return None
    fields = dict(pairs)
    return fields if len(fields) == len(pairs) else None


def _int(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"\d{1,12}", text):
        return None
    return int(text)


def _mini_app_user(text: str | None) -> tuple[int, str, str | None] | None:
    """(id, name, locale) of the init data's `user` (a JSON object)."""
    if text is None:
        return None
    try:
        user = json.loads(text)
    except ValueError:
        return None
    if not isinstance(user, dict):
        return None
    user_id = user.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        return None
    parts = [user.get(key) for key in ("first_name", "last_name", "username")]
    first, last, username = (p if isinstance(p, str) else "" for p in parts)
    language = user.get("language_code")
    locale = normalize_locale(language) if isinstance(language, str) else None
    return user_id, _telegram_name(first, last, username, user_id), locale


def _telegram_name(first: str, last: str, username: str, user_id: int) -> str:
    """As the Telegram bot names people: first and last name, else the username."""
    return " ".join(p for p in (first, last) if p) or username or str(user_id)


# --- Matrix ----------------------------------------------------------------------------


async def _sign_in_with_matrix(request: web.Request) -> web.StreamResponse:
    settings: WebSettings = request.config_dict[SETTINGS]
    homeserver = settings.matrix_homeserver
    if not homeserver:
        raise WebProblem(404, "no_such_resource")
    _count_address(request)
    body: MatrixSignIn = await _body(request, MatrixSignIn)
    server = settings.matrix_server
    # A homeserver vouches for its own users only: a token claiming another server
    # is refused before anyone is asked.
    if not server or body.matrix_server_name != server:
        _failed("matrix", "other_server")
        raise WebProblem(401, "sign_in_matrix_failed")
    if not body.access_token or len(body.access_token) > MAX_MATRIX_TOKEN:
        _failed("matrix", "bad_token")
        raise WebProblem(401, "sign_in_matrix_failed")
    user_id = await _matrix_user(request, homeserver, body.access_token)
    found = _MATRIX_USER.fullmatch(user_id) if user_id is not None else None
    if user_id is None or found is None:
        _failed("matrix", "unknown_token")
        raise WebProblem(401, "sign_in_matrix_failed")
    if found.group(2) != server:
        # The configured homeserver named a user of another server: a setting is wrong.
        log.warning("web.matrix_server_mismatch", expected=server, answered=found.group(2))
        _failed("matrix", "other_server")
        raise WebProblem(401, "sign_in_matrix_failed")
    member = await _chat_member(request, MATRIX, user_id, found.group(1), None, "matrix")
    return await _start(request, member, "matrix")


async def _matrix_user(request: web.Request, homeserver: str, token: str) -> str | None:
    """The user id the homeserver says the OpenID token belongs to; None if it does not
    know the token. A homeserver that cannot answer is a 503."""
    http = request.config_dict.get(MATRIX_HTTP)
    if http is None or http.closed:
        log.error("web.matrix_http_missing")  # signin_context is not on the app
        raise WebProblem(503, "sign_in_unavailable")
    url = homeserver.rstrip("/") + "/_matrix/federation/v1/openid/userinfo"
    try:
        async with http.get(url, params={"access_token": token}, allow_redirects=False) as answer:
            status = answer.status
            data = bytearray()
            async for chunk in answer.content.iter_chunked(16 * 1024):
                data += chunk
                if len(data) > MAX_MATRIX_ANSWER:
                    break
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The exception's text may hold the URL, and so the token: log its type only.
        log.warning("web.matrix_unreachable", error=type(exc).__name__)
        raise WebProblem(503, "sign_in_unavailable") from None
    if status in (401, 403, 404):
        return None
    if status != 200 or len(data) > MAX_MATRIX_ANSWER:
        log.warning("web.matrix_bad_answer", status=status)
        raise WebProblem(503, "sign_in_unavailable")
    try:
        parsed = json.loads(data)
    except ValueError:
        log.warning("web.matrix_bad_answer", status=status)
        raise WebProblem(503, "sign_in_unavailable") from None
    sub = parsed.get("sub") if isinstance(parsed, dict) else None
    return sub if isinstance(sub, str) else None


# --- shared steps ----------------------------------------------------------------------


def _handle(request: web.Request) -> CommunityHandle:
    return request.config_dict[HANDLE]


async def _body(request: web.Request, cls: type[Any]) -> Any:
    """The JSON body as `cls`, refused (422) field by field like a command's."""
    _, raw = await read_json(request)
    try:
        return build(cls, raw)
    except DecodeError as exc:
        raise from_decode_error(exc) from exc


def _count_address(request: web.Request) -> None:
    """One sign-in attempt from this client address (each one counts, whatever comes of it)."""
    settings: WebSettings = request.config_dict[SETTINGS]
    _spend(request, "sign-in-ip", client_address(request), settings.sign_in_limit_per_ip)


def _count_login(request: web.Request, login: str) -> None:
    """One attempt on this login. Only a digest is kept, in memory: the buckets must not
    become a list of what people typed."""
    settings: WebSettings = request.config_dict[SETTINGS]
    key = hashlib.sha256(" ".join(login.split()).lower().encode()).hexdigest()
    _spend(request, "sign-in-login", key, settings.sign_in_limit_per_login)


def count_attempt(request: web.Request, login: str | None = None) -> None:
    """One sign-in attempt (by address, and by login when there is one); past a limit,
    a 429 problem. The portal's sign-in pages count theirs with the same buckets."""
    _count_address(request)
    if login is not None:
        _count_login(request, login)


def _spend(request: web.Request, kind: str, key: str, limit: RateLimit) -> None:
    limiter: RateLimiter = request.config_dict[LIMITER]
    wait = limiter.take(kind, key, limit)
    if wait > 0:
        log.info("web.sign_in_limited", limit=kind)
        raise WebProblem(429, "too_many", headers={"Retry-After": retry_after(wait)})


async def _chat_member(
    request: web.Request,
    platform: str,
    external_id: str,
    name: str,
    locale: str | None,
    via: str,
) -> Member:
    """The member of a proven chat account, registered on first sign-in as on first
    contact with the bot; an account whose member may not act cannot sign in."""
    profile = await _handle(request).execute(
        RegisterChatMember(platform, external_id, name, locale), actor=SYSTEM
    )
    member: Member = profile.member
    if not member.is_active:
        _failed(via, "inactive")
        raise WebProblem(401, "sign_in_failed")
    return member


def _failed(via: str, reason: str) -> None:
    log.info("web.sign_in_failed", via=via, reason=reason)


async def _start(request: web.Request, member: Member, via: str) -> web.StreamResponse:
    """A new session for `member`: the cookie, and who is signed in (with the CSRF token)."""
    principal, cookie = await begin_session(request, member, via)
    response = json_response(request, SessionInfo.of(principal).as_json())
    cookie.set_on(response)
    return response


@attrs.frozen
class SessionCookie:
    """The cookie that carries a new session, to set on whatever answers the sign-in."""

    token: str = attrs.field(repr=False)
    max_age: int
    secure: bool
    same_site: str

    def set_on(self, response: web.StreamResponse) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.token,
            path="/",
            max_age=self.max_age,
            httponly=True,
            secure=self.secure,
            samesite=self.same_site,
        )


async def begin_session(
    request: web.Request, member: Member, via: str
) -> tuple[Principal, SessionCookie]:
    """Start a session for `member` (ending this browser's previous one); the API answers
    with JSON, the portal's sign-in pages with a redirect, both setting the cookie."""
    auth: Authenticator = request.config_dict[AUTH]
    settings: WebSettings = request.config_dict[SETTINGS]
    before: Principal = request[PRINCIPAL]
    if before.kind == "session":
        await auth.end_session(before)  # one browser, one session
    token, session = await auth.start_session(member.id, member.display_name, via, member.locale)
    principal = Principal(
        "session",
        member_id=member.id,
        name=session.name,
        scopes=frozenset({"read", "write"}),
        locale=session.locale,
        csrf=session.csrf,
    )
    secure = _secure(request, settings)
    # A Mini App lives in Telegram's webview, or in a frame of its web client: there
    # the cookie is a third-party one, and only `None` sends it.
    same_site = "None" if via == "mini_app" and secure else "Lax"
    log.info("web.signed_in", member=member.id, via=via)
    return principal, SessionCookie(token, int(auth.lifetime.total_seconds()), secure, same_site)


def _secure(request: web.Request, settings: WebSettings) -> bool:
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    if request.secure:
        return True
    if settings.trust_forwarded:
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.split(",")[0].strip().lower() == "https"
    return False
