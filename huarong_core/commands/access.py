"""Access: how a person or a program proves who it is, for the web adapter and integrations.

Three ways in, each checked here in the core (an adapter only calls
`CommunityHandle.execute` and acts as the member the answer names):

- **Sign-in codes.** A one-time code for the web portal, sent to one of the
  member's chat accounts (`SendSignInCode`, from the portal's sign-in page)
  or given in chat (`/signin`, `CreateSignInCode`), then typed on the portal
  (`RedeemSignInCode`). The code rules are those of link codes
  (`huarong_core.services.codes`): eight characters, ten minutes, one use,
  stored as a SHA-256 only, five an hour per member, a new one retiring the
  unused ones. Five wrong codes within a quarter of an hour, in the whole
  community, stop every further try until the quarter has passed: the
  portal's own per-client limits come first, and this one is the floor that
  keeps guessing hopeless even through many clients. `SendSignInCode` answers
  the same whether or not its login named anyone, and says nothing (logs and
  audits nothing) about an unknown login.
- **Passwords** (argon2id, `argon2-cffi`), for the operators who run the
  portal before anyone has a chat account: `SetPassword`, `CheckPassword`.
  Only the hash is stored, in a table of its own; a wrong password, a member
  without one and an unknown login are one refusal, checked in about the same
  time (a dummy hash is verified when there is nobody to check).
- **API tokens** for integrations: `hr_` and 32 random bytes, shown once, kept
  as a SHA-256 (a token is random and long, so a fast hash is enough and lets
  every request be checked quickly). Scopes: `read` (reading routes), `write`
  (changing routes), `system` (acting as the system actor; only someone who may
  `manage_community` can hand that out).

Everything a person can see or change is theirs only, unless they hold
`manage_members` (passwords, tokens) or `manage_identities` (sign-in codes);
the commands that prove a sign-in (`SendSignInCode`, `RedeemSignInCode`,
`CheckPassword`, `AuthenticateApiToken`) are the portal's own and only a
system actor may run them. No command here that carries or returns a secret,
or proves a sign-in, is replayed from a stored answer (`remembered = False`):
a secret is never copied into the deliveries table, and a sign-in is proven
afresh each time.

When linking accounts merges one member into another, the absorbed member's
API tokens move to the survivor, its password moves unless the survivor has
one, and its unused sign-in codes are retired (`huarong_core.commands.linking`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

import attrs

from huarong_core.commands.base import DEFAULT_PAGE_SIZE, Command, Page, Query, page_size
from huarong_core.domain.members import Member

__all__ = [
    "ApiScope",
    "ApiToken",
    "ApiTokenSecret",
    "AuthenticateApiToken",
    "CheckPassword",
    "CreateApiToken",
    "CreateSignInCode",
    "ListApiTokens",
    "PasswordSet",
    "RedeemSignInCode",
    "RevokeApiToken",
    "SendSignInCode",
    "SetPassword",
    "SignInCode",
    "SignInCodeRequest",
]


class ApiScope(enum.StrEnum):
    """What an API token may do. The web adapter maps them onto its routes."""

    READ = "read"
    """Reading routes (GET)."""
    WRITE = "write"
    """Changing routes, as the token's member."""
    SYSTEM = "system"
    """Act as the system actor (whatever the member's own roles)."""


def _scopes(value: Iterable[str]) -> frozenset[str]:
    # One string would otherwise become a set of its letters.
    return frozenset([value] if isinstance(value, str) else value)


# --- sign-in codes ----------------------------------------------------------------------


@attrs.frozen
class SignInCode:
    """The plain code, shown once: it is stored only as a hash."""

    code: str = attrs.field(repr=False)
    member_id: int
    expires_at: datetime


@attrs.frozen
class SignInCodeRequest:
    """The answer to `SendSignInCode`, the same whether or not a code was sent: when
    a code sent now would end."""

    expires_at: datetime


