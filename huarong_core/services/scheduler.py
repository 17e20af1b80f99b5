"""The scheduler: persisted timers that fire once, after a restart too.

Areas register a handler per timer kind (`@on_timer("gathering.reminder")`)
and call `schedule()` / `unschedule()` inside their own units of work, so a
timer appears or disappears with the change that asked for it.
`FireDueTimers` (run by `SchedulerLoop`, `huarong timers run`, or any
process) claims the timers that are due and runs each handler in a
savepoint of one unit of work: what a handler changes and records commits
together with its timer's status, so a timer fires exactly once. A handler
that fails leaves nothing behind; its timer is tried again later (1 min,
doubling, at most 1 h apart) and given up after `MAX_ATTEMPTS`.

Handlers run with the actor `system:scheduler`, whoever runs the command:
a reminder is the system's doing, not the admin's who happened to fire it.
Like every unit of work, a handler awaits nothing but the database.
A handler may schedule its own key again (a recurring job): the timer then
stays pending at its new time instead of being marked done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
import structlog

from huarong_core.commands import MAX_PAGE_SIZE, FireDueTimers
from huarong_core.domain.audit import Actor
from huarong_core.domain.roles import Permission
from huarong_core.errors import HuarongError
from huarong_core.services.context import Context
from huarong_core.services.registry import handles, registered_commands
from huarong_core.storage.repositories.timers import (
    LAST_ERROR_LENGTH,
    Timer,
    TimerRecord,
    TimerStatus,
)

__all__ = [
    "MAX_ATTEMPTS",
    "SCHEDULER_ACTOR",
    "Timer",
    "TimerHandler",
    "TimerRecord",
    "TimerStatus",
    "backoff",
    "fire_due_timers",
    "on_timer",
    "pending_timers",
    "schedule",
    "timer_kinds",
    "unschedule",
]

log = structlog.get_logger(__name__)

TimerHandler = Callable[[Context, Timer], Awaitable[None]]

MAX_ATTEMPTS = 8
"""A timer that failed this many times is marked failed and left alone."""
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
NO_HANDLER = "no handler"
SCHEDULER_ACTOR = Actor.system("scheduler")

_TIMER_HANDLERS: dict[str, TimerHandler] = {}


def on_timer(kind: str) -> Callable[[TimerHandler], TimerHandler]:
    """Register the decorated coroutine as the one handler of timers of `kind`."""
    if not kind:
        raise ValueError("a timer kind must not be empty")

    def register(func: TimerHandler) -> TimerHandler:
        if kind in _TIMER_HANDLERS:
            raise TypeError(f"timer kind {kind!r} already has a handler")
        _TIMER_HANDLERS[kind] = func
        return func

    return register


def timer_kinds() -> frozenset[str]:
    """Every timer kind with a handler (after loading the service modules)."""
    registered_commands()
    return frozenset(_TIMER_HANDLERS)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 1 min, doubling, at most 1 h."""
    if attempts < 1:
        raise ValueError("attempts start at 1")
    if attempts > 7:  # 64 minutes already exceed the cap; avoid huge shifts
        return LONGEST_RETRY
    return min(FIRST_RETRY * (1 << (attempts - 1)), LONGEST_RETRY)


async def schedule(
    ctx: Context,
    key: str,
    kind: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Fire a handler of `kind` at `due_at` with `payload`; replaces a timer with the same key.

    The timer is pending again with no attempts and no error, even when the
    key fired or failed before. It becomes visible when the caller's unit
    of work commits, and vanishes with it if that unit fails.
    """
    if not key:
        raise ValueError("a timer key must not be empty")
    if not kind:
        raise ValueError("a timer kind must not be empty")
    if due_at.tzinfo is None:
        raise ValueError("a timer needs an aware due_at")
    await ctx.uow.timers.schedule(key, kind, due_at, payload or {}, ctx.now)


async def unschedule(ctx: Context, key_prefix: str) -> int:
    """Delete the pending timers whose key starts with `key_prefix`; how many went.

    `%` and `_` in the prefix are plain characters. Timers that fired or
    failed stay as a record. An empty prefix is refused: it would mean every
    timer of the community.
    """
    if not key_prefix:
        raise ValueError("unschedule needs a key prefix")
    return await ctx.uow.timers.unschedule(key_prefix)


async def pending_timers(ctx: Context, key_prefix: str = "") -> list[Timer]:
    """Pending timers (whose key starts with `key_prefix`), soonest first."""
    records = await ctx.repos.timers.by_status(TimerStatus.PENDING, key_prefix, limit=10_000)
    return [record.timer for record in records]


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:LAST_ERROR_LENGTH]


@handles(FireDueTimers)
async def fire_due_timers(ctx: Context, cmd: FireDueTimers) -> int:
    ctx.require(Permission.MANAGE_COMMUNITY)
    # Handlers register when their service modules are imported; make sure
    # every one is, or a due timer would be taken for one without a handler.
    registered_commands()
    limit = max(1, min(int(cmd.limit), MAX_PAGE_SIZE))
    now = ctx.now
    repo = ctx.uow.timers
    due = await repo.claim_due(now, limit)
    if not due:
        return 0
    timer_ctx = attrs.evolve(ctx, actor=SCHEDULER_ACTOR, grants=())
    fired = 0
    for timer in due:
        bound = log.bind(
            community=ctx.community.key,
            timer_id=timer.id,
            timer_key=timer.key,
            timer_kind=timer.kind,
            attempt=timer.attempts + 1,
        )
        handler = _TIMER_HANDLERS.get(timer.kind)
        if handler is None:
            await repo.record_failure(timer.id, timer.attempts + 1, NO_HANDLER, None)
            bound.error("scheduler.timer_without_handler")
            continue
        try:
            async with ctx.uow.savepoint():
                await handler(timer_ctx, timer)
        except Exception as exc:  # recorded on the timer and logged, never swallowed
            attempts = timer.attempts + 1
            retry_at = None if attempts >= MAX_ATTEMPTS else now + backoff(attempts)
            await repo.record_failure(timer.id, attempts, _describe(exc), retry_at)
            status = TimerStatus.FAILED if retry_at is None else TimerStatus.PENDING
            if isinstance(exc, HuarongError):
                bound.warning(
                    "scheduler.timer_refused",
                    error=_describe(exc),
                    status=status.value,
                    retry_at=retry_at,
                )
            else:
                bound.exception("scheduler.timer_failed", status=status.value, retry_at=retry_at)
            continue
        if not await repo.mark_done(timer, now):
            bound.debug("scheduler.timer_rescheduled_by_handler")
        fired += 1
    log.info("scheduler.fired", community=ctx.community.key, claimed=len(due), fired=fired)
    return fired
