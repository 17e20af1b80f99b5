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
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from huarong_core import Actor, Huarong
from huarong_core.app import CommunityHandle
from huarong_core.commands import FindMemberByIdentity, ListClubMembers
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community
from huarong_matrix.service import MatrixService
from tests.matrix.homeserver import Event, Homeserver, Human, register, unique_localpart
from tests.matrix.proxy import HomeserverProxy

pytestmark = pytest.mark.slow

SYSTEM = Actor.system("test")
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
WAIT = 30.0
OUTAGE = 2.0
"""Seconds the homeserver stays away from the bot."""
RETRY_AFTER_MS = 700


def community_file(leader: str) -> str:
    return (
        SAMPLE_COMMUNITY
        + f"""
[[members]]
key = "leader"
name = "Lin"
categories = ["employee"]
identities = [{{ platform = "matrix", id = "{leader}" }}]

[[clubs]]
key = "salon"
name = {{ zh_CN = "英语沙龙", en = "English salon" }}
station = "service"

[[roles]]
member = "leader"
role = "club_leader"
scope = "club:salon"
"""
    )


def body(event: Event) -> str:
    return str(event["content"].get("body", ""))


def replied_to(event: Event) -> str | None:
    relation = event["content"].get("m.relates_to") or {}
    found = (relation.get("m.in_reply_to") or {}).get("event_id")
    return str(found) if found else None


def bot_messages(human: Human, room: str, bot_id: str) -> list[Event]:
    return [e for e in human.events(room, sender=bot_id) if e["type"] == "m.room.message"]


def answers_to(human: Human, room: str, bot_id: str, source: str) -> list[Event]:
    """The bot's messages in `room` that reply to `source`."""
    return [e for e in bot_messages(human, room, bot_id) if replied_to(e) == source]


async def until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@attrs.define
class World:
    homeserver: Homeserver
    huarong: Huarong
    handle: CommunityHandle
    proxy: HomeserverProxy
    bot_id: str
    leader: Human
    service: MatrixService

    async def answer(self, human: Human, room: str, source: str) -> Event:
        """The bot's reply to `source`, once it has come."""
        return await human.wait_for(
            lambda e: (
                e["sender"] == self.bot_id
                and e["type"] == "m.room.message"
                and replied_to(e) == source
            ),
            room_id=room,
            within=WAIT,
            what=f"the bot's answer to {source}",
        )

    async def settle(self, human: Human, room: str) -> None:
        """Ask once more and wait for the answer: whatever was due before has arrived."""
        sentinel = await human.send(room, "!help")
        await self.answer(human, room, sentinel)

    async def club_room(self, *invited: str) -> str:
        """A room of the leader's with the bot (and `invited`) in it, once the bot said hello."""
        room = await self.leader.create_room(
            "Faults", invite=[self.bot_id, *invited], encrypted=False
        )
        await self.leader.said_by(self.bot_id, room, after=0, within=WAIT)
        return room


@pytest.fixture
async def world(homeserver: Homeserver, sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    password = secrets.token_urlsafe(12)
    bot_id = await register(homeserver, unique_localpart("huarong"), password)
    async with AsyncExitStack() as stack:
        leader = await Human.create(homeserver, "lin", display_name="Lin")
        stack.push_async_callback(leader.close)
        huarong, handle = await stack.enter_async_context(
            open_test_community(
                sqlite_url, config=community_file(leader.user_id), clock=FrozenClock(NOW)
            )
        )
        proxy = await stack.enter_async_context(HomeserverProxy(homeserver.url))
        service = MatrixService(
            handle,
            proxy.url,
            bot_id,
            tmp_path / "matrix-store",
            password=password,
            sync_timeout_ms=1000,
            retry_base=0.2,
        )
        await service.start()
        stack.push_async_callback(service.stop)
        yield World(homeserver, huarong, handle, proxy, bot_id, leader, service)


async def test_commands_sent_while_the_homeserver_is_away_are_answered_once(
    world: World,
) -> None:
    ann = await Human.create(world.homeserver, "ann", display_name="Ann")
    try:
        room = await world.club_room(ann.user_id)
        await ann.joined(room, ann.user_id, within=WAIT)
        before = await world.handle.execute(ListClubMembers("salon"), actor=SYSTEM)

        # Down while the bot's long-poll is waiting on the homeserver.
        await until(lambda: world.proxy.syncs_in_flight() > 0, within=WAIT, what="a /sync")
        down_at = time.monotonic()
        await world.proxy.go_down()
        assert world.proxy.dropped >= 1
        await until(
            lambda: world.service.sync.failures > 0, within=WAIT, what="a failed sync counted"
        )
        joining = await ann.send(room, "!join salon")
        asking = await ann.send(room, "!points")
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        assert world.service.sync.failures > 0, "the sync loop did not notice the outage"
        assert answers_to(world.leader, room, world.bot_id, joining) == []
        await world.proxy.come_back()

        joined = await world.answer(ann, room, joining)
        assert "英语沙龙" in body(joined) or "English salon" in body(joined)
        await world.answer(ann, room, asking)  # "answered in private"
        await world.settle(ann, room)

        assert world.service.sync.failures == 0, "the sync loop did not recover"
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


async def test_a_rate_limited_answer_waits_retry_after_and_arrives_once(world: World) -> None:
    room = await world.club_room()
    world.proxy.limit_next_send(RETRY_AFTER_MS)
    asking = await world.leader.send(room, "!join salon")
    answer = await world.answer(world.leader, room, asking)
    await world.settle(world.leader, room)

    proxy = world.proxy
    assert proxy.limited_at is not None, "no send was rate-limited"
    assert proxy.retried_at is not None, "the limited send was never tried again"
    assert proxy.retried_at - proxy.limited_at >= RETRY_AFTER_MS / 1000
    assert answers_to(world.leader, room, world.bot_id, asking) == [answer]
