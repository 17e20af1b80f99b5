"""Which handler serves which command, and what it returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_type_hints

import attrs

from huarong_core.commands import Command, Query
from huarong_core.services.context import Context

C = TypeVar("C", bound=Command[Any])
T = TypeVar("T")
Handler = Callable[[Context, C], Awaitable[Any]]
Reader = Callable[[Callable[[Context], Awaitable[T]]], Awaitable[T]]
"""Runs a function on a read-only `Context` (one snapshot) and returns its result."""
Prepare = Callable[[Reader[Any], Any], Awaitable[Any]]
"""Work done before a command's unit of work, outside any transaction: CPU-heavy
steps (argon2) that must hold neither the single SQLite writer nor a transaction.
It may read through the `Reader`; what it returns is the handler's `ctx.prepared`."""


@attrs.frozen
class HandlerSpec:
    command: type[Command[Any]]
    handler: Callable[[Context, Any], Awaitable[Any]]
    result_type: Any
    prepare: Prepare | None = None
    cached: bool = False
    """A query whose answer depends only on the stored state, the actor and the
    community's local date: repeated calls may be answered from `ReadCache`
    until the next commit. Its result must be immutable (frozen attrs, tuples)."""
    quick: bool = False
    """A few statements on indexed rows, whatever the data's size: the database may
    run it on the caller's thread (`Database.run(..., quick=True)`). For the chat
    and web hot paths; never for work that grows with the data."""

    @property
    def read_only(self) -> bool:
        return issubclass(self.command, Query)


_HANDLERS: dict[type[Command[Any]], HandlerSpec] = {}


def handles(
    command: type[C],
    *,
    prepare: Prepare | None = None,
    cached: bool = False,
    quick: bool = False,
) -> Callable[[Handler[C]], Handler[C]]:
    """Register the decorated coroutine as the one handler of `command` (with the
    work to `prepare` before its unit of work, if any; `cached`, `quick`: see
    `HandlerSpec`)."""

    def register(func: Handler[C]) -> Handler[C]:
        if command in _HANDLERS:
            raise TypeError(f"{command.__name__} already has a handler")
        if prepare is not None and issubclass(command, Query):
            raise TypeError(f"{command.__name__} is a query: nothing to prepare")
        if cached and not issubclass(command, Query):
            raise TypeError(f"{command.__name__} changes things: only a query may be cached")
        result_type = get_type_hints(func)["return"]
        _HANDLERS[command] = HandlerSpec(command, func, result_type, prepare, cached, quick)
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
