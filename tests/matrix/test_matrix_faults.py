"""The Matrix adapter when the homeserver misbehaves: it goes away mid-sync, it rate-limits.

The bot (`MatrixService`) talks to Synapse through `HomeserverProxy`, which
can stop listening and cut its connections, or answer a send with a 429;
people (`Human`) talk to Synapse directly, so they keep writing while the
bot cannot hear them. What must hold: every command is answered exactly
once and done once, and a 429's `retry_after_ms` is waited out.

"Exactly once" is checked with a sentinel: after the answers, the person
asks one more thing and waits for its answer. The bot handles its inbox in
order and sends through one queue, so a second answer to an earlier
command would have arrived before the sentinel's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from huarong_core.commands import FindMemberByIdentity, ListClubMembers
from tests.matrix.homeserver import Event, Human
from tests.matrix.proxy import HomeserverProxy
from tests.matrix.world import SYSTEM, WAIT, World, answers_to, body

pytestmark = pytest.mark.slow

OUTAGE = 2.0
"""Seconds the homeserver stays away from the bot."""
RETRY_AFTER_MS = 700


def bot_messages(human: Human, room: str, bot_id: str) -> list[Event]:
    return [e for e in human.events(room, sender=bot_id) if e["type"] == "m.room.message"]


async def until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def proxy(world: World) -> AsyncIterator[HomeserverProxy]:
    """The bot restarted behind a proxy that can take the homeserver away or answer 429."""
    async with HomeserverProxy(world.homeserver.url) as started:
        await world.stop()
        await world.start(homeserver_url=started.url)
        yield started
        await world.stop()


async def room_with_bot(world: World, *invited: str) -> str:
    """A room of the leader's with the bot (and `invited`) in it, once the bot said hello."""
    room = await world.leader.create_room(
        "Faults", invite=[world.bot_id, *invited], encrypted=False
    )
    await world.leader.said_by(world.bot_id, room, after=0, within=WAIT)
    return room


async def test_commands_sent_while_the_homeserver_is_away_are_answered_once(
    world: World, proxy: HomeserverProxy
) -> None:
    service = world.service
    assert service is not None
    ann = await Human.create(world.homeserver, "ann", display_name="Ann")
    try:
        room = await room_with_bot(world, ann.user_id)
        await ann.joined(room, ann.user_id, within=WAIT)
        before = await world.handle.execute(ListClubMembers("salon"), actor=SYSTEM)

        # Down while the bot's long-poll is waiting on the homeserver.
        await until(lambda: proxy.syncs_in_flight() > 0, within=WAIT, what="a /sync")
        down_at = time.monotonic()
        await proxy.go_down()
        assert proxy.dropped >= 1
        await until(lambda: service.sync.failures > 0, within=WAIT, what="a failed sync counted")
        joining = await ann.send(room, "!join salon")
        asking = await ann.send(room, "!points")
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        assert service.sync.failures > 0, "the sync loop did not notice the outage"
        assert answers_to(world.leader, room, world.bot_id, joining) == []
        await proxy.come_back()

        joined = await world.answer(ann, room, joining)
        assert "英语沙龙" in body(joined) or "English salon" in body(joined)
        await world.answer(ann, room, asking)  # "answered in private"
        await world.settle(ann, room)

        assert service.sync.failures == 0, "the sync loop did not recover"
        assert len(answers_to(ann, room, world.bot_id, joining)) == 1
        assert len(answers_to(ann, room, world.bot_id, asking)) == 1
        (direct,) = ann.direct_rooms_with(world.bot_id)
        (balance,) = bot_messages(ann, direct, world.bot_id)
        assert balance["decrypted"] is True
        assert "0" in body(balance)

        after = await world.handle.execute(ListClubMembers("salon"), actor=SYSTEM)
        profile = await world.handle.execute(
            FindMemberByIdentity("matrix", ann.user_id), actor=SYSTEM
        )
        assert len(after) == len(before) + 1
        assert [m.member_id for m in after].count(profile.member.id) == 1
    finally:
        await ann.close()


async def test_a_rate_limited_answer_waits_retry_after_and_arrives_once(
    world: World, proxy: HomeserverProxy
) -> None:
    room = await room_with_bot(world)
    proxy.limit_next_send(RETRY_AFTER_MS)
    asking = await world.leader.send(room, "!join salon")
    answer = await world.answer(world.leader, room, asking)
    await world.settle(world.leader, room)

    assert proxy.limited_at is not None, "no send was rate-limited"
    assert proxy.retried_at is not None, "the limited send was never tried again"
    assert proxy.retried_at - proxy.limited_at >= RETRY_AFTER_MS / 1000
    assert answers_to(world.leader, room, world.bot_id, asking) == [answer]


async def test_stopping_ends_a_long_sync_at_once_and_loses_nothing(
    world: World, proxy: HomeserverProxy
) -> None:
    room = await room_with_bot(world)
    await world.stop()
    await world.start(homeserver_url=proxy.url, sync_timeout_ms=60_000)
    await until(lambda: proxy.syncs_in_flight() > 0, within=WAIT, what="a long /sync")
    await asyncio.wait_for(world.stop(), timeout=10)  # not the sync's 60 s

    asking = await world.leader.send(room, "!points")  # while no bot listens
    await world.start(homeserver_url=proxy.url)
    await world.answer(world.leader, room, asking)
    await world.settle(world.leader, room)
    assert len(answers_to(world.leader, room, world.bot_id, asking)) == 1


async def test_a_direct_room_opened_just_before_a_crash_is_found_not_opened_again(
    world: World,
) -> None:
    """The bot opens a direct room on the homeserver, then records it in its state: a
    crash between the two must not make it open a second one after the restart."""
    (ann,) = await world.people("ann")
    try:
        # A room of just the two of them that the bot did not open as hers: not hers.
        group = await ann.create_room("just us", invite=[world.bot_id], encrypted=False)
        await ann.said_by(world.bot_id, group, after=0, within=WAIT)
        assert world.service is not None
        opened = await world.service.client.create_direct(ann.user_id)  # ... then the crash
        await until(
            lambda: ann.direct_rooms_with(world.bot_id) == [opened],
            within=WAIT,
            what="the invite to the direct room",
        )
        await world.stop()

        restarted = await world.start()
        await restarted.client.wait_until_known(opened)
        assert await restarted.bot.direct.room_for(ann.user_id) == opened
        assert await restarted.bot.direct.is_direct(opened)
        assert not await restarted.bot.direct.is_direct(group)
        assert ann.direct_rooms_with(world.bot_id) == [opened]
    finally:
        await ann.close()
