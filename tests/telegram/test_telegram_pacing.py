"""The outbound scheduler on a fake clock: exact send times, priorities, retries, drain."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from huarong_telegram.api import (
    BotApi,
    Forbidden,
    NetworkError,
    RetryAfter,
    ServerError,
    TelegramError,
)
from huarong_telegram.pacing import OutboundScheduler, Priority, SchedulerStopped

TICK = 1 / 30


class FakeClock:
    """Time that moves only when the scheduler sleeps.

    Sleep first lets every ready task run (a send that is answering, a
    caller that is queueing), so time never jumps past work that would
    have happened at the present moment; a sleep cancelled meanwhile
    moves no time at all.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        target = self.now + delay
        for _ in range(10):
            await asyncio.sleep(0)
        self.now = max(self.now, target)


@attrs.define
class Call:
    at: float
    method: str
    chat_id: Any
    text: str


class FakeBotApi(BotApi):
    """The real client's interface, answering from a script instead of the network."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__("1:fake", base_url="http://127.0.0.1:9")
        self.clock = clock
        self.calls: list[Call] = []
        self.failures: dict[tuple[str, Any], list[BaseException]] = {}
        self.fail_with: Callable[[Call], BaseException | None] | None = None
        self.delivered: list[Call] = []
        self.on_call: Callable[[], None] | None = None

    def fail(self, method: str, chat_id: Any, *errors: BaseException) -> None:
        self.failures.setdefault((method, chat_id), []).extend(errors)

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        params = params or {}
        call = Call(self.clock(), method, params.get("chat_id"), str(params.get("text", "")))
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call()
        await asyncio.sleep(0)
        queued = self.failures.get((method, call.chat_id))
        if queued:
            raise queued.pop(0)
        if self.fail_with is not None and (error := self.fail_with(call)) is not None:
            raise error
        self.delivered.append(call)
        return {"message_id": len(self.delivered), "text": call.text}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeBotApi:
    return FakeBotApi(clock)


def scheduler(api: FakeBotApi, clock: FakeClock, **options: Any) -> OutboundScheduler:
    return OutboundScheduler(api, clock=clock, sleep=clock.sleep, **options)


def send(
    pacer: OutboundScheduler,
    chat_id: int | str,
    text: str,
    priority: Priority = Priority.NORMAL,
    method: str = "sendMessage",
) -> asyncio.Task[Any]:
    return asyncio.create_task(
        pacer.send(method, {"chat_id": chat_id, "text": text}, chat_id=chat_id, priority=priority)
    )


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most sends in any half-open window [t, t + window)."""
    ordered = sorted(times)
    return max(
        sum(1 for other in ordered if start - 1e-9 <= other < start + window - 1e-9)
        for start in ordered
    )


def by_chat(calls: Sequence[Call]) -> dict[Any, list[Call]]:
    chats: dict[Any, list[Call]] = {}
    for call in calls:
        chats.setdefault(call.chat_id, []).append(call)
    return chats


# --- limits -----------------------------------------------------------------------------


async def test_one_message_per_second_in_a_private_chat(api: FakeBotApi, clock: FakeClock) -> None:
    async with scheduler(api, clock) as pacer:
        results = await asyncio.gather(*(send(pacer, 7, f"m{i}") for i in range(5)))
    assert [c.at for c in api.calls] == pytest.approx([0, 1, 2, 3, 4])
    assert [c.text for c in api.calls] == [f"m{i}" for i in range(5)]
    assert [r["message_id"] for r in results] == [1, 2, 3, 4, 5]


async def test_two_private_chats_do_not_wait_for_each_other(
    api: FakeBotApi, clock: FakeClock
) -> None:
    async with scheduler(api, clock) as pacer:
        await asyncio.gather(
            *(send(pacer, chat, f"{chat}-{i}") for i in range(3) for chat in (1, 2))
        )
    chats = by_chat(api.calls)
    assert [c.at for c in chats[1]] == pytest.approx([0, 1, 2])
    assert [c.at for c in chats[2]] == pytest.approx([TICK, 1 + TICK, 2 + TICK])


async def test_a_group_gets_at_most_twenty_messages_in_any_minute(
    api: FakeBotApi, clock: FakeClock
) -> None:
    async with scheduler(api, clock) as pacer:
        await asyncio.gather(*(send(pacer, -100, f"g{i}") for i in range(45)))
    times = [c.at for c in api.calls]
    assert times[:20] == pytest.approx(list(range(20)))
    assert times[20:40] == pytest.approx([60 + i for i in range(20)])
    assert times[40] == pytest.approx(120)
    assert max_in_window(times, 60) == 20
    assert [c.text for c in api.calls] == [f"g{i}" for i in range(45)]


