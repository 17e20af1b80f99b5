"""Chat commands: the table from `/points` and `积分` to a handler and the core commands it uses.

Route modules live in `huarong_core.conversation.chat`, one per area, and
register with `@route`; every module of that package is imported on first
use, so an area adds its routes without touching a shared list. `commands`
names the core commands a route reaches: a test checks that every core
command is reachable from chat.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from huarong_core.commands import Command
from huarong_core.conversation.arguments import Param
from huarong_core.conversation.values import Message, Reply
from huarong_core.domain.roles import Permission

if TYPE_CHECKING:
    from huarong_core.conversation.turn import Turn

Outcome = Reply | Message | Sequence[Message]
RouteHandler = Callable[["Turn", Mapping[str, Any]], Awaitable[Outcome]]

FAMILIES: tuple[str, ...] = (
    "start",
    "me",
    "clubs",
    "gatherings",
    "points",
    "shop",
    "services",
    "library",
    "volunteering",
    "news",
    "staff",
    "admin",
)
"""Sections of `/help`, in order; each has a `chat.family.<name>` title."""


@attrs.frozen
class Route:
    name: str
    """Canonical English name, typed as `/name`."""
    zh: str
    """The Chinese name, typed as `/积分` or, in a private chat, just `积分`."""
    handler: RouteHandler = attrs.field(repr=False)
    family: str
    params: tuple[Param, ...] = ()
    commands: tuple[type[Command[Any]], ...] = ()
    permission: Permission | None = None
    """Staff commands: listed in `/help` only for members who hold it somewhere
    (the core still checks it, with its scope, on every call)."""
    personal: bool = False
    """Answers about the sender (points, requests, aid): asked in a group, the
    answer goes to the sender's private chat."""
    group_only: bool = False
    """Acts on the club bound to the group it is said in."""
    aliases: tuple[str, ...] = ()
    """More names people type (`balance`, `余额`)."""

    @property
    def help_key(self) -> str:
        return f"chat.help.{self.name}"

    def display_name(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.name

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.zh, *self.aliases)


_ROUTES: dict[str, Route] = {}
_BY_NAME: dict[str, Route] = {}
_loaded = False


def route(
    name: str,
    zh: str,
    *,
    family: str,
    params: Sequence[Param] = (),
    commands: Sequence[type[Command[Any]]] = (),
    permission: Permission | None = None,
    personal: bool = False,
    group_only: bool = False,
    aliases: Sequence[str] = (),
) -> Callable[[RouteHandler], RouteHandler]:
    """Register the decorated coroutine as the chat command `/name` (and `/zh`)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown help family {family!r}")

    def register(handler: RouteHandler) -> RouteHandler:
        entry = Route(
            name=name,
            zh=zh,
            handler=handler,
            family=family,
            params=tuple(params),
            commands=tuple(commands),
            permission=permission,
            personal=personal,
            group_only=group_only,
            aliases=tuple(aliases),
        )
        previous = _ROUTES.get(name)
        if previous is not None and _origin(previous.handler) == _origin(handler):
            # The same module imported again after a failed first import: replace.
            for word in previous.names:
                _BY_NAME.pop(word.casefold(), None)
        elif previous is not None:
            raise ValueError(f"chat command /{name} is defined twice")
        for word in entry.names:
            folded = word.casefold()
            if folded in _BY_NAME:
                raise ValueError(f"/{word} names both /{_BY_NAME[folded].name} and /{name}")
            _BY_NAME[folded] = entry
        _ROUTES[name] = entry
        return handler

    return register


def _origin(handler: RouteHandler) -> tuple[str, str]:
    return (handler.__module__, handler.__qualname__)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    from huarong_core.conversation import chat

    for module in pkgutil.iter_modules(chat.__path__, f"{chat.__name__}."):
        importlib.import_module(module.name)
    _loaded = True


def find_route(word: str) -> Route | None:
    _load()
    return _BY_NAME.get(word.casefold())


def all_routes() -> tuple[Route, ...]:
    _load()
    return tuple(_ROUTES.values())


def all_names() -> tuple[str, ...]:
    _load()
    return tuple(_BY_NAME)
