"""Who is asking: a signed-in person (session cookie), an integration (API token), or nobody.

Sessions: a random token in an HttpOnly cookie; only its SHA-256 is kept, in
the adapter's durable state (`session:<hash>`), so a stolen database does not
hand out sessions and every process of a deployment shares them. Unsafe
requests riding on a session must echo the session's CSRF token in
`X-CSRF-Token` (or a form's `csrf_token`); an API token in `Authorization:
Bearer` is not sent by browsers on their own, so it needs none.

Whatever the principal, the core decides what it may do: this module only
says who acts (`Principal.actor`) and which kinds of route a token's scopes
open.

A session read from the database is believed for `SESSION_CACHE_SECONDS`
without reading it again (every request would otherwise cost a database read
before its command). Signing out through this application forgets it at once;
a sign-out in another process of the deployment (or another application over
the same database) takes effect here within those seconds. Expiry is checked on
every request, cached or not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs
from aiohttp import web

from huarong_core import Actor, CommunityHandle
from huarong_core.commands import AuthenticateApiToken
from huarong_core.errors import HuarongError
from huarong_core.inbox import AdapterState
from huarong_web.problems import WebProblem

__all__ = [
    "ANONYMOUS",
    "SESSION_COOKIE",
    "Authenticator",
    "Principal",
    "Session",
]

SESSION_COOKIE = "huarong_session"
CSRF_HEADER = "X-CSRF-Token"
ADAPTER = "web"
_SESSION_PREFIX = "session:"
SESSION_CACHE_SECONDS = 2.0
"""How long this process believes a session it read without reading it again: the
longest a sign-out in another process goes unnoticed here."""
SESSION_CACHE_SIZE = 10_000
TOKEN_CACHE_SIZE = 10_000

Scope = Literal["read", "write", "system"]


@attrs.frozen
class Principal:
    kind: Literal["anonymous", "session", "token"]
    member_id: int | None = None
    name: str = ""
    scopes: frozenset[str] = frozenset()
    locale: str | None = None
    csrf: str | None = attrs.field(default=None, repr=False)
    token_id: int | None = None
    session_key: str | None = attrs.field(default=None, repr=False)
    actor: Actor | None = attrs.field(init=False, repr=False, eq=False)
    """Who acts for this principal, made once: a cached principal serves many requests.

    A token with the `system` scope acts as the system (an integration such as a
    turnstile feeding activities); everyone else as their member."""

    @actor.default
    def _actor(self) -> Actor | None:
        if self.kind == "token" and "system" in self.scopes:
            return Actor.system(f"api-token:{self.token_id}")
        if self.member_id is None:
            return None
        if self.kind == "token":
            return Actor(f"member:{self.member_id}:api-token:{self.token_id}", self.member_id)
        return Actor.member(self.member_id, self.name)

    @property
    def signed_in(self) -> bool:
        return self.kind != "anonymous"

    @property
    def key(self) -> str:
        """Stable per caller: idempotency keys and rate limits are counted per key."""
        if self.kind == "token":
            return f"t{self.token_id}"
        if self.member_id is not None:
            return f"m{self.member_id}"
        return "anonymous"


ANONYMOUS = Principal("anonymous")
_SESSION_SCOPES = frozenset({"read", "write"})


@attrs.frozen
class Session:
    member_id: int
    name: str
    csrf: str = attrs.field(repr=False)
    created_at: datetime
    expires_at: datetime
    via: str
    """How the person signed in: `code`, `telegram`, `mini_app`, `matrix`, `password`."""
    locale: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _SessionCache:
    """Principals of sessions read lately, by session key, each with its session's
    expiry and the moment (monotonic) it stops being believed."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, datetime, Principal]] = {}
        self.generation = 0
        """Counts forgets: a read that started before one must not be cached."""

    def get(self, key: str) -> tuple[datetime, Principal] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        until, expires_at, principal = entry
        if until <= self._clock():
            del self._entries[key]
            return None
        return expires_at, principal

    def put(self, key: str, expires_at: datetime, principal: Principal, generation: int) -> None:
        if generation != self.generation:
            return  # a sign-out happened while this session was being read
        self._entries.pop(key, None)
        if len(self._entries) >= SESSION_CACHE_SIZE:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (self._clock() + SESSION_CACHE_SECONDS, expires_at, principal)

    def forget(self, key: str) -> None:
        """A sign-out: gone now, and not cached again by a read already under way."""
        self.generation += 1
        self._entries.pop(key, None)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)