async def test_at_most_thirty_messages_a_second_overall(api: FakeBotApi, clock: FakeClock) -> None:
    async with scheduler(api, clock) as pacer:
        await asyncio.gather(*(send(pacer, chat, "hello") for chat in range(1, 121)))
    times = [c.at for c in api.calls]
    assert len(times) == 120
    assert max_in_window(times, 1.0) == 30
    assert times[-1] == pytest.approx(119 * TICK)


async def test_chat_ids_as_strings_share_the_chat_of_their_number(
    api: FakeBotApi, clock: FakeClock
) -> None:
    async with scheduler(api, clock) as pacer:
        await asyncio.gather(send(pacer, 5, "a"), send(pacer, "5", "b"))
    assert [c.at for c in api.calls] == pytest.approx([0, 1])


# --- priorities and order ---------------------------------------------------------------


async def test_an_urgent_answer_passes_queued_bulk_announcements(
    api: FakeBotApi, clock: FakeClock
) -> None:
    async with scheduler(api, clock) as pacer:
        bulk = [send(pacer, chat, "announcement", Priority.BULK) for chat in range(1, 101)]
        normal = send(pacer, 500, "reminder", Priority.NORMAL)
        urgent = send(pacer, 999, "answer", Priority.URGENT)
        await asyncio.sleep(0)
        await urgent
        assert clock.now == pytest.approx(0)
        # Mid-stream, a second urgent answer takes the very next slot.
        fortieth = asyncio.Event()
        api.on_call = lambda: fortieth.set() if len(api.calls) >= 40 else None
        await fortieth.wait()
        late = send(pacer, 998, "second answer", Priority.URGENT)
        await asyncio.gather(*bulk, normal, late)
    texts = [c.text for c in api.calls]
    assert texts[:2] == ["answer", "reminder"]
    assert texts.index("second answer") == 40
    assert texts.count("announcement") == 100


async def test_messages_to_one_chat_keep_their_order_whatever_their_priority(
    api: FakeBotApi, clock: FakeClock
) -> None:
    async with scheduler(api, clock) as pacer:
        tasks = [
            send(pacer, 3, "first", Priority.BULK),
            send(pacer, 3, "second", Priority.URGENT),
            send(pacer, 3, "third", Priority.NORMAL),
        ]
        await asyncio.gather(*tasks)
    assert [c.text for c in api.calls] == ["first", "second", "third"]


# --- flood control and retries ----------------------------------------------------------


async def test_a_429_retries_the_same_send_exactly_after_retry_after(
    api: FakeBotApi, clock: FakeClock
) -> None:
    api.fail("sendMessage", 7, RetryAfter("sendMessage", 429, "Too Many Requests", 13))
    async with scheduler(api, clock) as pacer:
        result, _other = await asyncio.gather(send(pacer, 7, "hi"), send(pacer, 8, "other"))
    assert [(c.chat_id, c.at) for c in api.calls] == [(7, 0), (8, pytest.approx(TICK)), (7, 13)]
    assert result["text"] == "hi"
    assert [c.text for c in api.delivered] == ["other", "hi"]


async def test_a_429_holds_the_rest_of_that_chat_in_order(
    api: FakeBotApi, clock: FakeClock
) -> None:
    api.fail("sendMessage", -5, RetryAfter("sendMessage", 429, "Too Many Requests", 30))
    async with scheduler(api, clock) as pacer:
        await asyncio.gather(*(send(pacer, -5, f"part {i}") for i in range(3)))
    assert [(c.text, c.at) for c in api.calls] == [
        ("part 0", 0),
        ("part 0", 30),
        ("part 1", 31),
        ("part 2", 32),
    ]


async def test_429s_in_two_chats_at_once_pause_everything(
    api: FakeBotApi, clock: FakeClock
) -> None:
    api.fail("sendMessage", 1, RetryAfter("sendMessage", 429, "Too Many Requests", 5))
    api.fail("sendMessage", 2, RetryAfter("sendMessage", 429, "Too Many Requests", 5))
    async with scheduler(api, clock) as pacer:
        await asyncio.gather(*(send(pacer, chat, "x") for chat in (1, 2, 3, 4)))
    retried = [c for c in api.calls if c.at >= 1]
    # Chat 3 and 4 were not refused, yet wait for the bot-wide pause (until 5 + TICK).
    assert {c.chat_id for c in retried} == {1, 2, 3, 4}
    assert min(c.at for c in retried) == pytest.approx(5 + TICK)
    assert len(api.delivered) == 4


