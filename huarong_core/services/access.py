"""Access: web sign-in codes, passwords and API tokens (the rules: `commands.access`).

Secrets never reach a log line, an audit entry, an error's parameters or the
deliveries table: codes and tokens are stored as their SHA-256, passwords as
their argon2 hash, and the commands that carry one keep it out of their repr.
The one exception is a sign-in code on its way to a member's chat: it travels
in the `access.sign_in_code` event and its notice, since it has to reach them.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import unicodedata
from datetime import datetime

import attrs
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from huarong_core.commands import (
    ApiScope,
    ApiToken,
    ApiTokenSecret,
    AuthenticateApiToken,
    CheckPassword,
    CreateApiToken,
    CreateSignInCode,
    ListApiTokens,
    Page,
    PasswordSet,
    RedeemSignInCode,
    RevokeApiToken,
    SendSignInCode,
    SetPassword,
    SignInCode,
    SignInCodeRequest,
)
from huarong_core.domain.members import PLATFORM_PATTERN, IdentityRef, Member
from huarong_core.domain.roles import Permission
from huarong_core.domain.validation import KEY_PATTERN, require_name
from huarong_core.errors import (
    InvalidApiToken,
    InvalidValue,
    MemberInactive,
    NotFound,
    PermissionDenied,
    SignInCodeExpired,
    SignInRefused,
    WrongPassword,
    WrongSignInCode,
    sign_in_target,
)
from huarong_core.events import SignInCodeSent
from huarong_core.services.codes import (
    CODE_LIFETIME,
    MAX_WRONG_TRIES,
    MAX_WRONG_TRIES_EVERYWHERE,
    TRIES_WINDOW,
    code_hash,
    issue_code,
    normal_code,
)
from huarong_core.services.context import Context
from huarong_core.services.members import get_active_member, get_member
from huarong_core.services.registry import Reader, handles

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
"""Characters. The upper bound keeps one check from costing the server much more than
any other (argon2 reads the whole password)."""
MAX_TOKEN_NAME = 80
TOKEN_PREFIX = "hr_"
TOKEN_BYTES = 32
MAX_LOGIN = 320
MAX_TYPED_CODE = 64

HASHER = PasswordHasher()
"""argon2id with the library's current defaults (RFC 9106's low-memory profile). A
hash made with other settings is made again at the next good check."""

MAX_CLIENT_KEY = 100
_CLIENT_KEY = re.compile(r"[\x21-\x7e]+")


def _client(client: str | None) -> str | None:
    """The client key as given, checked: printable ASCII without spaces, bounded."""
    if client is None:
        return None
    if len(client) > MAX_CLIENT_KEY or not _CLIENT_KEY.fullmatch(client):
        raise InvalidValue(field="client", value=client[:40], reason="not_a_client_key")
    return client


def _require_system(ctx: Context) -> None:
    """Proving a sign-in is the portal's job: members cannot call these directly."""
    if not ctx.actor.is_system:
        raise PermissionDenied(permission=Permission.MANAGE_IDENTITIES.value, scope="*")


# --- sign-in codes ----------------------------------------------------------------------


async def _issue(ctx: Context, member_id: int) -> tuple[str, datetime] | None:
    return await issue_code(
        ctx, ctx.uow.access, member_id, lock=f"signin:{ctx.community.id}:{member_id}"
    )


@handles(CreateSignInCode)
async def create_sign_in_code(ctx: Context, cmd: CreateSignInCode) -> SignInCode:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_IDENTITIES)
    member = await get_active_member(ctx, member_id)
    issued = await _issue(ctx, member.id)
    if issued is None:
        raise SignInRefused(reason="too_many_codes")
    code, expires_at = issued
    await ctx.audit("member.sign_in_code", f"member:{member.id}", expires_at=expires_at.isoformat())
    return SignInCode(code, member.id, expires_at)


async def _member_for_login(ctx: Context, login: str) -> Member | None:
    """The member a login names (key, `platform:id`, `@user:server`), or None: also for
    anything malformed, which must look exactly like a login nobody has."""
    text = login.strip()
    if not text or len(text) > MAX_LOGIN:
        return None
    if text.startswith("@") and ":" in text:
        platform, external_id = "matrix", text
    elif ":" in text:
        platform, external_id = text.split(":", 1)
        platform = platform.strip().lower()
        external_id = external_id.strip()
        if not PLATFORM_PATTERN.match(platform) or not external_id:
            return None
    else:
        return await _member_by_key(ctx, text)
    try:
        ref = IdentityRef(platform, external_id)
    except InvalidValue:
        return None
    identity = await ctx.repos.identities.get(ref)
    return None if identity is None else await ctx.repos.members.get(identity.member_id)


async def _member_by_key(ctx: Context, login: str) -> Member | None:
    key = login.strip().lower()
    if not KEY_PATTERN.match(key):
        return None
    return await ctx.repos.members.by_key(key)


