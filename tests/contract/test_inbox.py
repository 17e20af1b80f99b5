"""The adapters' inbox and state, on every backend."""

from __future__ import annotations

import asyncio

from huarong_core.inbox import MAX_ATTEMPTS, AdapterState, Inbox
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
    import pytest

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