async def test_server_errors_back_off_exponentially_then_succeed(
    api: FakeBotApi, clock: FakeClock
) -> None:
    api.fail("sendMessage", 1, *(ServerError("sendMessage", 502, "Bad Gateway") for _ in range(3)))
    async with scheduler(api, clock) as pacer:
        result = await send(pacer, 1, "x")
    assert [c.at for c in api.calls] == pytest.approx([0, 1, 2, 4])  # 0.5, 1, 2 s; 1/s per chat
    assert result["message_id"] == 1


async def test_backoff_doubles_and_the_last_error_is_raised_after_max_attempts(
    api: FakeBotApi, clock: FakeClock
) -> None:
    errors = [NetworkError("sendMessage", "refused", sent=False) for _ in range(5)]
    api.fail("sendMessage", 1, *errors)
    async with scheduler(api, clock, private_per_second=100, max_attempts=5) as pacer:
        with pytest.raises(NetworkError) as raised:
            await send(pacer, 1, "x")
    assert raised.value is errors[-1]
    assert [c.at for c in api.calls] == pytest.approx([0, 0.5, 1.5, 3.5, 7.5])


async def test_an_unknown_outcome_is_not_resent_for_messages_but_is_for_edits(
    api: FakeBotApi, clock: FakeClock
) -> None:
    timeout = NetworkError("sendMessage", "read timeout", sent=None)
    api.fail("sendMessage", 1, timeout)
    api.fail("editMessageText", 1, NetworkError("editMessageText", "read timeout", sent=None))
    async with scheduler(api, clock) as pacer:
        with pytest.raises(NetworkError) as raised:
            await send(pacer, 1, "x")
        edited = await send(pacer, 1, "y", method="editMessageText")
    assert raised.value is timeout
    assert [(c.method, c.at) for c in api.calls] == [
        ("sendMessage", 0),
        ("editMessageText", 1),
        ("editMessageText", 2),
    ]
    assert edited["text"] == "y"


@pytest.mark.parametrize(
    "error",
    [
        Forbidden("sendMessage", 403, "Forbidden: bot was blocked by the user"),
        TelegramError("sendMessage", 400, "Bad Request: chat not found"),
    ],
)
async def test_refusals_reach_the_caller_at_once(
    api: FakeBotApi, clock: FakeClock, error: TelegramError
) -> None:
    api.fail("sendMessage", 1, error)
    async with scheduler(api, clock) as pacer:
        with pytest.raises(TelegramError) as raised:
            await send(pacer, 1, "x")
        after = await send(pacer, 1, "next")
    assert raised.value is error
    assert len(api.calls) == 2
    assert after["text"] == "next"


async def test_a_burst_of_429s_loses_nothing_and_doubles_nothing(
    api: FakeBotApi, clock: FakeClock
) -> None:
    rng = random.Random(7)

    def flood(call: Call) -> BaseException | None:
        if rng.random() < 0.3:
            return RetryAfter(call.method, 429, "Too Many Requests", rng.randint(1, 40))
        if rng.random() < 0.05:
            return ServerError(call.method, 500, "Internal Server Error")
        return None

    api.fail_with = flood
    group = -1001
    async with scheduler(api, clock, max_attempts=50) as pacer:
        tasks = [send(pacer, 1000 + i, f"private {i}", Priority.BULK) for i in range(160)]
        tasks += [send(pacer, group, f"group {i}", Priority.BULK) for i in range(40)]
        tasks += [send(pacer, 5, f"urgent {i}", Priority.URGENT) for i in range(5)]
        results = await asyncio.gather(*tasks)
    texts = [c.text for c in api.delivered]
    assert len(texts) == len(set(texts)) == 205
    assert {r["text"] for r in results} == set(texts)
    assert sum(1 for c in api.calls if c not in api.delivered) > 50  # the 429s did happen
    sends = [c.at for c in api.calls]
    assert max_in_window(sends, 1.0) <= 30
    chats = by_chat(api.calls)
    group_times = [c.at for c in chats[group]]
    # Refused sends are retried; only accepted ones count against the group's minute.
    accepted = [c.at for c in api.delivered if c.chat_id == group]
    assert max_in_window(accepted, 60.0) <= 20
    assert len(group_times) >= 40
    assert [c.text for c in api.delivered if c.chat_id == group] == [
        f"group {i}" for i in range(40)
    ]
    for calls in chats.values():
        gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
        assert all(gap >= 1 - 1e-9 for gap in gaps)


