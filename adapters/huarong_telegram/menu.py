"""The command menus Telegram shows (`setMyCommands`), built from the chat route registry.

One list per scope and language: private chats get every member command,
groups the same (personal answers go to private chats), and group
administrators the group list followed by staff commands, in `/help`'s
order, cut at Telegram's 100 per scope. Descriptions are the `/help`
summaries in Chinese (`zh`) and English (`en`); the default list, for
people whose Telegram language is neither, is in the community's
language. Every command still works when typed, menu or not.

With the web portal reachable at a public HTTPS URL, the chat's menu button
(left of the message box) opens it as a Mini App (`portal_button`); the
portal signs the member in with the Mini App's own data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from huarong_core.conversation import Route, all_routes
from huarong_core.conversation.routes import FAMILIES
from huarong_core.i18n import SUPPORTED_LOCALES, translate

MAX_COMMANDS = 100
MAX_DESCRIPTION = 256
_NAME = re.compile(r"^[a-z0-9_]{1,32}\Z")

SCOPES = ("all_private_chats", "all_group_chats", "all_chat_administrators")
LANGUAGES = {locale.split("_", 1)[0].lower(): locale for locale in SUPPORTED_LOCALES}
"""Telegram `language_code` (`zh`, `en`) -> our locale."""


@attrs.frozen
class Menu:
    scope: str
    language_code: str | None
    """`None`: the default list (the community's language)."""
    commands: tuple[tuple[str, str], ...]
    """(command, description) pairs, at most 100."""


def _ordered(routes: Sequence[Route]) -> list[Route]:
    order = {family: i for i, family in enumerate(FAMILIES)}
    return sorted(routes, key=lambda r: order.get(r.family, len(order)))


def routes_for(scope: str) -> list[Route]:
    usable = [r for r in all_routes() if _NAME.match(r.name)]
    members = [r for r in usable if r.permission is None]
    if scope == "all_private_chats":
        chosen = [r for r in members if not r.group_only]
    elif scope == "all_group_chats":
        chosen = members
    else:
        chosen = members + [r for r in usable if r.permission is not None]
    return _ordered(chosen)[:MAX_COMMANDS]


def describe(route: Route, locale: str) -> str:
    text = " ".join(translate(route.help_key, locale).split())
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 1] + "…"
    return text or route.name


def menus(community_locale: str) -> list[Menu]:
    """Every list to set: 3 scopes x (zh, en, default)."""
    out = []
    for scope in SCOPES:
        routes = routes_for(scope)
        languages: list[tuple[str | None, str]] = [*LANGUAGES.items(), (None, community_locale)]
        for code, locale in languages:
            out.append(Menu(scope, code, tuple((r.name, describe(r, locale)) for r in routes)))
    return out


PORTAL_BUTTON_TEXT = {"zh": "社区门户", "en": "Portal"}
"""The menu button's label by the community's language (one button for every private
chat, so one language: Telegram has no per-language menu button)."""


def url_ok(text: str, schemes: tuple[str, ...]) -> bool:
    """`text` is an absolute URL of one of `schemes`, with a host and no spaces."""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        return False
    return parts.scheme in schemes and bool(host) and not any(ch.isspace() for ch in text)


def portal_url_ok(url: str) -> bool:
    """Telegram opens only HTTPS pages as Mini Apps."""
    return url_ok(url, ("https",))


def portal_button(url: str, community_locale: str) -> dict[str, Any]:
    """The `MenuButtonWebApp` that opens the portal at `url`."""
    language = community_locale.split("_", 1)[0].lower()
    text = PORTAL_BUTTON_TEXT.get(language, PORTAL_BUTTON_TEXT["en"])
    return {"type": "web_app", "text": text, "web_app": {"url": url}}
