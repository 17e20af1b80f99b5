"""The adapters' inbox and state, on every backend."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Hashable, Mapping
from typing import Any

import pytest

import huarong_core.inbox
from huarong_core.app import CommunityHandle
from huarong_core.inbox import MAX_ATTEMPTS, AdapterState, Inbox, InboxWorker
from huarong_core.testing import open_test_community


async def test_an_input_is_recorded_once_and_handled_in_order(database_url: str) -> None:
    async with open_test_community(database_url) as (_, handle):
        inbox = Inbox(handle, "telegram")
        assert await inbox.put("7", {"update_id": 7, "text": "第一"})
        assert await inbox.put("8", {"update_id": 8})
        assert not await inbox.put("7", {"update_id": 7, "text": "again"})
        assert await inbox.put_many([("8", {}), ("9", {"update_id": 9})]) == 1
        other = Inbox(handle, "matrix")
        assert await other.put("7", {"event": "x"})

        pending = await inbox.pending()
        assert [i.delivery_id for i in pending] == ["7", "8", "9"]
        assert pending[0].payload == {"update_id": 7, "text": "第一"}
        await inbox.done(pending[0])
        assert [i.delivery_id for i in await inbox.pending()] == ["8", "9"]
        done = await inbox.get("7")
        assert done is not None
        assert done.handled_at is not None
        assert not await inbox.put("7", {"update_id": 7})


async def test_racing_puts_of_one_input_record_it_once(database_url: str) -> None:
    async with open_test_community(database_url) as (_, handle):
        inbox = Inbox(handle, "telegram")
        results = await asyncio.gather(*(inbox.put("42", {"n": n}) for n in range(10)))
        assert sorted(results) == [False] * 9 + [True]
        assert len(await inbox.pending()) == 1


async def test_an_input_that_keeps_failing_is_set_aside_not_lost(database_url: str) -> None:
    async with open_test_community(database_url) as (_, handle):
        inbox = Inbox(handle, "telegram")
        await inbox.put("1", {"bad": True})
        await inbox.put("2", {"good": True})
        for attempt in range(1, MAX_ATTEMPTS + 1):
            item = (await inbox.pending())[0]
            assert item.delivery_id == "1"
            assert await inbox.failed(item, "boom") is (attempt == MAX_ATTEMPTS)
        assert [i.delivery_id for i in await inbox.pending()] == ["2"]
        kept = await inbox.get("1")
        assert kept is not None
        assert (kept.attempts, kept.error) == (MAX_ATTEMPTS, "boom")


async def test_adapter_state_keeps_the_last_value_per_adapter(database_url: str) -> None:
    async with open_test_community(database_url) as (_, handle):
        state = AdapterState(handle, "telegram")
        assert await state.get("offset") is None
        await state.set("offset", "100")
        await state.set("offset", "101")
        assert await state.get("offset") == "101"
        assert await AdapterState(handle, "matrix").get("offset") is None


async def test_an_adapter_marks_an_account_unreachable_and_back(database_url: str) -> None:

    from huarong_core.commands import ListAuditEntries, RegisterChatMember, SetAccountReachable
    from huarong_core.domain.audit import Actor
    from huarong_core.errors import NotFound, PermissionDenied

    system = Actor.system("telegram")
    async with open_test_community(database_url) as (_, handle):
        profile = await handle.execute(RegisterChatMember("telegram", "55", "Ann"), actor=system)
        for reachable in (False, False, True, True):
            await handle.execute(SetAccountReachable("telegram", "55", reachable), actor=system)
        entries = await handle.execute(ListAuditEntries(), actor=system)
        actions = [e.action for e in entries if e.action.startswith("identity.")]
        assert actions[:2] == ["identity.reachable", "identity.unreachable"]
        member = Actor.member(profile.member.id, "Ann")
        with pytest.raises(PermissionDenied):
            await handle.execute(SetAccountReachable("telegram", "55", False), actor=member)
        with pytest.raises(NotFound):
            await handle.execute(SetAccountReachable("telegram", "56", False), actor=system)


def _chat_lanes(payload: Mapping[str, Any]) -> tuple[Hashable, ...]:
    return tuple(
        ("chat" if key == "chat" else "user", payload[key])
        for key in ("chat", "user")
        if key in payload
    )


async def test_separate_chats_are_handled_side_by_side_each_in_order(database_url: str) -> None:
    async with open_test_community(database_url) as (_, handle):
        inbox = Inbox(handle, "telegram")
        b_started = asyncio.Event()
        seen: list[tuple[int, int]] = []
        at_once = running = 0

        async def handle_input(payload: Mapping[str, Any]) -> None:
            nonlocal at_once, running
            running += 1
            at_once = max(at_once, running)
            try:
                if payload["chat"] == 1 and payload["n"] == 0:
                    # Chat 1 waits for chat 2: one after the other, this would never end.
                    await asyncio.wait_for(b_started.wait(), 5)
                if payload["chat"] == 2:
                    b_started.set()
                await asyncio.sleep(0)
                seen.append((payload["chat"], payload["n"]))
            finally:
                running -= 1

        for n in range(3):
            for chat in (1, 2, 3, 4, 5):
                await inbox.put(f"{chat}-{n}", {"chat": chat, "n": n})
        worker = InboxWorker(inbox, handle_input, lanes=_chat_lanes, concurrency=3)
        assert await worker.drain() == 15
        assert at_once == 3  # never more lanes at once than asked
        for chat in (1, 2, 3, 4, 5):
            assert [n for c, n in seen if c == chat] == [0, 1, 2]
        assert await inbox.pending() == []


async def test_inputs_linked_by_a_person_stay_in_order_across_chats(database_url: str) -> None:
    async with open_test_community(database_url) as (_, handle):
        inbox = Inbox(handle, "telegram")
        seen: list[str] = []

        async def handle_input(payload: Mapping[str, Any]) -> None:
            # The earlier input takes longer: only a shared lane keeps the order.
            await asyncio.sleep(0.02 if payload["id"] == "group" else 0)
            seen.append(payload["id"])

        await inbox.put("1", {"id": "group", "chat": -100, "user": 7})
        await inbox.put("2", {"id": "private", "chat": 7, "user": 7})
        await inbox.put("3", {"id": "other", "chat": 8, "user": 8})
        worker = InboxWorker(inbox, handle_input, lanes=_chat_lanes, concurrency=8)
        assert await worker.drain() == 3
        assert seen.index("group") < seen.index("private")
        assert seen[0] == "other"


async def test_a_failing_input_holds_back_only_its_own_lane(database_url: str) -> None:
    async with open_test_community(database_url) as (_, handle):
        inbox = Inbox(handle, "telegram")
        seen: list[str] = []
        broken = True

        async def handle_input(payload: Mapping[str, Any]) -> None:
            if payload["id"] == "a1" and broken:
                raise ValueError("a bug")
            seen.append(payload["id"])

        for item in ("a1", "b1", "a2", "b2"):
            await inbox.put(item, {"id": item, "chat": item[0]})
        worker = InboxWorker(inbox, handle_input, lanes=_chat_lanes, concurrency=4)
        assert await worker.drain() == 2
        assert seen == ["b1", "b2"]
        pending = await inbox.pending()
        assert [i.delivery_id for i in pending] == ["a1", "a2"]  # a2 waits behind a1
        assert pending[0].attempts == 1
        broken = False
        assert await worker.drain() == 2
        assert seen == ["b1", "b2", "a1", "a2"]
        assert await inbox.pending() == []


async def test_without_lanes_inputs_are_handled_one_at_a_time_in_order(
    database_url: str,
) -> None:
    async with open_test_community(database_url) as (_, handle):
        inbox = Inbox(handle, "matrix")
        seen: list[int] = []
        running = 0

        async def handle_input(payload: Mapping[str, Any]) -> None:
            nonlocal running
            running += 1
            assert running == 1
            await asyncio.sleep(0)
            seen.append(payload["n"])
            running -= 1

        await inbox.put_many([(str(n), {"n": n, "chat": n}) for n in range(120)])
        assert await InboxWorker(inbox, handle_input, concurrency=8).drain() == 120
        assert seen == list(range(120))
        assert await inbox.pending() == []


async def test_concurrency_below_one_is_refused(database_url: str) -> None:

    async def handle_input(payload: Mapping[str, Any]) -> None:
        raise AssertionError("never called")

    async with open_test_community(database_url) as (_, handle):
        with pytest.raises(ValueError, match="concurrency"):
            InboxWorker(Inbox(handle, "x"), handle_input, lanes=_chat_lanes, concurrency=0)


async def _recording_worker(
    handle: CommunityHandle, inputs: int
) -> tuple[Inbox, InboxWorker, list[Any]]:
    """`inputs` recorded, one chat each, and a worker that notes what it handles."""
    inbox = Inbox(handle, "telegram")
    for n in range(inputs):
        await inbox.put(str(n), {"chat": n})
    handled: list[Any] = []

    async def handle_input(payload: Mapping[str, Any]) -> None:
        handled.append(payload)

    return inbox, InboxWorker(inbox, handle_input, lanes=_chat_lanes, concurrency=8), handled


async def test_a_burst_of_arrivals_is_recorded_before_much_is_handled(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huarong_core.inbox, "BURST_TURN", 10.0)
    async with open_test_community(database_url) as (_, handle):
        inbox, worker, handled = await _recording_worker(handle, 12)
        inbox.last_put = math.inf  # arrivals keep coming, as far as the worker can tell
        draining = asyncio.ensure_future(worker.drain())
        await asyncio.sleep(0.1)
        assert len(handled) <= 1  # one input per turn of 10 s while the burst lasts
        inbox.last_put = -math.inf  # the burst pauses
        assert await asyncio.wait_for(draining, 10) == 12
        assert len(handled) == 12


async def test_a_flood_that_lasts_is_handled_at_full_speed_after_a_while(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huarong_core.inbox, "BURST_TURN", 10.0)
    monkeypatch.setattr(huarong_core.inbox, "BURST_PRIORITY", 0.05)
    async with open_test_community(database_url) as (_, handle):
        inbox, worker, handled = await _recording_worker(handle, 40)
        inbox.last_put = math.inf  # a flood that never pauses
        # One input per 10 s would take minutes; after 0.05 s of it, full speed.
        assert await asyncio.wait_for(worker.drain(), 10) == 40
        assert len(handled) == 40