async def test_calls_to_no_chat_share_only_the_global_slot_and_a_429_on_them_pauses_all(
    api: FakeBotApi, clock: FakeClock
) -> None:
    api.fail("setMyCommands", None, RetryAfter("setMyCommands", 429, "Too Many Requests", 3))

    async def set_commands(scope: str) -> Any:
        params = {"commands": [], "scope": {"type": scope}}
        return await pacer.send("setMyCommands", params, chat_id=None, priority=Priority.NORMAL)

    async with scheduler(api, clock) as pacer:
        commands = [asyncio.create_task(set_commands(s)) for s in ("default", "all_group_chats")]
        await asyncio.sleep(0)
        message = send(pacer, 1, "hello")
        await asyncio.gather(*commands, message)
    assert [(c.method, c.at) for c in api.calls] == [
        ("setMyCommands", 0),
        ("setMyCommands", pytest.approx(3)),
        ("setMyCommands", pytest.approx(3 + TICK)),  # no 1 s spacing between them
        ("sendMessage", pytest.approx(3 + 2 * TICK)),  # the pause held every chat
    ]


async def test_the_real_client_through_the_scheduler_over_http(clock: FakeClock) -> None:
    """Telegram's JSON 429 and 502 answers become a paced retry, and the result comes back."""
    seen: list[tuple[float, str]] = []
    script = [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 4",
                "parameters": {"retry_after": 4},
            },
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
    ]

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((clock(), body["text"]))
        if script:
            status, answer = script.pop(0)
            return web.json_response(answer, status=status)
        message = {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}}
        return web.json_response({"ok": True, "result": {**message, "text": body["text"]}})

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with BotApi("42:real", base_url=str(server.make_url(""))) as api:
            pacer = OutboundScheduler(api, clock=clock, sleep=clock.sleep)
            async with pacer:
                result = await pacer.send(
                    "sendMessage", {"chat_id": 1, "text": "hi"}, chat_id=1, priority=Priority.URGENT
                )
    finally:
        await server.close()
    assert result["text"] == "hi"
    assert seen == [(0, "hi"), (4, "hi"), (pytest.approx(5), "hi")]


# --- lifecycle --------------------------------------------------------------------------


async def test_stop_lets_queued_sends_finish(api: FakeBotApi, clock: FakeClock) -> None:
    pacer = scheduler(api, clock)
    pacer.start()
    tasks = [send(pacer, 1, f"m{i}") for i in range(4)]
    await asyncio.sleep(0)
    await pacer.stop()
    assert [t.result()["text"] for t in tasks] == ["m0", "m1", "m2", "m3"]
    assert pacer.pending == 0
    with pytest.raises(SchedulerStopped):
        await pacer.send(
            "sendMessage", {"chat_id": 1, "text": "late"}, chat_id=1, priority=Priority.URGENT
        )


async def test_stop_fails_what_cannot_go_out_before_the_drain_time(
    api: FakeBotApi, clock: FakeClock
) -> None:
    pacer = scheduler(api, clock)
    pacer.start()
    tasks = [send(pacer, 1, f"m{i}") for i in range(6)]
    await asyncio.sleep(0)
    await pacer.stop(drain_timeout=2.5)
    outcomes = [t.exception() or t.result()["text"] for t in tasks]
    assert outcomes[:3] == ["m0", "m1", "m2"]
    assert all(isinstance(o, SchedulerStopped) for o in outcomes[3:])
    assert len(api.calls) == 3


async def test_a_cancelled_caller_drops_its_unsent_message(
    api: FakeBotApi, clock: FakeClock
) -> None:
    async with scheduler(api, clock) as pacer:
        first = send(pacer, 1, "first")
        dropped = send(pacer, 1, "dropped")
        last = send(pacer, 1, "last")
        await first
        dropped.cancel()
        await last
    assert [c.text for c in api.calls] == ["first", "last"]
    assert pacer.pending == 0


async def test_sending_needs_a_started_scheduler(api: FakeBotApi, clock: FakeClock) -> None:
    pacer = scheduler(api, clock)
    with pytest.raises(RuntimeError, match="start"):
        await pacer.send("sendMessage", {}, chat_id=1, priority=Priority.NORMAL)
    with pytest.raises(ValueError, match="rates"):
        scheduler(api, clock, global_per_second=0)
