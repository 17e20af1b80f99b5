"""`huarong access ...`: sign-in codes, passwords and API tokens from a terminal.

The operator acts as the system actor, so these are how the first people
get into the web portal before anyone has linked a chat account:

    huarong access code alice                  # a one-time sign-in code
    huarong access password admin              # asks twice (or reads stdin)
    huarong access token create --member admin --name backup --scope read
    huarong access token list --member admin
    huarong access token revoke 3

A password is read from the terminal without echo (`getpass`), or, when
standard input is not a terminal, as its first line, so that scripts can
pipe one in; it never appears on the command line (where `ps` and shell
history would keep it). A token is printed once: only its hash is stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.cli_output import table
from huarong_core.commands import (
    ApiScope,
    ApiToken,
    CreateApiToken,
    CreateSignInCode,
    FindMember,
    ListApiTokens,
    MemberProfile,
    RevokeApiToken,
    SetPassword,
)
from huarong_core.domain.audit import Actor
from huarong_core.errors import InvalidValue
from huarong_core.serialization import converter


class _Out(Protocol):
    """The slice of the CLI's `Output` these commands use."""

    locale: str
    json: bool

    def t(self, key: str, **params: Any) -> str: ...
    def say(self, text: str) -> None: ...
    def data(self, value: Any) -> None: ...


class PasswordMismatch(Exception):
    """The two passwords typed at the prompt differ."""


async def _member(handle: CommunityHandle, actor: Actor, ref: str) -> MemberProfile:
    return await handle.execute(FindMember(ref), actor=actor)


def _local(handle: CommunityHandle, when: datetime | None) -> str:
    return "" if when is None else handle.community.local(when).strftime("%Y-%m-%d %H:%M")


async def code(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    member = (await _member(handle, actor, args.member)).member
    made = await handle.execute(CreateSignInCode(member.id), actor=actor)
    if out.json:
        out.data({"member_id": made.member_id, "code": made.code, "expires_at": made.expires_at})
        return 0
    out.say(out.t("cli.access.code", name=member.display_name, id=member.id, code=made.code))
    out.say(out.t("cli.access.code_expires", expires=_local(handle, made.expires_at)))
    return 0


def read_password(prompt: str, again: str) -> str:
    """Twice, without echo, at a terminal; else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass(again) != first:
            raise PasswordMismatch()
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


async def password(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    member = (await _member(handle, actor, args.member)).member
    try:
        typed = read_password(
            out.t("cli.access.password_prompt", name=member.display_name, id=member.id),
            out.t("cli.access.password_again"),
        )
    except PasswordMismatch:
        sys.stderr.write(f"huarong: {out.t('cli.access.password_mismatch')}\n")
        return 2
    done = await handle.execute(SetPassword(member.id, typed.rstrip("\r")), actor=actor)
    if out.json:
        out.data(converter.unstructure(done))
    else:
        out.say(out.t("cli.access.password_set", name=member.display_name, id=member.id))
    return 0


def _expires(text: str) -> date | datetime:
    """`YYYY-MM-DD` (the token ends with that day) or an ISO 8601 time with an offset."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"a time needs its offset (+08:00, Z): {text!r}")
    return value


def _end(handle: CommunityHandle, value: date | datetime | None) -> datetime | None:
    """A day ends at midnight after it, in the community's time zone."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value + timedelta(days=1), time(), handle.community.tz)


def _token_json(token: ApiToken) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(token)
    data["scopes"] = sorted(token.scopes)
    return data


async def token_create(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    member = (await _member(handle, actor, args.member)).member
    if not args.scopes:
        raise InvalidValue(field="scopes", value="-", reason="no_scopes")
    made = await handle.execute(
        CreateApiToken(args.name, frozenset(args.scopes), member.id, _end(handle, args.expires)),
        actor=actor,
    )
    if out.json:
        out.data({"token": made.token, "info": _token_json(made.info)})
        return 0
    out.say(
        out.t(
            "cli.access.token_created",
            token_id=made.info.id,
            token_name=made.info.name,
            name=member.display_name,
            id=member.id,
        )
    )
    out.say(made.token)
    return 0


def _state(handle: CommunityHandle, token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "active" if token.usable_at(handle.now()) else "expired"


async def token_list(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    member = (await _member(handle, actor, args.member)).member
    tokens: list[ApiToken] = []
    offset = 0
    while True:
        page = await handle.execute(ListApiTokens(member.id, offset=offset, limit=500), actor=actor)
        tokens.extend(page.items)
        if not page.has_more:
            break
        offset += len(page.items)
    if out.json:
        out.data({"member_id": member.id, "items": [_token_json(t) for t in tokens]})
        return 0
    if not tokens:
        out.say(out.t("cli.access.no_tokens"))
        return 0
    rows = [
        [
            str(t.id),
            t.name,
            " ".join(sorted(t.scopes)),
            _local(handle, t.created_at),
            _local(handle, t.expires_at),
            out.t(f"cli.access.state.{_state(handle, t)}"),
        ]
        for t in tokens
    ]
    headers = ["id", "name", "scopes", "made", "ends", "status"]
    out.say(table([out.t(f"cli.col.{h}") for h in headers], rows))
    return 0


async def token_revoke(
    huarong: Huarong, handle: CommunityHandle, actor: Actor, args: argparse.Namespace, out: _Out
) -> int:
    revoked = await handle.execute(RevokeApiToken(args.token_id), actor=actor)
    if out.json:
        out.data(_token_json(revoked))
    else:
        out.say(out.t("cli.access.token_revoked", id=revoked.id, name=revoked.name))
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    access = sub.add_parser("access", help="web sign-in codes, passwords and API tokens")
    asub = access.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = asub.add_parser("code", parents=[common], help="a one-time web sign-in code for a member")
    p.add_argument("member", help="member id or key")
    p.set_defaults(points_handler=code)
    p = asub.add_parser(
        "password",
        parents=[common],
        help="set a member's password (asked at the terminal, or the first line of stdin)",
    )
    p.add_argument("member", help="member id or key")
    p.set_defaults(points_handler=password)
    tokens = asub.add_parser("token", help="API tokens for integrations")
    tsub = tokens.add_subparsers(dest="token_action", required=True, metavar="ACTION")
    p = tsub.add_parser("create", parents=[common], help="make a token (printed only once)")
    p.add_argument("--member", required=True, help="member id or key the token acts as")
    p.add_argument("--name", required=True, help="what the token is for")
    p.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        choices=[s.value for s in ApiScope],
        help="read, write or system; repeat for several",
    )
    p.add_argument(
        "--expires", type=_expires, help="YYYY-MM-DD or an ISO time with offset (default: never)"
    )
    p.set_defaults(points_handler=token_create)
    p = tsub.add_parser("list", parents=[common], help="a member's tokens (never the secrets)")
    p.add_argument("--member", required=True, help="member id or key")
    p.set_defaults(points_handler=token_list)
    p = tsub.add_parser("revoke", parents=[common], help="end a token now")
    p.add_argument("token_id", type=int, metavar="ID")
    p.set_defaults(points_handler=token_revoke)
