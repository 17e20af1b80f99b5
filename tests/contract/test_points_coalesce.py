"""Concurrent `RecordActivity` calls share a unit of work and still answer one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from huarong_core.app import CommunityHandle
from huarong_core.commands import RecordActivity
from huarong_core.errors import InvalidValue, NotFound, PermissionDenied
from huarong_core.storage import Connection
from huarong_core.testing import open_test_community
from tests.contract.conftest import SYSTEM, Pair, actor_for
from tests.contract.test_points import CHECK_IN, balance, define, member_ids, rule
from tests.contract.test_points_batch import _plain, _setup, activities


def count_units(handle: CommunityHandle, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the write units the database runs (one per element appended)."""
    database = handle.database
    run = database.run
    units: list[int] = []

    async def counted(unit: Callable[[Connection], Awaitable[Any]], *, quick: bool = False) -> Any:
        units.append(1)
        return await run(unit, quick=quick)

    monkeypatch.setattr(database, "run", counted)
    return units


async def test_concurrent_calls_answer_as_one_by_one_in_one_unit(
    community: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    huarong, handle = community
    ids = await _setup(community)
    units = count_units(handle, monkeypatch)
    together = await asyncio.gather(
        *(handle.execute(activity, actor=SYSTEM) for activity in activities(ids))
    )
    assert len(units) == 1  # eight awards, one unit of work

    async with open_test_community(clock=huarong.clock) as reference:
        assert await _setup(reference) == ids
        one_by_one = [
            await reference[1].execute(activity, actor=SYSTEM) for activity in activities(ids)
        ]
    assert _plain(tuple(together)) == _plain(tuple(one_by_one))


async def test_a_refused_call_leaves_the_others_their_awards(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5))
    ids = await member_ids(handle)
    calls = (
        RecordActivity(CHECK_IN, "c:1", ids["alice"]),
        RecordActivity(CHECK_IN, "c:2", 999_999),  # nobody
        RecordActivity(CHECK_IN, "c:3", ids["staff"], units="lots"),
        RecordActivity(CHECK_IN, "c:4", ids["staff"]),
    )
    answers = await asyncio.gather(
        *(handle.execute(call, actor=SYSTEM) for call in calls), return_exceptions=True
    )
    assert [(r.outcome, r.points) for r in answers[0]] == [("awarded", 5)]  # type: ignore[union-attr]
    assert isinstance(answers[1], NotFound)
    assert isinstance(answers[2], InvalidValue)
    assert [r.outcome for r in answers[3]] == ["awarded"]  # type: ignore[union-attr]
    assert await balance(handle, ids["alice"]) == 5
    assert await balance(handle, ids["staff"]) == 5


async def test_each_actor_is_judged_on_its_own(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5))
    ids = await member_ids(handle)
    alice = await actor_for(handle, "alice")
    mine = RecordActivity(CHECK_IN, "c:self", ids["alice"])
    theirs = RecordActivity(CHECK_IN, "c:staff", ids["staff"])
    answers = await asyncio.gather(
        handle.execute(mine, actor=alice),
        handle.execute(mine, actor=alice),
        handle.execute(theirs, actor=SYSTEM),
        return_exceptions=True,
    )
    assert isinstance(answers[0], PermissionDenied)
    assert isinstance(answers[1], PermissionDenied)
    assert [r.outcome for r in answers[2]] == ["awarded"]  # type: ignore[union-attr]
    assert await balance(handle, ids["alice"]) == 0
    assert await balance(handle, ids["staff"]) == 5


async def test_a_call_cancelled_before_its_turn_awards_nothing(community: Pair) -> None:
    _, handle = community
    await define(handle, rule("salon", points=5))
    ids = await member_ids(handle)
    kept = asyncio.ensure_future(
        handle.execute(RecordActivity(CHECK_IN, "c:kept", ids["alice"]), actor=SYSTEM)
    )
    dropped = asyncio.ensure_future(
        handle.execute(RecordActivity(CHECK_IN, "c:dropped", ids["staff"]), actor=SYSTEM)
    )
    await asyncio.sleep(0)  # both are queued for the next turn
    dropped.cancel()
    assert [r.outcome for r in await kept] == ["awarded"]
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert await balance(handle, ids["staff"]) == 0
    assert await balance(handle, ids["alice"]) == 5
