"""Which handler serves which command, and what it returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_type_hints

import attrs

from huarong_core.commands import Command, Query
from huarong_core.services.context import Context

C = TypeVar("C", bound=Command[Any])
Handler = Callable[[Context, C], Awaitable[Any]]


@attrs.frozen
class HandlerSpec:
    command: type[Command[Any]]
    handler: Callable[[Context, Any], Awaitable[Any]]
    result_type: Any

    @property
    def read_only(self) -> bool:
        return issubclass(self.command, Query)


_HANDLERS: dict[type[Command[Any]], HandlerSpec] = {}


def handles(command: type[C]) -> Callable[[Handler[C]], Handler[C]]:
    """Register the decorated coroutine as the one handler of `command`."""

    def register(func: Handler[C]) -> Handler[C]:
        if command in _HANDLERS:
            raise TypeError(f"{command.__name__} already has a handler")
        result_type = get_type_hints(func)["return"]
        _HANDLERS[command] = HandlerSpec(command, func, result_type)
        return func

    return register


def handler_for(command: type[Command[Any]]) -> HandlerSpec | None:
    found = _HANDLERS.get(command)
    if found is None:
        _load_handlers()
        found = _HANDLERS.get(command)
    return found


def registered_commands() -> frozenset[type[Command[Any]]]:
    _load_handlers()
    return frozenset(_HANDLERS)


def _load_handlers() -> None:
    # Importing the handler modules registers them; done lazily so that
    # importing `huarong_core` stays cheap and free of import cycles.
    from huarong_core.services import (
        access,
        aid,
        announcements,
        audit,
        calendars,
        clubs,
        contests,
        gatherings,
        identities,
        imports,
        library,
        linking,
        members,
        organizations,
        points,
        roles,
        scheduler,
        shop,
        smile_wall,
        standing,
        stations,
        venues,
        volunteering,
    )

    del audit, calendars, clubs, contests, gatherings, identities, imports, members
    del organizations, points, roles, scheduler, shop, standing, venues
    del access, aid, announcements, library, linking, smile_wall, stations, volunteering
