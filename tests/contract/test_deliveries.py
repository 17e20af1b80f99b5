"""A redelivered input changes nothing and gets the same answer, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from huarong_core import Delivery, ListMembers, RegisterMember, SetMemberStatus
from huarong_core.domain.members import MemberStatus
from huarong_core.errors import InvalidValue, NotFound
from huarong_core.testing import snapshot
from tests.contract.conftest import SYSTEM, Pair


async def test_redelivery_returns_the_first_result(community: Pair) -> None:
    huarong, handle = community
    delivery = Delivery("telegram", "update-1001")
    first = await handle.execute(RegisterMember("Gina"), actor=SYSTEM, delivery=delivery)
    after_first = await snapshot(huarong.db)
    again = await handle.execute(RegisterMember("Gina"), actor=SYSTEM, delivery=delivery)
    assert again == first
    assert await snapshot(huarong.db) == after_first


async def test_the_same_id_from_another_source_is_another_input(community: Pair) -> None:
    _, handle = community
    one = await handle.execute(RegisterMember("Hu"), actor=SYSTEM, delivery=Delivery("a", "1"))
    two = await handle.execute(RegisterMember("Hu"), actor=SYSTEM, delivery=Delivery("b", "1"))
    assert one.id != two.id


async def test_a_refusal_is_replayed_even_after_the_state_changed(community: Pair) -> None:
    huarong, handle = community
    delivery = Delivery("matrix", "$event:example.org")
    with pytest.raises(NotFound) as first:
        await handle.execute(
            SetMemberStatus(99, MemberStatus.SUSPENDED), actor=SYSTEM, delivery=delivery
        )
    for _ in range(96):
        await handle.execute(RegisterMember("Filler"), actor=SYSTEM)
    before = await snapshot(huarong.db)
    with pytest.raises(NotFound) as again:
        await handle.execute(
            SetMemberStatus(99, MemberStatus.SUSPENDED), actor=SYSTEM, delivery=delivery
        )
    assert again.value.params() == first.value.params()
    assert await snapshot(huarong.db) == before


async def test_validation_refusal_replays_with_its_data(community: Pair) -> None:
    _, handle = community
    delivery = Delivery("console", "line-7")
    with pytest.raises(InvalidValue) as first:
        await handle.execute(RegisterMember(""), actor=SYSTEM, delivery=delivery)
    with pytest.raises(InvalidValue) as again:
        await handle.execute(RegisterMember(""), actor=SYSTEM, delivery=delivery)
    assert (again.value.field, again.value.reason) == (first.value.field, first.value.reason)


async def test_concurrent_redeliveries_run_once(community: Pair) -> None:
    _, handle = community
    delivery = Delivery("telegram", "update-race")
    results = await asyncio.gather(
        *(handle.execute(RegisterMember("Ivy"), actor=SYSTEM, delivery=delivery) for _ in range(12))
    )
    assert len({r.id for r in results}) == 1
    page = await handle.execute(ListMembers(query="Ivy"), actor=SYSTEM)
    assert page.total == 1