class Authenticator:
    """Finds the principal of a request and keeps sessions."""

    def __init__(
        self,
        handle: CommunityHandle,
        lifetime: timedelta,
        *,
        cache_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handle = handle
        self._state = AdapterState(handle, ADAPTER)
        self.lifetime = lifetime
        self._cache = _SessionCache(cache_clock)
        self._tokens: dict[str, tuple[Hashable, datetime | None, Principal]] = {}
        """API tokens the core accepted, with the commit generation it answered at
        and the token's end: believed, without asking the core again, until anything
        at all is committed (a revocation, the member leaving) or the token ends."""

    async def start_session(
        self, member_id: int, name: str, via: str, locale: str | None
    ) -> tuple[str, Session]:
        """A new session; the returned token goes into the cookie and nowhere else."""
        token = secrets.token_urlsafe(32)
        now = self._handle.now()
        session = Session(
            member_id=member_id,
            name=name,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + self.lifetime,
            via=via,
            locale=locale,
        )
        value = {
            "member_id": member_id,
            "name": name,
            "csrf": session.csrf,
            "created_at": now.isoformat(),
            "expires_at": session.expires_at.isoformat(),
            "via": via,
            "locale": locale,
        }
        await self._state.set(_SESSION_PREFIX + _hash(token), json.dumps(value))
        return token, session

    async def end_session(self, principal: Principal) -> None:
        if principal.session_key is not None:
            await self._state.delete(principal.session_key)
            self._cache.forget(principal.session_key)

    async def session(self, token: str) -> tuple[str, Session] | None:
        if not token or len(token) > 128:
            return None
        key = _SESSION_PREFIX + _hash(token)
        stored = await self._state.get(key)
        if stored is None:
            return None
        data: dict[str, Any] = json.loads(stored)
        session = Session(
            member_id=int(data["member_id"]),
            name=str(data["name"]),
            csrf=str(data["csrf"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            via=str(data["via"]),
            locale=data.get("locale"),
        )
        if session.expires_at <= self._handle.now():
            await self._state.delete(key)
            self._cache.discard(key)
            return None
        return key, session

    async def prune(self) -> int:
        """Forget sessions that can no longer be valid (run now and then)."""
        return await self._state.prune(_SESSION_PREFIX, self._handle.now() - self.lifetime)

    async def principal(self, request: web.Request) -> Principal:
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            return await self._bearer(authorization)
        token = session_cookie(request)
        if token:
            return await self._session_principal(token)
        return ANONYMOUS

    async def _session_principal(self, token: str) -> Principal:
        """The session's principal, from the cache while it is believed and unexpired."""
        if len(token) <= 128:
            cached = self._cache.get(_SESSION_PREFIX + _hash(token))
            if cached is not None and cached[0] > self._handle.now():
                return cached[1]
        generation = self._cache.generation
        found = await self.session(token)
        if found is None:
            return ANONYMOUS
        key, session = found
        principal = Principal(
            "session",
            member_id=session.member_id,
            name=session.name,
            scopes=_SESSION_SCOPES,
            locale=session.locale,
            csrf=session.csrf,
            session_key=key,
        )
        self._cache.put(key, session.expires_at, principal, generation)
        return principal

    async def principal_from_token(self, token: str) -> Principal:
        """A token sent in a feed's URL: it may only read, whatever its scopes."""
        found = await self._bearer(f"Bearer {token}")
        return attrs.evolve(found, scopes=found.scopes & {"read"})

    async def _bearer(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise WebProblem(401, "bad_authorization", headers={"WWW-Authenticate": "Bearer"})
        generation = await self._handle.commit_generation()
        digest = _hash(token)  # the cache holds no token itself
        kept = self._tokens.get(digest)
        if (
            kept is not None
            and generation is not None
            and kept[0] == generation
            and (kept[1] is None or self._handle.now() < kept[1])
        ):
            return kept[2]
        try:
            found = await self._handle.execute(
                AuthenticateApiToken(token), actor=Actor.system("web")
            )
        except HuarongError as exc:
            self._tokens.pop(digest, None)
            raise WebProblem(
                401, "invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from exc
        principal = Principal(
            "token",
            member_id=found.member_id,
            name=found.name,
            scopes=frozenset(found.scopes),
            token_id=found.id,
        )
        if generation is not None:
            if len(self._tokens) >= TOKEN_CACHE_SIZE:
                del self._tokens[next(iter(self._tokens))]  # the oldest
            self._tokens[digest] = (generation, found.expires_at, principal)
        return principal


def session_cookie(request: web.Request) -> str | None:
    """The session cookie's value, found without parsing every cookie of the header
    (which costs a signed-in read more than its session lookup does).

    RFC 6265: `name=value` pairs separated by `;`, a value possibly in double
    quotes; a browser sends the cookie with the longest path first, so the first
    of a repeated name is the one set for this application."""
    header = request.headers.get("Cookie")
    if header is None or SESSION_COOKIE not in header:
        return None
    for pair in header.split(";"):
        name, sign, value = pair.partition("=")
        if sign and name.strip() == SESSION_COOKIE:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None


def csrf_ok(principal: Principal, request: web.Request, form_token: str | None = None) -> bool:
    """A session's unsafe request must carry its CSRF token (header or form field)."""
    if principal.kind != "session" or principal.csrf is None:
        return True
    sent = request.headers.get(CSRF_HEADER) or form_token or ""
    return hmac.compare_digest(sent.encode(), principal.csrf.encode())
