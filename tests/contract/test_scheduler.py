"""The scheduler: persisted timers fire once when due, after a restart, across processes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from structlog.testing import capture_logs

from huarong_core import Actor, Huarong
from huarong_core.commands import FireDueTimers
from huarong_core.errors import InvalidValue, PermissionDenied
from huarong_core.events import Event
from huarong_core.scheduler_loop import SchedulerLoop
from huarong_core.serialization import converter
from huarong_core.services.context import Context
from huarong_core.services.scheduler import (
    MAX_ATTEMPTS,
    Timer,
    backoff,
    on_timer,
    pending_timers,
    schedule,
    timer_kinds,
    unschedule,
)
from huarong_core.storage.base import Connection
from huarong_core.storage.codec import loads
from huarong_core.storage.repositories.timers import TimerRecord, TimerRepository, TimerStatus
from huarong_core.storage.unit_of_work import UnitOfWork
from huarong_core.testing import FrozenClock, open_test_community
from tests.contract.conftest import SYSTEM, Pair, actor_for

T = TypeVar("T")

RECORD = "test.scheduler.record"
REFUSE = "test.scheduler.refuse"
CRASH = "test.scheduler.crash"
AGAIN = "test.scheduler.again"
SLOW = "test.scheduler.slow"
NOBODY = "test.scheduler.nobody"


@attrs.frozen
class TimerFired(Event):
    """What the test handlers record: one per call, so the outbox counts the calls."""

    kind = "test.scheduler.fired"
    key: str
    timer_kind: str
    attempts: int
    actor: str
    payload: str


def _fired(ctx: Context, timer: Timer) -> None:
    payload = json.dumps(timer.payload, sort_keys=True)
    ctx.record(TimerFired(timer.key, timer.kind, timer.attempts, ctx.actor.label, payload))


@on_timer(RECORD)
async def _record(ctx: Context, timer: Timer) -> None:
    _fired(ctx, timer)


@on_timer(REFUSE)
async def _refuse(ctx: Context, timer: Timer) -> None:
    _fired(ctx, timer)  # undone with the failure
    await schedule(ctx, f"{timer.key}:side", RECORD, ctx.now)  # undone too
    raise InvalidValue(field="key", value=timer.key, reason="empty")


@on_timer(CRASH)
async def _crash(ctx: Context, timer: Timer) -> None:
    _fired(ctx, timer)
    raise RuntimeError("boom")


@on_timer(AGAIN)
async def _again(ctx: Context, timer: Timer) -> None:
    """A recurring job: fires, then schedules its own key a day later."""
    _fired(ctx, timer)
    await schedule(ctx, timer.key, timer.kind, timer.due_at + timedelta(days=1), timer.payload)


@on_timer(SLOW)
async def _slow(ctx: Context, timer: Timer) -> None:
    """Holds its claim a moment, so concurrent claims overlap."""
    if ctx.repos.conn.dialect == "postgres":
        await ctx.repos.conn.execute("SELECT pg_sleep(0.01)")
    _fired(ctx, timer)


# --- helpers ---------------------------------------------------------------------------


async def in_unit(pair: Pair, fn: Callable[[Context], Awaitable[T]]) -> T:
    """Run `fn` in a unit of work of the community, as a service handler would."""
    huarong, handle = pair
    now = huarong.clock.now()

    async def unit(conn: Connection) -> T:
        uow = UnitOfWork(conn, handle.community.id, now, converter)
        ctx = Context(uow, handle.community, SYSTEM, (), now)
        result = await fn(ctx)
        await uow.flush()
        return result

    return await huarong.db.run(unit)


async def put(pair: Pair, key: str, kind: str, after: timedelta, **payload: Any) -> None:
    async def add(ctx: Context) -> None:
        await schedule(ctx, key, kind, ctx.now + after, payload)

    await in_unit(pair, add)


async def fire(pair: Pair, limit: int = 50, actor: Actor = SYSTEM) -> int:
    return await pair[1].execute(FireDueTimers(limit=limit), actor=actor)


async def fired(huarong: Huarong) -> list[dict[str, Any]]:
    """The events the test handlers recorded, in commit order."""
    async with huarong.db.read() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", TimerFired.kind
        )
    return [loads(r["payload"]) for r in rows]


async def record(pair: Pair, key: str) -> TimerRecord:
    huarong, handle = pair
    async with huarong.db.read() as conn:
        found = await TimerRepository(conn, handle.community.id).get(key)
    assert found is not None, key
    return found


async def pending(pair: Pair, prefix: str = "") -> list[Timer]:
    return await in_unit(pair, lambda ctx: pending_timers(ctx, prefix))


# --- firing ----------------------------------------------------------------------------


async def test_a_timer_fires_once_when_it_is_due(community: Pair, clock: FrozenClock) -> None:
    huarong, _ = community
    await put(community, "reminder:1:24h", RECORD, timedelta(hours=1), session=1)

    assert await fire(community) == 0
    assert [t.key for t in await pending(community)] == ["reminder:1:24h"]
    clock.advance(minutes=59)
    assert await fire(community) == 0
    clock.advance(minutes=1)

    assert await fire(community) == 1

    events = await fired(huarong)
    assert events == [
        {
            "key": "reminder:1:24h",
            "timer_kind": RECORD,
            "attempts": 0,
            "actor": "system:scheduler",
            "payload": '{"session": 1}',
        }
    ]
    done = await record(community, "reminder:1:24h")
    assert done.status is TimerStatus.DONE
    assert done.fired_at == clock.now()
    assert await pending(community) == []
    clock.advance(days=3)
    assert await fire(community) == 0
    assert len(await fired(huarong)) == 1


async def test_due_timers_fire_soonest_first_up_to_the_limit(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, _ = community
    for number, minutes in enumerate([30, 10, 20, 40, 50]):
        await put(community, f"t:{number}", RECORD, timedelta(minutes=minutes))
    clock.advance(hours=1)

    assert await fire(community, limit=2) == 2
    assert [e["key"] for e in await fired(huarong)] == ["t:1", "t:2"]
    assert await fire(community, limit=50) == 3
    assert [e["key"] for e in await fired(huarong)] == ["t:1", "t:2", "t:0", "t:3", "t:4"]


async def test_rescheduling_replaces_the_timer(community: Pair, clock: FrozenClock) -> None:
    huarong, _ = community
    await put(community, "reminder:7", RECORD, timedelta(hours=1), version=1)
    await put(community, "reminder:7", RECORD, timedelta(hours=3), version=2)

    [timer] = await pending(community)
    assert timer.due_at == clock.now() + timedelta(hours=3)
    assert timer.payload == {"version": 2}
    clock.advance(hours=2)
    assert await fire(community) == 0
    clock.advance(hours=1)
    assert await fire(community) == 1

    # A timer that fired is pending again when scheduled again, and fires again.
    await put(community, "reminder:7", RECORD, timedelta(minutes=5), version=3)
    assert (await record(community, "reminder:7")).status is TimerStatus.PENDING
    clock.advance(minutes=5)
    assert await fire(community) == 1
    assert [e["payload"] for e in await fired(huarong)] == ['{"version": 2}', '{"version": 3}']


async def test_unschedule_removes_pending_timers_by_key_prefix(
    community: Pair, clock: FrozenClock
) -> None:
    for key in (
        "session:1:24h",
        "session:1:1h",
        "session:10:24h",
        "session_1:x",
        "SESSION:1:x",
        "a%b:1",
        "axb:1",
    ):
        await put(community, key, RECORD, timedelta(hours=2))
    await put(community, "session:1:done", RECORD, timedelta(minutes=1))
    clock.advance(minutes=1)
    assert await fire(community) == 1

    removed = await in_unit(community, lambda ctx: unschedule(ctx, "session:1:"))

    assert removed == 2
    assert [t.key for t in await pending(community, "session")] == [
        "session:10:24h",
        "session_1:x",
    ]
    assert await in_unit(community, lambda ctx: unschedule(ctx, "a%b")) == 1
    assert await in_unit(community, lambda ctx: unschedule(ctx, "nothing")) == 0
    assert sorted(t.key for t in await pending(community)) == [
        "SESSION:1:x",
        "axb:1",
        "session:10:24h",
        "session_1:x",
    ]
    # What already fired stays on record.
    assert (await record(community, "session:1:done")).status is TimerStatus.DONE


async def test_a_failing_timer_backs_off_and_the_rest_of_the_batch_commits(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, _ = community
    await put(community, "a", RECORD, timedelta(minutes=1))
    await put(community, "b-refused", REFUSE, timedelta(minutes=2))
    await put(community, "c-crash", CRASH, timedelta(minutes=3))
    await put(community, "d", RECORD, timedelta(minutes=4))
    clock.advance(minutes=5)
    start = clock.now()

    with capture_logs() as logs:
        assert await fire(community) == 2

    assert [e["key"] for e in await fired(huarong)] == ["a", "d"]
    refused = await record(community, "b-refused")
    assert refused.status is TimerStatus.PENDING
    assert refused.timer.attempts == 1
    assert refused.timer.due_at == start + timedelta(minutes=1)
    assert refused.last_error is not None
    assert refused.last_error.startswith("InvalidValue: ")
    crashed = await record(community, "c-crash")
    assert crashed.timer.attempts == 1
    assert crashed.last_error == "RuntimeError: boom"
    async with huarong.db.read() as conn:  # the refused handler's own timer was undone too
        assert await TimerRepository(conn, community[1].community.id).get("b-refused:side") is None
    events = {entry["event"]: entry for entry in logs}
    assert events["scheduler.timer_refused"]["timer_key"] == "b-refused"
    assert events["scheduler.timer_failed"]["timer_key"] == "c-crash"
    assert events["scheduler.timer_failed"]["exc_info"] is True

    # Retried after 1, 2, 4, ... minutes; given up after MAX_ATTEMPTS.
    for attempts in range(1, MAX_ATTEMPTS):
        clock.advance(seconds=backoff(attempts).total_seconds() - 1)
        assert await fire(community) == 0
        assert (await record(community, "c-crash")).timer.attempts == attempts
        clock.advance(seconds=1)
        assert await fire(community) == 0
        assert (await record(community, "c-crash")).timer.attempts == attempts + 1
    for key in ("b-refused", "c-crash"):
        gave_up = await record(community, key)
        assert gave_up.status is TimerStatus.FAILED
        assert gave_up.timer.attempts == MAX_ATTEMPTS
    clock.advance(days=1)
    assert await fire(community) == 0
    assert [e["key"] for e in await fired(huarong)] == ["a", "d"]


async def test_a_timer_of_an_unknown_kind_fails_at_once(
    community: Pair, clock: FrozenClock
) -> None:
    await put(community, "orphan", NOBODY, timedelta(0))
    await put(community, "fine", RECORD, timedelta(0))

    with capture_logs() as logs:
        assert await fire(community) == 1

    orphan = await record(community, "orphan")
    assert orphan.status is TimerStatus.FAILED
    assert orphan.last_error == "no handler"
    assert orphan.timer.attempts == 1
    assert any(e["event"] == "scheduler.timer_without_handler" for e in logs)
    clock.advance(days=1)
    assert await fire(community) == 0


async def test_a_handler_may_schedule_its_own_key_again(
    community: Pair, clock: FrozenClock
) -> None:
    huarong, _ = community
    await put(community, "generate:salon", AGAIN, timedelta(0), series="salon")

    assert await fire(community) == 1
    [timer] = await pending(community)
    assert timer.key == "generate:salon"
    assert timer.due_at == clock.now() + timedelta(days=1)
    assert await fire(community) == 0
    clock.advance(days=1)
    assert await fire(community) == 1
    assert len(await fired(huarong)) == 2


async def test_only_the_system_and_admins_fire_timers(community: Pair) -> None:
    _, handle = community
    await put(community, "x", RECORD, timedelta(0))

    for key in ("alice", "staff"):
        with pytest.raises(PermissionDenied):
            await fire(community, actor=await actor_for(handle, key))
    assert await fire(community, actor=await actor_for(handle, "admin")) == 1


async def test_bad_arguments_are_refused(community: Pair, clock: FrozenClock) -> None:
    naive = clock.now().replace(tzinfo=None)
    with pytest.raises(ValueError, match="aware"):
        await in_unit(community, lambda ctx: schedule(ctx, "k", RECORD, naive))
    with pytest.raises(ValueError, match="key"):
        await in_unit(community, lambda ctx: schedule(ctx, "", RECORD, clock.now()))
    with pytest.raises(ValueError, match="prefix"):
        await in_unit(community, lambda ctx: unschedule(ctx, ""))
    assert await pending(community) == []


# --- restart and concurrency -------------------------------------------------------------


async def test_a_reminder_scheduled_before_a_restart_fires_once_after_it(
    database_url: str, clock: FrozenClock
) -> None:
    async with open_test_community(database_url, clock=clock) as pair:
        await put(pair, "reminder:42:1h", RECORD, timedelta(hours=23), session=42)
        assert await fire(pair) == 0

    clock.advance(days=1)
    for _ in range(2):  # two restarts: the first fires it, the second finds nothing to do
        async with Huarong(database_url, clock=clock) as huarong:
            pair = (huarong, await huarong.community("testville"))
            async with SchedulerLoop(huarong, interval=3600) as loop:
                for _ in range(500):  # its first pass runs at once
                    if loop.passes:
                        break
                    await asyncio.sleep(0.01)
            assert await fire(pair) == 0
            events = await fired(huarong)
    assert [(e["key"], e["payload"]) for e in events] == [("reminder:42:1h", '{"session": 42}')]


async def test_concurrent_firing_fires_each_timer_once(
    database_url: str, clock: FrozenClock
) -> None:
    """Four "processes" (each its own connections) fire 40 due timers at once."""
    async with open_test_community(database_url, clock=clock) as pair:
        for number in range(40):
            await put(pair, f"slow:{number:02d}", SLOW, timedelta(minutes=number % 7))
    clock.advance(hours=1)
    instances = [Huarong(database_url, clock=clock, upgrade=False) for _ in range(4)]
    for instance in instances:
        await instance.start()
    try:
        pairs = [(h, await h.community("testville")) for h in instances]
        counts = await asyncio.gather(*(fire(p, limit=10) for p in pairs))
        counts += await asyncio.gather(*(fire(p, limit=10) for p in pairs))
        events = await fired(instances[0])
    finally:
        for instance in instances:
            await instance.stop()

    assert sum(counts) == 40
    keys = [e["key"] for e in events]
    assert sorted(keys) == [f"slow:{n:02d}" for n in range(40)]


# --- the loop ----------------------------------------------------------------------------


async def test_the_loop_fires_in_the_background(community: Pair, clock: FrozenClock) -> None:
    huarong, _ = community
    for number in range(5):
        await put(community, f"bg:{number}", RECORD, timedelta(minutes=1))

    async with SchedulerLoop(huarong, interval=0.02, batch=2) as loop:
        assert loop.running
        await asyncio.sleep(0.05)
        assert loop.fired == 0
        clock.advance(minutes=1)
        loop.wake()
        for _ in range(1000):
            if loop.fired == 5:
                break
            await asyncio.sleep(0.01)
    assert not loop.running
    assert loop.fired == 5  # batches of 2, then at once the next ones
    assert len(await fired(huarong)) == 5
    await loop.stop()  # idempotent


async def test_the_loop_drains_full_batches_at_once(community: Pair, clock: FrozenClock) -> None:
    huarong, _ = community
    for number in range(7):
        await put(community, f"drain:{number}", RECORD, timedelta(0))
    loop = SchedulerLoop(huarong, batch=2)
    assert await loop.run_once() == 7
    assert await loop.run_once() == 0


async def test_the_loop_logs_errors_and_keeps_going(community: Pair) -> None:
    huarong, handle = community
    alice = await actor_for(handle, "alice")  # may not fire timers: every pass fails

    with capture_logs() as logs:
        async with SchedulerLoop(huarong, interval=0.01, actor=alice) as loop:
            for _ in range(1000):
                if loop.passes >= 3:
                    break
                await asyncio.sleep(0.01)

    assert loop.passes >= 3
    failures = [e for e in logs if e["event"] == "scheduler.pass_failed"]
    assert len(failures) >= 3
    assert failures[0]["community"] == "testville"
    with pytest.raises(PermissionDenied):  # a one-off run reports the trouble instead
        await SchedulerLoop(huarong, actor=alice).run_once(raise_errors=True)


# --- the registry and the backoff --------------------------------------------------------


def test_a_kind_has_one_handler() -> None:
    assert RECORD in timer_kinds()
    with pytest.raises(TypeError, match="already has a handler"):
        on_timer(RECORD)(_record)


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    minutes = [backoff(n) / timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff(10_000) == timedelta(hours=1)
    with pytest.raises(ValueError, match="attempts"):
        backoff(0)


# --- the command line --------------------------------------------------------------------


async def _cli(repo_root: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUARONG_")}
    env |= {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "tester", "PYTHONIOENCODING": "utf-8"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "huarong_core.cli",
        *args,
        cwd=repo_root,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_timers_from_the_command_line(
    database_url: str, clock: FrozenClock, repo_root: Path
) -> None:
    # The frozen clock stands in mid-2026; the CLI runs on the real clock, later.
    async with open_test_community(database_url, clock=clock) as pair:
        await put(pair, "due:1", NOBODY, timedelta(0))  # the CLI process has no handler for it
        await put(pair, "later:1", RECORD, timedelta(days=365 * 70))

    code, out, err = await _cli(repo_root, "--db", database_url, "timers", "list")
    assert code == 0, err
    assert "due:1" in out
    assert "later:1" in out
    assert "2 timer(s)." in out

    code, out, err = await _cli(repo_root, "--db", database_url, "timers", "run")
    assert code == 0, err
    assert out.strip() == "0 timer(s) fired."

    code, out, err = await _cli(
        repo_root, "--db", database_url, "timers", "list", "--status", "failed", "--json"
    )
    assert code == 0, err
    [failed] = json.loads(out)
    assert failed["timer"]["key"] == "due:1"
    assert failed["status"] == "failed"
    assert failed["last_error"] == "no handler"

    code, out, err = await _cli(
        repo_root, "--db", database_url, "--lang", "zh_CN", "timers", "run", "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {"fired": 0}