@attrs.frozen
class CreateSignInCode(Command[SignInCode]):
    """A web sign-in code for the acting member (staff with `manage_identities`, or a
    system actor, for `member_id`). Not remembered: a redelivery draws a new code
    rather than copying the plain one into the deliveries table."""

    remembered: ClassVar[bool] = False

    member_id: int | None = None


@attrs.frozen
class SendSignInCode(Command[SignInCodeRequest]):
    """The portal's "send me a code": `login` is a member key, `platform:external_id`
    (`telegram:12345`) or a Matrix user id (`@user:server`). When it names an active
    member with a chat account, a code is made and sent to that member privately
    (event `access.sign_in_code`); otherwise nothing happens. Either way the answer
    is the same, so the page cannot be used to find out who is a member. System
    actors only."""

    remembered: ClassVar[bool] = False

    login: str


@attrs.frozen
class RedeemSignInCode(Command[Member]):
    """Use a sign-in code (once): the member it was made for, to sign in as. System
    actors only; a wrong or expired code is refused and on record.

    `client` says where the try comes from, as an opaque key (the web adapter
    passes a keyed digest of the client's address, never the address). Wrong
    tries count per client, five a quarter hour, so one guesser cannot lock
    everyone else out; across the community a far higher ceiling still bounds
    guessing from many addresses at once. Tries without a client share one key.
    """

    remembered: ClassVar[bool] = False

    code: str = attrs.field(repr=False)
    client: str | None = None


# --- passwords --------------------------------------------------------------------------


@attrs.frozen
class PasswordSet:
    """A password was set (the password itself is never given back, nor stored)."""

    member_id: int
    set_at: datetime


@attrs.frozen
class SetPassword(Command[PasswordSet]):
    """Set a member's password (12 to 1024 characters): one's own, or anyone's with
    `manage_members`. Audited as `member.password_set`, without the password."""

    remembered: ClassVar[bool] = False

    member_id: int
    password: str = attrs.field(repr=False)


@attrs.frozen
class CheckPassword(Command[Member]):
    """The member whose key is `login`, if `password` is theirs; `WrongPassword`
    otherwise, whatever was wrong. A command, not a query: a hash made with weaker
    settings than today's is made again. System actors only."""

    remembered: ClassVar[bool] = False

    login: str
    password: str = attrs.field(repr=False)


# --- API tokens -------------------------------------------------------------------------


@attrs.frozen
class ApiToken:
    """An API token as anyone may see it: never the token itself, nor its hash."""

    id: int
    member_id: int
    name: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """Not revoked and not past its end (its member's status is checked apart)."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@attrs.frozen
class ApiTokenSecret:
    """A new token, shown this once: only its hash is kept."""

    token: str = attrs.field(repr=False)
    info: ApiToken


@attrs.frozen
class CreateApiToken(Command[ApiTokenSecret]):
    """A token for the acting member (or, with `manage_members`, for `member_id`).

    `name` says what it is for (1 to 80 characters); `scopes` are `ApiScope`
    values, at least one; `system` needs `manage_community`. `expires_at`, when
    given, must be ahead. Not remembered: the plain token is never copied into
    the deliveries table.
    """

    remembered: ClassVar[bool] = False

    name: str
    scopes: frozenset[str] = attrs.field(converter=_scopes)
    member_id: int | None = None
    expires_at: datetime | None = None


@attrs.frozen
class ListApiTokens(Query[Page[ApiToken]]):
    """A member's tokens, newest first, revoked and expired ones too: one's own, or
    anyone's with `manage_members`."""

    member_id: int | None = None
    offset: int = 0
    limit: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=page_size)


@attrs.frozen
class RevokeApiToken(Command[ApiToken]):
    """End a token now (its owner, or `manage_members`); revoking it again changes nothing."""

    token_id: int


@attrs.frozen
class AuthenticateApiToken(Query[ApiToken]):
    """The token presented with a request, if it may be used now (`InvalidApiToken`
    otherwise, also when its member is no longer active). A read: checking a token
    costs no write. System actors only."""

    token: str = attrs.field(repr=False)
