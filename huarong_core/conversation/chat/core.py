"""Getting started: /start, /help, /menu, /me, /name, /lang."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huarong_core.commands import UpdateMember
from huarong_core.conversation.arguments import Choice, FreeText, Word, arg, parse_arguments
from huarong_core.conversation.errors import BadArgument
from huarong_core.conversation.routes import FAMILIES, Outcome, Route, all_routes, find_route, route
from huarong_core.conversation.turn import Turn
from huarong_core.conversation.usage import usage_line
from huarong_core.conversation.values import Button, Message, Text
from huarong_core.i18n import SUPPORTED_LOCALES

MENU: tuple[tuple[str, ...], ...] = (
    ("whatson", "clubs", "points"),
    ("shop", "services", "books"),
    ("shifts", "news", "help"),
)
"""The main menu's buttons, three to a row."""


def menu_buttons(locale: str) -> tuple[tuple[Button, ...], ...]:
    rows = []
    for row in MENU:
        buttons = []
        for name in row:
            found = find_route(name)
            if found is not None:
                buttons.append(
                    Button(
                        Text("chat.button.command", {"command": found.display_name(locale)}),
                        f"/{found.name}",
                    )
                )
        rows.append(tuple(buttons))
    return tuple(rows)


@route("start", "开始", family="start", params=[arg(Word("payload"), optional=True)])
async def start(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    """Welcome, or act on a deep link's payload (`join-tea`, `checkin-12-482913`, `link-AB12CD`)."""
    payload = args["payload"]
    if payload:
        name, _, rest = payload.partition("-")
        target = find_route(name)
        if target is None or target.name == "start":
            raise BadArgument(argument="payload", value=payload, reason="bad_link")
        return await _run_route(turn, target, rest.replace("-", " "))
    return Message(
        (
            Text(
                "chat.start.welcome",
                {"name": turn.member.display_name, "community": turn.handle.community.name},
            ),
            Text("chat.start.hint"),
        ),
        menu_buttons(turn.locale),
    )


async def _run_route(turn: Turn, target: Route, text: str) -> Outcome:
    turn.command = target.name
    args = await parse_arguments(turn, target.params, text)
    return await target.handler(turn, args)


@route("menu", "菜单", family="start")
async def menu(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    return Message((Text("chat.menu.title"),), menu_buttons(turn.locale))


def visible_routes(turn: Turn) -> list[Route]:
    """What this member may do here: staff commands only for staff, and in a
    group chat only what makes sense there."""
    shown = []
    for entry in all_routes():
        if entry.permission is not None and not turn.can(entry.permission):
            continue
        if entry.group_only and not turn.in_group:
            continue
        shown.append(entry)
    return shown


@route(
    "help",
    "帮助",
    family="start",
    params=[arg(Word("command"), optional=True)],
    aliases=["?", "？"],
)
async def help_(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    wanted = args["command"]
    if wanted:
        found = find_route(wanted.lstrip("/!／！"))
        if found is None:
            raise BadArgument(argument="command", value=wanted, reason="unknown_command")
        return Message((usage_line(found, turn.locale), Text(found.help_key)))
    routes = visible_routes(turn)
    lines: list[Text] = [
        Text("chat.help.title_group" if turn.in_group else "chat.help.title_private")
    ]
    if turn.in_group and turn.club is not None:
        lines.append(Text("chat.help.bound_club", {"club": turn.club.name}))
    for family in FAMILIES:
        members = [r for r in routes if r.family == family]
        if not members:
            continue
        lines.append(Text("chat.help.family", {"family": Text(f"chat.family.{family}")}))
        for entry in members:
            key = (
                "chat.help.entry_personal"
                if entry.personal and turn.in_group
                else "chat.help.entry"
            )
            lines.append(
                Text(
                    key,
                    {
                        "command": entry.display_name(turn.locale),
                        "also": "" if entry.display_name(turn.locale) == entry.name else entry.name,
                        "summary": Text(entry.help_key),
                    },
                )
            )
    lines.append(Text("chat.help.footer"))
    return Message(tuple(lines))


@route("me", "我", family="me", personal=True, aliases=["profile", "我的"])
async def me(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    profile = await turn.full_profile()
    member = profile.member
    lines = [Text("chat.me.name", {"name": member.display_name, "id": member.id})]
    if profile.organization is not None:
        lines.append(Text("chat.me.organization", {"organization": profile.organization.name}))
    for category in sorted(member.categories):
        lines.append(Text("chat.me.category", {"category": category}))
    lines.append(
        Text("chat.me.language", {"language": Text(f"chat.language.{turn.locale.lower()}")})
    )
    for grant in profile.grants:
        lines.append(
            Text("chat.me.role", {"role": Text(f"role.{grant.role.value}"), "scope": grant.scope})
        )
    for identity in profile.identities:
        lines.append(
            Text(
                "chat.me.identity",
                {"platform": identity.ref.platform, "account": identity.ref.external_id},
            )
        )
    for honour in profile.honours:
        lines.append(Text("chat.me.honour", {"title": honour.title}))
    return Message(tuple(lines))


@route(
    "name",
    "改名",
    family="me",
    params=[arg(FreeText("name", max_length=64))],
    commands=[UpdateMember],
)
async def rename(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    member = await turn.run(UpdateMember(turn.member.id, display_name=args["name"]))
    return turn.say("chat.name.done", name=member.display_name)


LANGUAGES: dict[str, str] = {
    "zh_cn": "zh_CN",
    "zh": "zh_CN",
    "cn": "zh_CN",
    "中文": "zh_CN",
    "汉语": "zh_CN",
    "简体中文": "zh_CN",
    "en": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
}


@route(
    "lang",
    "语言",
    family="me",
    params=[arg(Choice("language", LANGUAGES), optional=True)],
    commands=[UpdateMember],
    aliases=["language"],
)
async def lang(turn: Turn, args: Mapping[str, Any]) -> Outcome:
    wanted = args["language"]
    if wanted is None:
        return Message(
            (
                Text(
                    "chat.lang.current", {"language": Text(f"chat.language.{turn.locale.lower()}")}
                ),
            ),
            (
                tuple(
                    Button(Text(f"chat.language.{code.lower()}"), f"/lang {code}")
                    for code in SUPPORTED_LOCALES
                ),
            ),
        )
    await turn.run(UpdateMember(turn.member.id, locale=wanted))
    turn.locale = wanted
    return turn.say("chat.lang.done", language=Text(f"chat.language.{wanted.lower()}"))
