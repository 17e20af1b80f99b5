"""Every feature of the core is reachable from chat: each command has a route or a reason."""

from __future__ import annotations

from typing import Any

from huarong_core.commands import Command
from huarong_core.conversation import all_routes
from huarong_core.services.registry import registered_commands

NOT_CHAT: dict[str, str] = {
    "RegisterChatMember": "the engine registers every new sender with it",
    "FindMemberByIdentity": "the engine finds every sender with it",
    "FindClubByChat": "the engine finds a group's club with it",
    "FireDueTimers": "the scheduler loop fires timers; `huarong timers run` too",
    "RecordActivity": "the areas record their own points triggers; embedders may call it",
    "RecordActivities": "a batch of triggers for imports and integrations",
    "ImportMembers": "a CSV file: `huarong import members`",
    "ImportOrganizations": "a CSV file: `huarong import organizations`",
    "DefinePointsRule": "a structured definition: the community file (`huarong load`)",
    "DefineShopItem": "a structured definition: the community file (`huarong load`)",
    "DefineSalon": "a structured definition with a recurrence rule: the community file",
    "DefineService": "a structured definition with a form: the community file",
    "DefineVenue": "a structured definition: the community file",
    "GetCalendar": "an iCalendar file, served by the web adapter and `huarong calendar`",
    "SetAccountReachable": "adapters report accounts their platform refuses to reach",
    "SendSignInCode": "the web portal's sign-in page asks for a code to be sent to chat",
    "RedeemSignInCode": "typed on the web portal's sign-in page",
    "SetPassword": "a password never goes through a chat: `huarong access password`, the web",
    "CheckPassword": "the web portal's sign-in page",
    "CreateApiToken": "a token is a secret, kept out of chat: `huarong access token`, the web",
    "ListApiTokens": "tokens are managed where they are made: `huarong access token`, the web",
    "RevokeApiToken": "tokens are managed where they are made: `huarong access token`, the web",
    "AuthenticateApiToken": "the web adapter checks the token of each API request",
}
"""Commands deliberately without a chat route, each with where it is used instead."""


def _routed() -> dict[str, list[str]]:
    reached: dict[str, list[str]] = {}
    for entry in all_routes():
        for command in entry.commands:
            reached.setdefault(command.__name__, []).append(entry.name)
    return reached


def test_every_core_command_has_a_chat_route() -> None:
    # Tests register commands of their own; only the library's count.
    commands: set[type[Command[Any]]] = {
        c for c in registered_commands() if c.__module__.startswith("huarong_core.")
    }
    reached = _routed()
    missing = sorted(
        c.__name__ for c in commands if c.__name__ not in reached and c.__name__ not in NOT_CHAT
    )
    assert missing == []


def test_exemptions_are_real_and_not_routed_after_all() -> None:
    names = {c.__name__ for c in registered_commands() if c.__module__.startswith("huarong_core.")}
    assert set(NOT_CHAT) <= names
    assert set(NOT_CHAT) & set(_routed()) == set()


def test_the_issues_canonical_names_all_exist() -> None:
    wanted = (
        "start",
        "help",
        "me",
        "lang",
        "link",
        "clubs",
        "join",
        "leave",
        "whatson",
        "salons",
        "events",
        "rsvp",
        "cancel",
        "checkin",
        "feedback",
        "results",
        "points",
        "history",
        "rank",
        "top",
        "shop",
        "redeem",
        "orders",
        "honours",
        "services",
        "request",
        "requests",
        "reply",
        "rate",
        "books",
        "borrow",
        "return",
        "hold",
        "donate",
        "reflect",
        "vote",
        "shifts",
        "signup",
        "withdraw",
        "smile",
        "news",
        "award",
        "deduct",
        "approve",
        "reject",
        "fulfil",
        "queue",
        "accept",
        "assign",
        "resolve",
        "confirm",
        "announce",
        "bind",
        "score",
    )
    names = {r.name for r in all_routes()}
    assert [w for w in wanted if w not in names] == []


def test_every_route_has_a_chinese_name() -> None:
    assert [
        r.name for r in all_routes() if not any("\u4e00" <= ch <= "\u9fff" for ch in r.zh)
    ] == []