@handles(SendSignInCode)
async def send_sign_in_code(ctx: Context, cmd: SendSignInCode) -> SignInCodeRequest:
    """No audit entry and no log line here: for an unknown login there is nothing to
    say, and for a known one the code's own row (its hash, member and time) is the
    record; the login typed is kept nowhere."""
    _require_system(ctx)
    answer = SignInCodeRequest(expires_at=ctx.now + CODE_LIFETIME)
    member = await _member_for_login(ctx, cmd.login)
    if member is None or not member.is_active:
        return answer
    if not await ctx.repos.identities.for_member(member.id):
        return answer  # no chat account to send the code to
    issued = await _issue(ctx, member.id)
    if issued is None:
        return answer  # over the hourly limit: refusing would tell that the login exists
    code, expires_at = issued
    ctx.record(SignInCodeSent(member.id, code, expires_at.isoformat()))
    return answer


@handles(RedeemSignInCode)
async def redeem_sign_in_code(ctx: Context, cmd: RedeemSignInCode) -> Member:
    _require_system(ctx)
    client = _client(cmd.client)
    repo = ctx.uow.access
    mine, everyone = await repo.wrong_tries_of(
        WrongSignInCode.audit_action, sign_in_target(client), ctx.now - TRIES_WINDOW
    )
    if mine >= MAX_WRONG_TRIES or everyone >= MAX_WRONG_TRIES_EVERYWHERE:
        raise SignInRefused(reason="too_many_attempts")
    if len(cmd.code) > MAX_TYPED_CODE:
        raise WrongSignInCode(client=client)
    stored = await repo.code_by_hash(code_hash(normal_code(cmd.code)))
    if stored is None or stored.used_at is not None:
        raise WrongSignInCode(client=client)
    if stored.expires_at <= ctx.now:
        raise SignInCodeExpired(client=client)
    member = await get_member(ctx, stored.member_id)
    if not member.is_active:
        raise MemberInactive(member_id=member.id, status=member.status.value)
    if not await repo.use_code(stored.id, member.id, ctx.now):
        raise WrongSignInCode(client=client)  # used meanwhile by a second, simultaneous try
    await ctx.audit("member.signed_in", f"member:{member.id}", method="sign_in_code")
    return member


# --- passwords --------------------------------------------------------------------------


def _normal_password(password: str) -> str:
    """NFKC, so the same password typed on another keyboard or system still matches."""
    return unicodedata.normalize("NFKC", password)


# argon2 takes tens of milliseconds by design: it runs on a thread, and only from a
# command's `prepare` step, outside its unit of work. Inside one it would hold the
# single SQLite writer (every other write would wait) or a PostgreSQL transaction.


async def _hash(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


_DUMMY_HASH: list[str] = []


async def _dummy_hash() -> str:
    """Checked when there is no hash to check, so that an unknown login or a member
    without a password takes about as long to refuse as a wrong password."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(await _hash(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


async def _may_set_password(ctx: Context, cmd: SetPassword) -> Member:
    if cmd.member_id != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_MEMBERS)
    return await get_active_member(ctx, cmd.member_id)


async def _hash_new_password(read: Reader[Member], cmd: SetPassword) -> str:
    """Checks the right and the length first (no hashing for those who may not), then
    hashes, off the writer."""
    await read(lambda ctx: _may_set_password(ctx, cmd))
    password = _normal_password(cmd.password)
    # The value shown in the error is a mask: the password is never repeated back.
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(field="password", value="***", reason="password_too_short")
    if len(password) > MAX_PASSWORD:
        raise InvalidValue(field="password", value="***", reason="password_too_long")
    return await _hash(password)


@handles(SetPassword, prepare=_hash_new_password)
async def set_password(ctx: Context, cmd: SetPassword) -> PasswordSet:
    member = await _may_set_password(ctx, cmd)  # again: the snapshot may be stale
    password_hash: str = ctx.prepared
    await ctx.uow.access.set_password_hash(member.id, password_hash, ctx.now)
    await ctx.audit("member.password_set", f"member:{member.id}")
    return PasswordSet(member.id, ctx.now)


@attrs.frozen
class _PasswordChecked:
    """What checking a password found, before the unit of work that acts on it."""

    member_id: int | None
    """The member the password is right for; None when anything was wrong."""
    checked_hash: str | None = attrs.field(default=None, repr=False)
    rehash: str | None = attrs.field(default=None, repr=False)
    """A hash with today's settings, when the stored one was made with older ones."""


async def _check_password_off_the_books(
    read: Reader[tuple[Member | None, str | None]], cmd: CheckPassword
) -> _PasswordChecked:
    async def look(ctx: Context) -> tuple[Member | None, str | None]:
        _require_system(ctx)
        member = await _member_by_key(ctx, cmd.login) if len(cmd.login) <= MAX_LOGIN else None
        stored = None if member is None else await ctx.repos.access.password_hash(member.id)
        return member, stored

    member, stored = await read(look)
    password = _normal_password(cmd.password)
    fits = 0 < len(password) <= MAX_PASSWORD
    matches = await _verify(stored or await _dummy_hash(), password if fits else "")
    if member is None or stored is None or not fits or not matches:
        return _PasswordChecked(None)
    rehash = await _hash(password) if HASHER.check_needs_rehash(stored) else None
    return _PasswordChecked(member.id, stored, rehash)


@handles(CheckPassword, prepare=_check_password_off_the_books)
async def check_password(ctx: Context, cmd: CheckPassword) -> Member:
    _require_system(ctx)
    checked: _PasswordChecked = ctx.prepared
    if checked.member_id is None or checked.checked_hash is None:
        raise WrongPassword()
    # The hash checked must still be the member's: a password changed meanwhile refuses.
    if await ctx.uow.access.password_hash(checked.member_id) != checked.checked_hash:
        raise WrongPassword()
    member = await get_member(ctx, checked.member_id)
    if not member.is_active:
        raise MemberInactive(member_id=member.id, status=member.status.value)
    if checked.rehash is not None:
        await ctx.uow.access.set_password_hash(member.id, checked.rehash, ctx.now)
    await ctx.audit("member.signed_in", f"member:{member.id}", method="password")
    return member


# --- API tokens -------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """A token is 256 random bits: a plain SHA-256 cannot be searched back, and it is
    fast enough to check on every request."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scopes(ctx: Context, scopes: frozenset[str]) -> frozenset[str]:
    if not scopes:
        raise InvalidValue(field="scopes", value="-", reason="no_scopes")
    known = {scope.value for scope in ApiScope}
    for scope in sorted(scopes):
        if scope not in known:
            raise InvalidValue(field="scopes", value=scope[:20], reason="unknown_scope")
    if ApiScope.SYSTEM.value in scopes:
        ctx.require(Permission.MANAGE_COMMUNITY)
    return frozenset(str(scope) for scope in scopes)


@handles(CreateApiToken)
async def create_api_token(ctx: Context, cmd: CreateApiToken) -> ApiTokenSecret:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_MEMBERS)
    name = require_name("name", cmd.name, max_length=MAX_TOKEN_NAME)
    scopes = _check_scopes(ctx, cmd.scopes)
    if cmd.expires_at is not None:
        if cmd.expires_at.tzinfo is None:
            raise InvalidValue(
                field="expires_at", value=cmd.expires_at.isoformat(), reason="naive_time"
            )
        if cmd.expires_at <= ctx.now:
            raise InvalidValue(
                field="expires_at", value=cmd.expires_at.isoformat(), reason="in_the_past"
            )
    member = await get_active_member(ctx, member_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    info = await ctx.uow.access.add_token(
        member.id, name, scopes, token_hash(token), ctx.now, cmd.expires_at
    )
    await ctx.audit(
        "api_token.created",
        f"member:{member.id}",
        token_id=info.id,
        name=info.name,
        scopes=sorted(info.scopes),
        expires_at=None if info.expires_at is None else info.expires_at.isoformat(),
    )
    return ApiTokenSecret(token, info)


@handles(ListApiTokens)
async def list_api_tokens(ctx: Context, cmd: ListApiTokens) -> Page[ApiToken]:
    member_id = ctx.target_member(cmd.member_id)
    if member_id != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_MEMBERS)
    await get_member(ctx, member_id)
    offset = max(cmd.offset, 0)
    items, total = await ctx.repos.access.tokens_of(member_id, offset, cmd.limit)
    return Page(tuple(items), total, offset, cmd.limit)


@handles(RevokeApiToken)
async def revoke_api_token(ctx: Context, cmd: RevokeApiToken) -> ApiToken:
    repo = ctx.uow.access
    found = await repo.token(cmd.token_id)
    if found is None:
        raise NotFound(entity="api_token", ref=f"#{cmd.token_id}")
    if found.member_id != ctx.actor.member_id:
        ctx.require(Permission.MANAGE_MEMBERS)
    revoked = await repo.revoke_token(found.id, ctx.now)
    if revoked is None:
        return found  # revoked before: nothing changes
    await ctx.audit(
        "api_token.revoked", f"member:{revoked.member_id}", token_id=revoked.id, name=revoked.name
    )
    return revoked


@handles(AuthenticateApiToken, quick=True)
async def authenticate_api_token(ctx: Context, cmd: AuthenticateApiToken) -> ApiToken:
    _require_system(ctx)
    token = cmd.token.strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 2 * TOKEN_BYTES + len(TOKEN_PREFIX):
        raise InvalidApiToken(reason="unknown")
    found = await ctx.repos.access.token_by_hash(token_hash(token))
    if found is None:
        raise InvalidApiToken(reason="unknown")
    if found.revoked_at is not None:
        raise InvalidApiToken(reason="revoked")
    if not found.usable_at(ctx.now):
        raise InvalidApiToken(reason="expired")
    owner = await ctx.repos.members.get(found.member_id)
    if owner is None or not owner.is_active:
        raise InvalidApiToken(reason="member_inactive")
    return found
